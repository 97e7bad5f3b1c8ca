// Acceptance scenarios 5, 6, 7 and 17 with a WorkerPool, on every database of the matrix,
// counting connections on the server (SQLite: open handles on the database file).
// Each suite uses roles of its own ('wk…'), so that no other suite's connections are counted (docs/acceptance.md).
import { configure, shutdown } from '@spool/connections';
import type { ConnectionCounter } from '@spool/testing';
import { TaskAbortedError, TaskTimeoutError, WorkerPool, type WorkerExitEvent } from '@spool/workers';
import { eachDatabase, eventually } from '../support/helpers';
import { fixture, runScript } from './helpers';

type Result = { i: number; server: number; threadId: number; name: string | undefined };

eachDatabase('WorkerPool scenarios', (db) => {
  let counter: ConnectionCounter | undefined;
  let pool: WorkerPool<Record<string, unknown>, Result> | undefined;
  beforeAll(() => db.setup());
  afterEach(async () => {
    await pool?.close({ deadlineMs: 0 });
    pool = undefined;
    await counter?.close();
    counter = undefined;
    await shutdown();
  });

  test('scenario 5, the seed: 8 workers run 200 querying tasks under a role limited to 10 connections: peak ≤ 8, 0 after close', async () => {
    const role = await db.role('wklim', { connectionLimit: 10 });
    counter = role.counter();
    configure({ databases: { default: role.settings({ maxAge: null }) } });
    pool = new WorkerPool({ filename: fixture('query-task.js'), workers: 8 });
    const capacity = await pool.checkCapacity();
    if (db.hasServer) expect(capacity[0]).toMatchObject({ alias: 'default', planned: 8, limit: 10, ok: true });
    const p = pool;
    const { result, peak } = await counter.peakDuring(
      () => Promise.all(Array.from({ length: 200 }, (_, i) => p.run({ i, db: db.name, ms: 2 }, { name: `job ${i}` }))),
      5,
    );
    expect(result).toHaveLength(200);
    expect(result.map((r) => r.i)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(result[7]?.name).toBe('job 7');
    expect(peak).toBeLessThanOrEqual(8);
    const stats = await pool.stats();
    expect(stats.tasks).toMatchObject({ completed: 200, failed: 0 });
    expect(stats.totals.default?.open).toBeLessThanOrEqual(8);
    const report = await pool.close();
    expect(report.tasks.completed).toBe(200);
    expect(await counter.waitForCount(0, 2000)).toBe(0);
  });

  test('scenario 5 with maxAge 0: every task closes its connection, the count is 0 between tasks', async () => {
    const role = await db.role('wklim', { connectionLimit: 10 });
    counter = role.counter();
    configure({ databases: { default: role.settings({ maxAge: 0 }) } });
    pool = new WorkerPool({ filename: fixture('query-task.js'), workers: 8, checkCapacity: false });
    for (let i = 0; i < 5; i++) {
      await pool.run({ i, db: db.name });
      expect(await counter.waitForCount(0, 1000)).toBe(0);
    }
    const p = pool;
    const { peak } = await counter.peakDuring(
      () => Promise.all(Array.from({ length: 200 }, (_, i) => p.run({ i, db: db.name, ms: 2 }))),
      5,
    );
    expect(peak).toBeLessThanOrEqual(8);
    expect(await counter.waitForCount(0, 1000)).toBe(0);
    const stats = await pool.stats();
    expect(stats.totals.default?.opens).toBe(205);
    expect(stats.totals.default?.open).toBe(0);
  });

  test('scenario 6, task boundaries honour maxAge: 4 workers, maxAge null, 100 tasks: ≤ 4 connections, reused, 0 after close', async () => {
    const role = await db.role('wk');
    counter = role.counter();
    configure({ databases: { default: role.settings({ maxAge: null }) } });
    pool = new WorkerPool({ filename: fixture('query-task.js'), workers: 4, checkCapacity: false });
    const p = pool;
    const { result, peak } = await counter.peakDuring(
      () => Promise.all(Array.from({ length: 100 }, (_, i) => p.run({ i, db: db.name }))),
      5,
    );
    expect(new Set(result.map((r) => `${r.threadId}:${r.server}`)).size).toBeLessThanOrEqual(4);
    if (db.hasServer) expect(new Set(result.map((r) => r.server)).size).toBeLessThanOrEqual(4);
    expect(peak).toBeLessThanOrEqual(4);
    const stats = await pool.stats();
    expect(stats.totals.default?.opens).toBeLessThanOrEqual(4);
    expect(stats.totals.default?.leases).toBe(100);
    // Idle between tasks, kept for the next one (maxAge null) ...
    expect(await counter.count()).toBe(stats.totals.default?.open);
    // ... and closed with the pool.
    const report = await pool.close();
    expect(report.connectionsClosed).toBe(stats.totals.default?.open);
    expect(await counter.waitForCount(0, 2000)).toBe(0);
  });

  test('scenario 7: a task timing out mid-query is reported failed, its worker is replaced, the count returns to 0 within 2 s', async () => {
    const role = await db.role('wk');
    counter = role.counter();
    configure({ databases: { default: role.settings({ maxAge: 0 }) } });
    pool = new WorkerPool({ filename: fixture('query-task.js'), workers: 2, checkCapacity: false });
    const exits: WorkerExitEvent[] = [];
    pool.on('workerExit', (e: WorkerExitEvent) => exits.push(e));
    const before = pool.threads.map((t) => t.threadId);
    // Both workers are up (their entry answers the pool), so that the timeout measures the task,
    // not a thread's start-up on a loaded machine: the task must time out mid-query.
    const p = pool;
    expect(await eventually(async () => (await p.stats()).threads.length === 2, 10_000, 50)).toBe(true);
    // SQLite runs a statement synchronously in the worker, where terminate() cannot interrupt it
    // before it returns: there the task holds its handle in JavaScript instead.
    const op = db.hasServer ? 'long' : 'hang';
    const err = await pool.run({ db: db.name, op }, { name: 'slow report', timeoutMs: 1500 }).catch((e: unknown) => e);
    const failedAt = Date.now();
    expect(err).toBeInstanceOf(TaskTimeoutError);
    expect((err as TaskTimeoutError).message).toBe(
      "Task #1 'slow report' timed out after 1500 ms: the worker was terminated (its connections closed with it) and replaced. Raise 'timeoutMs', or make the task faster.",
    );
    expect((err as TaskTimeoutError).code).toBe('E_TASK_TIMEOUT');
    expect(await counter.waitForCount(0, 2000)).toBe(0);
    expect(Date.now() - failedAt).toBeLessThan(2000);
    // The pool still has 2 workers, one of them new, and keeps working.
    expect((await pool.run({ i: 1, db: db.name })).i).toBe(1);
    expect(pool.threads).toHaveLength(2);
    expect(pool.threads.map((t) => t.threadId)).not.toEqual(before);
    await pool.close();
    // The server still ran the dead worker's statement: the pool closed it (PostgreSQL would also
    // notice within client_connection_check_interval; MariaDB would run SLEEP(30) to its end).
    if (db.hasServer) expect(exits.filter((e) => e.leftOpen === 1)).toHaveLength(1);
  });

  test('scenario 7 with an AbortSignal: the aborted task fails with TaskAbortedError and its connection goes', async () => {
    const role = await db.role('wk');
    counter = role.counter();
    configure({ databases: { default: role.settings({ maxAge: null }) } });
    pool = new WorkerPool({ filename: fixture('query-task.js'), workers: 1, checkCapacity: false });
    const controller = new AbortController();
    const running = pool.run({ db: db.name, op: 'hang' }, { signal: controller.signal }).catch((e: unknown) => e);
    expect(await counter.waitForCount(1, 5000)).toBe(1);
    controller.abort(new Error('user pressed cancel'));
    const err = await running;
    expect(err).toBeInstanceOf(TaskAbortedError);
    expect(((err as Error).cause as Error).message).toBe('user pressed cancel');
    expect(await counter.waitForCount(0, 2000)).toBe(0);
    expect((await pool.run({ i: 2, db: db.name })).i).toBe(2);
  });

  test('scenario 17: a script that runs tasks on a pool and never closes it exits by itself, leaving count 0', async () => {
    const role = await db.role('wk');
    counter = role.counter();
    const run = await runScript(fixture('pool-script.js'), {
      SPOOL_SETTINGS: JSON.stringify(role.settings({ maxAge: null })),
      SPOOL_DB: db.name,
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout.trim()) as { results: number; msAfterLastTask: number };
    expect(out.results).toBe(20);
    expect(await counter.waitForCount(0, 2000)).toBe(0);
    // The process ended soon after its last task (time measured from inside, then process start-up aside).
    expect(run.ms).toBeLessThan(10_000);
  });
});
