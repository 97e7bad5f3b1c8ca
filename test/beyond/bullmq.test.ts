// Beyond one machine (issue 13): jobs of a distributed queue as scopes. A BullMQ worker (Redis on
// 127.0.0.1:6379) whose processor is task(fn): each job runs in its own scope, its connection is
// released at the job's end per maxAge (0: closed, so nothing stays open between jobs; null: kept
// for the next job, one per concurrent job at most), failed and retried jobs included. The count
// is read server-side; after the worker closes it is 0.
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { configure, connections, SharedBudget, shutdown, sql } from '@spool/connections';
import { task } from '@spool/workers';
import { Queue, Worker, type Job } from 'bullmq';
import { eachDatabase, eventually, useDatabase } from '../support/helpers';
import { canConnect } from '../support/local-ports';

const REDIS = { host: '127.0.0.1', port: 6379 };
const FIXTURES = join(__dirname, '..', 'fixtures');
const CONCURRENCY = 4;

interface JobData {
  i: number;
  failTimes: number;
}

eachDatabase('BullMQ jobs as scopes', (db) => {
  const counter = useDatabase(db);
  let noRedis = false;
  beforeAll(async () => {
    if (await canConnect(REDIS.port, REDIS.host)) return;
    // CI (.ci/run) starts Redis and requires it: there an unreachable Redis is a failure, not a skip.
    if (process.env.SPOOL_REQUIRE_REDIS === '1')
      throw new Error('Redis is required (SPOOL_REQUIRE_REDIS=1) but 127.0.0.1:6379 does not answer');
    noRedis = true;
    console.log('BullMQ tests skipped: no Redis on 127.0.0.1:6379 (start redis-server to run them)');
  });

  let queues = 0;
  /** A queue of its own for one test (removed at the end). */
  const newQueue = <T>(db: { name: string }): { name: string; queue: Queue<T> } => {
    const name = `spool-${process.pid}-${process.env.JEST_WORKER_ID ?? '0'}-${db.name}-${++queues}`;
    return { name, queue: new Queue<T>(name, { connection: REDIS }) };
  };

  for (const maxAge of [0, null] as const) {
    test(`maxAge ${String(maxAge)}: every attempt of failed and retried jobs gives its connection back before the next one starts (server-side count read at each attempt's start)`, async () => {
      if (noRedis) return;
      configure({ databases: { default: db.settings({ maxAge }) } });
      const { name, queue } = newQueue<JobData>(db);
      const atStart: number[] = [];
      const processor = task(async (job: Job<JobData>) => {
        // Before this attempt's first statement: what the earlier attempts (and jobs) left open.
        atStart.push(await counter.count());
        await sql`SELECT ${job.data.i} AS i`;
        if (job.attemptsMade < job.data.failTimes) throw new Error(`attempt ${job.attemptsMade + 1} of job ${job.data.i} fails`);
        return job.data.i;
      });
      const worker = new Worker<JobData>(name, (job) => processor(job), { connection: REDIS, concurrency: 1 });
      let settled = 0;
      worker.on('completed', () => void (settled += 1));
      worker.on('failed', (job) => {
        if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) settled += 1;
      });
      try {
        // 6 jobs: failing twice then done, and failing for good (3 attempts each), and plain ones.
        await queue.addBulk(
          Array.from({ length: 6 }, (_, i) => ({
            name: 'job',
            data: { i, failTimes: i < 2 ? 2 : i < 4 ? 99 : 0 },
            opts: { attempts: 3, removeOnComplete: true, removeOnFail: true },
          })),
        );
        expect(await eventually(() => settled === 6, 30_000, 25)).toBe(true);
        expect(atStart).toHaveLength(2 * 3 + 2 * 3 + 2);
        // maxAge 0: each attempt's connection was closed at its end; null: one kept for the next.
        for (const n of atStart) expect(n).toBeLessThanOrEqual(maxAge === 0 ? 0 : 1);
      } finally {
        await worker.close();
        await queue.obliterate({ force: true });
        await queue.close();
      }
      await shutdown();
      expect(await counter.waitForCount(0, 3000)).toBe(0);
    }, 60_000);

    test(`maxAge ${String(maxAge)}: sandboxed processors (BullMQ's useWorkerThreads) share the process-wide budget: 8 threads, budget 3, peak 3 server-side; 0 after close`, async () => {
      if (noRedis) return;
      const BUDGET = 3;
      const budget = SharedBudget.create({ default: BUDGET });
      configure({ databases: { default: db.settings({ maxAge, acquireTimeoutMs: 30_000 }) }, sharedBudget: budget });
      const { name, queue } = newQueue<JobData & { holdMs: number }>(db);
      // The settings and the budget reach BullMQ's threads through workerData (no configure() in the processor file).
      const worker = new Worker(name, join(FIXTURES, 'bullmq-sandboxed-processor.js'), {
        connection: REDIS,
        concurrency: 8,
        useWorkerThreads: true,
        workerThreadsOptions: { workerData: connections.prepareWorker().workerData },
      });
      const results: Array<{ threadId: number; serverId: number }> = [];
      let failedForGood = 0;
      worker.on('completed', (_job, r: { threadId: number; serverId: number }) => void results.push(r));
      worker.on('failed', (job) => {
        if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) failedForGood += 1;
      });
      try {
        const { peak } = await counter.peakDuring(async () => {
          await queue.addBulk(
            Array.from({ length: 40 }, (_, i) => ({
              name: 'job',
              data: { i, failTimes: i < 4 ? 1 : 0, holdMs: 60 },
              opts: { attempts: 2, removeOnComplete: true, removeOnFail: true },
            })),
          );
          expect(await eventually(() => results.length + failedForGood === 40, 45_000, 25)).toBe(true);
        });
        expect(results).toHaveLength(40);
        // The jobs ran on more threads than the budget allows connections: the budget was the limit.
        expect(new Set(results.map((r) => r.threadId)).size).toBeGreaterThan(BUDGET);
        expect(peak).toBeLessThanOrEqual(BUDGET);
        // (With maxAge null an idle thread's connection still closes when another thread waits for
        // the budget: budget pressure. So no bound on distinct backends here.)
      } finally {
        await worker.close();
        await queue.obliterate({ force: true });
        await queue.close();
      }
      // BullMQ terminated its threads: their connections closed with them, their units came back.
      expect(await counter.waitForCount(0, 5000)).toBe(0);
      expect(await eventually(() => budget.inUse('default') === 0, 3000)).toBe(true);
      await shutdown();
    }, 90_000);
  }

  test('a stalled job (its worker process killed mid-job, holding a connection) is retried by another worker; the dead worker’s connection is gone server-side', async () => {
    if (noRedis) return;
    configure({ databases: { default: db.settings({ maxAge: 0 }) } });
    const { name, queue } = newQueue<JobData>(db);
    await queue.add('job', { i: 7, failTimes: 0 }, { attempts: 1, removeOnComplete: true, removeOnFail: true });
    const child = fork(join(FIXTURES, 'bullmq-dying-worker.js'), [name], {
      env: { ...process.env, SPOOL_FIXTURE_SETTINGS: JSON.stringify(db.settings({ maxAge: 0 })) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    let worker: Worker<JobData> | undefined;
    try {
      const started = await new Promise<{ started: number; serverId: number }>((resolve, reject) => {
        child.on('message', (m: { started?: number; serverId: number }) => {
          if (m.started !== undefined) resolve(m as { started: number; serverId: number });
        });
        child.once('exit', (code) => reject(new Error(`the dying worker exited early (${String(code)})`)));
      });
      expect(started.started).toBe(7);
      if (db.hasServer) expect(await counter.serverIds()).toContain(started.serverId);
      // The worker process dies mid-job: no scope end, no clean-up, the job's lock left to expire.
      child.kill('SIGKILL');
      await exited;
      // The server notices the closed socket: the dead worker's connection is gone.
      if (db.hasServer) expect(await eventually(async () => !(await counter.serverIds()).includes(started.serverId), 5000)).toBe(true);

      const ran: Array<{ i: number; serverId: number }> = [];
      let stalled = 0;
      const processor = task(async (job: Job<JobData>, ctx) => {
        await sql`SELECT ${job.data.i} AS i`;
        ran.push({ i: job.data.i, serverId: ctx.scope.connections()[0]?.serverId ?? -1 });
        return job.data.i;
      });
      worker = new Worker<JobData>(name, (job) => processor(job), { connection: REDIS, stalledInterval: 300, lockDuration: 1000 });
      worker.on('stalled', () => void (stalled += 1));
      const done = await eventually(() => ran.length === 1, 20_000, 25);
      expect(done).toBe(true);
      expect(stalled).toBe(1);
      expect(ran[0]?.i).toBe(7);
      if (db.hasServer) expect(ran[0]?.serverId).not.toBe(started.serverId);
      // maxAge 0: the retried attempt's connection closed at its end.
      expect(await counter.waitForCount(0, 3000)).toBe(0);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await worker?.close();
      await queue.obliterate({ force: true });
      await queue.close();
    }
    await shutdown();
    expect(await counter.waitForCount(0, 3000)).toBe(0);
  }, 60_000);

  for (const maxAge of [0, null] as const) {
    test(`maxAge ${String(maxAge)}: 60 jobs (5 retried once, 3 failing for good) each in a scope; connections per maxAge, count 0 at the end`, async () => {
      if (noRedis) return;
      configure({ databases: { default: db.settings({ maxAge }) } });
      const name = `spool-${process.pid}-${process.env.JEST_WORKER_ID ?? '0'}-${db.name}-${String(maxAge)}`;
      const queue = new Queue<JobData>(name, { connection: REDIS });
      const scopes = new Set<number>();
      const backends = new Set<number>();
      let overlap = 0;
      const processor = task(async (job: Job<JobData>, ctx) => {
        scopes.add(ctx.scope.id);
        // One connection per job's scope: this job's statements share it.
        const [row] = await sql<{ one: number }>`SELECT 1 AS one`;
        const held = ctx.scope.connections();
        if (held.length !== 1) overlap += 1;
        backends.add(held[0]?.serverId ?? -1);
        if (job.attemptsMade < job.data.failTimes) throw new Error(`job ${job.data.i} fails on attempt ${job.attemptsMade + 1}`);
        return row?.one;
      });
      const worker = new Worker<JobData>(name, (job) => processor(job), { connection: REDIS, concurrency: CONCURRENCY });
      const completed: number[] = [];
      const failed: Array<{ i: number; attempts: number }> = [];
      worker.on('completed', (job) => void completed.push(job.data.i));
      worker.on('failed', (job) => {
        if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) failed.push({ i: job.data.i, attempts: job.attemptsMade });
      });
      try {
        const { peak } = await counter.peakDuring(async () => {
          await queue.addBulk(
            Array.from({ length: 60 }, (_, i) => ({
              name: 'job',
              data: { i, failTimes: i < 5 ? 1 : i < 8 ? 99 : 0 },
              opts: { attempts: 2, removeOnComplete: true, removeOnFail: true },
            })),
          );
          expect(await eventually(() => completed.length + failed.length === 60, 30_000, 25)).toBe(true);
        });
        expect(completed).toHaveLength(57);
        expect(failed.map((f) => f.i).sort((a, b) => a - b)).toEqual([5, 6, 7]);
        for (const f of failed) expect(f.attempts).toBe(2);
        // Every attempt (60 jobs + 8 retries) ran in its own scope with its own connection lease.
        expect(scopes.size).toBe(68);
        expect(overlap).toBe(0);
        if (db.hasServer) {
          expect(peak).toBeLessThanOrEqual(CONCURRENCY);
          if (maxAge === null) expect(backends.size).toBeLessThanOrEqual(CONCURRENCY);
          else expect(backends.size).toBe(68);
        }
        if (maxAge === 0) expect(await counter.waitForCount(0, 3000)).toBe(0);
      } finally {
        await worker.close();
        await queue.obliterate({ force: true });
        await queue.close();
      }
      await shutdown();
      expect(await counter.waitForCount(0, 3000)).toBe(0);
    }, 60_000);
  }
});
