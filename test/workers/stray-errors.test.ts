// Issue 13: an error thrown from a timer after its task returned (or a rejection nobody handled)
// used to crash the worker, and the next, innocent task on it failed with WorkerExitedError. Now
// it is reported against the task whose code raised it (event `taskError`, or a warning), the
// worker and its connections go on, and the next task succeeds. While the task still runs, its
// own timer's error fails that task.
import { configure, shutdown } from '@spool/connections';
import { WorkerPool, type TaskErrorEvent, type WorkerExitEvent } from '@spool/workers';
import { captureWarnings, eachDatabase, eventually } from '../support/helpers';
import { fixture } from './helpers';

type Result = { i: number; server: number; threadId: number };

eachDatabase('errors raised outside their task', (db) => {
  let pool: WorkerPool | undefined;
  beforeAll(() => db.setup());
  afterEach(async () => {
    await pool?.close({ deadlineMs: 1000 });
    pool = undefined;
    await shutdown();
  });

  test.each(['strayTimer', 'strayRejection'])(
    '%s: reported against the task that caused it; the next task on that worker succeeds on the same connection',
    async (op) => {
      configure({ databases: { default: db.settings({ maxAge: null }) } });
      pool = new WorkerPool({ filename: fixture('query-task.js'), workers: 1, checkCapacity: false });
      const reports: TaskErrorEvent[] = [];
      const exits: WorkerExitEvent[] = [];
      pool.on('taskError', (e: TaskErrorEvent) => reports.push(e));
      pool.on('workerExit', (e: WorkerExitEvent) => exits.push(e));
      const first = (await pool.run({ i: 1, db: db.name, op }, { name: 'leaves a timer' })) as Result;
      expect(await eventually(() => reports.length === 1, 5000)).toBe(true);
      const report = reports[0] as TaskErrorEvent;
      expect(report).toMatchObject({
        taskId: 1,
        taskName: 'leaves a timer',
        threadId: first.threadId,
        origin: op === 'strayTimer' ? 'uncaughtException' : 'unhandledRejection',
      });
      expect((report.error as Error).message).toBe(op === 'strayTimer' ? 'stray error of task 1' : 'stray rejection of task 1');
      // The next task, on the same worker, is not charged with it: it succeeds, on the same
      // thread and (maxAge null) the same server connection.
      const second = (await pool.run({ i: 2, db: db.name })) as Result;
      expect(second.threadId).toBe(first.threadId);
      expect(second.server).toBe(first.server);
      expect(exits).toEqual([]);
      expect((await pool.stats()).tasks).toMatchObject({ completed: 2, failed: 0, workerExited: 0 });
    },
  );

  test('without a taskError listener, the stray error is a warning naming the task', async () => {
    const { logger, messages } = captureWarnings();
    configure({ databases: { default: db.settings({ maxAge: null }) }, logger });
    pool = new WorkerPool({ filename: fixture('query-task.js'), workers: 1, checkCapacity: false });
    await pool.run({ i: 7, db: db.name, op: 'strayTimer' }, { name: 'nightly' });
    expect(await eventually(() => messages.some((m) => m.includes('stray error of task 7')), 5000)).toBe(true);
    expect(messages.find((m) => m.includes('stray error of task 7'))).toMatch(
      /^WorkerPool: Task #1 'nightly' of the pool had already returned when its code raised an error \(thrown from a timer or callback\) in worker thread \d+: stray error of task 7\. The worker goes on; no other task is charged with it\./,
    );
    expect(await pool.run({ i: 8, db: db.name })).toMatchObject({ i: 8 });
  });

  test('a timer that throws while its task still runs fails that task, and only that task', async () => {
    configure({ databases: { default: db.settings({ maxAge: null }) } });
    pool = new WorkerPool({ filename: fixture('query-task.js'), workers: 1, checkCapacity: false });
    const err = await pool.run({ i: 3, db: db.name, op: 'ownTimer' }).catch((e: unknown) => e);
    expect((err as Error).message).toBe('timer of task 3 threw while it ran');
    expect(await pool.run({ i: 4, db: db.name })).toMatchObject({ i: 4 });
    expect((await pool.stats()).tasks).toMatchObject({ completed: 1, failed: 1, workerExited: 0 });
  });
});
