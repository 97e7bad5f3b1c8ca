// Load shedding in a WorkerPool (issue 15): a task whose scope finds its worker's wait queue full
// (maxWaiting, passed to the workers in `databases`) fails, and the pool reports it on the task as
// a PoolExhaustedError rebuilt with its class and fields (queueFull, waiting, statusCode); the
// worker goes on serving, and nothing stays open after close.
import { configure, PoolExhaustedError, shutdown } from '@spool/connections';
import { WorkerPool, type TaskOutcome } from '@spool/workers';
import { eachDatabase, useDatabase } from '../support/helpers';
import { fixture } from './helpers';

eachDatabase('WorkerPool load shedding', (db) => {
  const counter = useDatabase(db);
  afterEach(() => shutdown());

  test('the task reports the PoolExhaustedError (queue full) with its class; the next task succeeds; count 0 after close', async () => {
    configure({ databases: { default: db.settings({ maxAge: null, acquireTimeoutMs: 30_000 }) } });
    const pool = new WorkerPool({
      filename: fixture('shed-task.js'),
      workers: 1,
      databases: { default: { maxWaiting: 2 } },
      checkCapacity: false,
    });
    try {
      // 5 child scopes on 1 connection: 1 leases, 2 wait, 2 are refused at once.
      const err = (await pool.run({ n: 5, ms: 50 }).catch((e: unknown) => e)) as PoolExhaustedError;
      expect(err).toBeInstanceOf(PoolExhaustedError);
      expect(PoolExhaustedError.is(err)).toBe(true);
      expect(err).toMatchObject({
        queueFull: true,
        waiting: 2,
        waitedMs: 0,
        budget: 1,
        statusCode: 503,
        code: 'E_POOL_EXHAUSTED',
        alias: 'default',
      });
      expect(err.message).toMatch(/^The wait queue for a connection to 'default' is full: 2 scopes are already waiting \(maxWaiting = 2\)/);

      const outcomes: Array<TaskOutcome<unknown, unknown>> = [];
      for await (const o of pool.map([{ n: 3 }, { n: 4 }], { settled: true })) outcomes.push(o as TaskOutcome<unknown, unknown>);
      expect(outcomes[0]).toMatchObject({ ok: true, value: [0, 1, 2] });
      expect(outcomes[1]).toMatchObject({ ok: false });
      expect((outcomes[1] as { error: unknown }).error).toBeInstanceOf(PoolExhaustedError);
    } finally {
      await pool.close({ deadlineMs: 2000 });
    }
    if (db.hasServer) expect(await counter.waitForCount(0, 5000)).toBe(0);
  }, 60_000);
});
