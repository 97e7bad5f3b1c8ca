// Issue 13: `close({ deadlineMs })` with tasks that never finish returns at the deadline, plus a
// small bound for terminating the workers and ending their statements on the server (before:
// about 3 s for a 1 s deadline: the kill of each dead worker's statement waited a second for a
// budget unit the dead workers themselves held, one worker after another). The hung tasks fail
// with PoolClosedError, and the server-side count is 0 when close() resolves.
import { configure, shutdown } from '@spool/connections';
import type { ConnectionCounter } from '@spool/testing';
import { PoolClosedError, WorkerPool } from '@spool/workers';
import { eachDatabase, eventually } from '../support/helpers';
import { fixture } from './helpers';

const DEADLINE_MS = 1000;
/**
 * What close() may take past its deadline: terminating 4 threads and ending 4 statements. About
 * 250–266 ms on a quiet machine (alone); 517–542 ms inside the full suite on 2 busy cores, so the
 * bound is 1 s: still far below the 2 s the bug added (one budget wait per dead worker).
 */
const GRACE_MS = 1000;

eachDatabase('WorkerPool close deadline', (db) => {
  let counter: ConnectionCounter | undefined;
  beforeAll(async () => {
    await db.setup();
    counter = (await db.role('wkc')).counter();
  });
  afterEach(() => shutdown());
  afterAll(() => counter?.close());

  test(`close({ deadlineMs: ${DEADLINE_MS} }) with hung tasks (a promise never settling, a long statement, synchronous code) returns within ${GRACE_MS} ms of its deadline`, async () => {
    const role = await db.role('wkc');
    configure({ databases: { default: role.settings({ maxAge: null }) } });
    // A native SQLite statement cannot be interrupted: a spinning thread stands for it.
    const ops = ['hang', db.hasServer ? 'long' : 'spin', 'long', 'spin'].map((op) => (op === 'long' && !db.hasServer ? 'hang' : op));
    const pool = new WorkerPool({ filename: fixture('query-task.js'), workers: ops.length, checkCapacity: false });
    try {
      await closesInTime(pool, ops);
    } finally {
      await pool.close({ deadlineMs: 0 });
    }
  }, 60_000);

  async function closesInTime(pool: WorkerPool, ops: string[]): Promise<void> {
    const outcomes = ops.map((op, i) =>
      pool.run({ i, db: db.name, op }).then(
        () => 'done',
        (e: unknown) => e,
      ),
    );
    // Every task holds its connection (and the long statements run on the server) before close().
    if (db.hasServer) {
      expect(await eventually(async () => (await counter?.count()) === ops.length, 20_000, 25)).toBe(true);
      const busy = ops.filter((op) => op === 'long').length;
      expect(
        await eventually(
          async () => {
            const ids = (await counter?.serverIds()) ?? [];
            let n = 0;
            for (const id of ids) if (await counter?.busy(id)) n += 1;
            return n === busy;
          },
          10_000,
          25,
        ),
      ).toBe(true);
    } else {
      // Workers in synchronous code cannot answer stats: the pool's own counters say all run.
      expect(await eventually(async () => (await pool.stats({ timeoutMs: 100 })).tasks.running === ops.length, 20_000, 25)).toBe(true);
    }
    const started = performance.now();
    const report = await pool.close({ deadlineMs: DEADLINE_MS });
    const took = performance.now() - started;
    expect(took).toBeGreaterThanOrEqual(DEADLINE_MS - 5);
    expect(took).toBeLessThan(DEADLINE_MS + GRACE_MS);
    expect(report.forced).toBe(ops.length);
    for (const o of await Promise.all(outcomes)) expect(o).toBeInstanceOf(PoolClosedError);
    // Nothing left running on the server once close() resolved.
    if (db.hasServer) expect(await counter?.count()).toBe(0);
  }
});
