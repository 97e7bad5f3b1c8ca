// The seed problem, side by side: worker pools that leak database connections, and the same
// job with @spool/workers. For each database it runs 60 jobs on 4 workers (2 of them stuck for 8 s
// and cancelled after 2 s), then reports the connections the server sees: at the peak, once the job is done
// while the pool lives on (as in a long-running service), and right after the pool is closed.
//
//   node examples/leak-demo                      every database reachable (SQLite always)
//   node examples/leak-demo --db postgres        one of postgres, mysql, sqlite
//
// Admin URLs: SPOOL_TEST_PG_URL (postgres://root@127.0.0.1:5432/test), SPOOL_TEST_MYSQL_URL
// (mysql://root@127.0.0.1:3306/test). The demo creates a user and database of its own
// (spool_leak_demo) so that it counts only its own connections.
import { readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Piscina } from 'piscina';
import { configure, shutdown } from '@spool/connections';
import { WorkerPool } from '@spool/workers';

const { values: args } = parseArgs({ options: { db: { type: 'string', default: 'all' } } });
const here = (f) => fileURLToPath(new URL(f, import.meta.url));
const USER = 'spool_leak_demo';
const WORKERS = 4;
const JOBS = 60;
const PG = process.env.SPOOL_TEST_PG_URL ?? 'postgres://root@127.0.0.1:5432/test';
const MY = process.env.SPOOL_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';

/** Per database: create the demo's user and database, and count its connections. */
async function prepare(db) {
  if (db === 'sqlite') {
    const file = join(tmpdir(), `spool-leak-demo-${process.pid}.db`);
    const count = async () =>
      readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`) === file;
        } catch {
          return false;
        }
      }).length;
    return {
      knex: { client: 'better-sqlite3', connection: { filename: file }, useNullAsDefault: true },
      spool: { client: 'better-sqlite3', connection: { filename: file } },
      count,
      end: async () => {
        for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
      },
    };
  }
  if (db === 'postgres') {
    const { default: pg } = await import('pg');
    const admin = new pg.Client({ connectionString: PG, connectionTimeoutMillis: 2000 });
    await admin.connect();
    if ((await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [USER])).rowCount === 0)
      await admin.query(`CREATE ROLE ${USER} LOGIN`);
    if ((await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [USER])).rowCount === 0)
      await admin.query(`CREATE DATABASE ${USER} OWNER ${USER}`);
    const u = new URL(PG);
    u.username = USER;
    u.pathname = `/${USER}`;
    return {
      knex: { client: 'pg', connection: u.toString() },
      spool: { client: 'pg', connection: u.toString() },
      count: async () =>
        Number(
          (
            await admin.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = $1 AND backend_type = 'client backend'`, [
              USER,
            ])
          ).rows[0].n,
        ),
      end: () => admin.end(),
    };
  }
  const { default: mysql } = await import('mysql2/promise');
  const admin = await mysql.createConnection({ uri: MY, connectTimeout: 2000 });
  await admin.query(`CREATE DATABASE IF NOT EXISTS ${USER}`);
  await admin.query(`CREATE USER IF NOT EXISTS '${USER}'@'%'`);
  await admin.query(`GRANT ALL ON ${USER}.* TO '${USER}'@'%'`);
  const u = new URL(MY);
  u.username = USER;
  u.pathname = `/${USER}`;
  return {
    knex: { client: 'mysql2', connection: u.toString() },
    spool: { client: 'mysql2', connection: u.toString() },
    count: async () =>
      Number((await admin.query('SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = ?', [USER]))[0][0].n),
    end: () => admin.end(),
  };
}

const settle = async (count, ms = 10_000) => {
  const deadline = Date.now() + ms;
  while ((await count()) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
};

/** Run the job on a pool: 2 stuck jobs (cancelled after 2 s) and 58 short ones. Measure the count. */
async function runJob(pool, count) {
  let peak = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peak = Math.max(peak, await count());
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  const jobs = Array.from({ length: JOBS }, (_, i) => {
    if (i < 2) {
      const ac = new AbortController();
      setTimeout(() => ac.abort(new Error('cancelled')), 2000);
      return pool.run({ seconds: 8 }, ac.signal);
    }
    return pool.run({ seconds: 0.05 });
  });
  const outcomes = await Promise.allSettled(jobs);
  await new Promise((r) => setTimeout(r, 100));
  sampling = false;
  await sampler;
  const alive = await count(); // the job is done; a long-running service would keep its pool
  await pool.close();
  await new Promise((r) => setTimeout(r, 300));
  const closed = await count();
  return {
    peak,
    alive,
    closed,
    ok: outcomes.filter((o) => o.status === 'fulfilled').length,
    failed: outcomes.filter((o) => o.status === 'rejected').length,
  };
}

const dbs = args.db === 'all' ? ['postgres', 'mysql', 'sqlite'] : [args.db];
const rows = [];
for (const db of dbs) {
  let env;
  try {
    env = await prepare(db);
  } catch (err) {
    console.log(`${db}: skipped, not reachable (${err.message})`);
    continue;
  }
  await settle(env.count);

  // Naive: piscina running 4 jobs at a time per worker (as I/O-bound piscina pools do), knex per worker.
  const naive = new Piscina({
    filename: here('./naive-task.mjs'),
    maxThreads: WORKERS,
    minThreads: WORKERS,
    concurrentTasksPerWorker: 4,
    workerData: { db, knex: env.knex },
  });
  rows.push({
    db,
    pattern: 'piscina + knex per worker',
    ...(await runJob({ run: (a, signal) => naive.run(a, signal ? { signal } : {}), close: () => naive.destroy() }, env.count)),
  });
  await settle(env.count);

  // Spool: the same job; settings from this thread, one connection per worker at most.
  configure({ databases: { default: env.spool } });
  const pool = new WorkerPool({ filename: here('./spool-task.mjs'), workers: WORKERS, workerData: { db } });
  rows.push({
    db,
    pattern: '@spool/workers',
    ...(await runJob({ run: (a, signal) => pool.run(a, signal ? { signal } : {}), close: () => pool.close() }, env.count)),
  });
  await shutdown();
  await settle(env.count);
  await env.end();
}

const columns = [
  ['db', 'database'],
  ['pattern', 'pattern'],
  ['peak', 'peak'],
  ['alive', 'left, pool alive'],
  ['closed', 'left after close'],
  ['ok', 'jobs ok'],
  ['failed', 'failed'],
];
const width = columns.map(([k, h]) => Math.max(h.length, ...rows.map((r) => String(r[k]).length)));
const line = (cells) => cells.map((c, i) => String(c).padEnd(width[i])).join('  ');
console.log(`\n${JOBS} jobs (3 queries at once each; 2 stuck for 8 s and cancelled after 2 s) on ${WORKERS} workers.`);
console.log(`Connections as the server counts them (SQLite: open handles on the database file):\n`);
console.log(line(columns.map(([, h]) => h)));
console.log(line(width.map((w) => '-'.repeat(w))));
for (const r of rows) console.log(line(columns.map(([k]) => r[k])));
console.log(`
- piscina + knex: every worker builds a knex pool at module load (up to 10 connections) and never
  destroys it: up to ${WORKERS * 10} connections, all still open while the service lives on. A cancelled
  job's worker is terminated; the server may run its statements on to their end (PostgreSQL does,
  unless client_connection_check_interval is set): those are the connections left after close.
- @spool/workers: a scope per job, one connection per worker at most, released when the job ends
  (maxAge 0: closed). A cancelled job's worker is terminated and replaced, and the pool closes on
  the server whatever the dead worker left running, before its replacement may connect.`);
