// bench/typecheck.mjs: what @spool/orm's types cost the compiler. Generates a schema of N models
// with relations (two foreign keys, a many-to-many and the three reverse declarations per model)
// and typical queries on every model (spanning lookups, values(), valuesList(), annotate(),
// selectRelated(), prefetchRelated(), create(), update(), inBulk(), Q), then type-checks it with
// `tsc --noEmit --extendedDiagnostics` against the built package (dist/*.d.ts, what users get).
// Prints type instantiations (deterministic: the figure to compare), check/total times and tsc's
// CPU time (the median of BENCH_TYPECHECK_RUNS runs; they move with the machine's load), and writes
// bench/results/typecheck.json.
//
//   node bench/typecheck.mjs          BENCH_TYPECHECK_MODELS=0,10,50  BENCH_TYPECHECK_RUNS=3  BENCH_KEEP=1 (keep the generated project)
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { here, table, writeResults } from './lib.mjs';

// The compiler options of a user's project (shared with test/orm/types.test.ts).
const USER_COMPILER_OPTIONS = JSON.parse(readFileSync(join(here, '..', 'test', 'support', 'user-project-compiler-options.json'), 'utf8'));

const root = join(here, '..');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const SIZES = (process.env.BENCH_TYPECHECK_MODELS ?? '0,10,50').split(',').map(Number);
const RUNS = Number(process.env.BENCH_TYPECHECK_RUNS ?? 3);

/**
 * Model `i` of `n`: six scalar fields; `parent` (a ForeignKey to model i-1), `other` (a nullable
 * ForeignKey to model i-2), `links` (a ManyToManyField to model i-3); and the reverse sides of the
 * same relations from models i+1, i+2 and i+3 (`children`, `others`, `linkedBy`).
 */
function modelSource(i, n) {
  const f = [
    `    name: new CharField({ maxLength: 100 }),`,
    `    code: new CharField({ maxLength: 20, unique: true }),`,
    `    rank: new IntegerField({ default: 0 }),`,
    `    price: new DecimalField({ maxDigits: 10, decimalPlaces: 2, null: true }),`,
    `    created: new DateTimeField({ autoNowAdd: true }),`,
    `    active: new BooleanField({ default: true }),`,
  ];
  if (i >= 1) f.push(`    parent: new ForeignKey(() => M${i - 1}, { onDelete: 'cascade' }),`);
  if (i >= 2) f.push(`    other: new ForeignKey(() => M${i - 2}, { onDelete: 'setNull', null: true }),`);
  if (i >= 3) f.push(`    links: new ManyToManyField(() => M${i - 3}),`);
  if (i + 1 < n) f.push(`    children: new ReverseForeignKey<M${i + 1}>(() => M${i + 1}, 'parent'),`);
  if (i + 2 < n) f.push(`    others: new ReverseForeignKey<M${i + 2}>(() => M${i + 2}, 'other'),`);
  if (i + 3 < n) f.push(`    linkedBy: new ReverseManyToMany<M${i + 3}>(() => M${i + 3}, 'links'),`);
  // Half the models declare their manager (so that results carry the subclass's own members).
  const body = i % 2 === 0 ? `\n  declare static objects: Manager<M${i}>;\n` : '';
  return `export class M${i} extends Model.define(\n  {\n${f.join('\n')}\n  },\n  { name: 'M${i}' },\n) {${body}}\n`;
}

/** Typical queries on model `i` (models 0..2 have fewer relations, and get no queries). */
function querySource(i, n) {
  const m = `M${i}`;
  const hasChildren = i + 1 < n;
  const lines = [
    `export async function q${i}(): Promise<unknown[]> {`,
    `  const rows = await ${m}.objects`,
    `    .filter({ name__icontains: 'a', parent__name__startswith: 'b', parent__parent__rank__gte: 2, links__code: 'x' })`,
    `    .exclude({ other__isnull: true }, { parent: { active: false } })`,
    `    .orderBy('-created', 'parent__name')`,
    `    .selectRelated('parent', 'parent__parent')`,
    `    .prefetchRelated('links'${hasChildren ? ", 'children'" : ''});`,
    `  const first = rows[0];`,
    `  const names: string[] = first ? [first.name, first.parent.name, first.parent.parent.code] : [];`,
    `  const values = await ${m}.objects.values('name', 'rank', 'parent__name', 'other__price');`,
    `  const tuples = await ${m}.objects.valuesList('id', 'code', 'parent__parent__name');`,
    `  const flat = await ${m}.objects.filter({ rank__in: [1, 2] }).valuesList('code', { flat: true });`,
    hasChildren
      ? `  const counted = await ${m}.objects.annotate({ n: Count('children'), total: Sum('children__price') }).filter({ n__gt: 1 }).orderBy('-n');`
      : `  const counted = await ${m}.objects.annotate({ n: Count('links'), total: Sum('links__price') }).filter({ n__gt: 1 }).orderBy('-n');`,
    `  const made = await ${m}.objects.create({ name: 'x', code: 'y', parent: 1, other: null });`,
    `  await made.links.add(1);`,
    `  const updated = await ${m}.objects.filter(Q<${m}>({ rank: 1 }).or(Q<${m}>({ active: false }))).update({ rank: F('rank').add(1) });`,
    `  const got = await ${m}.objects.get({ code: 'x', parent__code: 'y' });`,
    `  const byId = await ${m}.objects.inBulk([1, 2]);`,
    `  const agg = await ${m}.objects.aggregate({ n: Count('id'), avg: Avg('price'), top: Max('rank') });`,
    `  const row: InferRow<typeof ${m}> | undefined = undefined;`,
    `  return [names, values[0]?.parent__name, tuples[0]?.[2], flat, counted[0]?.n, updated, got.parentId, byId.get(1), agg.avg, row];`,
    `}`,
  ];
  return lines.join('\n') + '\n';
}

function generate(dir, n) {
  const imports = `import {\n  Avg, BooleanField, CharField, Count, DateTimeField, DecimalField, F, ForeignKey, IntegerField, ManyToManyField, Max, Model, Q,\n  ReverseForeignKey, ReverseManyToMany, Sum, type InferRow, type Manager,\n} from '@spool/orm';\n`;
  const models = Array.from({ length: n }, (_, i) => modelSource(i, n)).join('\n');
  const queries = Array.from({ length: Math.max(0, n - 3) }, (_, i) => querySource(i + 3, n)).join('\n');
  // With no models, the file only imports the package: the fixed cost of loading its declarations.
  const body = n === 0 ? `export type Loaded = typeof Model;\n` : `${models}\n${queries}`;
  writeFileSync(join(dir, 'schema.ts'), `/* eslint-disable */\n// Generated by bench/typecheck.mjs: ${n} models.\n${imports}\n${body}`);
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify(
      {
        compilerOptions: USER_COMPILER_OPTIONS,
        files: ['schema.ts'],
      },
      null,
      2,
    ),
  );
  return body.split('\n').length;
}

/**
 * One `tsc --extendedDiagnostics` run: its counters (`Instantiations`, `Check time`, ...). When the
 * compiler overflows node's default stack (deeply nested type comparisons), the run is repeated with
 * a larger one and the row says so: users would see tsc crash.
 */
function runTsc(dir, nodeFlags = []) {
  // tsc runs in a node that also reports its own CPU time (user + system) on exit: on a loaded
  // machine the wall-clock times tsc prints grow with the load, CPU time much less.
  const cpu = `process.on('exit', () => { const u = process.cpuUsage(); console.log('CPU time: ' + ((u.user + u.system) / 1e6).toFixed(2) + 's'); }); require(${JSON.stringify(tsc)});`;
  const res = spawnSync(process.execPath, [...nodeFlags, '-e', cpu, 'tsc', '-p', dir, '--noEmit', '--extendedDiagnostics'], {
    encoding: 'utf8',
    cwd: dir,
  });
  if (res.status !== 0 && nodeFlags.length === 0 && res.stderr.includes('Maximum call stack size exceeded')) {
    return { ...runTsc(dir, ['--stack-size=7000']), overflow: true };
  }
  const stats = {};
  for (const line of res.stdout.split('\n')) {
    const m = /^([A-Za-z ]+):\s+([\d.]+)(s|K)?\s*$/.exec(line);
    if (m) stats[m[1].trim()] = Number(m[2]);
  }
  if (res.status !== 0) {
    const errors = res.stdout
      .split('\n')
      .filter((l) => l.includes('error TS'))
      .slice(0, 10);
    throw new Error(`tsc failed on the generated schema (${dir}):\n${errors.join('\n')}${res.stderr.slice(0, 2000)}`);
  }
  return stats;
}

const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

const base = mkdtempSync(join(tmpdir(), 'spool-typecheck-'));
const rows = [];
const load = loadavg()[0];
try {
  for (const n of SIZES) {
    const dir = join(base, `models-${n}`);
    mkdirSync(dir);
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
    const lines = generate(dir, n);
    const runs = Array.from({ length: RUNS }, () => runTsc(dir));
    const first = runs[0];
    rows.push({
      models: n,
      lines,
      instantiations: first['Instantiations'],
      types: first['Types'],
      'check s': median(runs.map((r) => r['Check time'])).toFixed(2),
      'total s': median(runs.map((r) => r['Total time'])).toFixed(2),
      'cpu s': median(runs.map((r) => r['CPU time'])).toFixed(2),
      'memory MB': Math.round(median(runs.map((r) => r['Memory used'])) / 1024),
      note: first.overflow ? "tsc overflows node's default stack (figures with --stack-size=7000)" : '',
    });
  }
} finally {
  if (process.env.BENCH_KEEP) console.log(`(generated projects kept in ${base})`);
  else rmSync(base, { recursive: true, force: true });
}

table(`tsc --noEmit on a generated schema (median of ${RUNS} runs; load average ${load.toFixed(1)} at start)`, rows, [
  'models',
  'lines',
  'instantiations',
  'types',
  'check s',
  'total s',
  'cpu s',
  'memory MB',
  'note',
]);
writeResults('typecheck', { loadAverage: load, runs: RUNS, rows });
