// Q objects (AND / OR / NOT), F expressions with arithmetic in filters and updates, aggregates
// (Count, Sum, Avg, Min, Max) with aggregate() and annotate(), grouping by values().
import { Avg, Count, F, FieldError, Max, Min, Q, Sum, Value } from '@spool/orm';
import { captureQueries } from '@spool/testing';
import { eachDatabase } from '../support/helpers';
import { Author, Book, Publisher } from './models';
import { inTx, seedLibrary, titles, useTables } from './support';

eachDatabase('Q, F and aggregates', { pgbouncer: true }, (db) => {
  useTables(db);

  test('Q combines with AND, OR and NOT, nested, typed by the model', () =>
    inTx(async () => {
      await seedLibrary();
      const short = Q<Book>({ pages__lt: 100 });
      const long = Q<Book>({ pages__gt: 400 });
      expect(titles(await Book.objects.filter(short.or(long)))).toEqual(['Gamma 100%', "Zeta's", 'delta_under']);
      expect(
        titles(
          await Book.objects.filter(Q.or<Book>({ pages__lt: 100 }, { pages__gt: 400 }).and(Q.not<Book>({ author__name: 'Bob Brown' }))),
        ),
      ).toEqual(["Zeta's"]);
      expect(titles(await Book.objects.filter(short.not(), Q<Book>({ pages__lt: 150 })))).toEqual(['Alpha']);
      expect(titles(await Book.objects.exclude(Q<Book>({ pages__lt: 100 }).or({ pages__gt: 300 })))).toEqual(['Alpha', 'Epsilon \\ slash']);
      // OR across a nullable relation keeps rows where the relation is missing (LEFT OUTER JOIN).
      const names = (await Author.objects.filter(Q<Author>({ publisher__name: 'Globex' }).or({ age__lt: 30 }))).map((a) => a.name);
      expect(names.sort()).toEqual(['Bob Brown', 'Dan Drake']);
      const { queries } = await captureQueries(() =>
        Author.objects.filter(Q<Author>({ publisher__name: 'Globex' }).or({ age__lt: 30 })).fetchAll(),
      );
      expect(queries[0]?.sql).toMatch(/left outer join/);
      expect(() => Book.objects.filter(Q({ nope: 1 }))).toThrow(FieldError);
    }));

  test('F compares columns and does arithmetic, across relations too', () =>
    inTx(async () => {
      const { books } = await seedLibrary();
      await Book.objects.filter({ pk: books.alpha.id }).update({ price: '1200.00' });
      expect(titles(await Book.objects.filter({ price__gt: F('pages') }))).toEqual(['Alpha']);
      expect(titles(await Book.objects.filter({ pages__gt: F('price').mul(10) }))).toEqual([
        'Beta',
        'Epsilon \\ slash',
        "Zeta's",
        'delta_under',
      ]);
      expect((await Author.objects.filter({ age__lt: F('books__pages').div(4) }).distinct()).map((a) => a.name).sort()).toEqual([
        'Ann Archer',
        'Bob Brown',
      ]);
      expect(titles(await Book.objects.filter({ pages: F('pages').add(0) }))).toHaveLength(6);
      expect(() => Book.objects.filter({ pages__gt: F('nope') })).toThrow("Cannot resolve keyword 'nope' into field of Book");
    }));

  test('update() with F expressions runs one statement on the matching rows', () =>
    inTx(async () => {
      const { authors } = await seedLibrary();
      const { result, queries } = await captureQueries(() =>
        Book.objects.filter({ author: authors.ann }).update({ pages: F('pages').add(10), price: F('price').mul(2) }),
      );
      expect(result).toBe(2);
      expect(queries).toHaveLength(1);
      expect(queries[0]?.sql).toMatch(/^update /);
      expect(await Book.objects.filter({ author: authors.ann }).orderBy('title').valuesList('pages', 'price')).toEqual([
        [130, '21.00'],
        [330, '50.00'],
      ]);
      // A filter across a relation restricts by primary key (MariaDB needs the subquery materialised).
      expect(await Book.objects.filter({ author__name: 'Bob Brown' }).update({ pages: 1 })).toBe(2);
      expect(await Book.objects.filter({ pages: 1 }).count()).toBe(2);
      // Joined references are refused in updates.
      await expect(Book.objects.update({ pages: F('author__age') })).rejects.toThrow(
        'Joined field references are not permitted in this query',
      );
      await expect(Book.objects.update({ nope: 1 } as never)).rejects.toThrow(
        "Cannot resolve keyword 'nope' into field of Book (in update())",
      );
    }));

  test('aggregate() over all the rows', () =>
    inTx(async () => {
      await seedLibrary();
      const r = await Book.objects.aggregate({
        n: Count('id'),
        pages: Sum('pages'),
        avg: Avg('pages'),
        min: Min('pages'),
        max: Max('pages'),
        maxPrice: Max<string | null>('price'),
      });
      expect(r).toEqual({ n: 6, pages: 1260, avg: 210, min: 80, max: 450, maxPrice: '40.00' });
      const filtered = await Book.objects.filter({ author__name: 'Ann Archer' }).aggregate({ total: Sum('price'), n: Count('*') });
      expect(filtered).toEqual({ total: '35.50', n: 2 });
      const none = await Book.objects.filter({ pages__gt: 10_000 }).aggregate({ n: Count('id'), s: Sum('pages') });
      expect(none).toEqual({ n: 0, s: null });
      const latest = await Book.objects.aggregate({ last: Max<string | null>('published') });
      expect(latest.last).toBe('2022-12-31');
      const distinctAuthors = await Book.objects.aggregate({ n: Count('author', { distinct: true }) });
      expect(distinctAuthors.n).toBe(3);
    }));

  test('annotate() adds aggregates per row (GROUP BY), filterable (HAVING) and orderable', () =>
    inTx(async () => {
      await seedLibrary();
      const rows = await Author.objects.annotate({ nBooks: Count('books'), pages: Sum('books__pages') }).orderBy('-nBooks', 'name');
      expect(rows.map((a) => [a.name, a.nBooks, a.pages])).toEqual(
        [
          ['Ann Archer', 2, 440],
          ['Bob Brown', 2, 530],
          ['cat carter', 2, 290],
          ['Dan Drake', 0, null],
        ].sort(
          (x, y) =>
            (y[1] as number) - (x[1] as number) ||
            (db.name === 'mysql'
              ? String(x[0]).toLowerCase().localeCompare(String(y[0]).toLowerCase())
              : String(x[0]) < String(y[0])
                ? -1
                : 1),
        ),
      );
      expect(rows[0]?.initials).toBeDefined();
      const busy = await Author.objects.annotate({ n: Count('books') }).filter({ n__gte: 2, name__startswith: 'B' });
      expect(busy.map((a) => a.name)).toEqual(['Bob Brown']);
      const { queries } = await captureQueries(() =>
        Author.objects
          .annotate({ n: Count('books') })
          .filter({ n__gte: 2 })
          .fetchAll(),
      );
      expect(queries[0]?.sql).toMatch(/group by .* having \(COUNT\(/);
      // Distinct counts across two multi-valued relations.
      const pubs = await Publisher.objects
        .annotate({ authorsN: Count('authors', { distinct: true }), booksN: Count('authors__books') })
        .orderBy('name');
      expect(pubs.map((p) => [p.name, p.authorsN, p.booksN])).toEqual([
        ['Acme', 2, 4],
        ['Globex', 1, 2],
        ['Initech', 0, 0],
      ]);
      // Non-aggregate annotations.
      const doubled = await Book.objects
        .annotate({ double: F('pages').mul(2), one: new Value(1) as never })
        .filter({ double__gt: 600 })
        .orderBy('double');
      expect(doubled.map((b) => [b.title, b.double])).toEqual([
        ['Beta', 640],
        ['delta_under', 900],
      ]);
      expect(() => Author.objects.annotate({ name: Count('books') })).toThrow(
        "Author: the annotation 'name' conflicts with a field on the model.",
      );
      expect(() => Book.objects.values('author').annotate({ pages: Sum('pages') })).toThrow(
        "Book: the annotation 'pages' conflicts with a field on the model.",
      );
    }));

  test('values() then annotate() groups by the values (the grouped aggregate)', () =>
    inTx(async () => {
      await seedLibrary();
      const perAuthor = await Book.objects
        .values('author__name')
        .annotate({ n: Count('id'), totalPages: Sum('pages'), avg: Avg('pages') })
        .orderBy('author__name');
      expect(perAuthor).toEqual(
        [
          { author__name: 'Ann Archer', n: 2, totalPages: 440, avg: 220 },
          { author__name: 'Bob Brown', n: 2, totalPages: 530, avg: 265 },
          { author__name: 'cat carter', n: 2, totalPages: 290, avg: 145 },
        ].sort((a, b) =>
          db.name === 'mysql'
            ? a.author__name.toLowerCase().localeCompare(b.author__name.toLowerCase())
            : a.author__name < b.author__name
              ? -1
              : 1,
        ),
      );
      const byYear = await Book.objects
        .filter({ published__isnull: false })
        .values('authorId')
        .annotate({ newest: Max<string | null>('published') })
        .orderBy('authorId');
      expect(byYear.map((r) => r.newest)).toEqual(['2021-07-15', '2021-01-10', '2022-12-31']);
      const { queries } = await captureQueries(() =>
        Book.objects
          .values('authorId')
          .annotate({ n: Count('id') })
          .fetchAll(),
      );
      expect(queries[0]?.sql).toMatch(/group by .orm_book.\..author_id.$/);
    }));
});
