// Django's ATOMIC_REQUESTS over real HTTP on Express, Fastify and node:http: a request whose handler
// throws, rejects or passes an error on is rolled back whatever status the error handler then sends
// (here 409); a 5xx rolls back; any other response commits; rollbackWhen stays configurable. And
// client disconnects are not application errors: an abort storm leaves no unhandled rejection, no
// error log line and no call of the user's error handler. Server-side connection count 0 after.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import { connections, scope, ScopeEndedError, sql } from '@spool/connections';
import { spoolErrors, spoolMiddleware, spoolPlugin, withScope, type RequestScopeOptions } from '@spool/web';
import { captureWarnings, configureFor, eachDatabase, sleep, useDatabase } from '../support/helpers';

type Framework = 'express' | 'fastify' | 'http';
const FRAMEWORKS: Framework[] = ['express', 'fastify', 'http'];

class Conflict extends Error {
  readonly status = 409;
}

/** What the routes do, given the request's query string. */
async function handle(url: URL, write: (status: number, body: string) => void): Promise<void> {
  const name = url.searchParams.get('name') ?? '';
  const mode = url.searchParams.get('mode') ?? 'ok';
  await sql`INSERT INTO spool_atomic_req (name) VALUES (${name})`;
  if (mode === 'conflict') throw new Conflict(`'${name}' conflicts`);
  if (mode === 'crash') throw new Error('the handler crashed');
  if (mode === 'not-found') return write(404, 'answered 404 without an error');
  if (mode === 'slow') {
    // The client goes away meanwhile; the handler does not notice and queries on.
    await sleep(150);
    await sql`SELECT 1 AS one`;
    await sql`INSERT INTO spool_atomic_req (name) VALUES (${`${name}-late`})`;
  }
  write(200, 'ok');
}

interface Served {
  url: string;
  /** Errors the user's error handler saw. */
  handled: unknown[];
  /** Error-level log lines (Express: console.error of the default handler; Fastify: its logger). */
  errorLogs: string[];
  close(): Promise<void>;
}

async function serve(framework: Framework, options: RequestScopeOptions, variant: 'next' | 'throw' = 'throw'): Promise<Served> {
  const handled: unknown[] = [];
  const errorLogs: string[] = [];
  if (framework === 'fastify') {
    const app = Fastify({
      logger: {
        level: 'info',
        stream: { write: (line: string) => void (JSON.parse(line).level >= 50 && errorLogs.push(line)) },
      },
    });
    await app.register(spoolPlugin, options);
    app.setErrorHandler((err, _request, reply) => {
      handled.push(err);
      if (!(err instanceof Conflict)) throw err; // Fastify's default handler: logged at error level for a 5xx
      return reply.code(409).send({ error: err.message });
    });
    app.get('/run', async (request, reply) => {
      let out: { status: number; body: string } | undefined;
      await handle(new URL(request.url, 'http://x'), (status, body) => (out = { status, body }));
      return reply.code(out?.status ?? 200).send(out?.body);
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    return { url: `http://127.0.0.1:${port}`, handled, errorLogs, close: () => app.close() };
  }
  let server: http.Server;
  if (framework === 'express') {
    const app = express();
    app.set('env', 'production'); // Express logs unhandled errors except under 'test'
    app.use(spoolMiddleware(options));
    app.get('/run', (req, res, next) => {
      const work = handle(new URL(req.url, 'http://x'), (status, body) => void res.status(status).send(body));
      // Express 5 forwards a rejected promise itself; the other variant passes it to next().
      if (variant === 'next') void work.catch(next);
      else return work;
    });
    app.use(spoolErrors());
    app.use((err: unknown, _req: express.Request, res: express.Response, next: express.NextFunction) => {
      handled.push(err);
      if (err instanceof Conflict) res.status(409).json({ error: err.message });
      else next(err); // Express's final handler: a 500, and a console.error line
    });
    server = http.createServer(app);
  } else {
    server = http.createServer(
      withScope(
        (req: IncomingMessage, res: ServerResponse) =>
          handle(new URL(req.url ?? '/', 'http://x'), (status, body) => {
            res.statusCode = status;
            res.end(body);
          }),
        {
          ...options,
          onError(err, _req, res) {
            handled.push(err);
            res.statusCode = err instanceof Conflict ? 409 : 500;
            res.end(JSON.stringify({ error: (err as Error).message }));
          },
        },
      ),
    );
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    handled,
    errorLogs,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

/** GET `url` and go away after `afterMs`, before the response. */
function abandon(url: string, afterMs: number): Promise<void> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false }, (res) => res.resume());
    req.on('error', () => resolve());
    req.on('close', () => resolve());
    setTimeout(() => req.destroy(), afterMs);
  });
}

eachDatabase('atomicRequests and client disconnects', (db) => {
  const counter = useDatabase(db);

  beforeAll(async () => {
    configureFor(db);
    await scope(async () => {
      await sql`DROP TABLE IF EXISTS spool_atomic_req`;
      await sql`CREATE TABLE spool_atomic_req (name VARCHAR(60) PRIMARY KEY)`;
    });
  });

  const names = async (): Promise<string[]> =>
    (await scope(() => sql<{ name: string }>`SELECT name FROM spool_atomic_req ORDER BY name`)).map((r) => r.name);

  describe.each(FRAMEWORKS)('%s', (framework) => {
    beforeEach(async () => {
      configureFor(db, { max: 10, acquireTimeoutMs: 30_000 });
      await scope(() => sql`DELETE FROM spool_atomic_req`);
    });

    test('an error mapped to 409 rolls back; a 5xx rolls back; a 404 answered without an error commits', async () => {
      const consoleErrors: unknown[][] = [];
      const spy = jest.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void consoleErrors.push(args));
      const server = await serve(framework, { atomicRequests: true });
      try {
        expect(await get(`${server.url}/run?name=kept`)).toEqual({ status: 200, body: 'ok' });
        const conflict = await get(`${server.url}/run?name=conflict&mode=conflict`);
        expect(conflict.status).toBe(409);
        expect(conflict.body).toContain("'conflict' conflicts");
        expect((await get(`${server.url}/run?name=crash&mode=crash`)).status).toBe(500);
        expect(await get(`${server.url}/run?name=answered&mode=not-found`)).toEqual({ status: 404, body: 'answered 404 without an error' });
        expect(await names()).toEqual(['answered', 'kept']);
        expect(server.handled.map((e) => (e as Error).message)).toEqual(["'conflict' conflicts", 'the handler crashed']);
        // A real crash is still reported: Express's final handler logs it, Fastify at error level.
        if (framework === 'express') expect(consoleErrors.map((args) => (args[0] as Error).message)).toEqual(['the handler crashed']);
        if (framework === 'fastify') expect(server.errorLogs.map((l) => JSON.parse(l).err.message)).toEqual(['the handler crashed']);
        expect(await counter.waitForCount(0, 5000)).toBe(0);
        expect(connections.stats().aliases.default?.leased).toBe(0);
      } finally {
        spy.mockRestore();
        await server.close();
      }
    });

    if (framework === 'express') {
      test('an error passed to next(err) rolls back too', async () => {
        const server = await serve(framework, { atomicRequests: true }, 'next');
        try {
          expect((await get(`${server.url}/run?name=via-next&mode=conflict`)).status).toBe(409);
          expect((await get(`${server.url}/run?name=fine`)).status).toBe(200);
          expect(await names()).toEqual(['fine']);
        } finally {
          await server.close();
        }
      });
    }

    test('rollbackWhen stays configurable: (status) => status >= 400 also rolls back the plain 404', async () => {
      const server = await serve(framework, { atomicRequests: true, rollbackWhen: (status) => status >= 400 });
      try {
        expect((await get(`${server.url}/run?name=answered&mode=not-found`)).status).toBe(404);
        expect((await get(`${server.url}/run?name=kept`)).status).toBe(200);
        expect(await names()).toEqual(['kept']);
      } finally {
        await server.close();
      }
    });

    test('30 clients that go away mid-request: no unhandled rejection, no error log, no error handler call; rolled back; count 0', async () => {
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
      process.on('unhandledRejection', onUnhandled);
      const consoleErrors: unknown[][] = [];
      const spy = jest.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void consoleErrors.push(args));
      const warnings = captureWarnings();
      configureFor(db, { max: 10, acquireTimeoutMs: 30_000 }, {}, { logger: warnings.logger });
      const errorEvents: unknown[] = [];
      connections.on('error', (e) => errorEvents.push(e.error));
      const server = await serve(framework, { atomicRequests: true });
      try {
        await Promise.all(Array.from({ length: 30 }, (_, i) => abandon(`${server.url}/run?name=gone-${i}&mode=slow`, 60)));
        // The handlers notice the disconnect when they query after their sleep.
        await sleep(400);
        expect(await counter.waitForCount(0, 5000)).toBe(0);
        expect(await names()).toEqual([]);
        expect(unhandled).toEqual([]);
        expect(consoleErrors).toEqual([]);
        expect(server.errorLogs).toEqual([]);
        // Express: spoolErrors() stops them before the user's error handler. Fastify's error handler
        // and withScope's onError see them, typed, without anything logged.
        if (framework === 'express') expect(server.handled).toEqual([]);
        else expect(server.handled.every((e) => ScopeEndedError.is(e))).toBe(true);
        expect(errorEvents).toEqual([]);
        expect(connections.stats().aliases.default?.leased).toBe(0);
      } finally {
        spy.mockRestore();
        process.off('unhandledRejection', onUnhandled);
        connections.removeAllListeners('error');
        connections.on('error', () => {});
        await server.close();
      }
    });
  });
});

test('a connect-style stack whose router publishes no errors gets one warning naming spoolErrors()', async () => {
  const warnings = captureWarnings();
  connections.configure({
    databases: { default: { client: 'better-sqlite3', connection: { filename: ':memory:' } } },
    logger: warnings.logger,
  });
  const middleware = spoolMiddleware({ atomicRequests: true });
  const server = http.createServer((req, res) => middleware(req, res, () => res.end('plain')));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    expect(await get(`http://127.0.0.1:${port}/`)).toEqual({ status: 200, body: 'plain' });
    expect(await get(`http://127.0.0.1:${port}/`)).toEqual({ status: 200, body: 'plain' });
    expect(warnings.messages).toEqual([
      'spoolMiddleware({ atomicRequests }): this router does not publish handler errors (Express 4, or Express 5 with router < 2.3), so a request whose error handler answers below 500 would commit. Register app.use(spoolErrors()) after your routes and before your error handlers.',
    ]);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await connections.shutdown();
  }
});
