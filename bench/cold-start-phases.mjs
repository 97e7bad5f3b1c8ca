// Cold start by phase (issue 14): where the time from process start to the first query result
// goes, knex against Spool, optionally Spool from other checkouts (A/B), interleaved run by run,
// medians. Each run is a new process (this file with --child) that marks its phases with the wall
// time, the process's CPU time and the main thread's CPU time (/proc/self/task/<pid>/schedstat,
// Linux: what a wall-clock start waits for when other threads, GC and compiler, have cores).
//   node bench/cold-start-phases.mjs [--db=sqlite,postgres,mysql] [--runs=15] [--from=/other/checkout,...]
// ('spool' is this checkout's build; each --from adds Spool as built in that checkout.)
// Phases: Spool: require @spool/connections, require @spool/orm, model + configure, the first
// get() (loads knex, the driver, connects, compiles, runs, hydrates), the scope's end (closes the
// connection with maxAge 0); knex: require knex, knex(config) (loads the driver), the first query.
// Deterministic counts: valgrind --tool=callgrind --separate-threads=yes node bench/cold-start-phases.mjs
//   --child --lib=spool --db=sqlite --file=/tmp/x.db [--from=...] (thread 1's summary is the main thread).
// Uses its own table (bench_cold_phases).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchDatabases, cliArgs, here, median, mysqlUrl, pgUrl, table } from './lib.mjs';

const TABLE = 'bench_cold_phases';
const args = cliArgs();
const clientOf = (db) => (db === 'sqlite' ? 'better-sqlite3' : db === 'postgres' ? 'pg' : 'mysql2');
const connectionOf = (db, file) => (db === 'sqlite' ? { filename: file } : db === 'postgres' ? pgUrl : mysqlUrl);

async function child() {
  const require = createRequire(join(resolve(args.from ?? join(here, '..')), 'package.json'));
  const stat = `/proc/self/task/${process.pid}/schedstat`;
  const mainMs = () => Number(readFileSync(stat, 'latin1').split(' ')[0]) / 1e6;
  const cpuMs = () => {
    const c = process.cpuUsage();
    return (c.user + c.system) / 1000;
  };
  const marks = [['node start', performance.now(), cpuMs(), mainMs()]];
  const mark = (phase) => marks.push([phase, performance.now(), cpuMs(), mainMs()]);
  const { db, file } = args;
  let name;
  if (args.lib === 'spool') {
    const { configure, scope } = require('@spool/connections');
    mark('require connections');
    const { Model, CharField, IntegerField } = require('@spool/orm');
    mark('require orm');
    class Cold extends Model.define({ name: new CharField({ maxLength: 50 }), n: new IntegerField() }, { dbTable: TABLE }) {}
    configure({ databases: { default: { client: clientOf(db), connection: connectionOf(db, file) } } });
    mark('model, configure');
    name = await scope(async () => {
      const row = await Cold.objects.get({ id: 1 });
      mark('first get()');
      return row.name;
    });
    mark('scope end');
  } else {
    const knexFactory = require('knex');
    mark('require knex');
    const knex = knexFactory({ client: clientOf(db), connection: connectionOf(db, file), useNullAsDefault: true });
    mark('knex(config)');
    name = (await knex(TABLE).select('id', 'name', 'n').where('id', 1).first()).name;
    mark('first query');
  }
  if (name !== 'cold') throw new Error(`unexpected result ${name}`);
  process.stdout.write(`${JSON.stringify(marks)}\n`);
  process.exit(0);
}

async function parent() {
  const runs = Number(args.runs ?? 15);
  const variants = [
    { label: 'knex', lib: 'knex' },
    { label: 'spool', lib: 'spool' },
    ...String(args.from ?? '')
      .split(',')
      .filter(Boolean)
      .map((from) => ({ label: `spool (${from})`, lib: 'spool', from })),
  ];
  const rows = [];
  for (const db of args.db ? String(args.db).split(',') : benchDatabases()) {
    const dir = join(tmpdir(), `spool-bench-phases-${process.pid}`);
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'cold.db');
    const knex = createRequire(import.meta.url)('knex')({
      client: clientOf(db),
      connection: connectionOf(db, file),
      useNullAsDefault: true,
    });
    await knex.schema.dropTableIfExists(TABLE);
    await knex.schema.createTable(TABLE, (t) => {
      t.increments('id');
      t.string('name', 50).notNullable();
      t.integer('n').notNullable();
    });
    await knex(TABLE).insert({ name: 'cold', n: 1 });
    const once = (v) => {
      const r = spawnSync(
        process.execPath,
        [
          fileURLToPath(import.meta.url),
          '--child',
          `--lib=${v.lib}`,
          `--db=${db}`,
          `--file=${file}`,
          ...(v.from ? [`--from=${v.from}`] : []),
        ],
        { encoding: 'utf8' },
      );
      if (r.status !== 0) throw new Error(`${v.label} ${db}: ${r.stderr}`);
      return JSON.parse(r.stdout);
    };
    once(variants[1]); // file cache warm for every variant alike
    const samples = variants.map(() => []);
    for (let r = 0; r < runs; r++) {
      for (let j = 0; j < variants.length; j++) {
        const k = (r + j) % variants.length;
        samples[k].push(once(variants[k]));
      }
    }
    variants.forEach((v, k) => {
      const phases = samples[k][0].map(([phase]) => phase);
      phases.forEach((phase, i) => {
        const delta = (f) => median(samples[k].map((m) => m[i][f] - (i ? m[i - 1][f] : 0)));
        const at = (f) => median(samples[k].map((m) => m[i][f]));
        rows.push({
          db,
          variant: v.label,
          phase,
          wall: delta(1).toFixed(1),
          cpu: delta(2).toFixed(1),
          main: delta(3).toFixed(1),
          'wall at': at(1).toFixed(1),
          'main at': at(3).toFixed(1),
        });
      });
    });
    await knex.schema.dropTableIfExists(TABLE);
    await knex.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
  table(
    `Cold start by phase (median of ${runs} runs, ms: wall, process CPU, main-thread CPU of the phase; 'at': since process start)`,
    rows,
    ['db', 'variant', 'phase', 'wall', 'cpu', 'main', 'wall at', 'main at'],
  );
}

if (args.child) await child();
else await parent();
