// One worker process of bullmq.mjs: a BullMQ Worker on the queue, whose processor is task(fn):
// each job (a chunk of rows) runs in its own scope and transaction, on one of this process's at
// most `concurrency` connections, kept between jobs (maxAge: null). On SIGTERM it stops taking
// jobs, lets the running ones finish (worker.close()), closes its connections (shutdown()) and exits.
import { configure, shutdown, sql } from '@spool/connections';
import { task } from '@spool/workers';
import { Worker } from 'bullmq';

const concurrency = Number(process.env.SPOOL_IMPORT_CONCURRENCY ?? 2);
configure({ databases: { default: { client: 'pg', connection: process.env.SPOOL_IMPORT_DB, maxAge: null, max: concurrency } } });
const redisUrl = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');

const importChunk = task(
  async (job) => {
    const { rows } = job.data;
    const values = sql.join(rows.map((r) => sql`(${r.id}, ${r.name}, ${r.email}, ${r.amount}, ${r.createdAt})`));
    await sql`INSERT INTO import_row (id, name, email, amount, created_at) VALUES ${values}`;
    return rows.length;
  },
  { atomic: true, name: 'import-chunk' },
);

let jobs = 0;
const worker = new Worker(process.env.SPOOL_IMPORT_QUEUE, (job) => importChunk(job), {
  connection: { host: redisUrl.hostname, port: Number(redisUrl.port || 6379) },
  concurrency,
});
worker.on('completed', () => void (jobs += 1));
await worker.waitUntilReady();
process.send({ ready: true });

process.once('SIGTERM', async () => {
  await worker.close();
  await shutdown();
  process.send({ jobs }, () => process.exit(0));
});
