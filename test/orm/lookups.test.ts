// Lookups with Django's vocabulary and Django's semantics database by database: escaping of
// %, _ and \ in pattern lookups, each backend's case sensitivity, NULL handling, date parts,
// regex where supported.
import { DataError } from '@spool/orm';
import { eachDatabase } from '../support/helpers';
import { Author, Book, Sample } from './models';
import { inTx, seedLibrary, titles, useTables } from './support';

eachDatabase('lookups', { pgbouncer: true }, (db) => {
  useTables(db);

  test('exact, iexact, in, gt/gte/lt/lte, range, isnull', () =>
    inTx(async () => {
      await seedLibrary();
      expect(titles(await Book.objects.filter({ title: 'Alpha' }))).toEqual(['Alpha']);
      expect(titles(await Book.objects.filter({ title__exact: 'Alpha' }))).toEqual(['Alpha']);
      expect(titles(await Book.objects.filter({ title__iexact: 'ALPHA' }))).toEqual(['Alpha']);
      expect(titles(await Book.objects.filter({ pages__in: [80, 90, 12345] }))).toEqual(['Gamma 100%', "Zeta's"]);
      expect(titles(await Book.objects.filter({ pages__gt: 320 }))).toEqual(['delta_under']);
      expect(titles(await Book.objects.filter({ pages__gte: 320 }))).toEqual(['Beta', 'delta_under']);
      expect(titles(await Book.objects.filter({ pages__lt: 90 }))).toEqual(['Gamma 100%']);
      expect(titles(await Book.objects.filter({ pages__lte: 90 }))).toEqual(['Gamma 100%', "Zeta's"]);
      expect(titles(await Book.objects.filter({ pages__range: [100, 200] }))).toEqual(['Alpha', 'Epsilon \\ slash']);
      expect(titles(await Book.objects.filter({ price__isnull: true }))).toEqual(['Gamma 100%']);
      expect(await Book.objects.filter({ price__isnull: false }).count()).toBe(5);
      expect(titles(await Book.objects.filter({ price: null }))).toEqual(['Gamma 100%']);
      expect(titles(await Book.objects.filter({ price__gt: '20' }))).toEqual(['Beta', 'delta_under']);
      expect(titles(await Book.objects.filter({ published__range: ['2021-01-01', '2021-12-31'] }))).toEqual(['Beta', 'delta_under']);
      // NULLs in an __in list never match and are dropped, as Django does.
      expect(titles(await Book.objects.filter({ pages__in: [80, null as never] }))).toEqual(['Gamma 100%']);
    }));

  test('pattern lookups escape %, _ and \\ in the value', () =>
    inTx(async () => {
      await seedLibrary();
      expect(titles(await Book.objects.filter({ title__contains: '100%' }))).toEqual(['Gamma 100%']);
      expect(titles(await Book.objects.filter({ title__contains: '%' }))).toEqual(['Gamma 100%']);
      expect(titles(await Book.objects.filter({ title__contains: '_' }))).toEqual(['delta_under']);
      expect(titles(await Book.objects.filter({ title__contains: 'a_u' }))).toEqual(['delta_under']);
      expect(await Book.objects.filter({ title__contains: 'a_x' }).count()).toBe(0); // _ is not a wildcard
      expect(titles(await Book.objects.filter({ title__contains: '\\' }))).toEqual(['Epsilon \\ slash']);
      expect(titles(await Book.objects.filter({ title__endswith: '\\ slash' }))).toEqual(['Epsilon \\ slash']);
      expect(titles(await Book.objects.filter({ title__startswith: "Zeta'" }))).toEqual(["Zeta's"]);
      expect(titles(await Book.objects.filter({ title__icontains: '100%' }))).toEqual(['Gamma 100%']);
      expect(titles(await Book.objects.filter({ title__istartswith: 'DELTA_' }))).toEqual(['delta_under']);
      expect(titles(await Book.objects.filter({ title__iendswith: '%' }))).toEqual(['Gamma 100%']);
      expect(await Book.objects.filter({ title__iexact: '%' }).count()).toBe(0);
      expect(await Book.objects.filter({ title__contains: '' }).count()).toBe(6);
    }));

  test("case sensitivity follows each backend's rules, as Django defines them", () =>
    inTx(async () => {
      await seedLibrary();
      const exactUpper = titles(await Book.objects.filter({ title: 'ALPHA' }));
      const containsUpper = titles(await Book.objects.filter({ title__contains: 'ALP' }));
      const startsLower = titles(await Book.objects.filter({ title__startswith: 'alp' }));
      if (db.name === 'postgres') {
        // PostgreSQL: exact and LIKE are case-sensitive; i-lookups use UPPER().
        expect(exactUpper).toEqual([]);
        expect(containsUpper).toEqual([]);
        expect(startsLower).toEqual([]);
      } else if (db.name === 'mysql') {
        // MariaDB: '=' follows the column collation (case-insensitive by default); contains uses LIKE BINARY.
        expect(exactUpper).toEqual(['Alpha']);
        expect(containsUpper).toEqual([]);
        expect(startsLower).toEqual([]);
      } else {
        // SQLite: '=' is exact; LIKE is case-insensitive for ASCII, so contains behaves like icontains (Django documents it).
        expect(exactUpper).toEqual([]);
        expect(containsUpper).toEqual(['Alpha']);
        expect(startsLower).toEqual(['Alpha']);
      }
      // The i-lookups are case-insensitive everywhere.
      expect(titles(await Book.objects.filter({ title__icontains: 'ALP' }))).toEqual(['Alpha']);
      expect(titles(await Book.objects.filter({ title__iexact: 'alpha' }))).toEqual(['Alpha']);
      expect((await Author.objects.filter({ name__istartswith: 'CAT' })).map((a) => a.name)).toEqual(['cat carter']);
    }));

  test('NULL handling: exclude keeps NULL rows, isnull on relations, exact null', () =>
    inTx(async () => {
      await seedLibrary();
      // Django: exclude(age=34) returns authors whose age is NULL too (NOT (age = 34 AND age IS NOT NULL)).
      const notAnn = (await Author.objects.exclude({ age: 34 })).map((a) => a.name);
      expect(notAnn.sort()).toEqual(['Bob Brown', 'Dan Drake', 'cat carter'].sort());
      expect((await Author.objects.exclude({ age__gt: 30 })).map((a) => a.name).sort()).toEqual(['Dan Drake', 'cat carter'].sort());
      // Across a nullable foreign key.
      expect((await Author.objects.filter({ publisher__isnull: true })).map((a) => a.name)).toEqual(['Dan Drake']);
      expect((await Author.objects.filter({ publisher__name__isnull: true })).map((a) => a.name)).toEqual(['Dan Drake']);
      expect((await Author.objects.exclude({ publisher__name: 'Acme' })).map((a) => a.name).sort()).toEqual(['Bob Brown', 'Dan Drake']);
      expect((await Author.objects.filter({ publisher: null })).map((a) => a.name)).toEqual(['Dan Drake']);
      // Reverse relation isnull: authors without books.
      expect((await Author.objects.filter({ books__isnull: true })).map((a) => a.name)).toEqual(['Dan Drake']);
      expect((await Author.objects.exclude({ books__isnull: true })).map((a) => a.name).sort()).toEqual(
        ['Ann Archer', 'Bob Brown', 'cat carter'].sort(),
      );
      // Ordering comparisons never match NULL.
      expect((await Author.objects.filter({ age__lt: 1000 })).length).toBe(3);
    }));

  test('date parts on dates and datetimes (UTC), with comparisons', () =>
    inTx(async () => {
      await seedLibrary();
      expect(titles(await Book.objects.filter({ published__year: 2021 }))).toEqual(['Beta', 'delta_under']);
      expect(titles(await Book.objects.filter({ published__year__gte: 2021 }))).toEqual(['Beta', 'Epsilon \\ slash', 'delta_under']);
      expect(titles(await Book.objects.filter({ published__month: 7 }))).toEqual(['Beta']);
      expect(titles(await Book.objects.filter({ published__day__lt: 2 }))).toEqual(['Alpha']);
      expect(titles(await Book.objects.filter({ published__quarter: 4 }))).toEqual(['Epsilon \\ slash']);
      // 2021-07-15 was a Thursday: week_day 5 (Sunday = 1), iso_week_day 4 (Monday = 1), ISO week 28.
      expect(titles(await Book.objects.filter({ published__week_day: 5 }))).toEqual(['Beta']);
      expect(titles(await Book.objects.filter({ published__iso_week_day: 4 }))).toEqual(['Beta']);
      expect(titles(await Book.objects.filter({ published__week: 28 }))).toEqual(['Beta']);
      // 2021-01-10 is in ISO year 2021 week 1; 2022-12-31 is a Saturday of ISO year 2022.
      expect(titles(await Book.objects.filter({ published__iso_year: 2022 }))).toEqual(['Epsilon \\ slash']);
      expect(titles(await Book.objects.filter({ published__year__in: [2019, 2020] }))).toEqual(['Alpha', "Zeta's"]);
      await Sample.objects.create({ at: new Date('2024-02-29T23:30:15.250Z') });
      await Sample.objects.create({ at: new Date('2024-03-01T00:10:00.000Z') });
      expect(await Sample.objects.filter({ at__year: 2024, at__month: 2 }).count()).toBe(1);
      expect(await Sample.objects.filter({ at__hour: 23, at__minute: 30, at__second: 15 }).count()).toBe(1);
      expect(await Sample.objects.filter({ at__date: '2024-03-01' }).count()).toBe(1);
      expect(await Sample.objects.filter({ at__date__lt: '2024-03-01' }).count()).toBe(1);
      expect(await Sample.objects.filter({ at__gte: new Date('2024-03-01T00:00:00Z') }).count()).toBe(1);
      expect(await Sample.objects.filter({ at__range: [new Date('2024-02-29T00:00:00Z'), new Date('2024-02-29T23:59:59Z')] }).count()).toBe(
        1,
      );
    }));

  test('regex and iregex on every database (SQLite through the REGEXP function Spool registers)', () =>
    inTx(async () => {
      await seedLibrary();
      expect(titles(await Book.objects.filter({ title__regex: '^[AB]' }))).toEqual(['Alpha', 'Beta']);
      expect(titles(await Book.objects.filter({ title__regex: '^[ab]' }))).toEqual([]);
      expect(titles(await Book.objects.filter({ title__iregex: '^[ab]' }))).toEqual(['Alpha', 'Beta']);
    }));

  test('text lookups on UUIDs match the stored form on every database', () =>
    inTx(async () => {
      const s = await Sample.objects.create({ other: 'ABCDEF01-2345-6789-ABCD-EF0123456789' });
      // The instance holds the value as the field normalised it (and as the database returns it).
      expect(s.other).toBe('abcdef01-2345-6789-abcd-ef0123456789');
      const fetched = await Sample.objects.get({ pk: s.id });
      expect(fetched.other).toBe('abcdef01-2345-6789-abcd-ef0123456789');
      expect(await Sample.objects.filter({ other: 'abcdef01-2345-6789-abcd-ef0123456789' }).count()).toBe(1);
      expect(await Sample.objects.filter({ other__icontains: 'EF0123456789' }).count()).toBe(1);
      expect(await Sample.objects.filter({ other__startswith: 'abcdef01' }).count()).toBe(1);
    }));

  test('PostgreSQL text cannot hold NUL: a DataError naming the field; elsewhere NUL is just a character', () =>
    inTx(async () => {
      await seedLibrary();
      const q = Book.objects.filter({ title: 'Al\u0000pha' });
      if (db.name === 'postgres') {
        await expect(q.fetchAll()).rejects.toThrow(DataError);
        await expect(q.fetchAll()).rejects.toThrow('Book.title: PostgreSQL text values cannot contain NUL (0x00) characters.');
      } else {
        expect(await q).toEqual([]);
      }
    }));
});
