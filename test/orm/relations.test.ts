// Relations: lookups spanning relations (typed keys and the nested form), Django's multi-valued
// rules, forward and reverse accessors, selectRelated (one query), prefetchRelated (one extra
// query per relation), many-to-many add/remove/set/clear, and no N+1 by accident.
import { FieldError, Prefetch, Q, RelatedNotLoadedError } from '@spool/orm';
import { assertNumQueries, captureQueries } from '@spool/testing';
import { eachDatabase } from '../support/helpers';
import { Author, Book, Category, Profile, Publisher, Tag } from './models';
import { inTx, seedLibrary, titles, useTables } from './support';

eachDatabase('relations', { pgbouncer: true }, (db) => {
  useTables(db);

  test('lookups span forward keys (typed keys and the nested form)', () =>
    inTx(async () => {
      await seedLibrary();
      expect(titles(await Book.objects.filter({ author__name__startswith: 'Ann' }))).toEqual(['Alpha', 'Beta']);
      expect(titles(await Book.objects.filter({ author: { name__startswith: 'Ann' } }))).toEqual(['Alpha', 'Beta']);
      expect(titles(await Book.objects.filter({ author__publisher__name: 'Globex' }))).toEqual(['Gamma 100%', 'delta_under']);
      expect(titles(await Book.objects.filter({ author: { publisher: { name: 'Globex' } } }))).toEqual(['Gamma 100%', 'delta_under']);
      expect(titles(await Book.objects.filter({ author: { publisher: { country__in: ['fr'] } }, pages__gt: 100 }))).toEqual(
        ['Beta', 'Epsilon \\ slash', 'Alpha'].sort(),
      );
      // A key on the related primary key does not join (the foreign key column is compared).
      const { queries } = await captureQueries(() => Book.objects.filter({ author__id: 1, author__in: [1, 2] }).fetchAll());
      expect(queries[0]?.sql).not.toMatch(/join/i);
      expect(() => Book.objects.filter({ author: { nope: 1 } } as never)).toThrow(FieldError);
    }));

  test('lookups span reverse keys and many-to-many in both directions', () =>
    inTx(async () => {
      await seedLibrary();
      expect((await Author.objects.filter({ books__pages__gt: 400 })).map((a) => a.name)).toEqual(['Bob Brown']);
      expect((await Publisher.objects.filter({ authors__books__title: 'Alpha' })).map((p) => p.name)).toEqual(['Acme']);
      expect(titles(await Book.objects.filter({ tags__name: 'db' }))).toEqual(['Beta', 'delta_under']);
      expect((await Tag.objects.filter({ books__author__name: 'Bob Brown' }).distinct()).map((t) => t.name)).toEqual(['db', 'web']);
      expect((await Author.objects.filter({ profile__isnull: true })).length).toBe(4);
    }));

  test('multi-valued relations: filter(a, b) is one related row, filter(a).filter(b) may be two', () =>
    inTx(async () => {
      const { authors } = await seedLibrary();
      // Ann has Alpha (120 pages, 2019) and Beta (320 pages, 2021).
      const same = await Author.objects.filter({ books__pages__gt: 300, books__published__year: 2019 });
      expect(same).toEqual([]);
      const separate = await Author.objects.filter({ books__pages__gt: 300 }).filter({ books__published__year: 2019 });
      expect(separate.map((a) => a.id)).toEqual([authors.ann.id]);
      const { queries } = await captureQueries(() =>
        Author.objects.filter({ books__pages__gt: 300 }).filter({ books__published__year: 2019 }).fetchAll(),
      );
      expect((queries[0]?.sql.match(/join/gi) ?? []).length).toBe(2);
      // The nested form inside one filter() call is one related row too.
      expect(await Author.objects.filter({ books: { pages__gt: 300, published__year: 2019 } })).toEqual([]);
    }));

  test('exclude across a multi-valued relation excludes rows having ANY matching related row (a subquery)', () =>
    inTx(async () => {
      await seedLibrary();
      // Authors with no book over 300 pages (Dan has no books at all, and stays).
      const names = (await Author.objects.exclude({ books__pages__gt: 300 })).map((a) => a.name);
      expect(names.sort()).toEqual(['Dan Drake', 'cat carter'].sort());
      const { queries } = await captureQueries(() => Author.objects.exclude({ books__pages__gt: 300 }).fetchAll());
      expect(queries[0]?.sql).toMatch(/not \(.*\bIN \(select/i);
      // ~Q works the same way.
      expect((await Author.objects.filter(Q.not({ books__pages__gt: 300 }))).length).toBe(2);
      // Books not tagged 'web' (untagged Epsilon and Zeta stay).
      expect(titles(await Book.objects.exclude({ tags__name: 'web' }))).toEqual(
        ['Beta', 'Epsilon \\ slash', "Zeta's", 'delta_under'].sort(),
      );
    }));

  test('forward accessors never query: loaded by selectRelated, $fetch, or assignment; otherwise RelatedNotLoadedError', () =>
    inTx(async () => {
      const { authors } = await seedLibrary();
      const book = await Book.objects.get({ title: 'Alpha' });
      expect(book.authorId).toBe(authors.ann.id);
      expect(() => book.author).toThrow(RelatedNotLoadedError);
      expect(() => book.author).toThrow(
        "Book.author is not loaded. Use selectRelated('author') or prefetchRelated('author') on the query, or await obj.$fetch('author'). (Spool never queries behind a property read.)",
      );
      expect(book.editor).toBeNull(); // a null key needs no query
      const author = await assertNumQueries(1, () => book.$fetch('author'));
      expect(author.name).toBe('Ann Archer');
      expect(book.author.name).toBe('Ann Archer');
      // Assignment sets the key and the cache.
      book.author = authors.bob;
      expect(book.authorId).toBe(authors.bob.id);
      expect(book.author.name).toBe('Bob Brown');
      // Changing the key makes the cached instance stale.
      book.authorId = authors.cat.id;
      expect(() => book.author).toThrow(RelatedNotLoadedError);
    }));

  test('selectRelated follows forward keys in one query (inner joins for required keys, outer for nullable)', () =>
    inTx(async () => {
      await seedLibrary();
      const books = await assertNumQueries(1, async () => {
        const list = await Book.objects.selectRelated('author__publisher', 'editor').orderBy('title');
        return list.map((b) => [b.title, b.author.name, b.author.publisher?.name ?? null, b.editor?.name ?? null]);
      });
      expect(books).toEqual(
        expect.arrayContaining([
          ['Alpha', 'Ann Archer', 'Acme', null],
          ['Beta', 'Ann Archer', 'Acme', 'Bob Brown'],
          ['Gamma 100%', 'Bob Brown', 'Globex', null],
        ]),
      );
      expect(books).toHaveLength(6);
      const { queries } = await captureQueries(() => Book.objects.selectRelated('author__publisher', 'editor').fetchAll());
      const sql = queries[0]?.sql ?? '';
      expect(sql).toMatch(/ inner join .orm_author. on/);
      expect(sql).toMatch(/left outer join .orm_publisher. on/);
      expect(sql).toMatch(/left outer join .orm_author. as .T\d+. on/);
      expect(() => Book.objects.selectRelated('tags' as never)).toThrow(
        "Invalid field name given in selectRelated: 'tags' of 'tags'. Choices on Book are: author, editor. (Reverse and many-to-many relations need prefetchRelated.)",
      );
    }));

  test('the related-instance cache of an instance holds several relations (selectRelated, assignment, prefetch back-references)', () =>
    inTx(async () => {
      await seedLibrary();
      const beta = await Book.objects.selectRelated('author', 'editor').get({ title: 'Beta' });
      expect([beta.$isLoaded('author'), beta.$isLoaded('editor')]).toEqual([true, true]);
      await assertNumQueries(0, async () => expect([beta.author.name, beta.editor?.name]).toEqual(['Ann Archer', 'Bob Brown']));
      // Assigning one relation replaces its entry and keeps the other.
      beta.author = beta.editor as Author;
      await assertNumQueries(0, async () => expect([beta.author.name, beta.editor?.name]).toEqual(['Bob Brown', 'Bob Brown']));
      const alpha = await Book.objects.selectRelated('author').get({ title: 'Alpha' });
      expect([alpha.$isLoaded('author'), alpha.$isLoaded('editor')]).toEqual([true, false]);
      // Prefetched books point back to the very author instance they were fetched for.
      const authors = await Author.objects.prefetchRelated('books').orderBy('name');
      expect(authors.reduce((n, a) => n + a.books.items.length, 0)).toBe(6);
      await assertNumQueries(0, async () => {
        for (const a of authors) for (const b of a.books.items) expect(b.author).toBe(a);
      });
    }));

  test('prefetchRelated: one extra query per relation, with IN; N+1 avoided', () =>
    inTx(async () => {
      await seedLibrary();
      const authors = await assertNumQueries(3, () => Author.objects.prefetchRelated('books', 'books__tags').fetchAll());
      const shape = await assertNumQueries(0, async () =>
        authors.map((a) => [a.name, a.books.items.map((b) => [b.title, b.tags.items.map((t) => t.name).sort()]).sort()]),
      );
      expect(shape).toEqual(
        expect.arrayContaining([
          [
            'Ann Archer',
            [
              ['Alpha', ['python', 'web']],
              ['Beta', ['db', 'python']],
            ],
          ],
          ['Dan Drake', []],
        ]),
      );
      // Prefetched reverse rows know their parent; all() answers from the cache.
      await assertNumQueries(0, async () => {
        const ann = authors.find((a) => a.name === 'Ann Archer')!;
        expect(ann.books.items[0]?.author).toBe(ann);
        expect((await ann.books.all()).length).toBe(2);
      });
      const { queries } = await captureQueries(() => Author.objects.prefetchRelated('books').fetchAll());
      // One IN list, bound as one parameter (an array on PostgreSQL, JSON on SQLite, a list mysql2 writes on MariaDB).
      expect(queries[1]?.sql).toMatch(/\.["`]author_id["`] (= ANY\(\$1\)|in \(select value from json_each\(\?\)\)|in \(\?\))/i);
      // Forward keys and many-to-many from the other side.
      const books = await assertNumQueries(3, () => Book.objects.prefetchRelated('author', 'tags').fetchAll());
      expect(books.every((b) => b.author.name.length > 0)).toBe(true);
      const tags = await assertNumQueries(2, () => Tag.objects.prefetchRelated('books').fetchAll());
      expect(
        tags
          .find((t) => t.name === 'db')!
          .books.items.map((b) => b.title)
          .sort(),
      ).toEqual(['Beta', 'delta_under']);
      // Prefetch with a custom query set into another attribute.
      const withLong = await assertNumQueries(2, () =>
        Author.objects.prefetchRelated(new Prefetch('books', Book.objects.filter({ pages__gt: 300 }), { toAttr: 'longBooks' })).fetchAll(),
      );
      expect((withLong.find((a) => a.name === 'Bob Brown') as unknown as { longBooks: Book[] }).longBooks.map((b) => b.title)).toEqual([
        'delta_under',
      ]);
      await expect(Author.objects.prefetchRelated('nope' as never).fetchAll()).rejects.toThrow(/Cannot find 'nope' on Author object/);
    }));

  test('each loaded instance has its own state: several prefetched lists and relations, its alias, refresh clears its lists', () =>
    inTx(async () => {
      const { authors } = await seedLibrary();
      type Edited = { edited: { items: Book[] } };
      // Two prefetched lists (books and the undeclared 'edited') and a reverse one-to-one per author.
      const list = await assertNumQueries(4, () => Author.objects.prefetchRelated('books', 'edited' as never, 'profile').fetchAll());
      const ann = list.find((a) => a.id === authors.ann.id)!;
      const bob = list.find((a) => a.id === authors.bob.id)!;
      const dan = list.find((a) => a.id === authors.dan.id)!;
      await assertNumQueries(0, async () => {
        expect(titles(ann.books.items)).toEqual(['Alpha', 'Beta']);
        expect(titles((ann as unknown as Edited).edited.items)).toEqual(["Zeta's"]);
        expect(titles(bob.books.items)).toEqual(['Gamma 100%', 'delta_under']);
        expect(titles((bob as unknown as Edited).edited.items)).toEqual(['Beta']);
        expect(dan.books.items).toEqual([]);
        expect([ann.profile, bob.profile]).toEqual([null, null]);
        expect(['books', 'edited', 'profile', 'publisher'].map((n) => ann.$isLoaded(n))).toEqual([true, true, true, false]);
        // Each related row knows its own parent through the key it was found by.
        expect(ann.books.items.every((b) => b.author === ann)).toBe(true);
        expect((ann as unknown as Edited).edited.items[0]!.editor).toBe(ann);
        expect((bob as unknown as Edited).edited.items[0]!.editor).toBe(bob);
        expect(ann.books.items.find((b) => b.title === 'Beta')!.$isLoaded('editor')).toBe(false);
      });
      expect([ann.$state, ann.books.items[0]!.$state]).toEqual([
        { adding: false, db: 'default' },
        { adding: false, db: 'default' },
      ]);
      // Refreshing one author drops its prefetched lists, not another's.
      await ann.$refreshFromDb();
      expect(() => ann.books.items).toThrow(RelatedNotLoadedError);
      expect(() => (ann as unknown as Edited).edited.items).toThrow(RelatedNotLoadedError);
      expect(titles(bob.books.items)).toEqual(['Gamma 100%', 'delta_under']);
      // An instance from a plain query: its state is made on first use; two relations assigned.
      const [beta] = await Book.objects.filter({ title: 'Beta' });
      expect([beta!.$isLoaded('author'), beta!.$isLoaded('editor')]).toEqual([false, false]);
      beta!.author = bob;
      beta!.editor = ann;
      expect([beta!.author, beta!.editor, beta!.authorId, beta!.editorId]).toEqual([bob, ann, bob.id, ann.id]);
      expect(beta!.$state).toEqual({ adding: false, db: 'default' });
      const [other] = await Book.objects.filter({ title: 'Beta' });
      expect(other!.$isLoaded('author')).toBe(false);
    }));

  test('prefetched rows share their back-reference until one is changed: each keeps its own state', () =>
    inTx(async () => {
      const { authors } = await seedLibrary();
      const list = await assertNumQueries(2, () => Author.objects.prefetchRelated('books').fetchAll());
      const ann = list.find((a) => a.id === authors.ann.id)!;
      const bob = list.find((a) => a.id === authors.bob.id)!;
      const [alpha, beta] = [...ann.books.items].sort((x, y) => x.title.localeCompare(y.title)) as [Book, Book];
      expect(titles([alpha, beta])).toEqual(['Alpha', 'Beta']);
      await assertNumQueries(0, async () => {
        // Read (many times, and before any other use of the row's state): the parent, no query.
        for (let i = 0; i < 3; i++) expect(alpha.author === ann && beta.author === ann).toBe(true);
        expect([alpha.$isLoaded('author'), alpha.$isLoaded('editor'), beta.$isLoaded('editor')]).toEqual([true, false, false]);
        expect(() => beta.editor).toThrow(RelatedNotLoadedError);
        // Changing one row's relations leaves its siblings' alone.
        alpha.author = bob;
        beta.editor = bob;
        expect([alpha.author === bob, alpha.authorId, beta.author === ann, beta.authorId]).toEqual([true, bob.id, true, ann.id]);
        expect([alpha.$isLoaded('editor'), beta.editor === bob]).toEqual([false, true]);
        alpha.author = ann;
        // A key changed under the loaded instance: that instance is no longer the answer.
        beta.authorId = bob.id;
        expect(() => beta.author).toThrow(RelatedNotLoadedError);
        expect(alpha.author).toBe(ann);
      });
      expect([alpha.$state, bob.books.items[0]!.$state]).toEqual([
        { adding: false, db: 'default' },
        { adding: false, db: 'default' },
      ]);
      expect(bob.books.items.every((b) => b.author === bob)).toBe(true);
      // A row saved and refreshed still answers from its own state.
      await bob.books.items[0]!.$save();
      expect(bob.books.items[0]!.author).toBe(bob);
      // The same relation prefetched again along a path: the rows' cached parents are replaced, once each.
      const again = await assertNumQueries(3, () => Author.objects.prefetchRelated('books', 'books__author').fetchAll());
      const cat = again.find((a) => a.id === authors.cat.id)!;
      expect(cat.books.items.map((b) => b.author.name)).toEqual(['cat carter', 'cat carter']);
      // Rows of a related manager's query point back to its instance the same way.
      const fresh = await Author.objects.get({ id: authors.bob.id });
      const own = await assertNumQueries(1, () => fresh.books.orderBy('title').fetchAll());
      await assertNumQueries(0, async () => {
        expect(own.length === 2 && own.every((b) => b.author === fresh)).toBe(true);
        own[0]!.author = ann;
        expect([own[0]!.author === ann, own[1]!.author === fresh]).toEqual([true, true]);
      });
      // What another copy of @spool/orm leaves under the state symbol after its prefetch is
      // recognised by its brand (as models and fields are), not by this copy's class.
      class ForeignShared {
        constructor(
          readonly db: string,
          readonly name: string,
          readonly value: unknown,
        ) {}
      }
      Object.defineProperty(ForeignShared.prototype, Symbol.for('spool.orm.sharedRelation'), { value: true });
      const [zeta] = await Book.objects.filter({ title: "Zeta's" });
      (zeta as unknown as Record<symbol, unknown>)[Symbol.for('spool.orm.state')] = new ForeignShared('default', 'author', cat);
      expect([zeta!.author === cat, zeta!.$isLoaded('author'), zeta!.$isLoaded('editor')]).toEqual([true, true, false]);
      zeta!.editor = ann;
      expect([zeta!.author === cat, zeta!.editor === ann]).toEqual([true, true]);
      expect(zeta!.$state).toEqual({ adding: false, db: 'default' });
    }));

  test('N+1 without prefetch is visible: reading a reverse relation needs a query per instance', () =>
    inTx(async () => {
      await seedLibrary();
      const authors = await Author.objects.all();
      expect(() => authors[0]!.books.items).toThrow(RelatedNotLoadedError);
      const { queries } = await captureQueries(async () => {
        for (const a of authors) await a.books.all();
      });
      expect(queries).toHaveLength(authors.length);
    }));

  test('reverse accessors: related managers filter, count and create', () =>
    inTx(async () => {
      const { authors, publishers } = await seedLibrary();
      expect(titles(await authors.bob.books.all())).toEqual(['Gamma 100%', 'delta_under']);
      expect(titles(await authors.bob.books.filter({ pages__gt: 100 }))).toEqual(['delta_under']);
      expect(await authors.ann.books.count()).toBe(2);
      const created = await authors.dan.books.create({ title: 'New' });
      expect(created.authorId).toBe(authors.dan.id);
      expect(await authors.dan.books.count()).toBe(1);
      // Declared reverse relations are typed; undeclared ones exist at run time too (relatedName 'edited').
      expect(titles(await (authors.bob as unknown as { edited: { all(): Promise<Book[]> } }).edited.all())).toEqual(['Beta']);
      const acmeAuthors = await publishers.acme.authors.all();
      expect(acmeAuthors.map((a) => a.name).sort()).toEqual(['Ann Archer', 'cat carter']);
    }));

  test('reverse accessor add/remove/clear/set on a nullable foreign key', () =>
    inTx(async () => {
      const { authors, publishers } = await seedLibrary();
      const acme = publishers.acme;
      await acme.authors.add(authors.dan);
      expect((await acme.authors.all()).map((a) => a.name).sort()).toEqual(['Ann Archer', 'Dan Drake', 'cat carter']);
      await acme.authors.remove(authors.ann);
      expect((await Author.objects.get({ pk: authors.ann.id })).publisherId).toBeNull();
      await acme.authors.set([authors.bob]);
      expect((await acme.authors.all()).map((a) => a.name)).toEqual(['Bob Brown']);
      await acme.authors.clear();
      expect(await acme.authors.all()).toEqual([]);
      // A required key cannot be removed (delete the rows instead).
      await expect(authors.ann.books.remove(await Book.objects.get({ title: 'Alpha' }))).rejects.toThrow(
        'needs Book.author to be nullable',
      );
    }));

  test('many-to-many add (skips existing pairs), remove, set, clear, create, by instance or key', () =>
    inTx(async () => {
      const { books, tags } = await seedLibrary();
      const names = async () => (await books.gamma.tags.all()).map((t) => t.name);
      expect(await names()).toEqual(['web']);
      await books.gamma.tags.add(tags.web, tags.db.id);
      expect(await names()).toEqual(['db', 'web']);
      await books.gamma.tags.remove(tags.web);
      expect(await names()).toEqual(['db']);
      await books.gamma.tags.set([tags.python, tags.web]);
      expect(await names()).toEqual(['python', 'web']);
      const created = await books.gamma.tags.create({ name: 'new' });
      expect(await names()).toEqual(['new', 'python', 'web']);
      expect((await created.books.all()).map((b) => b.title)).toEqual(['Gamma 100%']);
      // From the reverse side.
      await tags.db.books.add(books.alpha);
      expect(titles(await tags.db.books.all())).toEqual(['Alpha', 'Beta', 'delta_under']);
      await books.gamma.tags.clear();
      expect(await names()).toEqual([]);
      await expect(books.gamma.tags.add(books.alpha as never)).rejects.toThrow('Book.tags takes Tag instances, got a Book.');
      const unsaved = new Book({ title: 'x', author: 1 });
      expect(() => unsaved.tags.all()).toThrow(
        'Book instance needs a primary key value before this relationship (tags) can be used: save it first.',
      );
    }));

  test('one-to-one: reverse accessor, selectRelated from the owner side, prefetch and $fetch', () =>
    inTx(async () => {
      const { authors } = await seedLibrary();
      await Profile.objects.create({ author: authors.ann, bio: 'Writes.' });
      const ann = await Author.objects.get({ pk: authors.ann.id });
      expect(() => ann.profile).toThrow(RelatedNotLoadedError);
      expect((await ann.$fetch('profile')).bio).toBe('Writes.');
      expect(ann.profile.bio).toBe('Writes.');
      const [p] = await Profile.objects.selectRelated('author');
      expect(p?.author.name).toBe('Ann Archer');
      const all = await assertNumQueries(2, () => Author.objects.prefetchRelated('profile').fetchAll());
      expect(all.find((a) => a.name === 'Ann Archer')!.profile.bio).toBe('Writes.');
      expect(all.find((a) => a.name === 'Bob Brown')!.profile).toBeNull();
      expect((await Author.objects.filter({ profile__bio__contains: 'Writes' })).map((a) => a.name)).toEqual(['Ann Archer']);
    }));

  test('self-referencing keys: a tree with children, spanning and cascade', () =>
    inTx(async () => {
      const root = await Category.objects.create({ name: 'root' });
      const a = await Category.objects.create({ name: 'a', parent: root });
      await Category.objects.create({ name: 'a1', parent: a });
      await Category.objects.create({ name: 'b', parent: root });
      const children = await (root as unknown as { children: { all(): Promise<Category[]> } }).children.all();
      expect(children.map((c) => c.name).sort()).toEqual(['a', 'b']);
      expect((await Category.objects.filter({ parent__parent__name: 'root' })).map((c) => c.name)).toEqual(['a1']);
      const [withParent] = await Category.objects.filter({ name: 'a1' }).selectRelated('parent__parent');
      expect(withParent?.parent?.parent?.name).toBe('root');
      const [n, per] = await root.$delete();
      expect(n).toBe(4);
      expect(per).toEqual({ Category: 4 });
      expect(await Category.objects.count()).toBe(0);
    }));
});
