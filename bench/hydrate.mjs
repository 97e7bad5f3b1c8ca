// bench/hydrate.mjs: hydration alone (no database round trip): rows/s turning the driver's array
// rows into model instances (Spool's compiled mapper) against plain objects built from the same
// rows (what a query builder returns), for 1, 50 and 10,000 rows per call. The rows are those of
// a six-column model (integer key, two strings, integer, nullable integer, foreign key), as
// better-sqlite3 returns them. Interleaved rounds, medians; writes bench/results/hydrate.json.
//
//   node bench/hydrate.mjs          BENCH_SECONDS=0.6 (per round)  BENCH_ROUNDS=5
import { createRequire } from 'node:module';
import { fmt, interleave, table, writeResults } from './lib.mjs';

const require = createRequire(import.meta.url);
const { configure, shutdown } = require('@spool/connections');
const { Model, CharField, IntegerField, ForeignKey } = require('@spool/orm');
const { rowMapper } = require('@spool/orm/internal');

class Author extends Model.define({ name: new CharField({ maxLength: 100 }) }, { dbTable: 'hyd_author' }) {}
class Book extends Model.define(
  {
    title: new CharField({ maxLength: 200 }),
    isbn: new CharField({ maxLength: 20 }),
    pages: new IntegerField(),
    rating: new IntegerField({ null: true }),
    author: new ForeignKey(() => Author, { onDelete: 'cascade' }),
  },
  { dbTable: 'hyd_book' },
) {}

configure({ databases: { default: { client: 'better-sqlite3', connection: ':memory:' } } });
const map = rowMapper(Book.objects.all());
const rowsOf = (n) =>
  Array.from({ length: n }, (_, i) => [i + 1, `Book ${i}`, `978-${i}`, 50 + (i % 500), i % 3 ? null : i % 5, (i % 100) + 1]);
const plain = (rows) => {
  const out = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    out[i] = { id: r[0], title: r[1], isbn: r[2], pages: r[3], rating: r[4], author_id: r[5] };
  }
  return out;
};
const sample = map(rowsOf(2))[1];
if (!(sample instanceof Book) || sample.title !== 'Book 1' || sample.authorId !== 2) throw new Error('bench: hydration check failed');

const results = {};
for (const n of [1, 50, 10_000]) {
  const rows = rowsOf(n);
  const calls = Math.max(1, Math.floor(2000 / n));
  let sink = 0;
  const r = await interleave(
    {
      plain: async (k) => {
        for (let i = 0; i < k * calls; i++) sink += plain(rows).length;
      },
      spool: async (k) => {
        for (let i = 0; i < k * calls; i++) sink += map(rows).length;
      },
    },
    { batch: 10 },
  );
  if (sink === 0) throw new Error('unreachable');
  // ops are batches of `calls` calls of n rows each.
  results[n] = { plainRowsPerSec: r.plain * calls * n, spoolRowsPerSec: r.spool * calls * n, spoolToPlain: r.spool / r.plain };
}
table(
  'Hydration: rows/s (plain objects vs Spool model instances; ratio spool/plain)',
  Object.entries(results).map(([n, r]) => ({
    rows: n,
    plain: fmt(r.plainRowsPerSec),
    spool: fmt(r.spoolRowsPerSec),
    'ns/row spool': (1e9 / r.spoolRowsPerSec).toFixed(0),
    'ns/row plain': (1e9 / r.plainRowsPerSec).toFixed(0),
    'spool/plain': r.spoolToPlain.toFixed(2),
  })),
  ['rows', 'plain', 'spool', 'ns/row spool', 'ns/row plain', 'spool/plain'],
);
await shutdown();
writeResults('hydrate', { results });
