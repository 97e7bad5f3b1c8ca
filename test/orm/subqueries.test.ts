// Subqueries (issue 10): Subquery with OuterRef (also across relations and nested), Exists and its
// negation in filter, Q and annotate, __in with a query set as one statement, aggregate() over
// sliced, distinct and annotated query sets (wrapped in a subquery, as Django), DISTINCT ON.
import { NotSupportedError } from '@spool/connections';
import { Avg, Count, Exists, FieldError, Max, OuterRef, Q, Subquery, Sum } from '@spool/orm';
import { captureQueries } from '@spool/testing';
import { eachDatabase } from '../support/helpers';
import { Author, Book, Publisher } from './models';
import { inTx, seedLibrary, titles, useTables } from './support';

eachDatabase('subqueries', (db) => {
  useTables(db);

  test('Subquery with OuterRef in annotate: one value per row, null without a row', () =>
    inTx(async () => {
      await seedLibrary();
      const longest = Book.objects.filter({ author: OuterRef('pk') }).orderBy('-pages', 'id');
      const qs = Author.objects.annotate({ longest: Subquery(longest.values('title').slice(0, 1)) }).orderBy('id');
      const { result, queries } = await captureQueries(() => qs.values('name', 'longest').fetchAll());
      expect(result).toEqual([
        { name: 'Ann Archer', longest: 'Beta' },
        { name: 'Bob Brown', longest: 'delta_under' },
        { name: 'cat carter', longest: 'Epsilon \\ slash' },
        { name: 'Dan Drake', longest: null },
      ]);
      expect(queries).toHaveLength(1);
      const sql = queries[0]?.sql ?? '';
      if (db.name === 'postgres')
        expect(sql).toBe(
          'select "orm_author"."name", (select "U0"."title" from "orm_book" as "U0" where "U0"."author_id" = "orm_author"."id" order by "U0"."pages" desc, "U0"."id" asc limit $1) as "longest" from "orm_author" order by "orm_author"."id" asc',
        );
      else if (db.name === 'mysql')
        expect(sql).toBe(
          'select `orm_author`.`name`, (select `U0`.`title` from `orm_book` as `U0` where `U0`.`author_id` = `orm_author`.`id` order by `U0`.`pages` desc, `U0`.`id` asc limit ?) as `longest` from `orm_author` order by `orm_author`.`id` asc',
        );
      else
        expect(sql).toBe(
          'select `orm_author`.`name`, (select `U0`.`title` from `orm_book` as `U0` where `U0`.`author_id` = `orm_author`.`id` order by `U0`.`pages` desc, `U0`.`id` asc limit ?) as `longest` from `orm_author` order by `orm_author`.`id` asc',
        );
      // Typed as the selected column, nullable.
      const rows = await qs;
      const t: string | null = rows[0]!.longest;
      expect(typeof t).toBe('string');
      // The integer column keeps its type (a number on every database).
      const pages = await Author.objects
        .annotate({ most: Subquery(longest.values('pages').slice(0, 1)) })
        .orderBy('id')
        .valuesList('most', { flat: true });
      expect(pages).toEqual([320, 450, 200, null]);
    }));

  test('OuterRef across relations, nested subqueries, Subquery in filter', () =>
    inTx(async () => {
      await seedLibrary();
      const publisherName = Subquery(Publisher.objects.filter({ pk: OuterRef('author__publisher') }).values('name'));
      expect(await Book.objects.annotate({ publisherName }).orderBy('id').valuesList('title', 'publisherName')).toEqual([
        ['Alpha', 'Acme'],
        ['Beta', 'Acme'],
        ['Gamma 100%', 'Globex'],
        ['delta_under', 'Globex'],
        ['Epsilon \\ slash', 'Acme'],
        ["Zeta's", 'Acme'],
      ]);
      // The longest book of each author: compared with a correlated subquery.
      const top = Book.objects
        .filter({ author: OuterRef('author') })
        .orderBy('-pages')
        .values('pages')
        .slice(0, 1);
      expect(titles(await Book.objects.filter({ pages: Subquery(top) }))).toEqual(['Beta', 'Epsilon \\ slash', 'delta_under']);
      // Nested: publishers with an author who wrote a book published by that same publisher's author (OuterRef(OuterRef)).
      const books = Book.objects.filter({ author: OuterRef('pk'), author__publisher: OuterRef(OuterRef('pk')), pages__gt: 300 });
      const authors = Author.objects.filter({ publisher: OuterRef('pk') }).filter(Exists(books));
      expect((await Publisher.objects.filter(Exists(authors))).map((p) => p.name)).toEqual(['Acme', 'Globex']);
      expect((await Publisher.objects.filter(Exists(authors).not())).map((p) => p.name)).toEqual(['Initech']);
    }));

  test('Exists in filter, Q (negated) and annotate', () =>
    inTx(async () => {
      await seedLibrary();
      const long = Book.objects.filter({ author: OuterRef('pk'), pages__gt: 300 });
      const names = async (qs: PromiseLike<Author[]>) => (await qs).map((a) => a.name).sort();
      expect(await names(Author.objects.filter(Exists(long)))).toEqual(['Ann Archer', 'Bob Brown']);
      expect(await names(Author.objects.filter(Exists(long).not()))).toEqual(['Dan Drake', 'cat carter']);
      expect(await names(Author.objects.filter(Q.not(Exists(long))))).toEqual(['Dan Drake', 'cat carter']);
      expect(await names(Author.objects.exclude(Exists(long)))).toEqual(['Dan Drake', 'cat carter']);
      expect(await names(Author.objects.filter(Q(Exists(long)).or({ age__lt: 30 })))).toEqual(['Ann Archer', 'Bob Brown', 'Dan Drake']);
      const annotated = await Author.objects.annotate({ hasLong: Exists(long) }).orderBy('id');
      const flag: boolean = annotated[0]!.hasLong;
      expect(flag).toBe(true);
      expect(annotated.map((a) => [a.name, a.hasLong])).toEqual([
        ['Ann Archer', true],
        ['Bob Brown', true],
        ['cat carter', false],
        ['Dan Drake', false],
      ]);
      expect(await names(Author.objects.annotate({ hasLong: Exists(long) }).filter({ hasLong: false }))).toEqual([
        'Dan Drake',
        'cat carter',
      ]);
      const { queries } = await captureQueries(() => Author.objects.filter(Exists(long)).fetchAll());
      expect(queries).toHaveLength(1);
      expect(queries[0]?.sql).toMatch(/where EXISTS \(select 1 as .a. from .orm_book. as .U0. where .*limit/);
    }));

  test('__in with a query set, values() or valuesList(): one statement', () =>
    inTx(async () => {
      await seedLibrary();
      const long = Book.objects.filter({ pages__gt: 300 });
      const { result, queries } = await captureQueries(() => Author.objects.filter({ id__in: long.values('author') }).fetchAll());
      expect(result.map((a) => a.name)).toEqual(['Ann Archer', 'Bob Brown']);
      expect(queries).toHaveLength(1);
      expect((await Author.objects.filter({ id__in: long.valuesList('author', { flat: true }) })).map((a) => a.name)).toEqual([
        'Ann Archer',
        'Bob Brown',
      ]);
      expect((await Author.objects.filter({ books__in: long })).map((a) => a.name)).toEqual(['Ann Archer', 'Bob Brown']);
      // A subquery's slice is its own: two slices are two statements' worth of rows.
      const first = (n: number) => Book.objects.orderBy('pages').slice(0, n).values('id');
      if (db.name === 'mysql') {
        await expect(Book.objects.filter({ id__in: first(2) }).fetchAll()).rejects.toThrow(NotSupportedError);
      } else {
        expect(titles(await Book.objects.filter({ id__in: first(2) }))).toEqual(['Gamma 100%', "Zeta's"]);
        expect(titles(await Book.objects.filter({ id__in: first(3) }))).toEqual(['Alpha', 'Gamma 100%', "Zeta's"]);
      }
    }));

  test('bad subqueries are clear errors', () =>
    inTx(async () => {
      await seedLibrary();
      await expect(Book.objects.filter({ author: OuterRef('pk') }).fetchAll()).rejects.toThrow(
        "This query set contains a reference to an outer query (OuterRef('pk')) and may only be used in a subquery",
      );
      expect(() => Author.objects.annotate({ x: Subquery(Book.objects.values('id', 'title')) })).toThrow(FieldError);
      expect(() => Author.objects.annotate({ x: Subquery(Book.objects.filter({ author: OuterRef('nope') }).values('id')) })).toThrow(
        "Cannot resolve keyword 'nope' into field",
      );
      expect(() => Subquery([] as never)).toThrow('Subquery() takes a query set');
    }));

  test('aggregate() and count() over sliced, distinct and annotated query sets (a subquery, as Django)', () =>
    inTx(async () => {
      await seedLibrary();
      const { result, queries } = await captureQueries(() =>
        Book.objects
          .orderBy('pages')
          .slice(0, 3)
          .aggregate({ total: Sum('pages'), n: Count('*'), most: Max('pages') }),
      );
      expect(result).toEqual({ total: 290, n: 3, most: 120 });
      const sql = queries[0]?.sql ?? '';
      if (db.name === 'postgres')
        expect(sql).toBe(
          'select SUM("subquery"."__col1") as "total", COUNT(*) as "n", MAX("subquery"."__col2") as "most" from (select "orm_book"."pages" as "__col1", "orm_book"."pages" as "__col2" from "orm_book" order by "orm_book"."pages" asc limit $1) as "subquery"',
        );
      else
        expect(sql).toBe(
          'select SUM(`subquery`.`__col1`) as `total`, COUNT(*) as `n`, MAX(`subquery`.`__col2`) as `most` from (select `orm_book`.`pages` as `__col1`, `orm_book`.`pages` as `__col2` from `orm_book` order by `orm_book`.`pages` asc limit ?) as `subquery`',
        );
      expect(
        await Book.objects
          .orderBy('-pages')
          .slice(1, 3)
          .aggregate({ avg: Avg('pages') }),
      ).toEqual({ avg: 260 });
      // Distinct rows first, then the aggregate.
      const distinct = Author.objects.filter({ books__pages__gt: 100 }).distinct();
      expect(await distinct.aggregate({ n: Count('id'), avgAge: Avg('age') })).toEqual({ n: 3, avgAge: 42.5 });
      expect(await distinct.count()).toBe(3);
      // Over an aggregate annotation: per author, then over authors.
      const perAuthor = Author.objects.annotate({ nb: Count('books') });
      expect(await perAuthor.aggregate({ avg: Avg('nb'), most: Max('nb'), total: Sum('nb') })).toEqual({ avg: 1.5, most: 2, total: 6 });
      expect(await perAuthor.count()).toBe(4);
      expect(await perAuthor.filter({ nb__gte: 1 }).aggregate({ n: Count('*') })).toEqual({ n: 3 });
      // Decimals keep their places.
      // (NULL sorts first descending on PostgreSQL, last elsewhere: a difference Django has too.)
      expect(
        await Book.objects
          .orderBy('-price')
          .slice(0, 2)
          .aggregate({ s: Sum('price') }),
      ).toEqual(db.name === 'postgres' ? { s: '40.00' } : { s: '65.00' });
      expect(
        await Book.objects
          .none()
          .slice(0, 2)
          .aggregate({ n: Count('*'), s: Sum('pages') }),
      ).toEqual({ n: 0, s: null });
    }));

  test('distinct(fields): DISTINCT ON on PostgreSQL, NotSupportedError elsewhere', () =>
    inTx(async () => {
      await seedLibrary();
      const qs = Book.objects.distinct('author').orderBy('authorId', '-pages');
      if (db.name !== 'postgres') {
        await expect(qs.fetchAll()).rejects.toThrow(NotSupportedError);
        await expect(qs.fetchAll()).rejects.toThrow(
          `DISTINCT ON fields is not supported by this database backend (${db.name === 'mysql' ? 'MariaDB' : 'SQLite'}).`,
        );
        return;
      }
      const { result, queries } = await captureQueries(() => qs.fetchAll());
      expect(result.map((b) => b.title)).toEqual(['Beta', 'delta_under', 'Epsilon \\ slash']);
      expect(queries[0]?.sql).toMatch(/^select DISTINCT ON \("orm_book"."author_id"\) "orm_book"."id", /);
      expect(await qs.count()).toBe(3);
      expect(await Book.objects.distinct('author', 'editor').orderBy('authorId', 'editorId').count()).toBe(5);
    }));
});
