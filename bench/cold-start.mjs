// bench/cold-start.mjs: process start to the first query result, Spool vs knex vs the raw driver,
// per database: each run is a new node process (bench/cold-start-child.mjs) that loads the
// library, connects and reads one row by key. Reports the median over BENCH_COLD_RUNS runs per
// library (default 15), the libraries interleaved run by run: milliseconds since the process
// started (performance.now() in the child; Spool's after its scope ended, closing the connection
// with the default maxAge 0; 'result ms': at the result in hand, inside the scope), wall time from
// spawn to the result in the parent, and
// the child's CPU time (user + system) by its first result, which a loaded machine disturbs less;
// and each library's ratios to knex paired run by run (median of the per-run ratios). Writes bench/results/cold-start.json.
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { benchDatabases, here, median, mysqlUrl, pgUrl, table, writeResults } from './lib.mjs';

const require = createRequire(import.meta.url);
const RUNS = Number(process.env.BENCH_COLD_RUNS ?? 15);
const LIBS = ['raw', 'knex', 'spool'];

function once(lib, db, file) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [join(here, 'cold-start-child.mjs'), lib, db, file], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    let wall;
    child.stdout.on('data', (d) => {
      out += d;
      if (wall === undefined && out.includes('\n')) wall = performance.now() - t0;
    });
    child.on('exit', (code) => (code === 0 ? resolve({ ...JSON.parse(out), wall }) : reject(new Error(`${lib} ${db}: exit ${code}`))));
  });
}

const results = {};
for (const db of benchDatabases()) {
  const dir = join(tmpdir(), `spool-bench-cold-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'cold.db');
  const knex = require('knex')({
    client: db === 'sqlite' ? 'better-sqlite3' : db === 'postgres' ? 'pg' : 'mysql2',
    connection: db === 'sqlite' ? { filename: file } : db === 'postgres' ? pgUrl : mysqlUrl,
    useNullAsDefault: true,
  });
  await knex.schema.dropTableIfExists('bench_cold');
  await knex.schema.createTable('bench_cold', (t) => {
    t.increments('id');
    t.string('name', 50).notNullable();
    t.integer('n').notNullable();
  });
  await knex('bench_cold').insert({ name: 'cold', n: 1 });
  const runs = Object.fromEntries(LIBS.map((l) => [l, { ms: [], result: [], cpu: [], wall: [] }]));
  await once('spool', db, file); // file cache warm for every library alike
  for (let r = 0; r < RUNS; r++) {
    for (let j = 0; j < LIBS.length; j++) {
      const lib = LIBS[(r + j) % LIBS.length];
      const { ms, result, cpu, wall } = await once(lib, db, file);
      runs[lib].ms.push(ms);
      runs[lib].result.push(result);
      runs[lib].cpu.push(cpu);
      runs[lib].wall.push(wall);
    }
  }
  // Beside the medians, each library's ratio to knex paired run by run (the two started within a
  // second of each other), the median of those ratios: a machine that drifts over the runs moves
  // both sides of a pair together.
  const paired = (l, k) => median(runs[l][k].map((v, r) => v / runs.knex[k][r]));
  results[db] = Object.fromEntries(
    LIBS.map((l) => [
      l,
      {
        ms: median(runs[l].ms),
        result: median(runs[l].result),
        cpu: median(runs[l].cpu),
        wall: median(runs[l].wall),
        toKnex: { ms: paired(l, 'ms'), result: paired(l, 'result'), cpu: paired(l, 'cpu'), wall: paired(l, 'wall') },
      },
    ]),
  );
  await knex.schema.dropTableIfExists('bench_cold');
  await knex.destroy();
  rmSync(dir, { recursive: true, force: true });
}
table(
  `Cold start: process start to first query result (median of ${RUNS} runs; ms in the child / wall from spawn; the child's CPU ms, steadier on a loaded machine)`,
  Object.entries(results).flatMap(([db, r]) =>
    LIBS.map((l) => ({
      db,
      library: l,
      ms: r[l].ms.toFixed(1),
      wall: r[l].wall.toFixed(1),
      'vs knex': (r[l].ms / r.knex.ms).toFixed(2),
      'result ms': r[l].result.toFixed(1),
      'result vs knex (paired)': r[l].toKnex.result.toFixed(2),
      'wall vs knex (paired)': r[l].toKnex.wall.toFixed(2),
      'cpu ms': r[l].cpu.toFixed(1),
      'cpu vs knex': (r[l].cpu / r.knex.cpu).toFixed(2),
    })),
  ),
  ['db', 'library', 'ms', 'wall', 'vs knex', 'result ms', 'result vs knex (paired)', 'wall vs knex (paired)', 'cpu ms', 'cpu vs knex'],
);
writeResults('cold-start', { runs: RUNS, results });
