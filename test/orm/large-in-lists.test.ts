// Huge `__in` lists work on every database (issue 9): the whole list is bound as one parameter
// (PostgreSQL `= ANY($1)` with an array, SQLite `IN (SELECT value FROM json_each(?))`, MariaDB
// `IN (?)` with an array that mysql2 writes out), so that 100,000 ids pass where one parameter per
// id failed (SQLite above 32,766, PostgreSQL above 65,535 with a lost connection), and a query has
// one SQL shape whatever the list's length. inBulk(), prefetchRelated() and the delete collector
// build such lists internally. Django's counts (test/django-reference) are the assertion values.
import { scope } from '@spool/connections';
import { Q } from '@spool/orm';
import { assertNumQueries, captureQueries } from '@spool/testing';
import { eachDatabase } from '../support/helpers';
import { djangoValue, loadReferenceData } from '../django-reference/reference';
import { Book, Review, Sample, Tag } from './models';
import { inTx, useTables } from './support';

/** 100,000 odd ids: 1, 3, ..., 199,999 (Django's issue9.huge_in_* queries). */
const ODD_100000 = Array.from({ length: 100_000 }, (_, i) => 2 * i + 1);
const ODD_30000 = ODD_100000.slice(0, 30_000);

/** The IN list's SQL per database: one parameter. */
const IN_LIST: Record<string, RegExp> = {
  postgres: /\."id" = ANY\(\$1\)/i,
  sqlite: /`id` in \(select value from json_each\(\?\)\)/i,
  mysql: /`id` in \(\?\)/i,
};

eachDatabase('large IN lists', (db) => {
  useTables(db);
  beforeAll(() => scope(() => loadReferenceData()), 120_000);

  test('100,000 ids in filter(), exclude() and Q: Django counts (issue9.huge_in_*)', () =>
    scope(async () => {
      expect(await Book.objects.filter({ id__in: ODD_100000 }).count()).toBe(djangoValue('issue9.huge_in_100000_count', db.name));
      expect(await Book.objects.filter({ id__in: ODD_30000 }).count()).toBe(djangoValue('issue9.huge_in_30000_count', db.name));
      expect(await Book.objects.exclude({ id__in: ODD_100000 }).count()).toBe(djangoValue('issue9.huge_in_exclude_100000_count', db.name));
      expect(await Book.objects.filter(Q.or({ id__in: ODD_100000 }, { id: 2 })).count()).toBe(76);
      // Rows, not just a count; the connection is still fine afterwards.
      const ids = await Book.objects.filter({ id__in: ODD_100000, pages__gte: 0 }).orderBy('id').valuesList('id', { flat: true });
      expect(ids).toEqual(Array.from({ length: 75 }, (_, i) => 2 * i + 1));
      expect(await Book.objects.count()).toBe(150);
    }));

  test('one SQL shape and one parameter whatever the length of the list', () =>
    scope(async () => {
      const few = await captureQueries(() => Book.objects.filter({ id__in: [1, 2, 3] }).fetchAll());
      const many = await captureQueries(() => Book.objects.filter({ id__in: ODD_100000 }).fetchAll());
      expect(many.queries[0]?.sql).toBe(few.queries[0]?.sql);
      expect(few.queries[0]?.sql).toMatch(IN_LIST[db.name] as RegExp);
      expect(many.queries[0]?.bindings).toHaveLength(1);
      // Lists of other types: text, datetimes with microseconds, bigints, UUIDs.
      const titles = await Book.objects.filter({ id__lte: 3 }).orderBy('id').valuesList('title', { flat: true });
      const manyTitles = [...titles, ...Array.from({ length: 40_000 }, (_, i) => `no such title ${i}`)];
      expect(await Book.objects.filter({ title__in: manyTitles, id__lte: 3 }).count()).toBe(3);
      const instants = [
        '2021-03-04T05:06:07.123456Z',
        ...Array.from({ length: 40_000 }, (_, i) => new Date(Date.UTC(1990, 0, 1) + i * 1000)),
      ];
      expect(await Review.objects.filter({ created__in: instants }).valuesList('id', { flat: true })).toEqual([4]);
      const bigs = [2n ** 63n - 1n, ...Array.from({ length: 40_000 }, (_, i) => BigInt(i) * 1_000_003n + 7n)];
      expect(await Sample.objects.filter({ big__in: bigs }).valuesList('big', { flat: true })).toEqual([2n ** 63n - 1n]);
      const some = await Sample.objects.exclude({ other: null }).orderBy('id').valuesList('other', { flat: true });
      expect(await Sample.objects.filter({ other__in: some.map((u) => String(u).toUpperCase()) }).count()).toBe(some.length);
    }));

  test('inBulk() with 100,000 ids: one query', () =>
    scope(async () => {
      const found = await assertNumQueries(1, () => Book.objects.inBulk(ODD_100000));
      expect([...found.keys()].sort((a, b) => Number(a) - Number(b))).toEqual(Array.from({ length: 75 }, (_, i) => 2 * i + 1));
    }));

  test(
    'prefetchRelated() and delete() over 40,000 rows: one IN list each',
    () =>
      inTx(async () => {
        const tags = await Tag.objects.bulkCreate(Array.from({ length: 40_000 }, (_, i) => ({ name: `many-${i}` })));
        const book = await Book.objects.get({ id: 1 });
        await book.tags.add(tags[0]!, tags[39_999]!);
        // Many-to-many from 40,000 tags: the tags, then their books in one statement.
        const withBooks = await assertNumQueries(2, () =>
          Tag.objects.filter({ name__startswith: 'many-' }).prefetchRelated('books').fetchAll(),
        );
        expect(withBooks).toHaveLength(40_000);
        expect(withBooks.filter((t) => t.books.items.length > 0).map((t) => t.name)).toEqual(['many-0', 'many-39999']);
        // The collector deletes the tags and their links through IN lists of the same form.
        const [deleted] = await Tag.objects.filter({ name__startswith: 'many-' }).delete();
        expect(deleted).toBe(40_000 + 2);
        expect(await Tag.objects.filter({ name__startswith: 'many-' }).count()).toBe(0);
        expect((await book.tags.all()).map((t) => t.name)).not.toContain('many-0');
      }),
    120_000,
  );
});
