// Spool quick start: connections follow the work.
//
// The main thread and two worker threads each run scopes (think: requests, tasks). Every scope
// leases one connection on its first query and releases it when it ends; nothing is left open,
// and the script exits on its own. Runs on SQLite with nothing else installed.
import { readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { atomic, configure, connections, onCommit, prepareWorker, scope, shutdown, sql } from '@spool/connections';

const filename = join(tmpdir(), `spool-quickstart-${process.pid}.db`);
configure({ databases: { default: { client: 'better-sqlite3', connection: { filename } } } });

/** File descriptors of this process open on the database file (Linux), as the server-side count. */
function openHandles(file) {
  try {
    return readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`) === file;
      } catch {
        return false;
      }
    }).length;
  } catch {
    return 'n/a';
  }
}

/** One line of stats for every thread of the process. */
async function show(moment) {
  const { threads, totals } = await connections.stats({ everywhere: true, timeoutMs: 200 });
  const t = totals.default ?? { open: 0, leased: 0, opens: 0, closes: 0 };
  const perThread = threads
    .map((s) => `${s.isMainThread ? 'main' : `worker ${s.threadId}`}: ${s.aliases.default?.open ?? 0} open`)
    .join(', ');
  console.log(`${moment.padEnd(28)} open=${t.open} leased=${t.leased} opened=${t.opens} closed=${t.closes}   (${perThread})`);
}

await show('before anything');

await scope(async () => {
  await sql`CREATE TABLE IF NOT EXISTS author (id INTEGER PRIMARY KEY, name TEXT NOT NULL)`;
  await sql`DELETE FROM author`;
  await atomic(async () => {
    for (const name of ['Ada Lovelace', 'Grace Hopper', 'Edsger Dijkstra']) {
      await sql`INSERT INTO author (name) VALUES (${name})`;
    }
    onCommit(() => console.log('  (committed 3 authors)'));
  });
  await show('main scope, during');
});
await show('main scope, after');

// Two worker threads get this thread's settings and run their own scopes.
const link = prepareWorker();
const workers = [1, 2].map((n) => {
  const worker = new Worker(new URL('./worker.mjs', import.meta.url), { workerData: { ...link.workerData, n } });
  link.attach(worker);
  return worker;
});
const ready = workers.map((w) => new Promise((resolve) => w.once('message', resolve)));
await Promise.all(ready); // each worker is inside a scope holding a connection now
await show('two worker scopes, during');
workers.forEach((w) => w.postMessage('finish'));
const reports = await Promise.all(workers.map((w) => new Promise((resolve) => w.once('message', resolve))));
for (const r of reports) console.log(`  worker ${r.n} read: ${r.names.join(', ')}`);
await Promise.all(workers.map((w) => new Promise((resolve) => w.once('exit', resolve))));
await show('workers exited');

await shutdown();
const { aliases } = connections.stats();
console.log(`\nDone: ${aliases.default?.opens ?? 0} connections opened in this thread, ${aliases.default?.open ?? 0} still open.`);
console.log(`SQLite file handles still open in this process: ${openHandles(filename)}. Exiting on its own.`);
rmSync(filename, { force: true });
for (const suffix of ['-wal', '-shm']) rmSync(filename + suffix, { force: true });
