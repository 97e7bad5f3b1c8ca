// The aborted-request probe: a client disconnects while its atomic request's statement runs; the
// handler, unaware, issues its next INSERT. The transaction is rolled back and the late INSERT
// must not run in autocommit: 100 aborted atomic requests (Express, Fastify, node:http) leave no
// row behind, and the server-side connection count is 0 after.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import { scope, sql } from '@spool/connections';
import { spoolErrors, spoolMiddleware, spoolPlugin, withScope } from '@spool/web';
import { captureWarnings, configureFor, eachDatabase, useDatabase } from '../support/helpers';
import type { TestDatabase } from '@spool/testing';

type Framework = 'express' | 'fastify' | 'http';

/**
 * A statement that takes ~150 ms on the server. SQLite runs statements synchronously, so no
 * disconnect can be noticed during one (the request would complete first, and commit, as far as
 * the server can tell): there the handler awaits a timer instead, the same window between two
 * statements.
 */
function slowStatement(db: TestDatabase): PromiseLike<unknown> {
  if (db.name === 'postgres') return sql`SELECT pg_sleep(0.15)`;
  if (db.name === 'mysql') return sql`SELECT SLEEP(0.15)`;
  return new Promise((resolve) => setTimeout(resolve, 150));
}

/**
 * Until the server has seen the client go away (at most 5 s). Without it, a loaded machine could
 * run the whole request before processing the disconnect (a blocked event loop runs due timers
 * before socket events): from the server's view that request completed, and committed rightly.
 * The handler learns nothing from it: Spool's own 'close' listener ran first, as it always does.
 */
function disconnectSeen(res: ServerResponse): Promise<void> {
  if (res.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 5000);
    res.once('close', () => {
      clearTimeout(timer);
      setImmediate(resolve);
    });
  });
}

async function handler(db: TestDatabase, url: string, res: ServerResponse): Promise<void> {
  const id = Number(new URL(url, 'http://x').searchParams.get('id'));
  await sql`INSERT INTO spool_aborted (id, step) VALUES (${id}, ${'before'})`;
  await slowStatement(db); // the client goes away meanwhile
  await disconnectSeen(res);
  await sql`INSERT INTO spool_aborted (id, step) VALUES (${id}, ${'after'})`; // must never commit
  res.end('ok');
}

async function serve(framework: Framework, db: TestDatabase): Promise<{ url: string; close(): Promise<void> }> {
  if (framework === 'fastify') {
    const app = Fastify();
    await app.register(spoolPlugin, { atomicRequests: true });
    app.get('/run', async (request, reply) => {
      reply.hijack();
      await handler(db, request.url, reply.raw).catch(() => reply.raw.destroy());
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    return { url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, close: () => app.close() };
  }
  let server: http.Server;
  if (framework === 'express') {
    const app = express();
    app.use(spoolMiddleware({ atomicRequests: true }));
    app.get('/run', (req, res) => handler(db, req.url, res));
    app.use(spoolErrors());
    app.use((_err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => void res.destroy());
    server = http.createServer(app);
  } else {
    server = http.createServer(
      withScope((req: IncomingMessage, res: ServerResponse) => handler(db, req.url ?? '/', res), { atomicRequests: true }),
    );
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** GET and go away after `ms`, while the handler's slow statement runs. */
function abandon(url: string, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false }, (res) => res.resume());
    req.on('error', () => undefined);
    req.on('close', () => resolve());
    setTimeout(() => req.destroy(), ms);
  });
}

eachDatabase('aborted atomic requests', (db) => {
  const counter = useDatabase(db);

  beforeAll(async () => {
    configureFor(db);
    await scope(async () => {
      await sql`DROP TABLE IF EXISTS spool_aborted`;
      await sql`CREATE TABLE spool_aborted (id INTEGER NOT NULL, step VARCHAR(10) NOT NULL)`;
    });
  });

  test.each<Framework>(['express', 'fastify', 'http'])(
    '%s: 100 aborted atomic requests leave no row behind',
    async (framework) => {
      const warnings = captureWarnings();
      configureFor(db, { max: 10, acquireTimeoutMs: 60_000 }, {}, { logger: warnings.logger });
      await scope(() => sql`DELETE FROM spool_aborted`);
      const server = await serve(framework, db);
      try {
        // In waves of 10 (the budget), each client leaving 60 ms in, during the slow statement.
        for (let wave = 0; wave < 10; wave++) {
          await Promise.all(Array.from({ length: 10 }, (_, i) => abandon(`${server.url}/run?id=${wave * 10 + i}`, 60)));
        }
        expect(await counter.waitForCount(0, 10_000)).toBe(0);
        const left = await scope(() => sql<{ id: number; step: string }>`SELECT id, step FROM spool_aborted ORDER BY id, step`);
        expect(left.map((r) => `${r.id}:${r.step}`).join(' ')).toBe('');
      } finally {
        await server.close();
      }
    },
    120_000,
  );
});
