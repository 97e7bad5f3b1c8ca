// Conditional expressions on three databases: Case/When in annotate, filter, orderBy, update and
// inside aggregates; conditional aggregates (filter: Q), distinct counts, StdDev and Variance.
// Expected rows are Django 3.2's answers on the same data.
import { BooleanField, Case, Count, Exists, F, Lower, OuterRef, Q, StdDev, Sum, Upper, Value, Variance, When } from '@spool/orm';
import { captureQueries } from '@spool/testing';
import { eachDatabase } from '../support/helpers';
import { Author, Book } from './models';
import { inTx, seedLibrary, useTables } from './support';

eachDatabase('conditional expressions', (db) => {
  useTables(db);

  test('Case/When in annotate: the first branch that holds, the default else, NULL without one', () =>
    inTx(async () => {
      await seedLibrary();
      const sized = await Book.objects
        .annotate({
          size: Case(When({ pages__gte: 300 }, new Value('long')), When({ pages__gte: 100 }, new Value('medium')), {
            default: new Value('short'),
          }),
        })
        .orderBy('id')
        .valuesList('title', 'size');
      expect(sized).toEqual([
        ['Alpha', 'medium'],
        ['Beta', 'long'],
        ['Gamma 100%', 'short'],
        ['delta_under', 'long'],
        ['Epsilon \\ slash', 'medium'],
        ["Zeta's", 'short'],
      ]);
      // A string `then` is a field (as in Django); no default: NULL.
      expect(
        await Book.objects
          .annotate({ x: Case(When({ price__gt: 20 }, 'pages')) })
          .orderBy('id')
          .valuesList('x', { flat: true }),
      ).toEqual([null, 320, null, 450, null, null]);
      // Conditions are Q objects too, across relations; a declared output type.
      const cheap = await Book.objects
        .annotate({
          cheap: Case(When(Q<Book>({ price__lt: 20 }).or({ author__name: 'nobody' }), new Value(true)), {
            default: new Value(false),
            outputField: new BooleanField(),
          }),
        })
        .orderBy('id')
        .valuesList('cheap', { flat: true });
      expect(cheap).toEqual([true, false, false, false, true, true]);
      const { queries } = await captureQueries(() =>
        Book.objects
          .annotate({ big: Case(When({ pages__gte: 300 }, new Value(1)), { default: new Value(0) }) })
          .valuesList('big', { flat: true })
          .fetchAll(),
      );
      const sql = queries[0]?.sql;
      if (db.name === 'postgres')
        expect(sql).toBe(
          'select CASE WHEN "orm_book"."pages" >= $1 THEN CAST($2 AS bigint) ELSE CAST($3 AS bigint) END as "big" from "orm_book" order by "orm_book"."title" asc',
        );
      else if (db.name === 'mysql')
        expect(sql).toBe(
          'select CASE WHEN `orm_book`.`pages` >= ? THEN CAST(? AS SIGNED) ELSE CAST(? AS SIGNED) END as `big` from `orm_book` order by `orm_book`.`title` asc',
        );
      else
        expect(sql).toBe(
          'select CASE WHEN `orm_book`.`pages` >= ? THEN CAST(? AS INTEGER) ELSE CAST(? AS INTEGER) END as `big` from `orm_book` order by `orm_book`.`title` asc',
        );
      // Branches of different types need an output type (Django's FieldError).
      expect(() => Book.objects.annotate({ x: Case(When({ pages__gt: 1 }, 'title'), { default: 'pages' }) })).toThrow(
        'Case: expression contains mixed types: CharField, IntegerField. You must set outputField.',
      );
      expect(() => When({}, new Value(1))).toThrow('When() takes a Q or lookups');
    }));

  test('When takes a boolean expression (Exists, a boolean Case) as its condition, as Django', () =>
    inTx(async () => {
      await seedLibrary();
      const long = Exists(Book.objects.filter({ author: OuterRef('pk'), pages__gt: 300 }));
      const kind = Case(
        When(long, new Value('long')),
        When(Exists(Book.objects.filter({ author: OuterRef('pk') })).not(), new Value('none')),
        {
          default: new Value('short'),
        },
      );
      expect(await Author.objects.annotate({ kind }).orderBy('id').valuesList('name', 'kind')).toEqual([
        ['Ann Archer', 'long'],
        ['Bob Brown', 'long'],
        ['cat carter', 'short'],
        ['Dan Drake', 'none'],
      ]);
      // A Case of boolean output is a condition too, in When and in filter().
      const older = Case(When({ age__gt: 30 }, new Value(true)), { default: new Value(false) });
      expect(
        await Author.objects
          .annotate({ x: Case(When(older, new Value(1)), { default: new Value(0) }) })
          .orderBy('id')
          .valuesList('x', { flat: true }),
      ).toEqual([1, 1, 0, 0]);
      expect(await Author.objects.filter(older).orderBy('id').valuesList('name', { flat: true })).toEqual(['Ann Archer', 'Bob Brown']);
      const { queries } = await captureQueries(() =>
        Author.objects
          .annotate({ x: Case(When(long, new Value(1)), { default: new Value(0) }) })
          .valuesList('x', { flat: true })
          .fetchAll(),
      );
      const sql = queries[0]?.sql;
      if (db.name === 'postgres')
        expect(sql).toBe(
          'select CASE WHEN EXISTS (select 1 as "a" from "orm_book" as "U0" where "U0"."author_id" = "orm_author"."id" and "U0"."pages" > $1 limit $2) THEN CAST($3 AS bigint) ELSE CAST($4 AS bigint) END as "x" from "orm_author" order by "orm_author"."name" asc',
        );
      else if (db.name === 'mysql')
        expect(sql).toBe(
          'select CASE WHEN EXISTS (select 1 as `a` from `orm_book` as `U0` where `U0`.`author_id` = `orm_author`.`id` and `U0`.`pages` > ? limit ?) THEN CAST(? AS SIGNED) ELSE CAST(? AS SIGNED) END as `x` from `orm_author` order by `orm_author`.`name` asc',
        );
      else
        expect(sql).toBe(
          'select CASE WHEN EXISTS (select 1 as `a` from `orm_book` as `U0` where `U0`.`author_id` = `orm_author`.`id` and `U0`.`pages` > ? limit ?) THEN CAST(? AS INTEGER) ELSE CAST(? AS INTEGER) END as `x` from `orm_author` order by `orm_author`.`name` asc',
        );
      // Not conditions: a field reference (Django: "When() supports a Q object, a boolean expression, or lookups"), text, an empty Q.
      expect(() => When(F('age') as never, new Value(1))).toThrow(
        'When() supports a Q object, a boolean expression (Exists(...)), or lookups',
      );
      expect(() => When(Lower('name') as never, new Value(1))).toThrow('When() supports a Q object');
      expect(() => When(Q(), new Value(1))).toThrow("When(): an empty Q() can't be used as a condition");
    }));

  test('Case/When in filter, orderBy, update, and inside an aggregate', () =>
    inTx(async () => {
      await seedLibrary();
      expect(
        await Book.objects
          .filter({ pages__gt: Case(When({ author__name: 'Bob Brown' }, new Value(300)), { default: new Value(100) }) })
          .orderBy('id')
          .valuesList('title', { flat: true }),
      ).toEqual(['Alpha', 'Beta', 'delta_under', 'Epsilon \\ slash']);
      const ordered = await Book.objects
        .orderBy(Case(When({ price__isnull: true }, new Value(0)), { default: new Value(1) }), 'title')
        .valuesList('title', { flat: true });
      // MariaDB's default collation orders titles case-insensitively.
      expect(ordered).toEqual(
        db.name === 'mysql'
          ? ['Gamma 100%', 'Alpha', 'Beta', 'delta_under', 'Epsilon \\ slash', "Zeta's"]
          : ['Gamma 100%', 'Alpha', 'Beta', 'Epsilon \\ slash', "Zeta's", 'delta_under'],
      );
      expect(await Book.objects.aggregate({ long: Sum(Case(When({ pages__gte: 300 }, new Value(1)), { default: new Value(0) })) })).toEqual(
        {
          long: 2,
        },
      );
      const n = await Book.objects.update({
        pages: Case(When({ pages__lt: 100 }, F('pages').mul(10)), { default: F('pages') }),
        title: Upper('title'),
      });
      expect(n).toBe(6);
      expect(await Book.objects.orderBy('id').valuesList('title', 'pages')).toEqual([
        ['ALPHA', 120],
        ['BETA', 320],
        ['GAMMA 100%', 800],
        ['DELTA_UNDER', 450],
        ['EPSILON \\ SLASH', 200],
        ["ZETA'S", 900],
      ]);
    }));

  test('conditional aggregates: Count and Sum with a filter, distinct counts, over relations', () =>
    inTx(async () => {
      await seedLibrary();
      const authors = await Author.objects
        .annotate({
          nLong: Count('books', { filter: Q({ books__pages__gt: 200 }) }),
          n: Count('books'),
          pagesLong: Sum('books__pages', { filter: { books__pages__gt: 200 } }),
        })
        .orderBy('id')
        .valuesList('name', 'nLong', 'n', 'pagesLong');
      expect(authors).toEqual([
        ['Ann Archer', 1, 2, 320],
        ['Bob Brown', 1, 2, 450],
        ['cat carter', 0, 2, null],
        ['Dan Drake', 0, 0, null],
      ]);
      // Django's answer for the same grouping (the tags join repeats the books: as Django counts them).
      const grouped = await Book.objects
        .values('author__name')
        .annotate({
          nLong: Count('id', { filter: Q({ pages__gt: 200 }) }),
          n: Count('id'),
          pagesLong: Sum('pages', { filter: Q({ pages__gt: 200 }) }),
          nTags: Count('tags', { distinct: true }),
        })
        .orderBy('author__name')
        .valuesList('author__name', 'nLong', 'n', 'pagesLong', 'nTags');
      expect(grouped).toEqual([
        ['Ann Archer', 2, 4, 640, 3],
        ['Bob Brown', 1, 2, 450, 2],
        ['cat carter', 0, 2, null, 0],
      ]);
      expect(
        await Book.objects.aggregate({
          n: Count('id', { filter: Q({ pages__gt: 100 }) }),
          s: Sum('pages', { filter: Q<Book>({ author__name: 'Ann Archer' }).or({ price__isnull: true }) }),
        }),
      ).toEqual({ n: 4, s: 520 });
      // A filtered aggregate can be filtered on (HAVING).
      expect(
        await Author.objects
          .annotate({ nLong: Count('books', { filter: Q({ books__pages__gt: 200 }) }) })
          .filter({ nLong__gte: 1 })
          .orderBy('name')
          .valuesList('name', { flat: true }),
      ).toEqual(['Ann Archer', 'Bob Brown']);
      const { queries } = await captureQueries(() => Book.objects.aggregate({ n: Count('id', { filter: Q({ pages__gt: 100 }) }) }));
      const sql = queries[0]?.sql;
      // FILTER (WHERE ...) where the database has it (PostgreSQL, SQLite), CASE WHEN on MariaDB (as Django).
      if (db.name === 'postgres')
        expect(sql).toBe('select COUNT("orm_book"."id") FILTER (WHERE "orm_book"."pages" > $1) as "n" from "orm_book"');
      else if (db.name === 'mysql')
        expect(sql).toBe('select COUNT(CASE WHEN `orm_book`.`pages` > ? THEN `orm_book`.`id` ELSE NULL END) as `n` from `orm_book`');
      else expect(sql).toBe('select COUNT(`orm_book`.`id`) FILTER (WHERE `orm_book`.`pages` > ?) as `n` from `orm_book`');
      expect(() => Count('*', { filter: { pages__gt: 1 } })).toThrow("Count('*') cannot take a filter");
      expect(() => Count('id', { nope: true } as never)).toThrow("Count(): unknown option 'nope'. Valid options: distinct, filter.");
    }));

  test('StdDev and Variance (population and sample), filtered; NULL over no rows', () =>
    inTx(async () => {
      await seedLibrary();
      const r = await Book.objects.aggregate({
        sd: StdDev('pages'),
        sds: StdDev('pages', { sample: true }),
        v: Variance('pages'),
        vs: Variance('pages', { sample: true }),
        sdf: StdDev('pages', { filter: Q({ pages__gt: 100 }) }),
      });
      // Django 3.2: 134.90737563232, 147.783625615289, 18200, 21840, 124.774797134678 (MariaDB: 4 decimals).
      expect(r.sd).toBeCloseTo(134.9074, 3);
      expect(r.sds).toBeCloseTo(147.7836, 3);
      expect(r.v).toBe(18200);
      expect(r.vs).toBe(21840);
      expect(r.sdf).toBeCloseTo(124.7748, 3);
      expect(
        await Book.objects.filter({ pages__gt: 1000 }).aggregate({ sd: StdDev('pages'), vs: Variance('pages', { sample: true }) }),
      ).toEqual({
        sd: null,
        vs: null,
      });
      const perAuthor = await Author.objects.annotate({ sd: StdDev('books__pages') }).orderBy('id');
      expect(perAuthor.map((a) => [a.name, a.sd])).toEqual([
        ['Ann Archer', 100],
        ['Bob Brown', 185],
        ['cat carter', 55],
        ['Dan Drake', null],
      ]);
    }));
});
