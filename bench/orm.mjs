// bench/orm.mjs: @spool/orm against the raw driver (hand-written SQL), plain knex and Kysely
// (0.28.19, the newest that runs on Node 20; 0.29 needs Node 22), on a seeded database (1,000
// authors, 10 books each), one connection each, the four interleaved in the same run (rounds
// rotated, medians; before each operation the machine is left to go quiet, see settle()). Prints
// ops/s and the ratio to the raw driver per database; writes bench/results/orm.json.
//
//   node bench/orm.mjs                         BENCH_DATABASES=sqlite,postgres,mysql  BENCH_SECONDS=1 (per round)  BENCH_ROUNDS=3
//   BENCH_OPS=getByPk,list50 node bench/orm.mjs
//   BENCH_LIBS=kysely,spool     only these libraries besides raw (an A/B of the changed cases)
//   BENCH_SPOOL_PREPARE=null    Spool's prepareThreshold on PostgreSQL and MariaDB (an A/B of the policy)
//   BENCH_BASELINE=/path/to/checkout  Spool built in another checkout (an A/B of two builds)
//   BENCH_KEEP=1                keep the seeded tables (and reuse them in the next run with it)
//   BENCH_PROFILE=spool:200     no measuring: run one library's operations 200 times each (for
//                               `valgrind --tool=callgrind` instruction counts, or `node --cpu-prof`)
import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { benchDatabases, fmt, interleave, mysqlUrl, pgUrl, quiet, table, writeResults } from './lib.mjs';

// BENCH_BASELINE=<checkout>: Spool (and the libraries) from another built checkout, for an A/B.
const require = createRequire(process.env.BENCH_BASELINE ? join(process.env.BENCH_BASELINE, 'bench', 'orm.mjs') : import.meta.url);
const { configure, scope, shutdown, connections } = require('@spool/connections');
const {
  Model,
  CharField,
  IntegerField,
  ForeignKey,
  ReverseForeignKey,
  SchemaEditor,
  Count,
  Sum,
  F,
  Case,
  When,
  Value,
  Q,
  Subquery,
  Exists,
  OuterRef,
} = require('@spool/orm');
const { compilerStats } = require('@spool/orm/internal');
const knexFactory = require('knex');
const { Kysely, SqliteDialect, PostgresDialect, MysqlDialect, sql: ksql } = require('kysely');

const AUTHORS = 1000;
const BOOKS_PER_AUTHOR = 10;
const OPS = (
  process.env.BENCH_OPS ??
  'getByPk,list50,insertOne,bulkInsert1000,updateByFilter,prefetch20,selectRelated20,groupedAggregate,caseSubquery20'
).split(',');
const KEEP = process.env.BENCH_KEEP === '1';
const LIBS = (process.env.BENCH_LIBS ?? 'knex,kysely,spool').split(',');
const PROFILE = process.env.BENCH_PROFILE
  ? [process.env.BENCH_PROFILE.split(':')[0], Number(process.env.BENCH_PROFILE.split(':')[1] ?? 200)]
  : undefined;

// ---- models ---------------------------------------------------------------------------------------
class Author extends Model.define(
  {
    name: new CharField({ maxLength: 100 }),
    age: new IntegerField(),
    books: new ReverseForeignKey(() => Book, 'author'),
  },
  { dbTable: 'bench_author' },
) {}
class Book extends Model.define(
  {
    title: new CharField({ maxLength: 200 }),
    pages: new IntegerField(),
    author: new ForeignKey(() => Author, { onDelete: 'cascade' }),
  },
  { dbTable: 'bench_book' },
) {}
// A table for inserts, so that reads see a stable data set.
class Note extends Model.define({ title: new CharField({ maxLength: 200 }), pages: new IntegerField() }, { dbTable: 'bench_note' }) {}

// ---- raw drivers ------------------------------------------------------------------------------------
async function rawFor(db, file) {
  if (db === 'sqlite') {
    const Database = require('better-sqlite3');
    const d = new Database(file);
    d.pragma('journal_mode = WAL');
    d.pragma('synchronous = NORMAL');
    const cache = new Map();
    const prep = (sql) => {
      let s = cache.get(sql);
      if (!s) cache.set(sql, (s = d.prepare(sql)));
      return s;
    };
    return {
      q: async (sql, params = []) => (prep(sql).reader ? prep(sql).all(...params) : (prep(sql).run(...params), [])),
      run: async (sql, params = []) => prep(sql).run(...params),
      ph: () => '?',
      close: async () => d.close(),
    };
  }
  if (db === 'postgres') {
    const pg = require('pg');
    const c = new pg.Client({ connectionString: pgUrl });
    await c.connect();
    return {
      q: async (sql, params = []) => (await c.query(sql, params)).rows,
      run: async (sql, params = []) => c.query(sql, params),
      ph: (i) => `$${i}`,
      close: () => c.end(),
    };
  }
  const mysql = require('mysql2');
  const c = mysql.createConnection({ uri: mysqlUrl, timezone: 'Z', supportBigNumbers: true });
  const query = (sql, params) => new Promise((res, rej) => c.query(sql, params, (e, r) => (e ? rej(e) : res(r))));
  return {
    q: async (sql, params = []) => query(sql, params),
    run: (sql, params = []) => query(sql, params),
    ph: () => '?',
    close: () => new Promise((r) => c.end(() => r())),
  };
}

/** Kysely on one connection, as knex and Spool. */
function kyselyDialect(db, file) {
  if (db === 'sqlite') {
    const Database = require('better-sqlite3');
    return new SqliteDialect({
      database: async () => {
        const d = new Database(file);
        d.pragma('journal_mode = WAL');
        d.pragma('synchronous = NORMAL');
        return d;
      },
    });
  }
  if (db === 'postgres') return new PostgresDialect({ pool: new (require('pg').Pool)({ connectionString: pgUrl, max: 1 }) });
  return new MysqlDialect({
    pool: require('mysql2').createPool({ uri: mysqlUrl, connectionLimit: 1, timezone: 'Z', supportBigNumbers: true }),
  });
}

function quoteFor(db) {
  return (n) => (db === 'mysql' ? `\`${n}\`` : `"${n}"`);
}

// ---- one database -----------------------------------------------------------------------------------
async function benchDatabase(db) {
  const dir = join(tmpdir(), KEEP ? 'spool-bench-orm-keep' : `spool-bench-orm-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'bench.db');
  const settings =
    db === 'sqlite'
      ? { client: 'better-sqlite3', connection: { filename: file } }
      : db === 'postgres'
        ? { client: 'pg', connection: pgUrl }
        : { client: 'mysql2', connection: mysqlUrl };
  // BENCH_SPOOL_PREPARE=null|N: Spool's prepareThreshold (an A/B of the prepare policy; default: Spool's default).
  const prepare = process.env.BENCH_SPOOL_PREPARE;
  const prepareSetting = prepare === undefined ? {} : { prepareThreshold: prepare === 'null' ? null : Number(prepare) };
  configure({ databases: { default: { ...settings, maxAge: null, ...(db === 'sqlite' ? {} : prepareSetting) } } });
  const knex = knexFactory({
    client: settings.client,
    connection: db === 'sqlite' ? { filename: file } : db === 'postgres' ? pgUrl : { uri: mysqlUrl, timezone: 'Z' },
    pool: { min: 1, max: 1 },
    useNullAsDefault: true,
  });
  const kysely = new Kysely({ dialect: kyselyDialect(db, file) });
  const results = {};
  await scope(async () => {
    const editor = new SchemaEditor();
    // BENCH_KEEP=1 (for profiles): reuse the tables a previous run seeded and keep them.
    const seeded = KEEP && (await Book.objects.count().catch(() => 0)) === AUTHORS * BOOKS_PER_AUTHOR;
    if (!seeded) {
      await editor.deleteModels([Author, Book, Note], { ifExists: true });
      await editor.createModels([Author, Book, Note]);
      // Seed.
      await Author.objects.bulkCreate(
        Array.from({ length: AUTHORS }, (_, i) => ({ name: `Author ${String(i).padStart(4, '0')}`, age: 20 + (i % 60) })),
      );
    }
    const ids = await Author.objects.orderBy('id').valuesList('id', { flat: true });
    if (!seeded) {
      const books = [];
      ids.forEach((id, i) => {
        for (let j = 0; j < BOOKS_PER_AUTHOR; j++)
          books.push({ title: `Book ${i}-${j}`, pages: 50 + ((i * 7 + j * 13) % 500), author: id });
      });
      await Book.objects.bulkCreate(books, { batchSize: 1000 });
    }
    const raw = await rawFor(db, file);
    const q = quoteFor(db);
    const ph = raw.ph;
    let n = 0;
    const pick = () => ids[(n++ * 7919) % ids.length];
    const sqlBookCols = `${q('id')}, ${q('title')}, ${q('pages')}, ${q('author_id')}`;

    const cases = {
      getByPk: {
        raw: async () => {
          const rows = await raw.q(`SELECT ${q('id')}, ${q('name')}, ${q('age')} FROM ${q('bench_author')} WHERE ${q('id')} = ${ph(1)}`, [
            pick(),
          ]);
          return rows[0];
        },
        knex: () => knex('bench_author').select('id', 'name', 'age').where('id', pick()).first(),
        kysely: () => kysely.selectFrom('bench_author').select(['id', 'name', 'age']).where('id', '=', pick()).executeTakeFirst(),
        spool: () => Author.objects.get({ id: pick() }),
      },
      list50: {
        raw: () =>
          raw.q(`SELECT ${sqlBookCols} FROM ${q('bench_book')} WHERE ${q('pages')} > ${ph(1)} ORDER BY ${q('title')} LIMIT ${ph(2)}`, [
            (n++ % 400) + 50,
            50,
          ]),
        knex: () =>
          knex('bench_book')
            .select('id', 'title', 'pages', 'author_id')
            .where('pages', '>', (n++ % 400) + 50)
            .orderBy('title')
            .limit(50),
        kysely: () =>
          kysely
            .selectFrom('bench_book')
            .select(['id', 'title', 'pages', 'author_id'])
            .where('pages', '>', (n++ % 400) + 50)
            .orderBy('title')
            .limit(50)
            .execute(),
        spool: () =>
          Book.objects
            .filter({ pages__gt: (n++ % 400) + 50 })
            .orderBy('title')
            .slice(0, 50),
      },
      insertOne: {
        raw: () =>
          db === 'postgres'
            ? raw.q(`INSERT INTO ${q('bench_note')} (${q('title')}, ${q('pages')}) VALUES ($1, $2) RETURNING ${q('id')}`, ['note', 1])
            : raw.run(`INSERT INTO ${q('bench_note')} (${q('title')}, ${q('pages')}) VALUES (?, ?)`, ['note', 1]),
        knex: () =>
          db === 'postgres'
            ? knex('bench_note').insert({ title: 'note', pages: 1 }).returning('id')
            : knex('bench_note').insert({ title: 'note', pages: 1 }),
        kysely: () =>
          db === 'postgres'
            ? kysely.insertInto('bench_note').values({ title: 'note', pages: 1 }).returning('id').executeTakeFirst()
            : kysely.insertInto('bench_note').values({ title: 'note', pages: 1 }).executeTakeFirst(),
        spool: () => Note.objects.create({ title: 'note', pages: 1 }),
      },
      bulkInsert1000: {
        raw: () => {
          const values = [];
          const params = [];
          for (let i = 0; i < 1000; i++) {
            values.push(`(${ph(params.length + 1)}, ${ph(params.length + 2)})`);
            params.push(`bulk ${i}`, i);
          }
          return raw.run(`INSERT INTO ${q('bench_note')} (${q('title')}, ${q('pages')}) VALUES ${values.join(', ')}`, params);
        },
        // knex writes SQLite's multi-row INSERT as a compound SELECT (at most 500 terms): batch there.
        knex: () =>
          db === 'sqlite'
            ? knex.batchInsert(
                'bench_note',
                Array.from({ length: 1000 }, (_, i) => ({ title: `bulk ${i}`, pages: i })),
                500,
              )
            : knex('bench_note').insert(Array.from({ length: 1000 }, (_, i) => ({ title: `bulk ${i}`, pages: i }))),
        kysely: () =>
          kysely
            .insertInto('bench_note')
            .values(Array.from({ length: 1000 }, (_, i) => ({ title: `bulk ${i}`, pages: i })))
            .execute(),
        spool: () => Note.objects.bulkCreate(Array.from({ length: 1000 }, (_, i) => ({ title: `bulk ${i}`, pages: i }))),
      },
      updateByFilter: {
        raw: () =>
          raw.run(`UPDATE ${q('bench_book')} SET ${q('pages')} = ${q('pages')} + ${ph(1)} WHERE ${q('author_id')} = ${ph(2)}`, [1, pick()]),
        knex: () =>
          knex('bench_book')
            .where('author_id', pick())
            .update({ pages: knex.raw('?? + ?', ['pages', 1]) }),
        kysely: () =>
          kysely
            .updateTable('bench_book')
            .set({ pages: ksql`pages + ${1}` })
            .where('author_id', '=', pick())
            .executeTakeFirst(),
        spool: () => Book.objects.filter({ author: pick() }).update({ pages: F('pages').add(1) }),
      },
      prefetch20: {
        raw: async () => {
          const start = (n++ * 20) % (AUTHORS - 20);
          const as = await raw.q(
            `SELECT ${q('id')}, ${q('name')}, ${q('age')} FROM ${q('bench_author')} ORDER BY ${q('id')} LIMIT ${ph(1)} OFFSET ${ph(2)}`,
            [20, start],
          );
          const bs = await raw.q(
            `SELECT ${sqlBookCols} FROM ${q('bench_book')} WHERE ${q('author_id')} IN (${as.map((_, i) => ph(i + 1)).join(', ')})`,
            as.map((a) => a.id),
          );
          const by = new Map(as.map((a) => [a.id, (a.books = [])]));
          for (const b of bs) by.get(b.author_id)?.push(b);
          return as;
        },
        knex: async () => {
          const start = (n++ * 20) % (AUTHORS - 20);
          const as = await knex('bench_author').select('id', 'name', 'age').orderBy('id').limit(20).offset(start);
          const bs = await knex('bench_book')
            .select('id', 'title', 'pages', 'author_id')
            .whereIn(
              'author_id',
              as.map((a) => a.id),
            );
          const by = new Map(as.map((a) => [a.id, (a.books = [])]));
          for (const b of bs) by.get(b.author_id)?.push(b);
          return as;
        },
        kysely: async () => {
          const start = (n++ * 20) % (AUTHORS - 20);
          const as = await kysely.selectFrom('bench_author').select(['id', 'name', 'age']).orderBy('id').limit(20).offset(start).execute();
          const bs = await kysely
            .selectFrom('bench_book')
            .select(['id', 'title', 'pages', 'author_id'])
            .where(
              'author_id',
              'in',
              as.map((a) => a.id),
            )
            .execute();
          const by = new Map(as.map((a) => [a.id, (a.books = [])]));
          for (const b of bs) by.get(b.author_id)?.push(b);
          return as;
        },
        spool: () =>
          Author.objects
            .orderBy('id')
            .slice((n++ * 20) % (AUTHORS - 20), (((n - 1) * 20) % (AUTHORS - 20)) + 20)
            .prefetchRelated('books'),
      },
      selectRelated20: {
        raw: () => {
          const start = ids[(n++ * 20) % (AUTHORS - 20)];
          return raw
            .q(
              `SELECT b.${q('id')}, b.${q('title')}, b.${q('pages')}, b.${q('author_id')}, a.${q('id')} AS a_id, a.${q('name')}, a.${q('age')} FROM ${q('bench_book')} b INNER JOIN ${q('bench_author')} a ON a.${q('id')} = b.${q('author_id')} WHERE b.${q('author_id')} >= ${ph(1)} AND b.${q('author_id')} < ${ph(2)}`,
              [start, start + 20],
            )
            .then((rows) =>
              rows.map((r) => ({
                id: r.id,
                title: r.title,
                pages: r.pages,
                author_id: r.author_id,
                author: { id: r.a_id, name: r.name, age: r.age },
              })),
            );
        },
        knex: () => {
          const start = ids[(n++ * 20) % (AUTHORS - 20)];
          return knex('bench_book as b')
            .join('bench_author as a', 'a.id', 'b.author_id')
            .select('b.id', 'b.title', 'b.pages', 'b.author_id', 'a.id as a_id', 'a.name', 'a.age')
            .where('b.author_id', '>=', start)
            .andWhere('b.author_id', '<', start + 20)
            .then((rows) =>
              rows.map((r) => ({
                id: r.id,
                title: r.title,
                pages: r.pages,
                author_id: r.author_id,
                author: { id: r.a_id, name: r.name, age: r.age },
              })),
            );
        },
        kysely: () => {
          const start = ids[(n++ * 20) % (AUTHORS - 20)];
          return kysely
            .selectFrom('bench_book as b')
            .innerJoin('bench_author as a', 'a.id', 'b.author_id')
            .select(['b.id', 'b.title', 'b.pages', 'b.author_id', 'a.id as a_id', 'a.name', 'a.age'])
            .where('b.author_id', '>=', start)
            .where('b.author_id', '<', start + 20)
            .execute()
            .then((rows) =>
              rows.map((r) => ({
                id: r.id,
                title: r.title,
                pages: r.pages,
                author_id: r.author_id,
                author: { id: r.a_id, name: r.name, age: r.age },
              })),
            );
        },
        spool: () => {
          const start = ids[(n++ * 20) % (AUTHORS - 20)];
          return Book.objects.filter({ author__gte: start, author__lt: start + 20 }).selectRelated('author');
        },
      },
      groupedAggregate: {
        raw: () =>
          raw.q(
            `SELECT ${q('author_id')}, COUNT(${q('id')}) AS n, SUM(${q('pages')}) AS total FROM ${q('bench_book')} WHERE ${q('author_id')} < ${ph(1)} GROUP BY ${q('author_id')}`,
            [ids[(n++ % 10) * 50 + 100]],
          ),
        knex: () =>
          knex('bench_book')
            .select('author_id')
            .count({ n: 'id' })
            .sum({ total: 'pages' })
            .where('author_id', '<', ids[(n++ % 10) * 50 + 100])
            .groupBy('author_id'),
        kysely: () =>
          kysely
            .selectFrom('bench_book')
            .select((eb) => ['author_id', eb.fn.count('id').as('n'), eb.fn.sum('pages').as('total')])
            .where('author_id', '<', ids[(n++ % 10) * 50 + 100])
            .groupBy('author_id')
            .execute(),
        spool: () =>
          Book.objects
            .filter({ author__lt: ids[(n++ % 10) * 50 + 100] })
            .values('author')
            .annotate({ n: Count('id'), total: Sum('pages') }),
      },
      // Expression-heavy (issue 10): 20 authors, each with a correlated Subquery (its longest book's
      // pages) and a Case/When over an Exists (has it a book over 400 pages). knex and Kysely write
      // the two subqueries as SQL fragments (neither has an expression language for them).
      caseSubquery20: {
        raw: () => {
          const start = ids[(n++ * 20) % (AUTHORS - 20)];
          return raw.q(
            `SELECT a.${q('id')}, (SELECT b.${q('pages')} FROM ${q('bench_book')} b WHERE b.${q('author_id')} = a.${q('id')} ORDER BY b.${q('pages')} DESC LIMIT 1) AS ${q('longest')}, ` +
              `CASE WHEN EXISTS (SELECT 1 FROM ${q('bench_book')} c WHERE c.${q('author_id')} = a.${q('id')} AND c.${q('pages')} > ${ph(1)}) THEN 'long' ELSE 'short' END AS ${q('kind')} ` +
              `FROM ${q('bench_author')} a WHERE a.${q('id')} >= ${ph(2)} AND a.${q('id')} < ${ph(3)}`,
            [400, start, start + 20],
          );
        },
        knex: () => {
          const start = ids[(n++ * 20) % (AUTHORS - 20)];
          return knex('bench_author as a')
            .select(
              'a.id',
              knex.raw('(select b.pages from bench_book as b where b.author_id = a.id order by b.pages desc limit 1) as longest'),
              knex.raw(
                "case when exists (select 1 from bench_book as c where c.author_id = a.id and c.pages > ?) then 'long' else 'short' end as kind",
                [400],
              ),
            )
            .where('a.id', '>=', start)
            .andWhere('a.id', '<', start + 20);
        },
        kysely: () => {
          const start = ids[(n++ * 20) % (AUTHORS - 20)];
          return kysely
            .selectFrom('bench_author as a')
            .select((eb) => [
              'a.id',
              eb
                .selectFrom('bench_book as b')
                .select('b.pages')
                .whereRef('b.author_id', '=', 'a.id')
                .orderBy('b.pages', 'desc')
                .limit(1)
                .as('longest'),
              eb
                .case()
                .when(
                  eb.exists(
                    eb
                      .selectFrom('bench_book as c')
                      .select(ksql.lit(1).as('one'))
                      .whereRef('c.author_id', '=', 'a.id')
                      .where('c.pages', '>', 400),
                  ),
                )
                .then('long')
                .else('short')
                .end()
                .as('kind'),
            ])
            .where('a.id', '>=', start)
            .where('a.id', '<', start + 20)
            .execute();
        },
        spool: () => {
          const start = ids[(n++ * 20) % (AUTHORS - 20)];
          const books = Book.objects.filter({ author: OuterRef('pk') });
          return Author.objects
            .filter({ id__gte: start, id__lt: start + 20 })
            .orderBy()
            .annotate({
              longest: Subquery(books.orderBy('-pages').values('pages').slice(0, 1)),
              kind: Case(When(Q(Exists(books.filter({ pages__gt: 400 }))), new Value('long')), { default: new Value('short') }),
            })
            .values('id', 'longest', 'kind');
        },
      },
    };

    // The inserts' rows go with TRUNCATE, not DELETE: deleting a few million rows leaves MariaDB
    // purging them (PostgreSQL: vacuuming) on a core for seconds into the next operation's rounds.
    const clearNotes = () =>
      connections.query('default', db === 'sqlite' ? `DELETE FROM ${q('bench_note')}` : `TRUNCATE TABLE ${q('bench_note')}`, []);
    // Before each operation: PostgreSQL's tables vacuumed and analyzed (so autovacuum does not
    // start in the middle of one library's rounds), then a quiet machine (bench/lib.mjs quiet()).
    const settle = async () => {
      if (db === 'postgres') await raw.run(`VACUUM ANALYZE ${q('bench_author')}, ${q('bench_book')}, ${q('bench_note')}`);
      return quiet();
    };

    // Check that the three agree before measuring.
    const sample = await cases.getByPk.spool();
    if (!sample || !sample.name) throw new Error('bench: spool get failed');
    for (const op of OPS) {
      const c = cases[op];
      if (!c) throw new Error(`bench: unknown op ${op}. Known: ${Object.keys(cases).join(', ')}`);
      if (PROFILE) {
        const [lib, times] = PROFILE;
        if (process.env.BENCH_TRACE === '1') {
          const show = (e) => console.log(`  ${e.sql} ${JSON.stringify(e.bindings, (_, v) => (typeof v === 'bigint' ? `${v}n` : v))}`);
          connections.on('query', show);
          await c.spool();
          connections.off('query', show);
        }
        const cpu0 = process.cpuUsage();
        const t0 = performance.now();
        for (let i = 0; i < times; i++) await c[lib]();
        const cpu = process.cpuUsage(cpu0);
        console.log(
          `${db} ${op} ${lib}: ${times} runs, ${(((performance.now() - t0) / times) * 1000).toFixed(0)} us wall, ${((cpu.user + cpu.system) / times).toFixed(0)} us CPU per run`,
        );
        if (op === 'bulkInsert1000' || op === 'insertOne') await clearNotes();
        continue;
      }
      const settled = await settle();
      if (!settled.quiet) console.warn(`bench: ${db} ${op}: the machine was still busy after ${settled.ms} ms; measuring anyway`);
      const r = await interleave(
        Object.fromEntries(
          ['raw', ...LIBS].map((lib) => [
            lib,
            async (k) => {
              for (let i = 0; i < k; i++) await c[lib]();
            },
          ]),
        ),
        {
          batch:
            op === 'bulkInsert1000'
              ? 2
              : op === 'groupedAggregate' || op === 'prefetch20' || op === 'selectRelated20' || op === 'caseSubquery20'
                ? 5
                : 50,
        },
      );
      results[op] = {
        raw: r.raw,
        knex: r.knex ?? NaN,
        kysely: r.kysely ?? NaN,
        spool: r.spool ?? NaN,
        spoolToRaw: r.spool / r.raw,
        knexToRaw: r.knex / r.raw,
        kyselyToRaw: r.kysely / r.raw,
        spoolToKnex: r.spool / r.knex,
        spoolToKysely: r.spool / r.kysely,
        settleMs: settled.ms,
      };
      if (op === 'bulkInsert1000' || op === 'insertOne') await clearNotes();
    }
    await raw.close();
    if (!KEEP) await editor.deleteModels([Author, Book, Note], { ifExists: true });
  });
  await knex.destroy();
  await kysely.destroy();
  await shutdown();
  if (!KEEP) rmSync(dir, { recursive: true, force: true });
  return results;
}

const all = {};
for (const db of benchDatabases()) {
  all[db] = await benchDatabase(db);
  if (PROFILE) continue;
  table(
    `@spool/orm vs raw driver vs knex vs Kysely: ${db} (ops/s; ratio to raw)`,
    Object.entries(all[db]).map(([op, r]) => ({
      op,
      raw: fmt(r.raw),
      knex: `${fmt(r.knex)} (${r.knexToRaw.toFixed(2)})`,
      kysely: `${fmt(r.kysely)} (${r.kyselyToRaw.toFixed(2)})`,
      spool: `${fmt(r.spool)} (${r.spoolToRaw.toFixed(2)})`,
      'spool/knex': r.spoolToKnex.toFixed(2),
      'spool/kysely': r.spoolToKysely.toFixed(2),
    })),
    ['op', 'raw', 'knex', 'kysely', 'spool', 'spool/knex', 'spool/kysely'],
  );
}
console.log(`\ncompiled-shape cache: ${JSON.stringify(compilerStats())}`);
// A profile or an A/B of some libraries does not replace the recorded results.
if (!PROFILE && process.env.BENCH_LIBS === undefined)
  writeResults('orm', {
    seconds: Number(process.env.BENCH_SECONDS ?? 1),
    rounds: Number(process.env.BENCH_ROUNDS ?? 3),
    authors: AUTHORS,
    booksPerAuthor: BOOKS_PER_AUTHOR,
    results: all,
  });
