// Worker pools on PostgreSQL: 10,000 short tasks (a primary-key read and an update each) across 4
// workers, Spool's WorkerPool against the naive piscina + knex pattern (a knex pool built at worker
// module load, never destroyed), for maxAge 0 and maxAge null. Reported per case: tasks/s, peak
// server connections (sampled from pg_stat_activity), connections opened in total (server-side:
// pg_stat_database.sessions), connections left while the pool is alive and idle, and left after
// it is closed. The cases run interleaved over several rounds; the table shows medians.
//
//   node bench/workers.mjs              (SPOOL_TEST_PG_URL: admin URL, default postgres://root@127.0.0.1:5432/test)
//   BENCH_TASKS=10000 BENCH_ROUNDS=3 BENCH_WORKERS=4 node bench/workers.mjs
//   BENCH_CASES='naive,spool maxAge null'  BENCH_SYNCHRONOUS_COMMIT=on
//
// The bench's role runs with synchronous_commit = off (BENCH_SYNCHRONOUS_COMMIT=on to change): with
// it on, every UPDATE waits for a WAL flush, the disk sets the pace for both patterns alike and its
// noise swamps the difference between them; off, what is measured is the pools, the drivers and
// the round trips.
//
// This one file is also the worker file of both pools (see the bottom): piscina and WorkerPool
// load it in each worker, where `isMainThread` is false.
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMainThread, workerData } from 'node:worker_threads';

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));
const file = fileURLToPath(import.meta.url);

const ADMIN_URL = process.env.SPOOL_TEST_PG_URL ?? 'postgres://root@127.0.0.1:5432/test';
const ROLE = 'spool_bench_workers';
const TASKS = Number(process.env.BENCH_TASKS ?? 10_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 4);
const ROWS = 10_000;
const KNEX_POOL_MAX = 10; // knex's default pool: { min: 2, max: 10 }

function benchUrl() {
  const u = new URL(ADMIN_URL);
  u.username = ROLE;
  u.password = '';
  u.pathname = `/${ROLE}`;
  return u.toString();
}

// ---- the workers' side ------------------------------------------------------------------------

/** The naive pattern, as found in the wild: a knex pool per worker, created at module load. */
let naiveTask;
if (!isMainThread && workerData?.bench === 'naive') {
  const knex = require('knex')({ client: 'pg', connection: workerData.url }); // never destroyed
  naiveTask = async ({ id }) => {
    const row = await knex('bench_item').where({ id }).first();
    await knex('bench_item')
      .where({ id })
      .update({ counter: row.counter + 1 });
    return row.id;
  };
}

/** The same job with Spool: no configure() here, the settings arrive from the pool. */
let spoolTask;
if (!isMainThread && workerData?.spoolPool) {
  const { sql } = require('@spool/connections');
  const { task } = require('@spool/workers');
  spoolTask = task(async ({ id }) => {
    const [row] = await sql`SELECT id, counter FROM bench_item WHERE id = ${id}`;
    await sql`UPDATE bench_item SET counter = ${row.counter + 1} WHERE id = ${id}`;
    return row.id;
  });
}

export default isMainThread ? undefined : (spoolTask ?? naiveTask);

// ---- the main thread --------------------------------------------------------------------------

if (isMainThread) await main();

async function main() {
  const pg = require('pg');
  const { Piscina } = require('piscina');
  const spool = require('@spool/connections');
  const { WorkerPool } = require('@spool/workers');

  // A role and database of their own, so the counts are the bench's alone.
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  if ((await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [ROLE])).rowCount === 0)
    await admin.query(`CREATE ROLE ${ROLE} LOGIN`);
  if ((await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [ROLE])).rowCount === 0)
    await admin.query(`CREATE DATABASE ${ROLE} OWNER ${ROLE}`);
  const syncCommit = process.env.BENCH_SYNCHRONOUS_COMMIT === 'on' ? 'on' : 'off';
  await admin.query(`ALTER ROLE ${ROLE} SET synchronous_commit = ${syncCommit}`);
  const url = benchUrl();
  const setup = new pg.Client({ connectionString: url });
  await setup.connect();
  await setup.query('DROP TABLE IF EXISTS bench_item');
  await setup.query('CREATE TABLE bench_item (id integer PRIMARY KEY, counter integer NOT NULL, payload text NOT NULL)');
  await setup.query(`INSERT INTO bench_item SELECT g, 0, md5(g::text) FROM generate_series(1, ${ROWS}) g`);
  await setup.end();
  const version = (await admin.query('SHOW server_version')).rows[0].server_version;

  const count = async () =>
    Number(
      (await admin.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = $1 AND backend_type = 'client backend'`, [ROLE]))
        .rows[0].n,
    );
  const sessions = async () =>
    Number((await admin.query('SELECT sessions FROM pg_stat_database WHERE datname = $1', [ROLE])).rows[0].sessions);
  const settle = async (n, ms = 3000) => {
    const deadline = Date.now() + ms;
    let c = await count();
    while (c !== n && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      c = await count();
    }
    return c;
  };

  const ids = Array.from({ length: TASKS }, (_, i) => ({ id: (i % ROWS) + 1 }));

  /** One measured run: start the pool, warm it, time the tasks while sampling the count, then close it. */
  async function measure(name, start) {
    await settle(0);
    // Backends flush their session counts to pg_stat_database up to a second late: let the previous case's land.
    await new Promise((r) => setTimeout(r, 1200));
    const sessions0 = await sessions();
    const pool = await start();
    await Promise.all(Array.from({ length: WORKERS * 2 }, (_, i) => pool.run({ id: i + 1 }))); // start-up aside
    let peak = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peak = Math.max(peak, await count());
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const t0 = performance.now();
    const results = await Promise.all(ids.map((args) => pool.run(args)));
    const ms = performance.now() - t0;
    sampling = false;
    await sampler;
    if (results.length !== TASKS) throw new Error(`${name}: ${results.length} results`);
    const leftWhileAlive = await count();
    await pool.close();
    await new Promise((r) => setTimeout(r, 300)); // let the server notice closed sockets
    const leftAfterClose = await count();
    await new Promise((r) => setTimeout(r, 1200));
    const opened = (await sessions()) - sessions0;
    return { name, tasksPerSecond: (TASKS / ms) * 1000, ms, peak, opened, leftWhileAlive, leftAfterClose };
  }

  const cases = {
    naive: () => {
      const p = new Piscina({ filename: file, maxThreads: WORKERS, minThreads: WORKERS, workerData: { bench: 'naive', url } });
      // What the naive code does at the end, if anything: destroy the piscina pool (never the knex pools).
      return { run: (a) => p.run(a), close: () => p.destroy() };
    },
    'spool maxAge null': () => spoolPool(null),
    'spool maxAge 0': () => spoolPool(0),
  };

  function spoolPool(maxAge) {
    spool.configure({ databases: { default: { client: 'pg', connection: url, maxAge } } });
    const p = new WorkerPool({ filename: file, workers: WORKERS, checkCapacity: false });
    return {
      run: (a) => p.run(a),
      close: async () => {
        await p.close();
        await spool.shutdown();
      },
    };
  }

  // BENCH_CASES=naive,'spool maxAge null' picks cases (all by default).
  const only = process.env.BENCH_CASES?.split(',').map((c) => c.trim());
  if (only) for (const k of Object.keys(cases)) if (!only.includes(k)) delete cases[k];
  const runs = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, start] of Object.entries(cases)) {
      const m = await measure(name, async () => start());
      runs[name].push(m);
      console.log(
        `round ${r + 1} ${name.padEnd(18)} ${Math.round(m.tasksPerSecond)} tasks/s, peak ${m.peak}, opened ${m.opened}, left alive ${m.leftWhileAlive}, after close ${m.leftAfterClose}`,
      );
    }
  }
  await admin.end();

  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const summary = Object.fromEntries(
    Object.entries(runs).map(([name, ms]) => [
      name,
      {
        tasksPerSecond: Math.round(median(ms.map((m) => m.tasksPerSecond))),
        peakConnections: Math.max(...ms.map((m) => m.peak)),
        connectionsOpened: median(ms.map((m) => m.opened)),
        leftWhilePoolAlive: Math.max(...ms.map((m) => m.leftWhileAlive)),
        leftAfterClose: Math.max(...ms.map((m) => m.leftAfterClose)),
      },
    ]),
  );
  const naive = summary.naive?.tasksPerSecond ?? NaN;
  for (const s of Object.values(summary)) s.vsNaive = Number((s.tasksPerSecond / naive).toFixed(3));

  const columns = ['case', 'tasks/s', 'vs naive', 'peak conns', 'opened', 'left (alive)', 'left (closed)'];
  const rows = Object.entries(summary).map(([name, s]) => [
    name,
    s.tasksPerSecond.toLocaleString('en-US'),
    s.vsNaive.toFixed(2),
    s.peakConnections,
    s.connectionsOpened,
    s.leftWhilePoolAlive,
    s.leftAfterClose,
  ]);
  const widths = columns.map((c, i) => Math.max(c.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => cells.map((c, i) => String(c).padEnd(widths[i])).join('  ');
  console.log(
    `\n${TASKS.toLocaleString('en-US')} tasks (PK read + update) on ${WORKERS} workers, PostgreSQL ${version} (synchronous_commit ${syncCommit}), medians of ${ROUNDS} interleaved rounds`,
  );
  console.log(line(columns));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const r of rows) console.log(line(r));
  const target = summary['spool maxAge null'] ?? { vsNaive: NaN, peakConnections: NaN, leftAfterClose: NaN };
  const verdict = {
    slowdownVsNaiveAtMaxAgeNull: Number((1 - target.vsNaive).toFixed(3)),
    withinFivePercent: target.vsNaive >= 0.95,
    atMostWorkersConnections: target.peakConnections <= WORKERS,
    zeroLeftAfterClose: target.leftAfterClose === 0,
  };
  console.log(
    `\nTarget (maxAge null): ≤ 5% slower than naive → ${(verdict.slowdownVsNaiveAtMaxAgeNull * 100).toFixed(1)}% ${verdict.withinFivePercent ? 'OK' : 'MISSED'}; ` +
      `≤ ${WORKERS} connections (naive may open up to ${WORKERS * KNEX_POOL_MAX}) → ${target.peakConnections}; leftovers after close → ${target.leftAfterClose}`,
  );

  const out = join(here, 'results', 'workers.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(
    out,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        node: process.version,
        postgres: version,
        synchronousCommit: syncCommit,
        cpus: (await import('node:os')).availableParallelism(),
        tasks: TASKS,
        workers: WORKERS,
        rounds: ROUNDS,
        naivePotentialConnections: WORKERS * KNEX_POOL_MAX,
        summary,
        verdict,
        runs,
      },
      null,
      2,
    ) + '\n',
  );
  console.log('(results written to bench/results/workers.json)');
}
