// prefetchRelated's walk over its lookups and their levels (a chain of promises, one per level):
// a level with no instances ends its path and the next lookup still runs, a shared prefix is
// fetched once, a failure at any level rejects the query set, and the lists answer as before.
import { Prefetch } from '@spool/orm';
import { assertNumQueries, captureQueries } from '@spool/testing';
import { eachDatabase } from '../support/helpers';
import { Author, Book } from './models';
import { inTx, seedLibrary, useTables } from './support';

eachDatabase('prefetch walk', (db) => {
  useTables(db);

  test('an empty level ends its path only: the next lookups still run', () =>
    inTx(async () => {
      await seedLibrary();
      // Dan has no books: no tags query, then the profile query.
      const [dan] = await assertNumQueries(3, () =>
        Author.objects.filter({ name: 'Dan Drake' }).prefetchRelated('books__tags', 'profile', 'books').fetchAll(),
      );
      expect(dan?.books.items).toEqual([]);
      expect(dan?.profile).toBeNull();
      // No main rows: no extra query at all.
      expect(await assertNumQueries(1, () => Author.objects.filter({ name: 'nobody' }).prefetchRelated('books__tags').fetchAll())).toEqual(
        [],
      );
    }));

  test('a shared prefix is fetched once; deeper levels and a custom Prefetch after it', () =>
    inTx(async () => {
      await seedLibrary();
      const authors = await assertNumQueries(5, () =>
        Author.objects
          .prefetchRelated(
            'books',
            'books__tags',
            'books__author',
            new Prefetch('books', Book.objects.filter({ pages__gt: 300 }).orderBy('title'), { toAttr: 'longBooks' }),
          )
          .fetchAll(),
      );
      // Sorted here: the databases' collations order mixed case differently.
      const byName = (x: readonly unknown[], y: readonly unknown[]) => (String(x[0]) < String(y[0]) ? -1 : 1);
      const shape = authors.map((a) => [
        a.name,
        a.books.items.map((b) => [b.title, b.author.name === a.name, b.tags.items.map((t) => t.name).sort()] as const).sort(byName),
        (a as unknown as { longBooks: Book[] }).longBooks.map((b) => b.title),
      ]);
      shape.sort(byName);
      expect(shape).toEqual([
        [
          'Ann Archer',
          [
            ['Alpha', true, ['python', 'web']],
            ['Beta', true, ['db', 'python']],
          ],
          ['Beta'],
        ],
        [
          'Bob Brown',
          [
            ['Gamma 100%', true, ['web']],
            ['delta_under', true, ['db']],
          ],
          ['delta_under'],
        ],
        ['Dan Drake', [], []],
        [
          'cat carter',
          [
            ['Epsilon \\ slash', true, []],
            ["Zeta's", true, []],
          ],
          [],
        ],
      ]);
    }));

  test("a Prefetch's query set with prefetches of its own, and a many-to-many level after it", () =>
    inTx(async () => {
      await seedLibrary();
      // The Prefetch's own tags, then the path's levels: its tags level is not the Prefetch's (not
      // shared), so tags are read again, then their books.
      const authors = await assertNumQueries(5, () =>
        Author.objects
          .filter({ name__in: ['Ann Archer', 'Bob Brown'] })
          .prefetchRelated(new Prefetch('books', Book.objects.filter({ pages__gt: 100 }).prefetchRelated('tags')), 'books__tags__books')
          .fetchAll(),
      );
      const shape = authors
        .map((a) => [
          a.name,
          a.books.items.map((b) => [b.title, b.tags.items.map((t) => [t.name, t.books.items.map((x) => x.title).sort()]).sort()]).sort(),
        ])
        .sort();
      expect(shape).toEqual([
        [
          'Ann Archer',
          [
            [
              'Alpha',
              [
                ['python', ['Alpha', 'Beta']],
                ['web', ['Alpha', 'Gamma 100%']],
              ],
            ],
            [
              'Beta',
              [
                ['db', ['Beta', 'delta_under']],
                ['python', ['Alpha', 'Beta']],
              ],
            ],
          ],
        ],
        ['Bob Brown', [['delta_under', [['db', ['Beta', 'delta_under']]]]]],
      ]);
    }));

  test('a failure at a deeper level or a later lookup rejects the query set', () =>
    inTx(async () => {
      await seedLibrary();
      const { queries } = await captureQueries(async () => {
        await expect(Author.objects.prefetchRelated('books', 'books__nope' as never).fetchAll()).rejects.toThrow(
          /Cannot find 'nope' on Book object, 'books__nope' is an invalid parameter/,
        );
      });
      // The main query and the books, then the failure (before any query of its own).
      expect(queries.length).toBe(2);
      await expect(Author.objects.prefetchRelated('nope' as never, 'books').fetchAll()).rejects.toThrow(/Cannot find 'nope'/);
      // Forward keys with NULLs and duplicates: one query, each book its author or null.
      const books = await assertNumQueries(2, () => Book.objects.prefetchRelated('editor').fetchAll());
      expect(books.map((b) => [b.title, b.editor?.name ?? null]).sort()).toEqual([
        ['Alpha', null],
        ['Beta', 'Bob Brown'],
        ['Epsilon \\ slash', null],
        ['Gamma 100%', null],
        ["Zeta's", 'Ann Archer'],
        ['delta_under', null],
      ]);
    }));
});
