// A load test stopped abruptly: 50 keep-alive clients keep 150 requests going against a budget of
// 4 connections, then every socket is destroyed at once (as autocannon or k6 does when stopped),
// catching requests mid-statement, between statements and waiting for a connection. Client
// disconnects are not application errors: no unhandled rejection, no console.error line, no
// error-level log, no 'error' event, no warning; the server-side count returns to 0.
// Express (with the spoolErrors() recipe, production env), Fastify and node:http; plain and
// atomic requests; three databases.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import { connections, scope, shutdown, sql } from '@spool/connections';
import { spoolErrors, spoolMiddleware, spoolPlugin, withScope, type RequestScopeOptions } from '@spool/web';
import { captureWarnings, configureFor, eachDatabase, eventually, sleep, useDatabase } from '../support/helpers';

type Framework = 'express' | 'fastify' | 'http';

async function work(url: string): Promise<string> {
  const id = Number(new URL(url, 'http://x').searchParams.get('id'));
  await sql`INSERT INTO spool_load (id) VALUES (${id})`;
  await sleep(15);
  const [row] = await sql<{ n: number }>`SELECT COUNT(*) AS n FROM spool_load WHERE id = ${id}`;
  return `ok ${String(row?.n)}`;
}

interface Served {
  url: string;
  errorLogs: string[];
  close(): Promise<void>;
}

async function serve(framework: Framework, options: RequestScopeOptions): Promise<Served> {
  const errorLogs: string[] = [];
  if (framework === 'fastify') {
    const app = Fastify({
      logger: { level: 'info', stream: { write: (line: string) => void (JSON.parse(line).level >= 50 && errorLogs.push(line)) } },
    });
    await app.register(spoolPlugin, options);
    app.get('/load', async (request) => work(request.url));
    await app.listen({ port: 0, host: '127.0.0.1' });
    return { url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, errorLogs, close: () => app.close() };
  }
  let server: http.Server;
  if (framework === 'express') {
    const app = express();
    app.set('env', 'production'); // Express's final handler logs errors with console.error, except under 'test'
    app.use(spoolMiddleware(options));
    app.get('/load', async (req, res) => void res.send(await work(req.url)));
    app.use(spoolErrors()); // the recipe: disconnects stop here
    server = http.createServer(app);
  } else {
    server = http.createServer(
      withScope(async (req: IncomingMessage, res: ServerResponse) => res.end(await work(req.url ?? '/')), options),
    );
  }
  server.keepAliveTimeout = 10_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    errorLogs,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * 50 clients on keep-alive sockets send `total` requests, one after another each, until
 * `stopAfter` answers came back (a condition, not a time: the machine may be loaded): then every
 * socket is destroyed at once. Resolves with how many answers came back and how many were cut.
 */
async function loadThenStop(url: string, total: number, stopAfter: number): Promise<{ answered: number; cut: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 50 });
  let answered = 0;
  let cut = 0;
  let next = 0;
  let stopped = false;
  const client = async (): Promise<void> => {
    while (!stopped && next < total) {
      const id = next++;
      await new Promise<void>((resolve) => {
        const req = http.get(`${url}/load?id=${id}`, { agent }, (res) => {
          res.resume();
          res.on('end', () => {
            answered += 1;
            resolve();
          });
          res.on('error', () => resolve());
        });
        req.on('error', () => {
          cut += 1;
          resolve();
        });
      });
    }
  };
  const clients = Array.from({ length: 50 }, client);
  await eventually(() => answered >= stopAfter, 30_000, 5);
  stopped = true;
  agent.destroy(); // the load tool stops: every socket goes, mid-request or not
  await Promise.all(clients);
  return { answered, cut };
}

eachDatabase('a load test stopped abruptly', (db) => {
  const counter = useDatabase(db);

  beforeAll(async () => {
    configureFor(db);
    await scope(async () => {
      await sql`DROP TABLE IF EXISTS spool_load`;
      await sql`CREATE TABLE spool_load (id INTEGER NOT NULL)`;
    });
    await shutdown();
  });

  const cases: Array<[Framework, string, RequestScopeOptions]> = [];
  for (const framework of ['express', 'fastify', 'http'] as const) {
    cases.push([framework, 'plain', {}], [framework, 'atomic', { atomicRequests: true }]);
  }

  test.each(cases)(
    '%s, %s requests: no unhandled rejection, no error log, no warning; count 0',
    async (framework, _kind, options) => {
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
      process.on('unhandledRejection', onUnhandled);
      const consoleErrors: unknown[][] = [];
      const spy = jest.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void consoleErrors.push(args));
      const warnings = captureWarnings();
      configureFor(db, { max: 4, acquireTimeoutMs: 30_000 }, {}, { logger: warnings.logger });
      const errorEvents: unknown[] = [];
      const onError = (e: { error: unknown }): void => void errorEvents.push(e.error);
      connections.on('error', onError);
      const server = await serve(framework, options);
      try {
        const { answered, cut } = await loadThenStop(server.url, 150, 10);
        // The stop caught requests in flight (on SQLite too: the handlers sleep between statements).
        expect(cut).toBeGreaterThan(0);
        expect(answered).toBeGreaterThan(0);
        // Every request's scope ends and gives its connection back.
        expect(await eventually(() => connections.stats().aliases.default?.leased === 0, 15_000)).toBe(true);
        expect(await counter.waitForCount(0, 15_000)).toBe(0);
        await sleep(50); // a late rejection would surface by now
        expect(unhandled).toEqual([]);
        expect(consoleErrors).toEqual([]);
        expect(server.errorLogs).toEqual([]);
        expect(errorEvents).toEqual([]);
        expect(warnings.messages).toEqual([]);
      } finally {
        spy.mockRestore();
        process.off('unhandledRejection', onUnhandled);
        connections.off('error', onError);
        await server.close();
      }
    },
    60_000,
  );
});
