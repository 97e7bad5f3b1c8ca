// Load shedding through @spool/web (issue 15): a request whose scope finds the alias's wait queue
// full (maxWaiting) is answered at once with 503 Service Unavailable and Retry-After, on Express
// (with and without spoolErrors(), whose default error handler reads the error's statusCode),
// Fastify and node:http; the queued request is served once the holder is done, and the server-side
// count returns to the idle connections.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import { connections, sql } from '@spool/connections';
import { spoolErrors, spoolMiddleware, spoolPlugin, withScope } from '@spool/web';
import { configureFor, eachDatabase, eventually, latch, useDatabase } from '../support/helpers';

type Framework = 'express' | 'express + spoolErrors()' | 'fastify' | 'http';
const FRAMEWORKS: Framework[] = ['express', 'express + spoolErrors()', 'fastify', 'http'];

interface Served {
  url: string;
  close(): Promise<void>;
}

/** `/hold` leases a connection and keeps it until `release` fires; `/query` runs one statement. */
async function serve(framework: Framework, holding: () => void, release: Promise<void>): Promise<Served> {
  const hold = async (): Promise<string> => {
    await sql`SELECT 1`;
    holding();
    await release;
    return 'held';
  };
  const query = async (): Promise<string> => {
    const rows = await sql`SELECT 2 AS two`;
    return JSON.stringify(rows);
  };
  let server: http.Server;
  if (framework === 'fastify') {
    const app = Fastify();
    await app.register(spoolPlugin);
    app.get('/hold', hold);
    app.get('/query', query);
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    return { url: `http://127.0.0.1:${port}`, close: () => app.close() };
  }
  if (framework === 'http') {
    server = http.createServer(withScope(async (req, res) => res.end(await (req.url === '/hold' ? hold() : query()))));
  } else {
    const app = express();
    app.use(spoolMiddleware());
    app.get('/hold', async (_req, res) => void res.send(await hold()));
    app.get('/query', async (_req, res) => void res.send(await query()));
    if (framework === 'express + spoolErrors()') {
      app.use(spoolErrors());
      // An application's own error handler after it: never reached by an overload error.
      app.use(
        (_err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => void res.status(500).end('app'),
      );
    }
    server = http.createServer(app);
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

function get(url: string): Promise<{ status: number; retryAfter: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] as string | undefined, body }));
      })
      .on('error', reject);
  });
}

eachDatabase('@spool/web load shedding: 503 with Retry-After', (db) => {
  const counter = useDatabase(db);

  for (const framework of FRAMEWORKS) {
    test(`${framework}: a request arriving at a full wait queue gets 503 + Retry-After at once; the queued one is served`, async () => {
      configureFor(db, { max: 1, maxWaiting: 1, maxAge: null, acquireTimeoutMs: 30_000 });
      const [holding, release] = [latch(), latch()];
      const app = await serve(framework, holding.fire, release.fired);
      try {
        const held = get(`${app.url}/hold`);
        await holding.fired;
        const queued = get(`${app.url}/query`);
        expect(await eventually(() => connections.stats().aliases.default?.waiting === 1)).toBe(true);

        // The holder keeps its connection meanwhile (acquireTimeoutMs is 30 s): the answer is the shed.
        const shed = await get(`${app.url}/query`);
        expect(shed.status).toBe(503);
        expect(shed.retryAfter).toBe('1');
        expect(connections.stats().aliases.default).toMatchObject({ shed: 1, leased: 1, waiting: 1 });

        release.fire();
        expect(await held).toMatchObject({ status: 200, body: 'held' });
        const served = await queued;
        expect(served.status).toBe(200);
        expect(JSON.parse(served.body)).toEqual([{ two: 2 }]);
        expect(await eventually(() => connections.stats().aliases.default?.leased === 0)).toBe(true);
        if (db.hasServer) expect(await counter.waitForCount(1, 5000)).toBe(1); // the one idle connection
      } finally {
        release.fire();
        await app.close();
      }
    }, 30_000);
  }
});
