// The fault matrix, part 5 (issue 13): the pool exhausted beyond acquireTimeoutMs under a
// process-wide budget. Four workers, a budget of two connections for the whole pool, four tasks
// that each hold a connection for 1.5 s: two run, two wait acquireTimeoutMs and fail with a
// PoolExhaustedError that names the process-wide budget (none waits longer than its bound), the
// server never sees more than two connections, and the budget and the count return to 0.
import { configure, PoolExhaustedError, shutdown } from '@spool/connections';
import { WorkerPool, type TaskOutcome } from '@spool/workers';
import { eachDatabase, eventually, useDatabase } from '../support/helpers';
import { fixture } from '../workers/helpers';

const ACQUIRE_TIMEOUT_MS = 300;

eachDatabase('fault matrix: process-wide budget exhausted', (db) => {
  const counter = useDatabase(db);
  afterEach(() => shutdown());

  test('2 of 4 tasks get a connection, 2 fail after acquireTimeoutMs naming the process-wide budget; count never above 2, then 0', async () => {
    configure({ databases: { default: db.settings({ maxAge: null, acquireTimeoutMs: ACQUIRE_TIMEOUT_MS }) } });
    const pool = new WorkerPool({ filename: fixture('query-task.js'), workers: 4, budget: { default: 2 }, checkCapacity: false });
    try {
      // All four workers up first, so that the four tasks really compete.
      expect(await eventually(async () => (await pool.stats()).threads.length === 4, 30_000, 50)).toBe(true);
      const { result: outcomes, peak } = await counter.peakDuring(async () => {
        const out: Array<TaskOutcome<unknown, unknown>> = [];
        for await (const o of pool.map(
          [0, 1, 2, 3].map((i) => ({ i, db: db.name, op: 'query', ms: 1500 })),
          { settled: true, concurrency: 4 },
        ))
          out.push(o as TaskOutcome<unknown, unknown>);
        return out;
      });
      const failed = outcomes.filter((o) => !o.ok).map((o) => (o as { error: unknown }).error as PoolExhaustedError);
      expect(outcomes.filter((o) => o.ok)).toHaveLength(2);
      expect(failed).toHaveLength(2);
      for (const e of failed) {
        expect(e).toBeInstanceOf(PoolExhaustedError);
        expect(e.message).toMatch(/the process-wide budget of 2/);
        expect(e.waitedMs).toBeGreaterThanOrEqual(ACQUIRE_TIMEOUT_MS - 5);
        expect(e.waitedMs).toBeLessThan(ACQUIRE_TIMEOUT_MS + 1000);
      }
      if (db.hasServer) expect(peak).toBeLessThanOrEqual(2);
      expect(pool.budget.inUse('default')).toBeLessThanOrEqual(2);
    } finally {
      await pool.close({ deadlineMs: 2000 });
    }
    expect(pool.budget.inUse('default')).toBe(0);
    if (db.hasServer) expect(await counter.waitForCount(0, 3000)).toBe(0);
  }, 60_000);
});
