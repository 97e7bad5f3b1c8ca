// The Django reference dataset loads through Spool's public API on every database, and what
// Spool reads back agrees with what Django read back from its own copy (expected/basics.json):
// instants to the microsecond (PreciseDate), BigIntegerField values exactly (bigints), also
// checked in SQL as text.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { scope, sql } from '@spool/connections';
import { Count } from '@spool/orm';
import { eachDatabase } from '../support/helpers';
import { Author, Book, Review, Sample, Tag } from '../orm/models';
import { inTx, useTables } from '../orm/support';
import {
  REFERENCE_MODELS,
  djangoAnswer,
  djangoValue,
  loadReferenceData,
  normaliseDecimal,
  referenceDataset,
  referenceQuery,
} from './reference';

/** An instant as Django's answers write it: UTC, six fractional digits. */
const iso6 = (d: Date): string => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

describe('Django reference files', () => {
  test('every query of the catalogue has an answer per database, and the lookup helpers find them', () => {
    const q = referenceQuery('issue9.exclude_relation_one_call');
    expect(Object.keys(q.results).sort()).toEqual(['mysql', 'postgres', 'sqlite']);
    expect(q.django).toContain('exclude(books__pages__gt=300, books__price__lt=20)');
    expect(djangoAnswer('distinct.distinct_on_fields', 'sqlite').error?.class).toBe('NotSupportedError');
    expect(() => djangoValue('distinct.distinct_on_fields', 'mysql')).toThrow(/NotSupportedError/);
    expect(() => referenceQuery('issue9.no_such_query')).toThrow(/no query 'issue9.no_such_query'/);
    expect(() => referenceQuery('nosection.x')).toThrow(/no section 'nosection'/);
    expect(normaliseDecimal('5765.84000000000')).toBe('5765.84');
    expect(normaliseDecimal('-0.500')).toBe('-0.5');
    expect(normaliseDecimal('20.00')).toBe('20');
    expect(normaliseDecimal('0E-10')).toBe('0');
    expect(normaliseDecimal('1.5E+3')).toBe('1500');
    expect(normaliseDecimal('-1.25E-2')).toBe('-0.0125');
    expect(normaliseDecimal('.5')).toBe('0.5');
    expect(() => normaliseDecimal('12abc')).toThrow(/not a decimal string/);
  });

  test('dataset.json holds what the queries rely on', () => {
    const { models } = referenceDataset();
    expect(models.Author.length).toBeGreaterThanOrEqual(40);
    expect(models.Book).toHaveLength(150);
    expect(models.Author.some((a) => a.age === null)).toBe(true);
    expect(models.Book.some((b) => b.price === null)).toBe(true);
    expect(models.Sample.some((s) => s.big === '9007199254740993')).toBe(true);
    expect(models.Review.some((r) => r.created === '2021-03-04T05:06:07.123456Z')).toBe(true);
    const docs = models.Sample.map((s) => s.doc);
    expect(docs).toContain(null);
    expect(docs).toContainEqual({ json: null });
  });
});

describe("Spool's schema is Django's", () => {
  test('every table and column Django names in the SQL of the catalogue is one Spool creates for the models', () => {
    // The columns of the Spool models (snake_case since issue 9), with the many-to-many tables.
    const spool = new Map<string, string[]>();
    for (const model of REFERENCE_MODELS) {
      const meta = model.$meta;
      spool.set(meta.dbTable, meta.fields.map((f) => f.column).sort());
      for (const m2m of meta.manyToMany) {
        const through = meta.throughFor(m2m);
        spool.set(through.dbTable, through.fields.map((f) => f.column).sort());
      }
    }
    // Every "table"."column" in the SQL Django ran (PostgreSQL's quoting) on the reference tables.
    const django = new Map<string, Set<string>>();
    for (const file of readdirSync(join(__dirname, 'expected')).filter((f) => f.endsWith('.json') && f !== 'summary.json')) {
      const { queries } = JSON.parse(readFileSync(join(__dirname, 'expected', file), 'utf8')) as {
        queries: Record<string, { results: { postgres?: { sql?: string[] } } }>;
      };
      for (const q of Object.values(queries)) {
        for (const text of q.results.postgres?.sql ?? []) {
          for (const [, table, column] of text.matchAll(/"(orm_[a-z_]+)"\."([A-Za-z_][A-Za-z0-9_]*)"/g)) {
            if (!django.has(table as string)) django.set(table as string, new Set());
            django.get(table as string)?.add(column as string);
          }
        }
      }
    }
    // Django names no column of orm_category and orm_profile in the catalogue's SQL (counts only).
    expect([...django.keys()].sort()).toEqual([...spool.keys()].filter((t) => t !== 'orm_category' && t !== 'orm_profile').sort());
    for (const [table, columns] of django) expect([table, spool.get(table)]).toEqual([table, expect.arrayContaining([...columns])]);
    // Among them the foreign keys, snake_case in both (camelCase "authorId" in Spool before issue 9).
    expect([...(django.get('orm_book') ?? [])]).toEqual(expect.arrayContaining(['author_id', 'editor_id']));
    expect([...(django.get('orm_review') ?? [])]).toEqual(expect.arrayContaining(['book_id', 'reviewer_id']));
    // (and the link row's id: negation.filter_m2m_then_not_same_call ties a subquery to the joined link row)
    expect([...(django.get('orm_book_tags') ?? [])]).toEqual(expect.arrayContaining(['book_id', 'tag_id']));
  });
});

eachDatabase('Django reference dataset', (db) => {
  useTables(db);
  beforeAll(() => scope(() => loadReferenceData()), 120_000);

  test('row counts per model match Django', () =>
    scope(async () => {
      const django = djangoValue<Record<string, number>>('basics.counts', db.name);
      const spool: Record<string, number> = {};
      for (const [name, model] of Object.entries({ Author, Book, Review, Sample })) spool[name] = await model.objects.count();
      const [links] = await sql<{ n: number | string }>`SELECT COUNT(*) AS n FROM ${sql.id('orm_book_tags')}`;
      spool['Book.tags'] = Number(links?.n);
      expect(spool).toEqual({
        Author: django.Author,
        Book: django.Book,
        Review: django.Review,
        Sample: django.Sample,
        'Book.tags': django['Book.tags'],
      });
    }));

  test('books per author (Count over a reverse foreign key) match Django', () =>
    scope(async () => {
      const rows = await Author.objects
        .annotate({ n: Count('books') })
        .orderBy('id')
        .valuesList('id', 'n');
      expect(rows).toEqual(djangoValue('basics.books_per_author', db.name));
    }));

  test('book rows (decimals as strings, dates, foreign keys) match Django', () =>
    scope(async () => {
      const rows = await Book.objects.orderBy('id').valuesList('id', 'title', 'pages', 'price', 'published', 'authorId', 'editorId');
      expect(rows).toEqual(djangoValue('basics.book_rows', db.name));
    }));

  test('a filtered, ordered query over a join matches Django (NULL prices placed per database)', () =>
    scope(async () => {
      const rows = await Book.objects.filter({ pages__gt: 300, author__age__lt: 40 }).orderBy('price', 'id').valuesList('id', 'price');
      expect(rows).toEqual(djangoValue('basics.filter_and_order_simple', db.name));
    }));

  test('review rows match Django (instants to the microsecond)', () =>
    scope(async () => {
      const rows = await Review.objects.orderBy('id').valuesList('id', 'bookId', 'reviewerId', 'rating', 'created');
      const django = djangoValue<Array<[number, number, number, number, string]>>('basics.review_rows', db.name);
      expect(rows.map(([id, b, r, rating, created]) => [id, b, r, rating, iso6(created)])).toEqual(django);
    }));

  test('sample rows match Django (instants to the microsecond, big integers exact)', () =>
    scope(async () => {
      const rows = await Sample.objects
        .orderBy('id')
        .valuesList('id', 'small', 'big', 'ratio', 'amount', 'label', 'body', 'flag', 'day', 'at', 'doc', 'other');
      const django = djangoValue<unknown[][]>('basics.sample_rows', db.name);
      const spool = rows.map((r) => r.map((v) => (v instanceof Date ? iso6(v) : v)));
      // Django's columns: id, small, big (a string beyond 2^53), ratio, amount, label, body, flag, day, at, doc, other.
      const expected = django.map(([id, small, big, ...rest]) => [id, small, big === null ? null : BigInt(big as string), ...rest]);
      expect(spool).toEqual(expected);
    }));

  test('BigIntegerField values are stored exactly, beyond 2^53 too (read back as text in SQL)', () =>
    scope(async () => {
      const rows =
        db.name === 'mysql'
          ? await sql<{ big: string | null }>`SELECT CAST(big AS CHAR) AS big FROM orm_sample`
          : await sql<{ big: string | null }>`SELECT CAST(big AS TEXT) AS big FROM orm_sample`;
      const django = djangoValue<unknown[][]>('basics.sample_rows', db.name).map((r) => (r[2] === null ? null : String(r[2])));
      const sort = (xs: Array<string | null>) => [...xs].sort((a, b) => String(a).localeCompare(String(b)));
      expect(sort(rows.map((r) => (r.big === null ? null : String(r.big))))).toEqual(sort(django));
    }));

  test('documents that are SQL NULL and JSON null are stored apart, as in Django', () =>
    scope(async () => {
      const django = djangoValue<{ isnull: string[]; eq_none_json_null: string[] }>('json.null_semantics', db.name);
      const [sqlNull] = await sql<{ n: number | string }>`SELECT COUNT(*) AS n FROM orm_sample WHERE doc IS NULL`;
      const jsonNull =
        db.name === 'postgres'
          ? await sql<{ n: number | string }>`SELECT COUNT(*) AS n FROM orm_sample WHERE doc = 'null'::jsonb`
          : db.name === 'mysql'
            ? await sql<{ n: number | string }>`SELECT COUNT(*) AS n FROM orm_sample WHERE JSON_TYPE(doc) = 'NULL'`
            : await sql<{ n: number | string }>`SELECT COUNT(*) AS n FROM orm_sample WHERE json_type(doc) = 'null'`;
      expect([Number(sqlNull?.n), Number(jsonNull[0]?.n)]).toEqual([django.isnull.length, django.eq_none_json_null.length]);
      expect(django.eq_none_json_null).toHaveLength(1);
    }));

  test('rows created after loading get fresh ids (PostgreSQL sequences moved past the dataset)', () =>
    inTx(async () => {
      const tag = await Tag.objects.create({ name: 'fresh' });
      expect(tag.id).toBeGreaterThan(referenceDataset().models.Tag.length);
    }));
});
