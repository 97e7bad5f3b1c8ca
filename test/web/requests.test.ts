// docs/acceptance.md scenario 16: 100 concurrent HTTP requests, some streamed, some aborted by the client:
// count 0 after all finish, each request's connection released exactly once; and Django's
// ATOMIC_REQUESTS: committed before the response completes, rolled back on a 5xx or an abort.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import { connections, scope, ScopeEndedError, sql } from '@spool/connections';
import { spoolMiddleware, spoolPlugin, withScope, type RequestScopeOptions } from '@spool/web';
import { configureFor, eachDatabase, sleep, useDatabase } from '../support/helpers';

type Route = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/** The same routes, mounted on each framework. */
const routes: Record<string, Route> = {
  '/plain': async (_req, res) => {
    const rows = await sql`SELECT 1 AS one`;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(rows));
  },
  '/stream': async (_req, res) => {
    res.write('start\n');
    for (let i = 0; i < 4; i++) {
      await sql`SELECT ${i} AS i`;
      res.write(`chunk ${i}\n`);
      await sleep(5);
    }
    res.end('end\n');
  },
  '/long': async (_req, res) => {
    res.write('start\n');
    // Keeps querying until the client is gone; after that the scope has ended and says so.
    for (let i = 0; i < 100 && !res.destroyed; i++) {
      try {
        await sql`SELECT ${i} AS i`;
      } catch (err) {
        if (!ScopeEndedError.is(err)) throw err;
        return;
      }
      await sleep(5);
    }
    res.end('end\n');
  },
  '/insert': async (req, res) => {
    const name = new URL(req.url ?? '/', 'http://x').searchParams.get('name') ?? '';
    await sql`INSERT INTO spool_web (name) VALUES (${name})`;
    if (name.startsWith('fail')) throw new Error('the handler failed after inserting');
    if (name.startsWith('abort')) {
      res.write('inserted\n');
      await sleep(300); // the client goes away meanwhile
    }
    res.end('ok');
  },
};

type Framework = 'express' | 'fastify' | 'http';

async function serve(framework: Framework, options: RequestScopeOptions): Promise<{ url: string; close(): Promise<void> }> {
  let server: http.Server;
  if (framework === 'express') {
    const app = express();
    app.use(spoolMiddleware(options));
    for (const [path, route] of Object.entries(routes)) app.get(path, (req, res, next) => void route(req, res).catch(next));
    app.use((err: Error, _req: unknown, res: express.Response, _next: unknown) => {
      void err;
      if (!res.headersSent) res.status(500).end('failed');
      else res.destroy();
    });
    server = http.createServer(app);
  } else if (framework === 'http') {
    server = http.createServer(
      withScope((req, res) => {
        const route = routes[(req.url ?? '/').split('?')[0] as string];
        if (!route) {
          res.statusCode = 404;
          res.end();
          return;
        }
        return route(req, res);
      }, options),
    );
  } else {
    const app = Fastify();
    await app.register(spoolPlugin, options);
    for (const [path, route] of Object.entries(routes)) {
      app.get(path, async (request, reply) => {
        reply.hijack();
        await route(request.raw, reply.raw).catch((err: unknown) => {
          void err;
          if (!reply.raw.headersSent) {
            reply.raw.statusCode = 500;
            reply.raw.end('failed');
          } else reply.raw.destroy();
        });
      });
    }
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    return { url: `http://127.0.0.1:${port}`, close: () => app.close() };
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** GET `url`; `abortAfterFirstChunk` destroys the request when the first bytes arrive. */
function get(url: string, abortAfterFirstChunk = false): Promise<{ status: number; body: string; aborted: boolean }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => {
        body += d;
        if (abortAfterFirstChunk) {
          req.destroy();
          resolve({ status: res.statusCode ?? 0, body, aborted: true });
        }
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, aborted: false }));
      res.on('error', () => undefined);
    });
    req.on('error', (err) => (abortAfterFirstChunk ? undefined : reject(err)));
  });
}

const FRAMEWORKS: Framework[] = ['express', 'fastify', 'http'];

eachDatabase('web requests', (db) => {
  const counter = useDatabase(db);

  beforeAll(async () => {
    configureFor(db);
    await scope(async () => {
      await sql`DROP TABLE IF EXISTS spool_web`;
      await sql`CREATE TABLE spool_web (name VARCHAR(40) PRIMARY KEY)`;
    });
  });

  describe.each(FRAMEWORKS)('%s', (framework) => {
    test('100 concurrent requests, some streamed, some aborted: each released exactly once, count 0 after', async () => {
      configureFor(db, { max: 10, acquireTimeoutMs: 30_000 });
      const releases = new Map<number, number>();
      const leases = new Set<number>();
      connections.on('lease', (e) => leases.add(e.scopeId));
      connections.on('release', (e) => releases.set(e.scopeId as number, (releases.get(e.scopeId as number) ?? 0) + 1));
      const server = await serve(framework, {});
      try {
        const requests = Array.from({ length: 100 }, (_, i) =>
          i % 10 < 4 ? get(`${server.url}/plain`) : i % 10 < 7 ? get(`${server.url}/stream`) : get(`${server.url}/long`, true),
        );
        const results = await Promise.all(requests);
        expect(results.filter((r) => r.status === 200 && !r.aborted && r.body.includes('one')).length).toBe(40);
        expect(results.filter((r) => r.body.endsWith('end\n')).length).toBe(30);
        expect(results.filter((r) => r.aborted).length).toBe(30);
        expect(await counter.waitForCount(0, 5000)).toBe(0);
        await sleep(50);
        const stats = connections.stats().aliases.default;
        expect(stats?.leased).toBe(0);
        expect(stats?.open).toBe(0);
        // Every request that completed leased; an aborted one still waiting for a connection when
        // its client left was withdrawn from the queue and never leased.
        expect(leases.size).toBeGreaterThanOrEqual(70);
        expect(leases.size).toBeLessThanOrEqual(100);
        expect([...leases].every((id) => releases.get(id) === 1)).toBe(true);
        expect(stats?.leases).toBe(stats?.releases);
      } finally {
        connections.removeAllListeners('lease');
        connections.removeAllListeners('release');
        await server.close();
      }
    });

    test('atomicRequests: committed before the response; rolled back on a 5xx or when the client goes away', async () => {
      configureFor(db);
      await scope(() => sql`DELETE FROM spool_web`);
      const server = await serve(framework, { atomicRequests: true });
      const names = async () => (await scope(() => sql<{ name: string }>`SELECT name FROM spool_web ORDER BY name`)).map((r) => r.name);
      try {
        const ok = await get(`${server.url}/insert?name=ok-${framework}`);
        expect(ok).toMatchObject({ status: 200, body: 'ok' });
        // Committed before the client saw the response.
        expect(await names()).toEqual([`ok-${framework}`]);
        const failed = await get(`${server.url}/insert?name=fail-${framework}`);
        expect(failed.status).toBe(500);
        const aborted = await get(`${server.url}/insert?name=abort-${framework}`, true);
        expect(aborted.aborted).toBe(true);
        await sleep(400);
        expect(await names()).toEqual([`ok-${framework}`]);
        expect(await counter.waitForCount(0, 5000)).toBe(0);
        expect(connections.stats().aliases.default?.leased).toBe(0);
      } finally {
        await server.close();
      }
    });
  });
});

eachDatabase('fastify native replies', (db) => {
  const counter = useDatabase(db);
  test('atomicRequests commits in onSend for returned values and rolls back thrown errors', async () => {
    configureFor(db);
    await scope(async () => {
      await sql`DROP TABLE IF EXISTS spool_web_native`;
      await sql`CREATE TABLE spool_web_native (name VARCHAR(40) PRIMARY KEY)`;
    });
    const app = Fastify();
    await app.register(spoolPlugin, { atomicRequests: true });
    app.get('/add/:name', async (request) => {
      const { name } = request.params as { name: string };
      await sql`INSERT INTO spool_web_native (name) VALUES (${name})`;
      if (name === 'bad') throw new Error('failed after the insert');
      return { added: name };
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    try {
      expect(await get(`http://127.0.0.1:${port}/add/good`)).toMatchObject({ status: 200, body: '{"added":"good"}' });
      expect((await get(`http://127.0.0.1:${port}/add/bad`)).status).toBe(500);
      const rows = await scope(() => sql<{ name: string }>`SELECT name FROM spool_web_native`);
      expect(rows.map((r) => r.name)).toEqual(['good']);
      expect(await counter.waitForCount(0, 5000)).toBe(0);
    } finally {
      await app.close();
      await scope(() => sql`DROP TABLE spool_web_native`);
    }
  });
});

test('options are validated and name what was wrong', () => {
  expect(() => spoolMiddleware({ atomicRequest: true } as RequestScopeOptions)).toThrow(
    "Unknown option 'atomicRequest' for the Spool request scope. Valid options: 'atomicRequests', 'rollbackWhen', 'name'.",
  );
  expect(() => withScope(() => undefined, { name: 'x' as unknown as () => string })).toThrow(
    "Option 'name' must be a function, got string.",
  );
});
