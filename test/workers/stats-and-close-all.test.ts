// Process-wide observability across a pool's workers: pool.stats() per worker and summed,
// connections.stats({ everywhere: true }) and connections.closeAll({ everywhere: true }) reaching
// the pool's workers between tasks, pool.closeAll().
import { configure, connections, shutdown } from '@spool/connections';
import type { ConnectionCounter } from '@spool/testing';
import { WorkerPool } from '@spool/workers';
import { eachDatabase } from '../support/helpers';
import { fixture } from './helpers';

/** What query-task.js takes and returns. */
type QueryTask = WorkerPool<{ i: number; db: string; ms?: number }, { i: number }>;

eachDatabase('WorkerPool stats and closeAll', (db) => {
  let counter: ConnectionCounter | undefined;
  let pool: QueryTask | undefined;
  beforeAll(async () => {
    await db.setup();
    counter = (await db.role('wks')).counter();
  });
  afterEach(async () => {
    await pool?.close({ deadlineMs: 0 });
    pool = undefined;
    await shutdown();
  });
  afterAll(() => counter?.close());

  async function warmPool(): Promise<QueryTask> {
    const role = await db.role('wks');
    configure({ databases: { default: role.settings({ maxAge: null }) } });
    const p: QueryTask = new WorkerPool({ filename: fixture('query-task.js'), workers: 3, checkCapacity: false });
    // Enough slow tasks that each of the 3 workers runs some and keeps its connection.
    await Promise.all(Array.from({ length: 9 }, (_, i) => p.run({ i, db: db.name, ms: 30 })));
    expect(await counter!.waitForCount(3, 2000)).toBe(3);
    return p;
  }

  test('pool.stats(): per worker open / leased / idle / opens / closes, their sums, the tasks and the budget', async () => {
    pool = await warmPool();
    const stats = await pool.stats();
    expect(stats.workers).toBe(3);
    expect(stats.unresponsive).toEqual([]);
    expect(stats.threads.map((t) => t.threadId).sort()).toEqual(pool.threads.map((t) => t.threadId).sort());
    for (const t of stats.threads) expect(t.aliases.default).toMatchObject({ open: 1, leased: 0, idle: 1, opens: 1, closes: 0, max: 1 });
    expect(stats.totals.default).toMatchObject({ open: 3, idle: 3, leased: 0, opens: 3, leases: 9, releases: 9 });
    expect(stats.tasks).toMatchObject({ completed: 9, failed: 0, running: 0, queued: 0 });
    expect(stats.budget).toEqual({ default: { limit: 3, inUse: 3 } });
  });

  test('connections.stats({ everywhere: true }) sees the pool workers; closeAll({ everywhere: true }) closes their idle connections', async () => {
    pool = await warmPool();
    const workerIds = pool.threads.map((t) => t.threadId);
    const everywhere = await connections.stats({ everywhere: true });
    const seen = everywhere.threads.filter((t) => workerIds.includes(t.threadId));
    expect(seen).toHaveLength(3);
    expect(seen.reduce((n, t) => n + (t.aliases.default?.open ?? 0), 0)).toBe(3);
    expect(await connections.closeAll({ everywhere: true })).toBe(3);
    expect(await counter!.waitForCount(0, 2000)).toBe(0);
    expect(pool.budget.inUse('default')).toBe(0);
    // The workers open again on their next task.
    expect((await pool.run({ i: 1, db: db.name })).i).toBe(1);
  });

  test('pool.closeAll() closes the idle connections of this pool only', async () => {
    pool = await warmPool();
    expect(await pool.closeAll()).toBe(3);
    expect(await counter!.waitForCount(0, 2000)).toBe(0);
    const stats = await pool.stats();
    expect(stats.totals.default).toMatchObject({ open: 0, closes: 3 });
  });
});
