// Managers and query sets: all, filter, exclude, get, first, last, orderBy, slicing, distinct,
// values, valuesList, count, exists, laziness and immutability; the SQL of a representative
// query on each database, then the rows it returns.
import { inspect } from 'node:util';
import { connections } from '@spool/connections';
import { FieldError, Manager, ObjectDoesNotExist, MultipleObjectsReturned, SpoolError } from '@spool/orm';
import { compilerStats } from '@spool/orm/internal';
import { assertNumQueries, captureQueries } from '@spool/testing';
import { eachDatabase } from '../support/helpers';
import { Author, Book } from './models';
import { inTx, seedLibrary, titles, useTables } from './support';

/** The SQL each database gets for the representative query below (knex's output, cached by shape). */
const REPRESENTATIVE_SQL: Record<string, string> = {
  postgres:
    'select "orm_book"."id", "orm_book"."title", "orm_book"."pages", "orm_book"."price", "orm_book"."published", "orm_book"."author_id", "orm_book"."editor_id" ' +
    'from "orm_book" inner join "orm_author" on "orm_author"."id" = "orm_book"."author_id" ' +
    'where "orm_author"."name" LIKE $1 and "orm_book"."pages" >= $2 and not ("orm_book"."title" = $3) ' +
    'order by "orm_book"."pages" desc limit $4',
  mysql:
    'select `orm_book`.`id`, `orm_book`.`title`, `orm_book`.`pages`, `orm_book`.`price`, `orm_book`.`published`, `orm_book`.`author_id`, `orm_book`.`editor_id` ' +
    'from `orm_book` inner join `orm_author` on `orm_author`.`id` = `orm_book`.`author_id` ' +
    'where `orm_author`.`name` LIKE BINARY ? and `orm_book`.`pages` >= ? and not (`orm_book`.`title` = ?) ' +
    'order by `orm_book`.`pages` desc limit ?',
  sqlite:
    'select `orm_book`.`id`, `orm_book`.`title`, `orm_book`.`pages`, `orm_book`.`price`, `orm_book`.`published`, `orm_book`.`author_id`, `orm_book`.`editor_id` ' +
    'from `orm_book` inner join `orm_author` on `orm_author`.`id` = `orm_book`.`author_id` ' +
    "where `orm_author`.`name` LIKE ? ESCAPE '\\' and `orm_book`.`pages` >= ? and not (`orm_book`.`title` = ?) " +
    'order by `orm_book`.`pages` desc limit ?',
};

eachDatabase('query sets', { pgbouncer: true }, (db) => {
  useTables(db);

  test('a representative query: the SQL per database, then the rows it returns', () =>
    inTx(async () => {
      await seedLibrary();
      const qs = Book.objects
        .filter({ author__name__startswith: 'B', pages__gte: 50 })
        .exclude({ title: 'Gamma 100%' })
        .orderBy('-pages')
        .slice(0, 5);
      const { sql, bindings } = qs.toSQL();
      expect(sql).toBe(REPRESENTATIVE_SQL[db.name]);
      expect(bindings).toEqual(['B%', 50, 'Gamma 100%', 5]);
      const { result, queries } = await captureQueries(() => qs.fetchAll());
      expect(queries.map((q) => q.sql)).toEqual([REPRESENTATIVE_SQL[db.name]]);
      expect(result.map((b) => [b.title, b.pages, b.price, b.published])).toEqual([['delta_under', 450, '40.00', '2021-01-10']]);
    }));

  test('query sets are lazy and immutable: chaining builds, awaiting runs, once', () =>
    inTx(async () => {
      await seedLibrary();
      const base = Book.objects.all();
      const { queries } = await captureQueries(async () => {
        const a = base.filter({ pages__gt: 100 });
        const b = a.orderBy('pages');
        expect(a).not.toBe(b);
        return { b }; // not returned as such: awaiting a query set runs it
      });
      expect(queries).toHaveLength(0);
      const qs = base.filter({ pages__gt: 100 }).orderBy('pages');
      const rows = await assertNumQueries(1, async () => {
        const first = await qs;
        const again = await qs; // the result cache: no second query
        expect(again).toBe(first);
        return first;
      });
      expect(rows.map((b) => b.pages)).toEqual([120, 200, 320, 450]);
      // The base query set was not changed by chaining.
      expect(await base.count()).toBe(6);
    }));

  test('all, filter, exclude, default ordering (Meta.ordering) and orderBy', () =>
    inTx(async () => {
      const { authors } = await seedLibrary();
      // Meta.ordering (title) applies when no orderBy is given; the order is the database's collation.
      const byDefault = (await Book.objects.all()).map((b) => b.title);
      expect(byDefault).toEqual((await Book.objects.orderBy('title')).map((b) => b.title));
      expect(byDefault).toEqual((await Book.objects.orderBy('-title')).map((b) => b.title).reverse());
      expect(await captureQueries(() => Book.objects.all().fetchAll()).then((r) => r.queries[0]?.sql)).toMatch(
        /order by .orm_book.\..title. asc$/,
      );
      expect(titles(await Book.objects.filter({ author: authors.ann }))).toEqual(['Alpha', 'Beta']);
      expect(titles(await Book.objects.filter({ author: authors.ann.id, pages__gt: 200 }))).toEqual(['Beta']);
      expect(titles(await Book.objects.exclude({ author: authors.ann }))).toEqual(
        ['Epsilon \\ slash', 'Gamma 100%', "Zeta's", 'delta_under'].sort(),
      );
      expect((await Book.objects.orderBy('pages')).map((b) => b.pages)).toEqual([80, 90, 120, 200, 320, 450]);
      expect((await Book.objects.orderBy('-pages', 'title')).map((b) => b.pages)).toEqual([450, 320, 200, 120, 90, 80]);
      // NULLs sort last ascending on PostgreSQL, first on MariaDB and SQLite (as in Django).
      expect((await Book.objects.orderBy('author__age', '-pages')).map((b) => b.pages)).toEqual(
        db.name === 'postgres' ? [320, 120, 450, 80, 200, 90] : [200, 90, 320, 120, 450, 80],
      );
      // Ordering by a relation follows the related model's default ordering (Author: name).
      const byAuthor = await Book.objects.orderBy('author', 'title');
      expect(byAuthor[0]?.authorId).toBe(authors.ann.id);
      // reverse() flips the ordering.
      expect((await Book.objects.orderBy('pages').reverse()).map((b) => b.pages)).toEqual([450, 320, 200, 120, 90, 80]);
    }));

  test('get returns the one match; DoesNotExist and MultipleObjectsReturned are per model and SpoolErrors', () =>
    inTx(async () => {
      const { authors } = await seedLibrary();
      const ann = await Author.objects.get({ email: 'ann@example.com' });
      expect(ann.id).toBe(authors.ann.id);
      expect(ann.initials).toBe('AA');
      const missing = await Author.objects.get({ name: 'Nobody' }).catch((e: unknown) => e);
      expect(missing).toBeInstanceOf(Author.DoesNotExist);
      expect(missing).toBeInstanceOf(ObjectDoesNotExist);
      expect(Author.DoesNotExist.is(missing)).toBe(true);
      expect(Book.DoesNotExist.is(missing)).toBe(false);
      expect(SpoolError.is(missing)).toBe(true);
      expect((missing as Error).message).toBe('Author matching query does not exist.');
      const many = await Book.objects.get({ author: authors.ann }).catch((e: unknown) => e);
      expect(Book.MultipleObjectsReturned.is(many)).toBe(true);
      expect(many).toBeInstanceOf(MultipleObjectsReturned);
      expect((many as Error).message).toBe('get() returned more than one Book -- it returned 2!');
      // get() fetches at most 21 rows to tell.
      const { queries } = await captureQueries(() => Book.objects.get({ pages__gt: 0 }).catch(() => undefined));
      expect(queries[0]?.bindings).toContain(21);
    }));

  test('first and last (ordered, or by primary key), null when empty', () =>
    inTx(async () => {
      await seedLibrary();
      expect((await Book.objects.orderBy('pages').first())?.pages).toBe(80);
      expect((await Book.objects.orderBy('pages').last())?.pages).toBe(450);
      expect((await Author.objects.first())?.name).toBe('Ann Archer');
      const byPk = await Book.objects.orderBy().first();
      const min = Math.min(...(await Book.objects.valuesList('id', { flat: true })));
      expect(byPk?.id).toBe(min);
      expect(await Book.objects.filter({ pages__gt: 10_000 }).first()).toBeNull();
      expect(await Book.objects.filter({ pages__gt: 10_000 }).last()).toBeNull();
    }));

  test('slicing, limit and offset; a slice cannot be filtered', () =>
    inTx(async () => {
      await seedLibrary();
      const ordered = Book.objects.orderBy('pages');
      expect((await ordered.slice(1, 3)).map((b) => b.pages)).toEqual([90, 120]);
      expect((await ordered.limit(2)).map((b) => b.pages)).toEqual([80, 90]);
      expect((await ordered.offset(4)).map((b) => b.pages)).toEqual([320, 450]);
      expect((await ordered.slice(1).slice(1, 2)).map((b) => b.pages)).toEqual([120]);
      expect(await ordered.slice(2, 2)).toEqual([]);
      expect(() => ordered.slice(0, 2).filter({ pages: 1 })).toThrow('Cannot filter a query once a slice has been taken.');
      expect(() => ordered.slice(-1)).toThrow(RangeError);
      expect(await ordered.slice(1, 4).count()).toBe(3);
    }));

  test('distinct, values, valuesList (tuples and flat), count, exists', () =>
    inTx(async () => {
      const { authors } = await seedLibrary();
      const names = await Book.objects
        .filter({ tags__name__in: ['python', 'web'] })
        .values('author__name')
        .distinct()
        .orderBy('author__name');
      expect(names).toEqual([{ author__name: 'Ann Archer' }, { author__name: 'Bob Brown' }]);
      const rows = await Book.objects.filter({ author: authors.ann }).values('title', 'pages').orderBy('title');
      expect(rows).toEqual([
        { title: 'Alpha', pages: 120 },
        { title: 'Beta', pages: 320 },
      ]);
      const all = await Author.objects.filter({ name: 'Dan Drake' }).values();
      expect(all).toEqual([{ id: authors.dan.id, name: 'Dan Drake', email: 'dan@example.com', age: 28, publisherId: null }]);
      const tuples = await Book.objects.filter({ author: authors.ann }).valuesList('title', 'price').orderBy('title');
      expect(tuples).toEqual([
        ['Alpha', '10.50'],
        ['Beta', '25.00'],
      ]);
      const flat = await Book.objects.orderBy('pages').valuesList('pages', { flat: true });
      expect(flat).toEqual([80, 90, 120, 200, 320, 450]);
      expect(await Book.objects.count()).toBe(6);
      expect(await Book.objects.filter({ tags__name: 'python' }).count()).toBe(2);
      expect(await Book.objects.filter({ title: 'nope' }).exists()).toBe(false);
      expect(await Book.objects.filter({ title: 'Alpha' }).exists()).toBe(true);
      expect(() => Book.objects.valuesList('title', 'pages', { flat: true } as never)).toThrow('exactly one field');
    }));

  test('none() and an empty __in run no query', () =>
    inTx(async () => {
      await seedLibrary();
      await assertNumQueries(0, async () => {
        expect(await Book.objects.none()).toEqual([]);
        expect(await Book.objects.filter({ id__in: [] })).toEqual([]);
        expect(await Book.objects.filter({ id__in: [] }).count()).toBe(0);
        expect(await Book.objects.filter({ id__in: [] }).exists()).toBe(false);
      });
    }));

  test('unknown fields and lookups are FieldErrors raised before any SQL, naming model, field and choices', () =>
    inTx(async () => {
      const { queries } = await captureQueries(async () => {
        const e1 = captureError(() => Book.objects.filter({ titel: 'x' } as never));
        expect(FieldError.is(e1)).toBe(true);
        expect((e1 as FieldError).message).toBe(
          "Cannot resolve keyword 'titel' into field of Book. Choices are: author, authorId, editor, editorId, id, pages, pk, price, published, reviews, tags, title.",
        );
        expect((e1 as FieldError).model).toBe('Book');
        expect((e1 as FieldError).field).toBe('titel');
        expect((e1 as FieldError).choices).toContain('title');
        const e2 = captureError(() => Book.objects.filter({ pages__contains: 3 } as never));
        expect((e2 as Error).message).toMatch(
          /^Unsupported lookup 'contains' for IntegerField 'Book.pages' or join on the field not permitted\. Choices are: exact, gt, gte, lt, lte, in, range, isnull\.$/,
        );
        const e3 = captureError(() => Book.objects.filter({ author__nme: 'x' } as never));
        expect((e3 as Error).message).toBe(
          "Cannot resolve keyword 'nme' into field of Author (in 'author__nme'). Choices are: age, books, edited, email, id, name, pk, profile, publisher, publisherId, reviews.",
        );
        expect(captureError(() => Book.objects.orderBy('nope' as never))).toBeInstanceOf(FieldError);
        expect(captureError(() => Book.objects.values('nope' as never))).toBeInstanceOf(FieldError);
        expect(captureError(() => Book.objects.filter({ pages: null, title__isnull: 'yes' } as never))).toBeInstanceOf(FieldError);
        expect(() => Book.objects.filter({ title__startswith: null } as never)).toThrow(
          "Book: null cannot be used as a query value for 'title__startswith' (use isnull: true).",
        );
      });
      expect(queries).toHaveLength(0);
    }));

  test('custom managers narrow the base query set', () =>
    inTx(async () => {
      await seedLibrary();
      class LongBooks extends Manager<Book> {
        override getQuerySet() {
          return super.getQuerySet().filter({ pages__gte: 300 });
        }
      }
      const long = new LongBooks(Book);
      expect(titles(await long.all())).toEqual(['Beta', 'delta_under']);
      expect(await long.count()).toBe(2);
      expect(titles(await long.filter({ title__startswith: 'B' }))).toEqual(['Beta']);
      expect(() => new LongBooks({} as never)).toThrow('Manager() takes a model class (from Model.define()), got object.');
    }));

  test('repeated query shapes reuse the compiled SQL (knex runs once per shape)', () =>
    inTx(async () => {
      await seedLibrary();
      const before = compilerStats();
      for (const n of [100, 200, 300]) await Book.objects.filter({ pages__gt: n, title__icontains: 'a' }).orderBy('pages');
      const after = compilerStats();
      expect(after.misses - before.misses).toBeLessThanOrEqual(1);
      expect(after.hits - before.hits).toBeGreaterThanOrEqual(2);
      // Same shape, different values: same SQL text, different bindings.
      const a = Book.objects.filter({ pages__gt: 1 }).toSQL();
      const b = Book.objects.filter({ pages__gt: 2 }).toSQL();
      expect(a.sql).toBe(b.sql);
      expect(a.bindings).not.toEqual(b.bindings);
      expect(connections.backend('default').vendor).toBeDefined();
    }));
  test('util.inspect shows the class and its fields, never the state symbol, loaded or new, touched or not', () =>
    inTx(async () => {
      await seedLibrary();
      const loaded = await Author.objects.get({ name: 'Ann Archer' });
      const shown = inspect(loaded, { breakLength: Infinity });
      expect(shown).toMatch(/^Author \{ id: \d+, name: 'Ann Archer', email: 'ann@example.com', age: 34, publisherId: \d+ \}$/);
      expect(shown).not.toContain('Symbol');
      // Touched (its state made by a relation read), then saved: the same shape.
      await loaded.$fetch('publisher');
      loaded.age = 35;
      await loaded.$save();
      expect(inspect(loaded, { breakLength: Infinity })).toBe(shown.replace('age: 34', 'age: 35'));
      const fresh = new Author({ name: 'New' });
      expect(inspect(fresh, { breakLength: Infinity })).toBe("Author { id: null, name: 'New', email: null, age: null, publisherId: null }");
      // Nested past the depth limit: the class name only, as util.inspect prints any object there.
      expect(inspect({ a: { b: { c: fresh } } }, { depth: 2, breakLength: Infinity })).toBe('{ a: { b: { c: [Author] } } }');
      expect(inspect({ a: { b: { c: fresh } } }, { depth: 3, breakLength: Infinity })).toContain("c: Author { id: null, name: 'New'");
    }));
});

function captureError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}
