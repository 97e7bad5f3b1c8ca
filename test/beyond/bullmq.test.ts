// Beyond one machine (issue 13): jobs of a distributed queue as scopes. A BullMQ worker (Redis on
// 127.0.0.1:6379) whose processor is task(fn): each job runs in its own scope, its connection is
// released at the job's end per maxAge (0: closed, so nothing stays open between jobs; null: kept
// for the next job, one per concurrent job at most), failed and retried jobs included. The count
// is read server-side; after the worker closes it is 0.
import { configure, shutdown, sql } from '@spool/connections';
import { task } from '@spool/workers';
import { Queue, Worker, type Job } from 'bullmq';
import { eachDatabase, eventually, useDatabase } from '../support/helpers';
import { canConnect } from '../support/local-ports';

const REDIS = { host: '127.0.0.1', port: 6379 };
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
