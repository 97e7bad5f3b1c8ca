// bench/client-cost-ab.mjs: client CPU µs and bytes allocated per operation of two Spool builds in
// the same process, rounds interleaved and rotated (the machine is shared: wall-clock figures are
// not trustworthy, CPU time and allocation are). Both builds run the same operations on the same
// seeded tables (bench/orm.mjs's shapes, 1,000 authors with 10 books each, in tables of its own:
// ab_author, ab_book, kept between runs), each on its own pool of
// one connection, so that the database's time is out of the figures and the driver's is the same.
//
//   BENCH_BASELINE=/path/with/node_modules node --expose-gc --min-semi-space-size=32 bench/client-cost-ab.mjs
//     BENCH_BASELINE  a directory whose node_modules/@spool/{orm,connections} hold the baseline
//                     build (e.g. a copy of packages/*/{package.json,dist} taken before a change,
//                     the other node_modules entries linked to this checkout's); without it, the
//                     build is compared with itself (the noise floor)
//     BENCH_CANDIDATE the same for the candidate (default: this checkout), e.g. a copy, so that
//                     the checkout can be rebuilt while callgrind runs
//     BENCH_DATABASES=mysql,postgres   BENCH_OPS=prefetch20,groupedAggregate,getByPk
//     BENCH_ROUNDS=8   BENCH_RUNS=300 (operations per CPU round; 0: allocation only)   BENCH_ALLOC_RUNS=40
//     BENCH_PREPARE=5  the candidate's prepareThreshold ('null': never; default: the default),
//     BENCH_BASE_PREPARE=5  the baseline's (an A/B of the prepare policy with one build)
//
// Instructions (deterministic on a loaded machine): BENCH_INSTR=1 runs each build's operations in
// a child under `valgrind --tool=callgrind`, BENCH_N1 then BENCH_N2 times (default 200, 1000)
// after the same warm-up, and prints (count(N2) - count(N1)) / (N2 - N1) per operation.
//
// Allocation: a full GC, then BENCH_ALLOC_RUNS operations, the growth of the heap divided by the
// runs (a batch during which a GC ran is measured again: give the young generation room with
// --min-semi-space-size). CPU: process.cpuUsage() over BENCH_RUNS
// operations, GC included. Prints the median per build and the candidate's difference.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { benchModels, callgrindInstructions, mysqlUrl, pgUrl, seedBenchModels } from './lib.mjs';

const INSTR = process.env.BENCH_INSTR === '1';
// In a counted child: BENCH_CHILD=<candidate|baseline>:<op>:<db>:<runs>.
const CHILD = process.env.BENCH_CHILD?.split(':');
if (!INSTR && !CHILD && typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc');
const AUTHORS = 1000;
const BOOKS_PER_AUTHOR = 10;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 8);
const RUNS = Number(process.env.BENCH_RUNS ?? 300);
const ALLOC_RUNS = Number(process.env.BENCH_ALLOC_RUNS ?? 40);
const OPS = (process.env.BENCH_OPS ?? 'prefetch20,groupedAggregate,getByPk').split(',');
const DATABASES = (process.env.BENCH_DATABASES ?? 'mysql,postgres').split(',');
const prepareOf = (v) => (v === undefined ? undefined : v === 'null' ? null : Number(v));

function load(label, req, prepareThreshold) {
  const c = req('@spool/connections');
  const o = req('@spool/orm');
  const { Author, Book } = benchModels(o, 'ab');
  return { label, c, o, Author, Book, prepareThreshold };
}

const here = createRequire(import.meta.url);
const allBuilds = [
  load(
    'candidate',
    process.env.BENCH_CANDIDATE ? createRequire(join(process.env.BENCH_CANDIDATE, 'x.mjs')) : here,
    prepareOf(process.env.BENCH_PREPARE),
  ),
  load(
    'baseline',
    process.env.BENCH_BASELINE ? createRequire(join(process.env.BENCH_BASELINE, 'x.mjs')) : here,
    prepareOf(process.env.BENCH_BASE_PREPARE),
  ),
];
const builds = CHILD ? allBuilds.filter((b) => b.label === CHILD[0]) : allBuilds;
if (!CHILD && builds[0].c === builds[1].c && builds[0].prepareThreshold === builds[1].prepareThreshold)
  console.log('(no BENCH_BASELINE: the build against itself, the noise floor)');

/** Instructions of `runs` operations of one build in a child under callgrind (start-up included). */
function instructions(label, op, db, runs) {
  return callgrindInstructions([process.execPath, fileURLToPath(import.meta.url)], {
    env: { ...process.env, BENCH_INSTR: '', BENCH_CHILD: `${label}:${op}:${db}:${runs}` },
  });
}

if (INSTR) {
  const n1 = Number(process.env.BENCH_N1 ?? 200);
  const n2 = Number(process.env.BENCH_N2 ?? 1000);
  for (const db of DATABASES)
    for (const op of OPS) {
      const per = {};
      for (const label of ['candidate', 'baseline'])
        per[label] = (instructions(label, op, db, n2) - instructions(label, op, db, n1)) / (n2 - n1);
      console.log(
        `${db} ${op}: candidate ${Math.round(per.candidate)} instr/op | baseline ${Math.round(per.baseline)} | diff ${Math.round(per.candidate - per.baseline)} (${(((per.candidate - per.baseline) / per.baseline) * 100).toFixed(1)} %)`,
      );
    }
  process.exit(0);
}

let gcs = 0;
new PerformanceObserver((list) => (gcs += list.getEntries().length)).observe({ entryTypes: ['gc'] });

function operations(b, ids) {
  let n = 0;
  return {
    prefetch20: () => {
      const start = (n++ * 20) % (AUTHORS - 20);
      return b.Author.objects
        .orderBy('id')
        .slice(start, start + 20)
        .prefetchRelated('books')
        .then((as) => {
          if (as.length !== 20) throw new Error('prefetch20: not 20 authors');
          return as;
        });
    },
    groupedAggregate: () =>
      b.Book.objects
        .filter({ author__lt: ids[(n++ % 10) * 50 + 100] })
        .values('author')
        .annotate({ n: b.o.Count('id'), total: b.o.Sum('pages') }),
    getByPk: () => b.Author.objects.get({ id: ids[(n++ * 7919) % ids.length] }),
    list50: () =>
      b.Book.objects
        .filter({ pages__gt: (n++ % 400) + 50 })
        .orderBy('title')
        .slice(0, 50),
  };
}

const seed = (b) => seedBenchModels(b.o, b, AUTHORS, BOOKS_PER_AUTHOR);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function allocPerOp(b, op) {
  for (let attempt = 0; attempt < 5; attempt++) {
    globalThis.gc();
    // The observer hears of that GC a little later.
    await new Promise((r) => setTimeout(r, 5));
    const g0 = gcs;
    const h0 = process.memoryUsage().heapUsed;
    await b.c.scope(async () => {
      for (let i = 0; i < ALLOC_RUNS; i++) await op();
    });
    const h1 = process.memoryUsage().heapUsed;
    await new Promise((r) => setTimeout(r, 5));
    if (gcs === g0) return (h1 - h0) / ALLOC_RUNS;
  }
  return NaN;
}

async function cpuPerOp(b, op) {
  return b.c.scope(async () => {
    const t0 = process.cpuUsage();
    for (let i = 0; i < RUNS; i++) await op();
    const t = process.cpuUsage(t0);
    return (t.user + t.system) / RUNS;
  });
}

for (const db of CHILD ? [CHILD[2]] : DATABASES) {
  for (const b of builds) {
    const connection = db === 'postgres' ? { client: 'pg', connection: pgUrl } : { client: 'mysql2', connection: mysqlUrl };
    const settings = { ...connection, maxAge: null, max: 1 };
    if (b.prepareThreshold !== undefined) settings.prepareThreshold = b.prepareThreshold;
    // The same module twice (no baseline): configure once.
    if (b === builds[0] || b.c !== builds[0].c) b.c.configure({ databases: { default: settings } });
  }
  await builds[0].c.scope(() => seed(builds[0]));
  const ids = await builds[0].c.scope(() => builds[0].Author.objects.orderBy('id').valuesList('id', { flat: true }));
  for (const opName of CHILD ? [CHILD[1]] : OPS) {
    const ops = builds.map((b) => operations(b, ids)[opName]);
    // Warm up: past the prepare threshold and the optimizing compiler.
    for (let j = 0; j < builds.length; j++)
      await builds[j].c.scope(async () => {
        for (let i = 0; i < 300; i++) await ops[j]();
      });
    if (CHILD) {
      await builds[0].c.scope(async () => {
        for (let i = 0; i < Number(CHILD[3]); i++) await ops[0]();
      });
      continue;
    }
    const cpu = builds.map(() => []);
    const alloc = builds.map(() => []);
    for (let r = 0; r < ROUNDS; r++) {
      for (let k = 0; k < builds.length; k++) {
        const j = (r + k) % builds.length;
        alloc[j].push(await allocPerOp(builds[j], ops[j]));
        cpu[j].push(RUNS > 0 ? await cpuPerOp(builds[j], ops[j]) : NaN);
      }
    }
    const [c, a] = [cpu.map(median), alloc.map(median)];
    console.log(
      `${db} ${opName}: candidate ${c[0].toFixed(1)} µs CPU, ${(a[0] / 1024).toFixed(1)} KB/op | baseline ${c[1].toFixed(1)} µs, ${(a[1] / 1024).toFixed(1)} KB/op | diff ${(c[0] - c[1]).toFixed(1)} µs (${(((c[0] - c[1]) / c[1]) * 100).toFixed(1)} %), ${((a[0] - a[1]) / 1024).toFixed(1)} KB`,
    );
    console.log(`  cpu rounds cand ${cpu[0].map((x) => x.toFixed(0)).join(' ')} | base ${cpu[1].map((x) => x.toFixed(0)).join(' ')}`);
  }
  for (const b of builds) if (b === builds[0] || b.c !== builds[0].c) await b.c.shutdown();
}
