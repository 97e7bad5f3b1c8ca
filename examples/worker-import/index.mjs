// Import a generated CSV of 100,000 rows across 4 worker threads, into SQLite (default) or
// PostgreSQL, and show that the connections follow the work: the server-side count before, at its
// peak during the import, and after.
//
//   node examples/worker-import                      SQLite, in a temporary file
//   node examples/worker-import --db postgres        PostgreSQL at DATABASE_URL (default postgres://root@127.0.0.1:5432/test)
//   SPOOL_EXAMPLE_DB=postgres node examples/worker-import --rows 20000 --workers 8
//
// Layers: this file (main thread) generates the CSV, configures Spool, reads the CSV as a stream
// of chunks and hands them to a WorkerPool; import-task.mjs (each worker) inserts one chunk per
// task. The count comes from the server (pg_stat_activity, by application_name) or, for SQLite,
// from the open file handles of this process on the database file.
import { createReadStream, createWriteStream, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { configure, scope, shutdown, sql } from '@spool/connections';
import { WorkerPool } from '@spool/workers';

const { values: args } = parseArgs({
  options: {
    db: { type: 'string', default: process.env.SPOOL_EXAMPLE_DB ?? 'sqlite' },
    rows: { type: 'string', default: '100000' },
    workers: { type: 'string', default: '4' },
    chunk: { type: 'string', default: '1000' },
  },
});
const ROWS = Number(args.rows);
const WORKERS = Number(args.workers);
const CHUNK = Number(args.chunk);
const APP = 'spool-worker-import';
if (!['sqlite', 'postgres'].includes(args.db)) throw new Error(`--db must be sqlite or postgres, got '${args.db}'`);

// ---- 1. a CSV to import ----------------------------------------------------------------------
const csvFile = join(tmpdir(), `spool-import-${process.pid}.csv`);
{
  const out = createWriteStream(csvFile);
  out.write('id,name,email,amount,created_at\n');
  for (let i = 1; i <= ROWS; i++) {
    const line = `${i},Customer ${i},customer${i}@example.com,${((i * 7919) % 100000) / 100},2024-01-${String((i % 28) + 1).padStart(2, '0')}\n`;
    if (!out.write(line)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

// ---- 2. the database, and how to count its connections -------------------------------------
const sqliteFile = join(tmpdir(), `spool-import-${process.pid}.db`);
let countConnections;
let closeCounter = async () => {};
if (args.db === 'postgres') {
  const url = new URL(process.env.DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/test');
  url.searchParams.set('application_name', APP); // so that the count is this example's connections only
  configure({ databases: { default: { client: 'pg', connection: url.toString() } } });
  const { default: pg } = await import('pg');
  const monitor = new pg.Client({ connectionString: process.env.DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/test' });
  await monitor.connect();
  countConnections = async () =>
    Number((await monitor.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [APP])).rows[0].n);
  closeCounter = () => monitor.end();
} else {
  configure({ databases: { default: { client: 'better-sqlite3', connection: { filename: sqliteFile } } } });
  countConnections = async () =>
    readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`) === sqliteFile;
      } catch {
        return false;
      }
    }).length;
}
await scope(async () => {
  await sql`DROP TABLE IF EXISTS import_row`;
  await sql`CREATE TABLE import_row (id integer PRIMARY KEY, name text NOT NULL, email text NOT NULL, amount numeric NOT NULL, created_at date NOT NULL)`;
});
const before = await countConnections();

// ---- 3. the import: a stream of chunks, mapped over the pool --------------------------------
async function* chunks() {
  const lines = createInterface({ input: createReadStream(csvFile), crlfDelay: Infinity });
  let rows = [];
  let header = true;
  for await (const line of lines) {
    if (header) {
      header = false;
      continue;
    }
    // The generated CSV has no quoted fields; a real import would use a CSV parser here.
    const [id, name, email, amount, createdAt] = line.split(',');
    rows.push({ id: Number(id), name, email, amount: Number(amount), createdAt });
    if (rows.length === CHUNK) {
      yield { rows };
      rows = [];
    }
  }
  if (rows.length) yield { rows };
}

// In this thread maxAge is 0 (the default): the scope above closed its connection. The workers keep
// theirs between tasks (maxAge: null), one each: a chunk after another on the same connection.
const pool = new WorkerPool({
  filename: new URL('./import-task.mjs', import.meta.url),
  workers: WORKERS,
  databases: { default: { maxAge: null } },
});
let imported = 0;
let peak = before;
let sampling = true;
const sampler = (async () => {
  while (sampling) {
    peak = Math.max(peak, await countConnections());
    await new Promise((r) => setTimeout(r, 20));
  }
})();
const started = Date.now();
const bar = (done) => {
  const width = 30;
  const filled = Math.round((done / ROWS) * width);
  const text = `[${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${String(Math.floor((done / ROWS) * 100)).padStart(3)}% ${done.toLocaleString('en-US')}/${ROWS.toLocaleString('en-US')} rows`;
  if (process.stdout.isTTY) process.stdout.write(`\r${text}`);
  else if (done === ROWS || done % (ROWS / 10) < CHUNK) process.stdout.write(`${text}\n`);
};
bar(0);
for await (const n of pool.map(chunks(), { concurrency: 2 * WORKERS })) {
  imported += n;
  bar(imported);
}
if (process.stdout.isTTY) process.stdout.write('\n');
const seconds = (Date.now() - started) / 1000;
sampling = false;
await sampler;
const whileIdle = await countConnections(); // maxAge: null keeps one idle connection per worker for the next task
await pool.close();
await new Promise((r) => setTimeout(r, 100)); // let the server notice the closed sockets
const after = await countConnections();
const [{ n: stored }] = await scope(() => sql`SELECT count(*) AS n FROM import_row`);
await shutdown();
await closeCounter();
rmSync(csvFile, { force: true });
if (args.db === 'sqlite') for (const f of [sqliteFile, `${sqliteFile}-wal`, `${sqliteFile}-shm`]) rmSync(f, { force: true });

console.log(`\nImported ${Number(stored).toLocaleString('en-US')} rows in ${seconds.toFixed(1)} s across ${WORKERS} workers (${args.db}).`);
console.log(`${args.db === 'sqlite' ? 'Open database file handles' : 'Server-side connections'}:`);
console.log(`  before the pool          ${before}`);
console.log(`  during the import (peak) ${peak}   (at most ${WORKERS}: one per worker)`);
console.log(`  after the last task      ${whileIdle}   (kept idle for the next task: maxAge null)`);
console.log(`  after pool.close()       ${after}`);
