// Contention (issue 15): many callers, ten connections. For PostgreSQL and MariaDB, at 1, 10, 100,
// 1,000 and 10,000 concurrent callers each looping one `SELECT 1`, the raw driver's own pool
// (pg.Pool, mysql2 createPool; max 10) against Spool (`scope(() => sql\`SELECT 1\`)`; max 10,
// maxAge null, the default captureStacks: true). Reported per case: ops/s, CPU µs per operation
// (process.cpuUsage: user + system of the whole process, GC threads included), p99 latency of one
// operation, and the heap held per waiting caller (heapUsed after GC with that many callers queued
// behind ten held connections, minus before, divided by the callers). The two run alternately in
// each round (raw first, then Spool first) and the ratios are medians of the per-round ratios.
// The p99 ratio too is that median (each round's Spool p99 ÷ the same round's raw p99), as ops/s
// and CPU are; the table also prints each case's median p99, which can rank the other way when
// the rounds drift (the raw rounds slow, the Spool ones fast, or conversely).
//
// Then the same through @spool/web: a node:http server in a child process (withScope + sql`SELECT
// 1`, against the same server over pg.Pool / mysql2's pool by hand) under autocannon at 10, 100 and
// 1,000 connections: requests/s, p99, and the server's CPU µs per request. And a WorkerPool (4
// workers) with tasks queued at 10× its workers, each task one `SELECT 1` through Spool, against the
// same WorkerPool whose task uses a raw driver pool of the worker's own.
//
//   node bench/contention.mjs                  (all sections, both servers; a few minutes)
//   node bench/contention.mjs --quick          (0.5 s cases, 2 rounds)
//   node bench/contention.mjs --section=direct --db=postgres --conc=10,1000 --seconds=1 --rounds=3
//   node bench/contention.mjs --section=direct --baseline=/work/other-checkout
//                                              (adds that checkout's built Spool as a third case, in
//                                               the same rounds: an A/B of two builds on a loaded machine)
//   BENCH_DATABASES=postgres,mysql (sqlite is skipped: it has no wait queue to speak of)
//   --verbose                                  (the direct section's figures of each round)
//   --load-spool                               (diagnostic: the raw case's child also loads and
//                                               configures Spool, unused: code and heap footprint)
//   BENCH_ALLOC_PROFILE=/tmp/alloc  (direct section: each child's allocation profile, see childCase)
//
// The 'shared' section (in the default run) is the direct section again with every case in this one
// process, as issue 15 measured it (one process, alternating runs): `--section=shared`.
//
// Each measured case of the direct section runs in a process of its own (a child: open, warm up at
// the measured concurrency, measure, close), so that no case runs on code the other one's JIT
// feedback shaped (pg's and mysql2's modules are shared by the raw pool and Spool's backends, and
// V8's inline caches there go polymorphic), nor pays for the other one's garbage. --shared runs
// them all in this process, as before. The warm-up at the measured concurrency is 10 s up to 100
// callers and 1 s above (see warmFor); --warm=S sets it for all.
//
// maxWaiting is set to null: its default (100 × max = 1,000 waiting scopes) would shed most of a
// 10,000-caller burst at once (by design, see the README, "Budgets"), and the raw pools queue
// without bound; the bench compares the same work.
import { AsyncLocalStorage } from 'node:async_hooks';
import { spawnSync, fork } from 'node:child_process';
import { loadavg } from 'node:os';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { isMainThread, workerData } from 'node:worker_threads';
import { benchDatabases, cliArgs, fmt, median, mysqlUrl, pgUrl, table, writeResults } from './lib.mjs';

const require = createRequire(import.meta.url);
const file = fileURLToPath(import.meta.url);
const MAX = 10;

const args = cliArgs();
const quick = Boolean(args.quick);
const SECONDS = Number(args.seconds ?? (quick ? 0.5 : 1.5));
const ROUNDS = Number(args.rounds ?? (quick ? 2 : 4));
// The direct section's cells are short (1.5 s) and their medians were what moved from run to run
// (one round of a loaded second could take a cell across its target): six rounds there, even
// (each case first in as many of them: half, or a third with --baseline). --rounds sets both.
const DIRECT_ROUNDS = Number(args.rounds ?? (quick ? 2 : 6));
const CONCURRENCY = String(args.conc ?? '1,10,100,1000,10000')
  .split(',')
  .map(Number);
const WEB_CONNECTIONS = String(args.web ?? '10,100,1000')
  .split(',')
  .map(Number);
// 'shared': the direct section again with every case in this one process (as --shared does for
// 'direct'), the way issue 15 measured it.
const SECTIONS = String(args.section ?? 'direct,shared,web,workers').split(',');
const DATABASES = (args.db ? String(args.db).split(',') : benchDatabases()).filter((d) => d !== 'sqlite');
/** Another checkout whose built Spool runs as a third case ('base'), for an A/B of two builds. */
const BASELINE = typeof args.baseline === 'string' ? args.baseline : undefined;
const KEYS = BASELINE ? ['raw', 'spool', 'base'] : ['raw', 'spool'];
/** The direct section's cases each in a child process (see the header); --shared: all in this one. */
const ISOLATED = !args.shared;
/**
 * Warm-up of a child case at the measured concurrency, after opening its connections (seconds):
 * 10 s up to 100 callers, 1 s above. A fresh process starts with a small young generation, and V8
 * grows it only as bytes survive its scavenges: the mysql2 pool's process reaches the 16 MB ceiling
 * in its first second, Spool's (whose scavenges leave less alive) after about 9 s at 10 callers,
 * scavenging two to four times as often meanwhile, and the p99 of a window in that transient was
 * the young generation's size more than the pool's (see the README's contention notes). With
 * 1,000 callers and more, the queued callers' own state grows it in both within the first second.
 * Each case's young generation at the window's start is printed (young MB), to check this.
 * --warm=S sets one warm-up for every concurrency.
 */
const WARM_ARG = args.warm === undefined ? undefined : Number(args.warm);
const warmFor = (n) => WARM_ARG ?? (quick ? 0.3 : n <= 100 ? 10 : 1);
// --child-flags=--min-semi-space-size=16,--max-semi-space-size=16: Node/V8 flags for each case's
// child process (both cases alike), e.g. a fixed young generation: V8 sizes it from how much
// survives its scavenges, so two loops allocating alike can run with young generations of
// different sizes, and scavenge at different rates.
const CHILD_FLAGS = args['child-flags'] ? String(args['child-flags']).split(',') : [];
/** --prepare=null|N: Spool's prepareThreshold (an A/B of the protocol; default: Spool's default). */
const PREPARE = args.prepare === undefined ? undefined : args.prepare === 'null' ? null : Number(args.prepare);

const percentile = (xs, p) => {
  if (xs.length === 0) return NaN;
  const v = Float64Array.from(xs).sort();
  return v[Math.min(v.length - 1, Math.floor((v.length * p) / 100))];
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const cpuNow = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

// ---- the cases: a raw driver pool and Spool, each as { op, hold, close } ---------------------------

function rawPool(db) {
  if (db === 'postgres') {
    const pg = require('pg');
    const pool = new pg.Pool({ connectionString: pgUrl, max: MAX });
    return {
      op: () => pool.query('SELECT 1 AS one'),
      // Take every connection and keep it until release() is called.
      hold: async () => {
        const clients = await Promise.all(Array.from({ length: MAX }, () => pool.connect()));
        return () => clients.forEach((c) => c.release());
      },
      close: () => pool.end(),
    };
  }
  const mysql = require('mysql2');
  const pool = mysql.createPool({ uri: mysqlUrl, connectionLimit: MAX });
  return {
    op: () => new Promise((res, rej) => pool.query('SELECT 1 AS one', (e, r) => (e ? rej(e) : res(r)))),
    hold: async () => {
      const conns = await Promise.all(
        Array.from({ length: MAX }, () => new Promise((res, rej) => pool.getConnection((e, c) => (e ? rej(e) : res(c))))),
      );
      return () => conns.forEach((c) => c.release());
    },
    close: () => new Promise((res) => pool.end(res)),
  };
}

function spoolPool(db, from) {
  const { ConnectionHandler } = from ? require(`${from}/packages/connections`) : require('@spool/connections');
  const h = new ConnectionHandler();
  const client = db === 'postgres' ? 'pg' : 'mysql2';
  h.configure({
    databases: {
      default: {
        client,
        connection: db === 'postgres' ? pgUrl : mysqlUrl,
        max: MAX,
        maxAge: null,
        maxWaiting: null,
        ...(PREPARE === undefined ? {} : { prepareThreshold: PREPARE }),
      },
    },
  });
  return {
    op: () => h.scope(() => h.sql`SELECT 1 AS one`),
    hold: async () => {
      let release;
      const gate = new Promise((r) => (release = r));
      let held = 0;
      let all;
      const ready = new Promise((r) => (all = r));
      const holders = Array.from({ length: MAX }, () =>
        h.scope(async () => {
          await h.sql`SELECT 1 AS one`;
          if (++held === MAX) all();
          await gate;
        }),
      );
      await ready;
      return () => {
        release();
        return Promise.all(holders);
      };
    },
    close: () => h.shutdown(),
  };
}

/**
 * `n` callers loop `op` for `seconds` after `ramp` seconds of the same loop (default: 0.3 s, or
 * 30 % of a short run): ops/s, CPU µs/op, p50, p99 ms.
 */
async function loop(op, n, seconds, ramp = Math.min(0.3, seconds * 0.3)) {
  // Start from a collected heap: the garbage the previous case left (its callers, promises and
  // latency samples) would otherwise be collected during this one, its CPU and pauses charged to
  // this case (to the raw pool, in the rounds where it runs after Spool, and conversely).
  globalThis.gc();
  let measuring = false;
  let stop = false;
  let ops = 0;
  const lat = [];
  // Garbage collection in the window: scavenges (minor GCs) and all GC pause time. V8 sizes its
  // young generation by how much survives a scavenge, so two loops allocating alike can scavenge
  // at different rates (see the README's contention notes).
  const gcSeen = { scavenges: 0, ms: 0, from: Infinity, to: Infinity };
  const countGc = (entries) => {
    for (const e of entries) {
      if (e.startTime < gcSeen.from || e.startTime > gcSeen.to) continue;
      if (e.detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) gcSeen.scavenges += 1;
      gcSeen.ms += e.duration;
    }
  };
  const gcObserver = new PerformanceObserver((list) => countGc(list.getEntries()));
  gcObserver.observe({ entryTypes: ['gc'] });
  const caller = async () => {
    while (!stop) {
      const t = performance.now();
      await op();
      if (measuring) {
        lat.push(performance.now() - t);
        ops += 1;
      }
    }
  };
  const callers = Array.from({ length: n }, caller);
  await sleep(ramp * 1000);
  measuring = true;
  const youngMB = youngGenerationMB();
  const ru0 = process.resourceUsage();
  const th0 = threadCpuMs();
  const cpu0 = cpuNow();
  const t0 = performance.now();
  gcSeen.from = t0;
  await sleep(seconds * 1000);
  const ms = performance.now() - t0;
  gcSeen.to = t0 + ms;
  const cpu = cpuNow() - cpu0;
  const ru1 = process.resourceUsage();
  const th1 = threadCpuMs();
  measuring = false;
  stop = true;
  await Promise.all(callers);
  // Entries recorded but not yet delivered to the callback (a GC at the window's end).
  countGc(gcObserver.takeRecords());
  gcObserver.disconnect();
  // p50 beside p99: with a FIFO queue every caller waits about as long (p99 close to p50), so a
  // p99 above the raw pool's with the same p50 would be unfairness, not throughput.
  return {
    opsPerSec: (ops / ms) * 1000,
    cpuPerOp: cpu / ops,
    p50: percentile(lat, 50),
    p99: percentile(lat, 99),
    scavengesPerKop: (gcSeen.scavenges / ops) * 1000,
    gcMsPerKop: (gcSeen.ms / ops) * 1000,
    youngMB,
    // The CPU per operation in the kernel (system time; the rest of cpuPerOp is user time).
    systemPerOp: (ru1.systemCPUTime - ru0.systemCPUTime) / ops,
    // Per 1,000 operations of the window (getrusage: the whole process): minor page faults and
    // context switches, voluntary (a thread blocked) and involuntary (preempted).
    faultsPerKop: ((ru1.minorPageFault - ru0.minorPageFault) / ops) * 1000,
    vcswPerKop: ((ru1.voluntaryContextSwitches - ru0.voluntaryContextSwitches) / ops) * 1000,
    ivcswPerKop: ((ru1.involuntaryContextSwitches - ru0.involuntaryContextSwitches) / ops) * 1000,
    // CPU µs per operation by thread name (see threadCpuMs).
    threadUsPerOp: th0 && th1 ? Object.fromEntries(Object.keys(th1).map((k) => [k, ((th1[k] - (th0[k] ?? 0)) * 1000) / ops])) : undefined,
  };
}

/**
 * CPU time of this process's threads by thread name (ms; Linux's /proc/self/task, in clock ticks of
 * 10 ms), or undefined elsewhere: which threads the CPU per operation went to (the main thread,
 * V8's workers running GC and compilation, libuv's).
 */
function threadCpuMs() {
  try {
    const byName = {};
    for (const tid of readdirSync('/proc/self/task')) {
      let stat;
      try {
        stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      } catch {
        continue; // the thread ended
      }
      // Node 20 leaves V8's and libuv's threads named as the process: tell the main thread apart.
      const name =
        Number(tid) === process.pid
          ? 'main'
          : `${stat
              .slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
              .replace(/\d+$/, '')
              .trim()} threads`;
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      byName[name] = (byName[name] ?? 0) + (Number(f[11]) + Number(f[12])) * 10;
    }
    return byName;
  } catch {
    return undefined;
  }
}

/** The young generation's size now (V8's new space, both semi-spaces), MB. */
function youngGenerationMB() {
  const s = getHeapSpaceStatistics().find((x) => x.space_name === 'new_space');
  return s === undefined ? NaN : s.space_size / 2 ** 20;
}

/** Heap per caller queued behind `MAX` held connections (bytes). */
async function heapPerWaiter(pool, n) {
  const release = await pool.hold();
  await sleep(20);
  const gc = globalThis.gc;
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  const waiting = Array.from({ length: n }, () => pool.op());
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  gc();
  gc();
  const after = process.memoryUsage().heapUsed;
  await release();
  await Promise.all(waiting);
  return (after - before) / n;
}

/** The case `key` of `db`, as the direct section makes it. */
function makeCase(db, key) {
  return key === 'raw' ? rawPool(db) : key === 'spool' ? spoolPool(db) : spoolPool(db, BASELINE);
}

/**
 * One measured case in a child process of its own: `loop()`'s figures, with the heap per waiter
 * (the smaller of two passes, as in this process) when `heap` is set.
 */
function caseInChild(db, key, n, heap) {
  const r = spawnSync(
    process.execPath,
    [
      '--expose-gc',
      ...CHILD_FLAGS,
      file,
      `--child-case=${key}`,
      `--db=${db}`,
      `--n=${n}`,
      `--seconds=${SECONDS}`,
      `--warm=${warmFor(n)}`,
      ...(heap ? ['--heap'] : []),
      ...(BASELINE ? [`--baseline=${BASELINE}`] : []),
      ...(PREPARE === undefined ? [] : [`--prepare=${PREPARE}`]),
    ],
    { encoding: 'utf8', env: process.env, maxBuffer: 64 * 1024 * 1024 },
  );
  const line = String(r.stdout ?? '')
    .split('\n')
    .find((l) => l.startsWith('CASE '));
  if (r.status !== 0 || line === undefined) throw new Error(`contention child ${db} ${key} ${n} failed (${r.status}): ${r.stderr}`);
  return JSON.parse(line.slice('CASE '.length));
}

/** Start V8's sampling heap profiler (all allocations) after `afterMs`; returns its stop(). */
async function allocationProfile(afterMs) {
  const { Session } = require('node:inspector');
  const session = new Session();
  session.connect();
  const post = (method, params) => new Promise((res, rej) => session.post(method, params, (e, r) => (e ? rej(e) : res(r))));
  const started = sleep(afterMs).then(() =>
    post('HeapProfiler.startSampling', {
      samplingInterval: 512,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    }),
  );
  return async () => {
    await started;
    const { profile } = await post('HeapProfiler.stopSampling', {});
    session.disconnect();
    return profile;
  };
}

/** The child's side of `caseInChild`: open and warm up (at `MAX`, then at the measured concurrency), measure, close. */
async function childCase() {
  const db = String(args.db);
  const n = Number(args.n);
  const key = String(args['child-case']);
  // The raw pool as it ran beside Spool in one process (--shared), and as in any process where an
  // AsyncLocalStorage is in use: on Node 20 every promise then pays a promise hook. Without it the
  // raw pool's figures would change with the isolation, not only lose the JIT cross-talk.
  if (key === 'raw') new AsyncLocalStorage().enterWith({});
  // Diagnostic (--load-spool): the raw case with Spool loaded and configured beside it, unused.
  if (key === 'raw' && args['load-spool']) globalThis.__spool = spoolPool(db);
  const c = makeCase(db, key);
  await loop(c.op, MAX, 0.3);
  // The warm-up at the measured concurrency and the measurement are one loop: the callers do not
  // stop in between. loop() starts with a full GC, after which V8 has shrunk its young generation
  // and scavenges often until it has grown back: about 300 ms in which both pools run slower
  // (latency per 50 ms window up to 2× the steady state's). Measured 300 ms after its start, as
  // before, a loop's p99 was that transient's tail, the same for both cases in kind but not in
  // length, rather than the steady contention the cell is about.
  // BENCH_ALLOC_PROFILE=dir: V8's sampling heap profile of the measured window, every allocation
  // (objects the next GC collected included), to dir/<db>-<case>-<callers>.heapprofile.
  const warm = Number(args.warm);
  const profile = process.env.BENCH_ALLOC_PROFILE ? await allocationProfile(warm * 1000) : undefined;
  const m = await loop(c.op, n, SECONDS, warm);
  if (profile) {
    mkdirSync(process.env.BENCH_ALLOC_PROFILE, { recursive: true });
    writeFileSync(join(process.env.BENCH_ALLOC_PROFILE, `${db}-${key}-${n}.heapprofile`), JSON.stringify(await profile()));
  }
  if (args.heap && n > MAX) m.heapPerWaiter = Math.min(await heapPerWaiter(c, n), await heapPerWaiter(c, n));
  await c.close();
  console.log(`CASE ${JSON.stringify(m)}`);
}

async function direct(isolated = ISOLATED) {
  const rows = [];
  const out = {};
  for (const db of DATABASES) {
    const cases = isolated ? undefined : Object.fromEntries(KEYS.map((k) => [k, makeCase(db, k)]));
    // Open the connections, warm up.
    if (!isolated) for (const c of Object.values(cases)) await loop(c.op, MAX, 0.3);
    out[db] = {};
    for (const n of CONCURRENCY) {
      const runs = Object.fromEntries(KEYS.map((k) => [k, []]));
      const ratios = { ops: [], cpu: [], p99: [], baseCpu: [] };
      const heap = {};
      for (let r = 0; r < DIRECT_ROUNDS; r++) {
        // Each round starts with the next case (raw spool base, spool base raw, ...).
        const order = KEYS.map((_, j) => KEYS[(r + j) % KEYS.length]);
        const m = {};
        // Isolated: the heap per waiter is measured by the first round's children.
        for (const k of order) m[k] = isolated ? caseInChild(db, k, n, r === 0) : await loop(cases[k].op, n, SECONDS);
        if (r === 0 && isolated && n > MAX) for (const k of KEYS) heap[k] = m[k].heapPerWaiter;
        if (args.verbose)
          console.log(
            `  round ${r + 1} (${order.join(' then ')}): ` +
              KEYS.map(
                (k) =>
                  `${k} ${m[k].cpuPerOp.toFixed(1)} µs/op p99 ${(m[k].p99 * 1000).toFixed(0)} µs young ${m[k].youngMB} MB scav/1k ${m[k].scavengesPerKop.toFixed(2)}`,
              ).join(' | '),
          );
        for (const k of KEYS) runs[k].push(m[k]);
        ratios.ops.push(m.spool.opsPerSec / m.raw.opsPerSec);
        ratios.cpu.push(m.spool.cpuPerOp / m.raw.cpuPerOp);
        ratios.p99.push(m.spool.p99 / m.raw.p99);
        if (m.base) ratios.baseCpu.push(m.spool.cpuPerOp / m.base.cpuPerOp);
      }
      // Twice, keeping the smaller: the first pass also counts code and feedback the waiting path
      // allocates once (a fixed cost that weighs on the figure at 1,000 waiters).
      if (n > MAX && !isolated)
        for (const k of KEYS) heap[k] = Math.min(await heapPerWaiter(cases[k], n), await heapPerWaiter(cases[k], n));
      const summary = {};
      for (const k of KEYS) {
        summary[k] = {
          opsPerSec: median(runs[k].map((x) => x.opsPerSec)),
          cpuPerOp: median(runs[k].map((x) => x.cpuPerOp)),
          p50: median(runs[k].map((x) => x.p50)),
          p99: median(runs[k].map((x) => x.p99)),
          scavengesPerKop: median(runs[k].map((x) => x.scavengesPerKop)),
          gcMsPerKop: median(runs[k].map((x) => x.gcMsPerKop)),
          youngMB: median(runs[k].map((x) => x.youngMB)),
          systemPerOp: median(runs[k].map((x) => x.systemPerOp)),
          faultsPerKop: median(runs[k].map((x) => x.faultsPerKop)),
          vcswPerKop: median(runs[k].map((x) => x.vcswPerKop)),
          ivcswPerKop: median(runs[k].map((x) => x.ivcswPerKop)),
          // Every thread group any round saw (a round without one counts 0 for it).
          threadUsPerOp: runs[k][0].threadUsPerOp
            ? Object.fromEntries(
                [...new Set(runs[k].flatMap((x) => Object.keys(x.threadUsPerOp ?? {})))].map((t) => [
                  t,
                  median(runs[k].map((x) => x.threadUsPerOp?.[t] ?? 0)),
                ]),
              )
            : undefined,
          heapPerWaiter: heap[k],
        };
      }
      summary.ratio = { ops: median(ratios.ops), cpu: median(ratios.cpu), p99: median(ratios.p99) };
      if (BASELINE) summary.ratio.cpuVsBase = median(ratios.baseCpu);
      out[db][n] = summary;
      for (const k of KEYS) {
        const s = summary[k];
        rows.push({
          db,
          callers: n.toLocaleString('en-US'),
          case: k === 'raw' ? (db === 'postgres' ? 'pg.Pool' : 'mysql2 pool') : k === 'spool' ? 'Spool' : 'Spool (baseline)',
          'ops/s': fmt(s.opsPerSec),
          'CPU µs/op': s.cpuPerOp.toFixed(1),
          'p99 ms': s.p99.toFixed(1),
          'heap B/waiter': s.heapPerWaiter === undefined ? '' : Math.round(s.heapPerWaiter),
          'ops ÷ raw': k === 'spool' ? summary.ratio.ops.toFixed(2) : '',
          'CPU ÷ raw':
            k === 'spool' ? summary.ratio.cpu.toFixed(2) : k === 'base' ? `(Spool ÷ this: ${summary.ratio.cpuVsBase.toFixed(2)})` : '',
          'p99 ÷ raw': k === 'spool' ? summary.ratio.p99.toFixed(2) : '',
        });
      }
      console.log(
        `${db} ${n}: ` +
          KEYS.map(
            (k) =>
              `${k} ${fmt(summary[k].opsPerSec)} ops/s ${summary[k].cpuPerOp.toFixed(1)} µs/op p50 ${summary[k].p50.toFixed(1)} p99 ${summary[k].p99.toFixed(1)} ms` +
              ` scavenges/1k ${summary[k].scavengesPerKop.toFixed(2)} gc ${summary[k].gcMsPerKop.toFixed(2)} ms/1k young ${summary[k].youngMB.toFixed(1)} MB` +
              ` system ${summary[k].systemPerOp.toFixed(1)} µs/op faults/1k ${summary[k].faultsPerKop.toFixed(1)} cs/1k ${summary[k].vcswPerKop.toFixed(0)}+${summary[k].ivcswPerKop.toFixed(0)}` +
              (summary[k].threadUsPerOp
                ? ` threads µs/op ${Object.entries(summary[k].threadUsPerOp)
                    .map(([t, v]) => `${t} ${v.toFixed(1)}`)
                    .join(', ')}`
                : '') +
              (n > MAX ? ` heap/waiter ${Math.round(heap[k])} B` : ''),
          ).join(' | '),
      );
    }
    if (!isolated) for (const c of Object.values(cases)) await c.close();
    // Growth of CPU per op from the lowest to each higher concurrency, Spool's against the pool's.
    const base = CONCURRENCY[0] === 1 && CONCURRENCY.length > 1 ? CONCURRENCY[1] : CONCURRENCY[0];
    for (const n of CONCURRENCY) {
      if (n <= base) continue;
      const g = (k) => out[db][n][k].cpuPerOp / out[db][base][k].cpuPerOp;
      out[db][n].growth = { from: base, raw: g('raw'), spool: g('spool'), ratio: g('spool') / g('raw') };
      if (BASELINE) out[db][n].growth.baseRatio = g('base') / g('raw');
    }
  }
  table(
    `Contention: callers each looping SELECT 1 over max ${MAX} connections (${DIRECT_ROUNDS} rounds of ${SECONDS} s, alternating; medians; ${
      isolated ? 'each case in a process of its own' : 'all cases in one process'
    })`,
    rows,
    ['db', 'callers', 'case', 'ops/s', 'CPU µs/op', 'p99 ms', 'heap B/waiter', 'ops ÷ raw', 'CPU ÷ raw', 'p99 ÷ raw'],
  );
  const growth = [];
  for (const db of Object.keys(out))
    for (const [n, s] of Object.entries(out[db]))
      if (s.growth)
        growth.push({
          db,
          callers: `${s.growth.from} → ${Number(n).toLocaleString('en-US')}`,
          'raw CPU/op growth': s.growth.raw.toFixed(2),
          'Spool CPU/op growth': s.growth.spool.toFixed(2),
          'Spool ÷ raw growth': s.growth.ratio.toFixed(2),
          ...(BASELINE ? { 'baseline ÷ raw growth': s.growth.baseRatio.toFixed(2) } : {}),
        });
  if (growth.length)
    table('CPU per operation growth with the callers (target: Spool ÷ raw growth ≤ 1.2)', growth, [
      'db',
      'callers',
      'raw CPU/op growth',
      'Spool CPU/op growth',
      'Spool ÷ raw growth',
      ...(BASELINE ? ['baseline ÷ raw growth'] : []),
    ]);
  return out;
}

// ---- through @spool/web: a server in a child process under autocannon ---------------------------

async function serve(db, kind) {
  const { createServer } = require('node:http');
  let handler;
  if (kind === 'spool' || kind === 'base') {
    // 'base': the --baseline checkout's built Spool, in the same rounds (an A/B of two builds).
    const from = kind === 'base' ? `${BASELINE}/packages/` : '@spool/';
    const spool = require(`${from}connections`);
    const { withScope } = require(`${from}web`);
    spool.configure({
      databases: {
        default: { client: db === 'postgres' ? 'pg' : 'mysql2', connection: db === 'postgres' ? pgUrl : mysqlUrl, max: MAX, maxAge: null },
      },
    });
    handler = withScope(async (_req, res) => {
      const rows = await spool.sql`SELECT 1 AS one`;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(rows));
    });
  } else {
    const raw = rawPool(db);
    handler = (_req, res) => {
      raw.op().then(
        (r) => {
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify(r.rows ?? r));
        },
        () => {
          res.statusCode = 500;
          res.end();
        },
      );
    };
  }
  const server = createServer(handler);
  server.keepAliveTimeout = 60_000;
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  process.on('message', (m) => {
    if (m === 'cpu') process.send({ cpu: cpuNow() });
    if (m === 'exit') process.exit(0);
  });
  process.send({ port: server.address().port });
}

async function web() {
  const autocannon = require('autocannon');
  const rows = [];
  const out = {};
  const seconds = Math.max(1, Math.round(SECONDS));
  for (const db of DATABASES) {
    out[db] = {};
    const servers = {};
    for (const kind of KEYS) {
      const child = fork(file, ['--serve', `--db=${db}`, `--kind=${kind}`, ...(BASELINE ? [`--baseline=${BASELINE}`] : [])], {
        stdio: 'inherit',
      });
      const port = await new Promise((r) => child.once('message', (m) => r(m.port)));
      const cpu = () =>
        new Promise((r) => {
          child.once('message', (m) => r(m.cpu));
          child.send('cpu');
        });
      servers[kind] = { child, url: `http://127.0.0.1:${port}/`, cpu };
      // Warm up by count, not time: on a loaded machine 1 s may be a handful of requests, still cold.
      await autocannon({ url: servers[kind].url, connections: 10, amount: 3000 });
    }
    for (const connections of WEB_CONNECTIONS) {
      const runs = Object.fromEntries(KEYS.map((k) => [k, []]));
      const ratios = [];
      const baseRatios = [];
      for (let r = 0; r < ROUNDS; r++) {
        // Rotated each round (raw, spool, base / spool, base, raw / …): neither noise nor position favours one.
        const order = KEYS.map((_, j) => KEYS[(r + j) % KEYS.length]);
        const m = {};
        for (const k of order) {
          const s = servers[k];
          const cpu0 = await s.cpu();
          const res = await autocannon({ url: s.url, connections, duration: seconds });
          const cpu = (await s.cpu()) - cpu0;
          m[k] = {
            rps: res.requests.average,
            p99: res.latency.p99,
            cpuPerReq: cpu / Math.max(1, res.requests.total),
            non2xx: res.non2xx + res.errors,
          };
        }
        for (const k of KEYS) runs[k].push(m[k]);
        ratios.push(m.spool.rps / m.raw.rps);
        if (BASELINE) baseRatios.push(m.base.rps / m.raw.rps);
      }
      const s = {};
      for (const k of KEYS)
        s[k] = {
          rps: median(runs[k].map((x) => x.rps)),
          p99: median(runs[k].map((x) => x.p99)),
          cpuPerReq: median(runs[k].map((x) => x.cpuPerReq)),
          errors: runs[k].reduce((a, x) => a + x.non2xx, 0),
          // The spread of the rounds: how noisy the machine was.
          rpsRange: [Math.min(...runs[k].map((x) => x.rps)), Math.max(...runs[k].map((x) => x.rps))],
        };
      s.ratio = median(ratios);
      s.ratioRange = [Math.min(...ratios), Math.max(...ratios)];
      if (BASELINE) {
        s.baseRatio = median(baseRatios);
        s.baseRatioRange = [Math.min(...baseRatios), Math.max(...baseRatios)];
      }
      out[db][connections] = s;
      for (const k of KEYS)
        rows.push({
          db,
          connections,
          server:
            k === 'raw'
              ? `node:http + ${db === 'postgres' ? 'pg.Pool' : 'mysql2 pool'}`
              : k === 'spool'
                ? 'withScope + sql'
                : 'baseline withScope + sql',
          'req/s': fmt(s[k].rps),
          'p99 ms': s[k].p99,
          'server CPU µs/req': s[k].cpuPerReq.toFixed(1),
          'non-2xx': s[k].errors,
          'req/s ÷ raw':
            k === 'spool'
              ? `${s.ratio.toFixed(2)} (${s.ratioRange.map((x) => x.toFixed(2)).join('–')})`
              : k === 'base'
                ? `${s.baseRatio.toFixed(2)} (${s.baseRatioRange.map((x) => x.toFixed(2)).join('–')})`
                : '',
        });
      console.log(
        `web ${db} ${connections}: raw ${fmt(s.raw.rps)} req/s, spool ${fmt(s.spool.rps)} req/s (${s.ratio.toFixed(2)})${BASELINE ? `, baseline ${fmt(s.base.rps)} req/s (${s.baseRatio.toFixed(2)})` : ''}`,
      );
    }
    for (const { child } of Object.values(servers)) child.send('exit');
  }
  table(`@spool/web under autocannon (${ROUNDS} rounds of ${seconds} s, rotated; medians; max ${MAX}, maxAge null)`, rows, [
    'db',
    'connections',
    'server',
    'req/s',
    'p99 ms',
    'server CPU µs/req',
    'non-2xx',
    'req/s ÷ raw',
  ]);
  return out;
}

// ---- through a WorkerPool: tasks queued at 10× its workers ---------------------------------------

let workerTask;
if (!isMainThread && workerData?.contention) {
  const { db, kind } = workerData.contention;
  const { task } = require('@spool/workers');
  if (kind === 'spool') {
    const { sql } = require('@spool/connections');
    workerTask = task(async () => (await sql`SELECT 1 AS one`).length);
  } else {
    // The same task() wrapper (its scope is never used, so it leases nothing), the raw pool inside.
    const raw = rawPool(db);
    workerTask = task(async () => {
      await raw.op();
      return 1;
    });
  }
}
export default isMainThread ? undefined : workerTask;

async function workers() {
  const spool = require('@spool/connections');
  const { WorkerPool } = require('@spool/workers');
  const WORKERS = 4;
  const rows = [];
  const out = {};
  for (const db of DATABASES) {
    const pools = {};
    // A WorkerPool passes the settings on to its workers (the raw task never uses them).
    spool.configure({
      databases: {
        default: { client: db === 'postgres' ? 'pg' : 'mysql2', connection: db === 'postgres' ? pgUrl : mysqlUrl, maxAge: null },
      },
    });
    for (const kind of ['raw', 'spool']) {
      pools[kind] = new WorkerPool({ filename: file, workers: WORKERS, checkCapacity: false, workerData: { contention: { db, kind } } });
      await Promise.all(Array.from({ length: WORKERS * 10 }, () => pools[kind].run()));
    }
    const inFlight = WORKERS * 10;
    const runs = { raw: [], spool: [] };
    const ratios = [];
    const measure = async (pool) => {
      let stop = false;
      let done = 0;
      const lat = [];
      const cpu0 = cpuNow();
      const t0 = performance.now();
      const feeders = Array.from({ length: inFlight }, async () => {
        while (!stop) {
          const t = performance.now();
          await pool.run();
          lat.push(performance.now() - t);
          done += 1;
        }
      });
      await sleep(SECONDS * 1000);
      stop = true;
      const ms = performance.now() - t0;
      const cpu = cpuNow() - cpu0;
      await Promise.all(feeders);
      return { tasksPerSec: (done / ms) * 1000, p99: percentile(lat, 99), cpuPerTask: cpu / done };
    };
    for (let r = 0; r < ROUNDS; r++) {
      const order = r % 2 === 0 ? ['raw', 'spool'] : ['spool', 'raw'];
      const m = {};
      for (const k of order) m[k] = await measure(pools[k]);
      runs.raw.push(m.raw);
      runs.spool.push(m.spool);
      ratios.push(m.spool.tasksPerSec / m.raw.tasksPerSec);
    }
    for (const p of Object.values(pools)) await p.close();
    await spool.shutdown();
    out[db] = {};
    for (const k of ['raw', 'spool']) {
      out[db][k] = {
        tasksPerSec: median(runs[k].map((x) => x.tasksPerSec)),
        p99: median(runs[k].map((x) => x.p99)),
        cpuPerTask: median(runs[k].map((x) => x.cpuPerTask)),
      };
      rows.push({
        db,
        task: k === 'raw' ? `raw ${db === 'postgres' ? 'pg.Pool' : 'mysql2 pool'} per worker` : 'task() + sql',
        'tasks/s': fmt(out[db][k].tasksPerSec),
        'p99 ms': out[db][k].p99.toFixed(1),
        'process CPU µs/task': out[db][k].cpuPerTask.toFixed(1),
        'tasks/s ÷ raw': k === 'spool' ? median(ratios).toFixed(2) : '',
      });
    }
    out[db].ratio = median(ratios);
  }
  table(
    `WorkerPool: ${WORKERS} workers, ${WORKERS * 10} tasks in flight (10× the workers), each one SELECT 1 (${ROUNDS} rounds of ${SECONDS} s)`,
    rows,
    ['db', 'task', 'tasks/s', 'p99 ms', 'process CPU µs/task', 'tasks/s ÷ raw'],
  );
  return out;
}

// ---- main -------------------------------------------------------------------------------------------

if (isMainThread && args['child-case']) {
  await childCase();
} else if (isMainThread && args.serve) {
  await serve(String(args.db), String(args.kind));
} else if (isMainThread) {
  if (typeof globalThis.gc !== 'function') {
    // The heap figures need a full GC on demand.
    const r = spawnSync(process.execPath, ['--expose-gc', file, ...process.argv.slice(2)], { stdio: 'inherit', env: process.env });
    process.exit(r.status ?? 1);
  }
  // The machine's load, before and after: figures from a loaded machine are A/B ratios, not absolutes.
  const load = () => loadavg().map((l) => Number(l.toFixed(2)));
  const results = {
    seconds: SECONDS,
    rounds: ROUNDS,
    directRounds: DIRECT_ROUNDS,
    directIsolated: ISOLATED,
    // --shared runs every case in this process with loop()'s own 0.3 s ramp, not the children's warm-up.
    directWarm: ISOLATED
      ? (WARM_ARG ?? (quick ? 0.3 : 'up to 100 callers 10 s, above 1 s'))
      : 'shared: loop() ramp (0.3 s, 0.15 s with --quick)',
    load: { start: load() },
  };
  console.log(`load average at start: ${results.load.start.join(', ')}`);
  if (SECTIONS.includes('direct')) results.direct = await direct();
  if (SECTIONS.includes('shared') && ISOLATED) results.directShared = await direct(false);
  if (SECTIONS.includes('web')) results.web = await web();
  if (SECTIONS.includes('workers')) results.workers = await workers();
  results.load.end = load();
  console.log(`load average at end: ${results.load.end.join(', ')}`);
  if (!args.section && !args.db && !args.conc) writeResults('contention', results);
  else console.log(JSON.stringify(results));
}
