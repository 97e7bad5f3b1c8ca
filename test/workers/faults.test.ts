// Fault tests: 1,000 tasks of which 10% throw, 5% time out, 2% call process.exit() inside the
// worker, with maxAge: null. Every task is reported completed or failed (none lost), the
// server-side count never passes workers × perWorker, and it is 0 within 2 s of close().
import { configure, shutdown } from '@spool/connections';
import type { ConnectionCounter } from '@spool/testing';
import { TaskTimeoutError, WorkerExitedError, WorkerPool, type TaskOutcome, type WorkerExitEvent } from '@spool/workers';
import { eachDatabase } from '../support/helpers';
import { fixture, shuffled } from './helpers';

type Job = { i: number; db: string; op: string; ms?: number };

const WORKERS = 8;

function jobs(db: string): Job[] {
  const list: Job[] = [];
  for (let i = 0; i < 1000; i++) {
    let op = 'query';
    if (i < 100) op = 'throw';
    else if (i < 150)
      op = db === 'sqlite' || i % 2 === 0 ? 'hang' : 'long'; // SQLite: a native query cannot be interrupted
    else if (i < 170) op = 'exit';
    list.push({ i, db, op, ms: op === 'query' ? i % 3 : 0 });
  }
  return shuffled(list, 7);
}

eachDatabase('WorkerPool under faults', (db) => {
  let counter: ConnectionCounter | undefined;
  afterEach(async () => {
    await counter?.close();
    await shutdown();
  });

  test('1,000 tasks (10% throw, 5% time out, 2% process.exit()): none lost, peak ≤ workers, count 0 within 2 s of close()', async () => {
    await db.setup();
    const role = await db.role('wkf');
    counter = role.counter();
    configure({ databases: { default: role.settings({ maxAge: null }) } });
    const pool = new WorkerPool<Job, { i: number }>({ filename: fixture('query-task.js'), workers: WORKERS, checkCapacity: false });
    const exits: WorkerExitEvent[] = [];
    pool.on('workerExit', (e: WorkerExitEvent) => exits.push(e));
    const outcomes: Array<TaskOutcome<Job, { i: number }>> = [];
    const c = counter;
    const { peak } = await c.peakDuring(async () => {
      const tasks = pool.map(jobs(db.name), {
        settled: true,
        concurrency: 2 * WORKERS,
        name: (j) => `${j.op} ${j.i}`,
        // Only the tasks meant to time out get a limit: a worker's start-up counts in a task's time.
        timeoutMs: (j) => (j.op === 'hang' || j.op === 'long' ? 300 : null),
      });
      for await (const o of tasks) outcomes.push(o);
    }, 5);
    expect(outcomes).toHaveLength(1000);
    expect(new Set(outcomes.map((o) => o.index)).size).toBe(1000);
    const byOp = (op: string) => outcomes.filter((o) => o.item.op === op);
    expect(byOp('query').every((o) => o.ok && o.value.i === o.item.i)).toBe(true);
    expect(byOp('throw').every((o) => !o.ok && (o.error as { code?: string }).code === 'E_ON_PURPOSE')).toBe(true);
    expect(byOp('exit').every((o) => !o.ok && o.error instanceof WorkerExitedError && o.error.exitCode === 3)).toBe(true);
    expect([...byOp('hang'), ...byOp('long')].every((o) => !o.ok && o.error instanceof TaskTimeoutError)).toBe(true);
    expect(peak).toBeLessThanOrEqual(WORKERS);
    const stats = await pool.stats();
    expect(stats.tasks).toMatchObject({ completed: 830, failed: 170, timedOut: 50, workerExited: 20, queued: 0, running: 0 });
    // Dead workers were replaced (piscina starts one at once, or when the next tasks need it).
    await Promise.all(Array.from({ length: 2 * WORKERS }, (_, i) => pool.run({ i, db: db.name, op: 'query', ms: 20 })));
    expect(pool.threads).toHaveLength(WORKERS);
    const closing = Date.now();
    await pool.close();
    expect(await c.waitForCount(0, 2000)).toBe(0);
    expect(Date.now() - closing).toBeLessThan(2000 + 500);
    expect(pool.budget.inUse('default')).toBe(0);
    expect(exits.filter((e) => e.exitCode === 3)).toHaveLength(20);
    // 70 workers die and are replaced: on a loaded machine their start-ups alone can take a minute.
  }, 180_000);
});
