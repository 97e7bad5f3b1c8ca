// Shared benchmark helpers: the database list, interleaved rounds, and a results table.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const here = dirname(fileURLToPath(import.meta.url));

/** Databases to benchmark: BENCH_DATABASES=sqlite,postgres,mysql (default: all three). */
export function benchDatabases() {
  return (process.env.BENCH_DATABASES ?? 'sqlite,postgres,mysql').split(',').map((s) => s.trim()).filter(Boolean);
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
 * Run every case for `seconds` per round, rounds interleaved (A B C A B C …) so that machine
 * noise spreads over all of them. Each case is `async (n) => void` running n operations.
 */
export async function interleave(cases, { seconds = Number(process.env.BENCH_SECONDS ?? 1), rounds = Number(process.env.BENCH_ROUNDS ?? 3), batch = 50 } = {}) {
  const totals = Object.fromEntries(Object.keys(cases).map((k) => [k, { ops: 0, ms: 0 }]));
  for (const [, fn] of Object.entries(cases)) await fn(batch); // warm up
  for (let r = 0; r < rounds; r++) {
    for (const [name, fn] of Object.entries(cases)) {
      const t0 = performance.now();
      let ops = 0;
      while (performance.now() - t0 < seconds * 1000) {
        await fn(batch);
        ops += batch;
      }
      totals[name].ops += ops;
      totals[name].ms += performance.now() - t0;
    }
  }
  return Object.fromEntries(Object.entries(totals).map(([k, v]) => [k, (v.ops / v.ms) * 1000]));
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
