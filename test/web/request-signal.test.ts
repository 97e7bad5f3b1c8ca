// A client that goes away is visible to the handler before its scope ends: requestSignal() is
// aborted with a RequestAbortedError (status 499), so a handler that checks it between
// statements stops quietly. (A statement it had already issued when the client left, still
// waiting for its connection, fails with ScopeEndedError until the connection layer drains such
// statements at scope end.) Express, Fastify, node:http, on the three databases; count 0 after.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import { ScopeEndedError, sql } from '@spool/connections';
import { RequestAbortedError, requestSignal, spoolMiddleware, spoolPlugin, withScope } from '@spool/web';
import { configureFor, eachDatabase, sleep, useDatabase } from '../support/helpers';

type Framework = 'express' | 'fastify' | 'http';
interface Outcome {
  stoppedAfter: number;
  reason: unknown;
  sameAsByRequest: boolean;
  error: unknown;
}

async function loop(req: IncomingMessage, res: ServerResponse, outcomes: Outcome[]): Promise<void> {
  const signal = requestSignal();
  let i = 0;
  try {
    for (; i < 200; i++) {
      if (signal.aborted) break;
      await sql`SELECT ${i} AS i`;
      await sleep(5);
    }
    outcomes.push({ stoppedAfter: i, reason: signal.reason, sameAsByRequest: requestSignal(req) === signal, error: undefined });
    if (!signal.aborted) res.end('done');
  } catch (error) {
    outcomes.push({ stoppedAfter: i, reason: signal.reason, sameAsByRequest: requestSignal(req) === signal, error });
  }
}

async function serve(framework: Framework, outcomes: Outcome[]): Promise<{ url: string; close(): Promise<void> }> {
  if (framework === 'fastify') {
    const app = Fastify();
    await app.register(spoolPlugin, {});
    app.get('/loop', async (request, reply) => {
      reply.hijack();
      reply.raw.write('started\n');
      await loop(request.raw, reply.raw, outcomes);
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    return { url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, close: () => app.close() };
  }
  let server: http.Server;
  if (framework === 'express') {
    const app = express();
    app.use(spoolMiddleware());
    app.get('/loop', (req, res) => {
      res.write('started\n');
      return loop(req, res, outcomes);
    });
    server = http.createServer(app);
  } else {
    server = http.createServer(
      withScope((req, res) => {
        res.write('started\n');
        return loop(req, res, outcomes);
      }),
    );
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

eachDatabase('requestSignal()', (db) => {
  const counter = useDatabase(db);

  test.each<Framework>(['express', 'fastify', 'http'])(
    '%s: 10 clients that go away; each handler sees its signal and stops without an error',
    async (framework) => {
      configureFor(db);
      const outcomes: Outcome[] = [];
      const server = await serve(framework, outcomes);
      try {
        await Promise.all(
          Array.from(
            { length: 10 },
            () =>
              new Promise<void>((resolve) => {
                const req = http.get(`${server.url}/loop`, { agent: false }, (res) =>
                  res.once('data', () => setTimeout(() => req.destroy(), 50)),
                );
                req.on('error', () => undefined);
                req.on('close', () => resolve());
              }),
          ),
        );
        const deadline = Date.now() + 10_000;
        while (outcomes.length < 10 && Date.now() < deadline) await sleep(10);
        expect(outcomes).toHaveLength(10);
        for (const o of outcomes) {
          // Stopped by the signal, or by ScopeEndedError for a statement issued before it fired.
          expect(o.error === undefined || ScopeEndedError.is(o.error)).toBe(true);
          expect(o.stoppedAfter).toBeLessThan(200);
          expect(o.sameAsByRequest).toBe(true);
          expect(RequestAbortedError.is(o.reason)).toBe(true);
          expect((o.reason as RequestAbortedError).statusCode).toBe(499);
          expect((o.reason as Error).message).toBe(
            "The client of GET /loop went away before the response was complete: the request's scope has ended (its transaction, if any, rolled back). Stop the work: check requestSignal().aborted, or pass the signal to what you await.",
          );
        }
        expect(await counter.waitForCount(0, 5000)).toBe(0);
      } finally {
        await server.close();
      }
    },
  );
});

test('outside a request, requestSignal() never aborts', () => {
  expect(requestSignal().aborted).toBe(false);
  expect(requestSignal({}).aborted).toBe(false);
});
