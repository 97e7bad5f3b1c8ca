// Shared benchmark helpers: the database list, interleaved rounds, and a results table.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const here = dirname(fileURLToPath(import.meta.url));

/** Databases to benchmark: BENCH_DATABASES=sqlite,postgres,mysql (default: all three). */
export function benchDatabases() {
  return (process.env.BENCH_DATABASES ?? 'sqlite,postgres,mysql')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

export const pgUrl = process.env.SPOOL_TEST_PG_URL ?? 'postgres://root@127.0.0.1:5432/test';
export const mysqlUrl = process.env.SPOOL_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';

/** Connection settings for Spool / knex / drivers per database. */
export function settingsFor(db, sqliteFile) {
  if (db === 'sqlite') return { client: 'better-sqlite3', connection: { filename: sqliteFile } };
  if (db === 'postgres') return { client: 'pg', connection: pgUrl };
  return { client: 'mysql2', connection: mysqlUrl };
}

/**
 * Run every case for `seconds` per round, over several rounds; each round starts with the next
 * case (A B C, B C A, C A B, …) so that neither machine noise nor position favours one case.
 * Each case is `async (n) => void` running n operations. Returns the median ops/s per case.
 */
export async function interleave(
  cases,
  { seconds = Number(process.env.BENCH_SECONDS ?? 0.6), rounds = Number(process.env.BENCH_ROUNDS ?? 5), batch = 50 } = {},
) {
  const names = Object.keys(cases);
  const perRound = Object.fromEntries(names.map((k) => [k, []]));
  for (const fn of Object.values(cases)) await fn(batch); // warm up
  for (let r = 0; r < rounds; r++) {
    for (let j = 0; j < names.length; j++) {
      const name = names[(r + j) % names.length];
      const fn = cases[name];
      const t0 = performance.now();
      let ops = 0;
      while (performance.now() - t0 < seconds * 1000) {
        await fn(batch);
        ops += batch;
      }
      perRound[name].push((ops / (performance.now() - t0)) * 1000);
    }
  }
  return Object.fromEntries(names.map((k) => [k, median(perRound[k])]));
}

/**
 * Wait until the machine is quiet: CPU busy (all cores, from /proc/stat) under `below` in each of
 * `samples` consecutive windows of `windowMs`, at most `maxMs`. A database server finishing work
 * a previous case started (MariaDB purging the rows a DELETE marked, flushing pages after a
 * seed; PostgreSQL's autovacuum) takes a core for seconds after the statement returned, and
 * whichever library's rounds fall into that time lose them. Returns the ms waited and whether
 * the machine went quiet (on a machine without /proc/stat: 0, true).
 */
export async function quiet({ below = 0.1, windowMs = 400, samples = 4, maxMs = 30_000 } = {}) {
  const read = () => {
    try {
      const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number);
      return { idle: f[3] + f[4], total: f.reduce((a, b) => a + b, 0) };
    } catch {
      return null;
    }
  };
  const t0 = performance.now();
  let before = read();
  if (!before) return { ms: 0, quiet: true };
  let calm = 0;
  while (calm < samples) {
    if (performance.now() - t0 > maxMs) return { ms: Math.round(performance.now() - t0), quiet: false };
    await new Promise((r) => setTimeout(r, windowMs));
    // Each window's end is the next one's start: one read per window.
    const after = read();
    const busy = 1 - (after.idle - before.idle) / Math.max(1, after.total - before.total);
    before = after;
    calm = busy < below ? calm + 1 : 0;
  }
  return { ms: Math.round(performance.now() - t0), quiet: true };
}

/** The median (the mean of the two middle values for an even count). */
export function median(values) {
  const v = [...values].sort((a, b) => a - b);
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

export function table(title, rows, columns) {
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c] ?? '').length)));
  const line = (cells) => cells.map((c, i) => String(c ?? '').padEnd(widths[i])).join('  ');
  console.log(`\n${title}`);
  console.log(line(columns));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const r of rows) console.log(line(columns.map((c) => r[c])));
}

export function writeResults(name, data) {
  const file = join(here, 'results', `${name}.json`);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), node: process.version, ...data }, null, 2) + '\n');
  console.log(`\n(results written to bench/results/${name}.json)`);
}

export const fmt = (n) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1));
export const ratio = (a, b) => (a / b).toFixed(2);

/** The `--name=value` and `--flag` arguments of the command line, as an object (`{ name: 'value', flag: true }`). */
export function cliArgs() {
  return Object.fromEntries(
    process.argv
      .slice(2)
      .filter((a) => a.startsWith('--'))
      .map((a) => {
        // Split at the first '=' only: a value may hold one (--child-flags=--max-semi-space-size=16).
        const i = a.indexOf('=');
        return i < 0 ? [a.slice(2), true] : [a.slice(2, i), a.slice(i + 1)];
      }),
  );
}

/**
 * Instructions callgrind counts for `argv` (a program and its arguments) run under it: the sum of
 * the summaries of every output file (one per process and thread), start-up included.
 */
export function callgrindInstructions(argv, options = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'spool-callgrind-'));
  try {
    const r = spawnSync('valgrind', ['--tool=callgrind', `--callgrind-out-file=${join(dir, 'cg.out')}`, ...argv], {
      encoding: 'utf8',
      ...options,
    });
    if (r.status !== 0) throw new Error(r.stderr.slice(-2000));
    let total = 0;
    for (const f of readdirSync(dir)) {
      const m = /summary: (\d+)/.exec(readFileSync(join(dir, f), 'utf8'));
      if (m) total += Number(m[1]);
    }
    return total;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * bench/orm.mjs's Author and Book models, on tables of `prefix` (`${prefix}_author`,
 * `${prefix}_book`), from the `@spool/orm` given (a build of this checkout or of another one).
 */
export function benchModels(o, prefix) {
  class Author extends o.Model.define(
    {
      name: new o.CharField({ maxLength: 100 }),
      age: new o.IntegerField(),
      books: new o.ReverseForeignKey(() => Book, 'author'),
    },
    { dbTable: `${prefix}_author` },
  ) {}
  class Book extends o.Model.define(
    {
      title: new o.CharField({ maxLength: 200 }),
      pages: new o.IntegerField(),
      author: new o.ForeignKey(() => Author, { onDelete: 'cascade' }),
    },
    { dbTable: `${prefix}_book` },
  ) {}
  return { Author, Book };
}

/** Create and fill `benchModels()`'s tables (inside a scope), unless they already hold `authors` × `booksPerAuthor` books. */
export async function seedBenchModels(o, { Author, Book }, authors, booksPerAuthor) {
  if ((await Book.objects.count().catch(() => 0)) === authors * booksPerAuthor) return;
  const editor = new o.SchemaEditor();
  await editor.deleteModels([Author, Book], { ifExists: true });
  await editor.createModels([Author, Book]);
  await Author.objects.bulkCreate(
    Array.from({ length: authors }, (_, i) => ({ name: `Author ${String(i).padStart(4, '0')}`, age: 20 + (i % 60) })),
  );
  const ids = await Author.objects.orderBy('id').valuesList('id', { flat: true });
  const books = [];
  ids.forEach((id, i) => {
    for (let j = 0; j < booksPerAuthor; j++) books.push({ title: `Book ${i}-${j}`, pages: 50 + ((i * 7 + j * 13) % 500), author: id });
  });
  await Book.objects.bulkCreate(books, { batchSize: 1000 });
}
