// The worker-import job spread over several processes through Redis (BullMQ): this process
// queues the rows in chunks and forks N worker processes (bullmq-worker.mjs), each a BullMQ
// Worker whose processor is task(fn): every job runs in its own scope and transaction. It prints
// the server-side connection count (pg_stat_activity, by application_name) before, at its peak
// during the import, once the queue is drained (each process keeps its idle connections for the
// next job: maxAge null), and after the workers shut down.
//
//   node examples/worker-import/bullmq.mjs                              3 processes × concurrency 2, 20,000 rows
//   node examples/worker-import/bullmq.mjs --processes 4 --concurrency 3 --rows 100000
//   DATABASE_URL=postgres://… REDIS_URL=redis://127.0.0.1:6379 node examples/worker-import/bullmq.mjs
//
// Needs PostgreSQL, Redis and the bullmq package (npm install bullmq).
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { configure, scope, shutdown, sql } from '@spool/connections';
import { Queue, QueueEvents } from 'bullmq';

const { values: args } = parseArgs({
  options: {
    processes: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '2' },
    rows: { type: 'string', default: '20000' },
    chunk: { type: 'string', default: '500' },
  },
});
const PROCESSES = Number(args.processes);
const CONCURRENCY = Number(args.concurrency);
const ROWS = Number(args.rows);
const CHUNK = Number(args.chunk);
const APP = 'spool-bullmq-import';
const redisUrl = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const redis = { host: redisUrl.hostname, port: Number(redisUrl.port || 6379) };
const databaseUrl = process.env.DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/test';
const queueName = `spool-import-${process.pid}`;

// ---- 1. the table, and how to count the connections of every process ------------------------
const url = new URL(databaseUrl);
url.searchParams.set('application_name', APP); // the count is this example's connections, all processes together
configure({ databases: { default: { client: 'pg', connection: url.toString() } } });
const { default: pg } = await import('pg');
const monitor = new pg.Client({ connectionString: databaseUrl });
await monitor.connect();
const countConnections = async () =>
  Number((await monitor.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [APP])).rows[0].n);
await scope(async () => {
  await sql`DROP TABLE IF EXISTS import_row`;
  await sql`CREATE TABLE import_row (id integer PRIMARY KEY, name text NOT NULL, email text NOT NULL, amount numeric NOT NULL, created_at date NOT NULL)`;
});
const before = await countConnections();

// ---- 2. the worker processes ------------------------------------------------------------------
const workers = Array.from({ length: PROCESSES }, (_, n) =>
  fork(new URL('./bullmq-worker.mjs', import.meta.url), [], {
    env: {
      ...process.env,
      SPOOL_IMPORT_DB: url.toString(),
      SPOOL_IMPORT_QUEUE: queueName,
      SPOOL_IMPORT_CONCURRENCY: String(CONCURRENCY),
      SPOOL_IMPORT_N: String(n),
    },
  }),
);
await Promise.all(workers.map((w) => once(w, 'message'))); // each says it is ready

// ---- 3. the jobs: one per chunk of rows -------------------------------------------------------
const queue = new Queue(queueName, { connection: redis });
const events = new QueueEvents(queueName, { connection: redis });
await events.waitUntilReady();
let peak = before;
let sampling = true;
const sampler = (async () => {
  while (sampling) {
    peak = Math.max(peak, await countConnections());
    await new Promise((r) => setTimeout(r, 20));
  }
})();
const started = Date.now();
let done = 0;
const chunks = Math.ceil(ROWS / CHUNK);
const finished = new Promise((resolve, reject) => {
  events.on('completed', () => {
    done += 1;
    if (done === chunks) resolve();
  });
  events.on('failed', ({ jobId, failedReason }) => reject(new Error(`job ${jobId} failed: ${failedReason}`)));
});
const jobs = [];
for (let c = 0; c < chunks; c++) {
  const rows = [];
  for (let i = c * CHUNK + 1; i <= Math.min(ROWS, (c + 1) * CHUNK); i++) {
    rows.push({
      id: i,
      name: `Customer ${i}`,
      email: `customer${i}@example.com`,
      amount: ((i * 7919) % 100000) / 100,
      createdAt: `2024-01-${String((i % 28) + 1).padStart(2, '0')}`,
    });
  }
  jobs.push({ name: 'chunk', data: { rows }, opts: { attempts: 3, removeOnComplete: true, removeOnFail: true } });
}
await queue.addBulk(jobs);
await finished;
const seconds = (Date.now() - started) / 1000;
sampling = false;
await sampler;
const drained = await countConnections(); // maxAge null: each process keeps its idle connections for the next job

// ---- 4. shut the workers down (SIGTERM: worker.close(), then shutdown()) ----------------------
const perProcess = [];
for (const w of workers) w.on('message', (m) => m.jobs !== undefined && perProcess.push(m.jobs));
await Promise.all(
  workers.map(async (w) => {
    const exited = once(w, 'exit');
    w.kill('SIGTERM');
    await exited;
  }),
);
await new Promise((r) => setTimeout(r, 100)); // let the server notice the closed sockets
const after = await countConnections();
const [{ n: stored }] = await scope(() => sql`SELECT count(*)::int AS n FROM import_row`);
await scope(() => sql`DROP TABLE import_row`);
await queue.obliterate({ force: true });
await queue.close();
await events.close();
await shutdown();
await monitor.end();

console.log(
  `Imported ${Number(stored).toLocaleString('en-US')} rows in ${seconds.toFixed(1)} s: ${chunks} jobs through Redis, ${PROCESSES} processes × concurrency ${CONCURRENCY} (jobs per process: ${perProcess.join(', ')}).`,
);
console.log('Server-side connections:');
console.log(`  before the workers        ${before}`);
console.log(`  during the import (peak)  ${peak}   (at most ${PROCESSES * CONCURRENCY}: one per concurrent job)`);
console.log(`  queue drained             ${drained}   (kept idle for the next job: maxAge null)`);
console.log(`  after the workers stopped ${after}`);
