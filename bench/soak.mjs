// npm run soak: a long run of scopes and pool tasks with faults injected at random, to show that
// Spool stays flat (heap, RSS, server connections) and loses nothing. Not part of npm test.
//
//   npm run soak                                   (SOAK_DB=sqlite, SOAK_UNITS=1000000)
//   SOAK_DB=postgres SOAK_UNITS=100000 npm run soak
//   SOAK_TASK_SHARE=0 npm run soak                 (scopes only: the per-scope heap question)
//
// A unit is a scope in this thread or a task of a 4-worker WorkerPool (a quarter of the units),
// run as two streams side by side. Faults, from a seeded generator: scopes that throw, atomic blocks that roll back (their
// onCommit hooks must not run) or commit (theirs must run once), statements that fail; tasks that
// throw, time out, are aborted, or call process.exit(); and, on PostgreSQL and MariaDB, a live
// backend of the run's role killed every SOAK_KILL_EVERY units. Printed at 10^3, 10^4, 10^5,
// 10^6 units: units/s since the start, heap used after a full GC (run with --expose-gc, as the
// npm script does) and RSS, and the server-side connection count; at the end the count over
// time, the count after shutdown (0), and the tally of faults and outcomes. At the end every
// block's row is read back: each committed block's row is there and its hook ran once, no row or
// hook of a rolled-back block, and a block that failed otherwise (its connection killed, COMMIT
// included) has no hook and its row only if the error said the outcome is unknown. Exits 1 if
// anything was lost, a row or a hook is wrong, or a connection is left.
//
//   SOAK_KILL_EVERY=1000     kill a backend every N settled units (default 2000; 0: never)
//   SOAK_SEED=13             the fault mix's seed
//
// This file is also the pool's worker file (see the bottom): WorkerPool loads it in each worker.
import { fileURLToPath } from 'node:url';
import { isMainThread } from 'node:worker_threads';

const file = fileURLToPath(import.meta.url);

if (isMainThread) await main();

async function main() {
  const { atomic, configure, connections, onCommit, scope, shutdown, sql } = await import('@spool/connections');
  const { WorkerPool } = await import('@spool/workers');
  const testing = await import('@spool/testing');
  const DB = process.env.SOAK_DB ?? 'sqlite';
  const UNITS = Number(process.env.SOAK_UNITS ?? 1_000_000);
  const KILL_EVERY = Number(process.env.SOAK_KILL_EVERY ?? 2000);
  const CONCURRENCY = 8;
  // Own role and database (spool_<pid>_99), dropped at the end.
  process.env.SPOOL_TEST_RUN = String(process.pid);
  process.env.JEST_WORKER_ID = '99';
  await testing.beginTestRun([DB]);
  const db = testing.testDatabase(DB);
  await db.setup();
  const counter = db.counter();
  configure({ databases: { default: db.settings({ maxAge: null, acquireTimeoutMs: 10_000 }) }, logger: { warn: () => {} } });
  await scope(async () => {
    await sql`DROP TABLE IF EXISTS soak_row`;
    await sql`CREATE TABLE soak_row (id INTEGER PRIMARY KEY, n INTEGER)`;
  });
  const pool = new WorkerPool({ filename: file, workers: 4, checkCapacity: false, logger: { warn: () => {} } });
  pool.on('error', () => {});
  pool.on('taskError', () => {});

  // mulberry32, seeded: the same fault mix on every run.
  let seed = Number(process.env.SOAK_SEED ?? 13) >>> 0;
  const rand = () => {
    seed = (seed + 0x6d2b79f5) >>> 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };

  // Per unit id, what became of its atomic block (a typed array: the bookkeeping must not show
  // in the heap figures): 1 committed, 2 rolled back, 3 failed otherwise, 4 failed with its COMMIT's
  // outcome unknown; bit 8 set when its onCommit hook ran.
  const COMMITTED = 1;
  const ROLLED_BACK = 2;
  const FAILED = 3;
  const UNKNOWN = 4;
  const HOOK = 8;
  const fate = new Uint8Array(UNITS + 2);
  const tally = {
    scopes: 0,
    tasks: 0,
    ok: 0,
    thrown: 0,
    statementErrors: 0,
    rolledBack: 0,
    committed: 0,
    hooksRun: 0,
    hooksWrong: 0,
    blocksFailed: 0,
    commitOutcomeUnknown: 0,
    taskFailed: 0,
    timedOut: 0,
    aborted: 0,
    exited: 0,
    killed: 0,
    connectionErrors: 0,
    otherErrors: 0,
  };
  const errorKinds = {};
  let started = 0;
  let settled = 0;
  let nextId = 1;
  const countOverTime = [];
  const marks = new Set([1e3, 1e4, 1e5, 1e6, UNITS]);
  const t0 = performance.now();

  class Planned extends Error {}
  const note = (err) => {
    const name = err?.name ?? typeof err;
    errorKinds[name] = (errorKinds[name] ?? 0) + 1;
    if (name === 'OperationalError' || name === 'InterfaceError') tally.connectionErrors += 1;
  };

  async function oneScope() {
    const r = rand();
    const id = nextId++;
    tally.scopes += 1;
    try {
      if (r < 0.85) {
        await scope(() => sql`SELECT ${id} AS id`);
      } else if (r < 0.9) {
        await scope(async () => {
          await sql`SELECT 1`;
          throw new Planned('scope throws');
        });
      } else if (r < 0.98) {
        // Rolled back (r < 0.94): its hook must never run. Committed: its hook runs once.
        const rollBack = r < 0.94;
        try {
          await scope(() =>
            atomic(async () => {
              await sql`INSERT INTO soak_row (id, n) VALUES (${id}, 1)`;
              await onCommit(() => {
                if (fate[id] & HOOK) tally.hooksWrong += 1;
                fate[id] |= HOOK;
                tally.hooksRun += 1;
              });
              if (rollBack) throw new Planned('block rolls back');
            }),
          );
          fate[id] |= COMMITTED;
          tally.committed += 1;
        } catch (err) {
          if (err instanceof Planned) fate[id] |= ROLLED_BACK;
          else if (err?.commitOutcomeUnknown === true) {
            fate[id] |= UNKNOWN;
            tally.commitOutcomeUnknown += 1;
          } else {
            fate[id] |= FAILED;
            tally.blocksFailed += 1;
          }
          throw err;
        }
      } else {
        await scope(() => sql`SELECT * FROM soak_no_such_table`);
      }
      tally.ok += 1;
    } catch (err) {
      if (err instanceof Planned) {
        if (err.message === 'block rolls back') tally.rolledBack += 1;
        else tally.thrown += 1;
      } else if (err?.name === 'ProgrammingError') tally.statementErrors += 1;
      else {
        tally.otherErrors += 1;
        note(err);
      }
    }
  }

  async function oneTask() {
    const r = rand();
    tally.tasks += 1;
    let op = 'query';
    const options = {};
    if (r < 0.05) op = 'throw';
    else if (r < 0.08) {
      op = 'hang';
      options.timeoutMs = 50;
    } else if (r < 0.11) {
      op = 'slow';
      const c = new AbortController();
      setTimeout(() => c.abort(new Error('aborted by the soak')), 10).unref();
      options.signal = c.signal;
    } else if (r < 0.111) op = 'exit';
    try {
      await pool.run({ op, db: DB }, options);
      tally.ok += 1;
    } catch (err) {
      const name = err?.name;
      if (name === 'TaskTimeoutError') tally.timedOut += 1;
      else if (name === 'TaskAbortedError') tally.aborted += 1;
      else if (name === 'WorkerExitedError') tally.exited += 1;
      else if (err?.message === 'task throws') tally.taskFailed += 1;
      else {
        tally.otherErrors += 1;
        note(err);
      }
    }
  }

  async function kill() {
    if (!db.hasServer) return;
    const ids = await counter.serverIds();
    if (ids.length === 0) return;
    const id = ids[Math.floor(rand() * ids.length)];
    if (await counter.terminate(id)) tally.killed += 1;
  }

  const report = async (units) => {
    if (typeof globalThis.gc === 'function') globalThis.gc();
    const m = process.memoryUsage();
    const secs = (performance.now() - t0) / 1000;
    const count = await counter.count();
    console.log(
      `${String(units).padStart(8)} units  ${Math.round(units / secs)
        .toString()
        .padStart(6)}/s  heap ${(m.heapUsed / 2 ** 20).toFixed(1)} MB  rss ${(m.rss / 2 ** 20).toFixed(1)} MB  server connections ${count}`,
    );
  };

  console.log(`soak: ${UNITS} units on ${DB} (scopes in this thread, tasks on 4 workers; maxAge null; seed ${seed})`);
  const sampler = setInterval(() => {
    void counter.count().then((n) => countOverTime.push(n));
    if (process.env.SOAK_DEBUG) {
      const a = connections.stats().aliases.default;
      console.log(
        `  [${settled} settled, ${scopesLeft} scopes and ${tasksLeft} tasks left] open ${a?.open} leased ${a?.leased} idle ${a?.idle} opening ${a?.opening} waiting ${a?.waiting}`,
      );
    }
  }, 1000);
  // Two streams: scopes in this thread (8 at a time) and tasks on the pool (4 at a time), a
  // quarter of the units; a slow fault of one stream does not hold up the other.
  const TASK_UNITS = Math.floor(UNITS * Number(process.env.SOAK_TASK_SHARE ?? 0.25));
  let scopesLeft = UNITS - TASK_UNITS;
  let tasksLeft = TASK_UNITS;
  const done = async () => {
    const n = ++settled;
    if (KILL_EVERY > 0 && n % KILL_EVERY === 0) await kill();
    if (marks.has(n)) await report(n);
  };
  const scopeLoop = async () => {
    while (scopesLeft > 0) {
      scopesLeft -= 1;
      started += 1;
      await oneScope();
      await done();
      // Let the event loop turn (SQLite's statements are synchronous).
      if (started % 64 === 0) await new Promise((r) => setImmediate(r));
    }
  };
  const taskLoop = async () => {
    while (tasksLeft > 0) {
      tasksLeft -= 1;
      started += 1;
      await oneTask();
      await done();
    }
  };
  await Promise.all([...Array.from({ length: CONCURRENCY }, scopeLoop), ...Array.from({ length: 4 }, taskLoop)]);
  clearInterval(sampler);
  const step = (what) => process.env.SOAK_DEBUG && console.log(`  [end] ${what}`);
  step('closing the pool');
  const closeReport = await pool.close({ deadlineMs: 5000 });
  step('reading the rows back');
  const rows = await scope(() => sql`SELECT id FROM soak_row`);
  step('shutting down');
  await shutdown();
  step('counting');
  // @spool/testing's monitoring connection does not hold the event loop open while it waits for
  // an answer (it is made for test runners, which do): this interval does, to the end.
  const keepAlive = setInterval(() => {}, 1000);
  const after = await counter.waitForCount(0, 5000);
  // Read every block's row back and check it against its fate.
  const present = new Uint8Array(UNITS + 2);
  for (const row of rows) present[Number(row.id)] = 1;
  const wrong = { committedRowMissing: 0, rolledBackRowPresent: 0, failedRowPresent: 0, hookWithoutCommit: 0, commitWithoutHook: 0 };
  for (let id = 1; id < fate.length; id += 1) {
    const f = fate[id] & 7;
    const hook = (fate[id] & HOOK) !== 0;
    if (f === COMMITTED && !present[id]) wrong.committedRowMissing += 1;
    if (f === ROLLED_BACK && present[id]) wrong.rolledBackRowPresent += 1;
    if (f === FAILED && present[id]) wrong.failedRowPresent += 1;
    if (hook && f !== COMMITTED) wrong.hookWithoutCommit += 1;
    if (f === COMMITTED && !hook) wrong.commitWithoutHook += 1;
    if (f === 0 && present[id]) wrong.failedRowPresent += 1;
  }
  await counter.close();
  await testing.endTestRun([DB]);
  clearInterval(keepAlive);
  const lost = UNITS - settled;
  const secs = (performance.now() - t0) / 1000;
  console.log(`done in ${secs.toFixed(1)} s (${Math.round(UNITS / secs)} units/s)`);
  console.log(
    `server connections over time (1 s samples): min ${Math.min(...countOverTime)} max ${Math.max(...countOverTime)} last ${countOverTime.at(-1)}; after shutdown ${after}`,
  );
  console.log('tally', JSON.stringify(tally));
  console.log('unexpected errors by class', JSON.stringify(errorKinds));
  console.log('pool', JSON.stringify(closeReport.tasks));
  const hooksOk = tally.hooksWrong === 0 && tally.hooksRun === tally.committed;
  const rowsOk = Object.values(wrong).every((n) => n === 0);
  console.log(`lost ${lost}; hooks run twice ${tally.hooksWrong}; hooks run ${tally.hooksRun} for ${tally.committed} commits`);
  console.log(
    `rows read back: ${rows.length} (${tally.committed} committed blocks, ${tally.blocksFailed} blocks failed on a fault, ${tally.commitOutcomeUnknown} with the COMMIT's outcome unknown); wrong ${JSON.stringify(wrong)}`,
  );
  process.exit(lost === 0 && hooksOk && rowsOk && after === 0 ? 0 : 1);
}

// ---- the pool's worker file -------------------------------------------------------------------
const { task } = isMainThread ? {} : await import('@spool/workers');
const { sql } = isMainThread ? {} : await import('@spool/connections');
export default isMainThread
  ? undefined
  : task(async ({ op }) => {
      await sql`SELECT 1 AS one`;
      switch (op) {
        case 'throw':
          throw new Error('task throws');
        case 'hang':
          return new Promise(() => {});
        case 'slow':
          await new Promise((r) => setTimeout(r, 30));
          return 1;
        case 'exit':
          process.exit(3);
          return 0;
        default:
          return 1;
      }
    });
