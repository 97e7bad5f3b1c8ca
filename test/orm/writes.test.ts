// Writing: create, save (insert or update, updateFields), bulkCreate in batches, getOrCreate,
// updateOrCreate, update, delete with onDelete (cascade, protect, restrict, set null), inBulk,
// iterator in chunks, selectForUpdate, IntegrityError with the constraint name, transactions.
import { atomic, connections, IntegrityError, scope, TransactionManagementError } from '@spool/connections';
import { FieldError, ProtectedError, RestrictedError, SpoolError } from '@spool/orm';
import { assertNumQueries, captureQueries } from '@spool/testing';
import { eachDatabase } from '../support/helpers';
import { Author, Book, Profile, Publisher, Review, Tag } from './models';
import { inTx, seedLibrary, useTables } from './support';

eachDatabase('writes', { pgbouncer: true }, (db) => {
  useTables(db);

  test('create and save: INSERT sets the key; save again UPDATEs; updateFields limits the UPDATE', () =>
    inTx(async () => {
      const pub = await Publisher.objects.create({ name: 'Pub' });
      const a = new Author({ name: 'Eve', publisher: pub });
      expect(a.id).toBeNull();
      expect(a.$state.adding).toBe(true);
      const inserted = await captureQueries(() => a.$save());
      expect(inserted.queries).toHaveLength(1);
      expect(inserted.queries[0]?.sql).toMatch(/^insert into/);
      expect(typeof a.id).toBe('number');
      expect(a.$state).toEqual({ adding: false, db: 'default' });
      expect(a.$pk).toBe(a.id);
      a.name = 'Eve Evans';
      a.age = 40;
      const updated = await captureQueries(() => a.$save({ updateFields: ['name'] }));
      expect(updated.queries).toHaveLength(1);
      expect(updated.queries[0]?.sql).toMatch(/^update .orm_author. set .name. = /);
      const fresh = await Author.objects.get({ pk: a.id });
      expect([fresh.name, fresh.age, fresh.publisherId]).toEqual(['Eve Evans', null, pub.id]);
      await a.$save();
      expect((await Author.objects.get({ pk: a.id })).age).toBe(40);
      // save() with a key that has no row inserts it (Django's save semantics).
      const b = new Author({ name: 'Ghost' });
      b.id = 987654;
      await b.$save();
      expect((await Author.objects.get({ pk: 987654 })).name).toBe('Ghost');
      await expect(new Author({ name: 'x' }).$save({ forceUpdate: true })).rejects.toThrow(
        'cannot force an update in save() with no primary key',
      );
      b.id = 987655;
      await expect(b.$save({ updateFields: ['name'] })).rejects.toThrow('Author: save with updateFields did not affect any rows.');
    }));

  test('instances refuse unknown fields and unsaved related objects; refreshFromDb reloads', () =>
    inTx(async () => {
      expect(() => new Author({ nmae: 'x' } as never)).toThrow(
        "Author() got an unexpected field 'nmae'. Valid fields: id, name, email, age, publisher, publisherId.",
      );
      const unsaved = new Author({ name: 'U' });
      const book = new Book({ title: 'B', author: unsaved });
      await expect(book.$save()).rejects.toThrow(
        "save() prohibited to prevent data loss due to unsaved related object 'author' (Author): save it first.",
      );
      await unsaved.$save();
      await book.$save();
      expect(book.authorId).toBe(unsaved.id);
      await Book.objects.filter({ pk: book.id }).update({ title: 'Changed', pages: 7 });
      expect(book.title).toBe('B');
      await book.$refreshFromDb({ fields: ['title'] });
      expect([book.title, book.pages]).toEqual(['Changed', 100]);
      await book.$refreshFromDb();
      expect(book.pages).toBe(7);
    }));

  test('bulkCreate inserts in batches inside one transaction; keys set on every database', () =>
    inTx(async () => {
      const a = await Author.objects.create({ name: 'Bulk' });
      const objs = Array.from({ length: 25 }, (_, i) => new Book({ title: `B${i}`, pages: i, author: a }));
      const { queries } = await captureQueries(() => Book.objects.bulkCreate(objs, { batchSize: 10 }));
      expect(queries.filter((q) => /^insert/i.test(q.sql))).toHaveLength(3);
      expect(await Book.objects.filter({ author: a }).count()).toBe(25);
      // Keys on every database: RETURNING (PostgreSQL, MariaDB ≥ 10.5) or the last rowid (SQLite).
      const ids = objs.map((o) => o.id);
      expect(new Set(ids).size).toBe(25);
      const stored = await Book.objects.filter({ author: a }).orderBy('pages').valuesList('id', { flat: true });
      expect(ids).toEqual(stored);
      // Plain objects are accepted too; ignoreConflicts skips duplicates.
      await Tag.objects.bulkCreate([{ name: 't1' }, { name: 't2' }]);
      await Tag.objects.bulkCreate([{ name: 't1' }, { name: 't3' }], { ignoreConflicts: true });
      expect((await Tag.objects.filter({ name__startswith: 't' })).map((t) => t.name)).toEqual(['t1', 't2', 't3']);
      await expect(Tag.objects.bulkCreate([{ name: 't1' }])).rejects.toThrow(IntegrityError);
    }));

  test('getOrCreate and updateOrCreate', () =>
    inTx(async () => {
      const [p1, created1] = await Publisher.objects.getOrCreate({ name: 'Nova' }, { country: 'us' });
      expect(created1).toBe(true);
      expect(p1.country).toBe('us');
      const [p2, created2] = await Publisher.objects.getOrCreate({ name: 'Nova' }, { country: 'fr' });
      expect(created2).toBe(false);
      expect(p2.id).toBe(p1.id);
      expect(p2.country).toBe('us');
      const [p3, created3] = await Publisher.objects.updateOrCreate({ name: 'Nova' }, { country: 'uk' });
      expect(created3).toBe(false);
      expect(p3.id).toBe(p1.id);
      expect((await Publisher.objects.get({ name: 'Nova' })).country).toBe('uk');
      const [p4, created4] = await Publisher.objects.updateOrCreate({ name: 'Vega' }, { country: 'fr' });
      expect(created4).toBe(true);
      expect(p4.country).toBe('fr');
    }));

  test('IntegrityError from the database carries the constraint name; the transaction can go on after a savepoint', () =>
    inTx(async () => {
      await Publisher.objects.create({ name: 'Dup' });
      const err = await atomic(() => Publisher.objects.create({ name: 'Dup' })).catch((e: unknown) => e);
      expect(IntegrityError.is(err)).toBe(true);
      expect(SpoolError.is(err)).toBe(true);
      const constraint = (err as IntegrityError).constraint;
      if (db.name === 'sqlite') expect(constraint).toBe('orm_publisher.name');
      else expect(constraint).toMatch(/^orm_publisher_name_[0-9a-f]{8}_uniq$/);
      // The named constraint of a model's options.
      const [a, b] = [await Author.objects.create({ name: 'R1' }), await Author.objects.create({ name: 'R2' })];
      const book = await Book.objects.create({ title: 'RB', author: a });
      await Review.objects.create({ book, reviewer: b, rating: 5 });
      const err2 = await atomic(() => Review.objects.create({ book, reviewer: b, rating: 4 })).catch((e: unknown) => e);
      expect(IntegrityError.is(err2)).toBe(true);
      expect((err2 as IntegrityError).constraint).toBe(
        db.name === 'sqlite' ? 'orm_review.book_id, orm_review.reviewer_id' : 'orm_review_one_per_reviewer',
      );
      expect(await Publisher.objects.count()).toBe(1);
    }));

  test('update() returns the number of rows matched, even when values do not change', () =>
    inTx(async () => {
      await seedLibrary();
      expect(await Book.objects.filter({ pages__gt: 100 }).update({ pages: 320 })).toBe(4);
      expect(await Book.objects.filter({ pages: 320 }).update({ pages: 320 })).toBe(4);
      expect(await Book.objects.filter({ title: 'none' }).update({ pages: 1 })).toBe(0);
      await expect(() => Book.objects.slice(0, 1).update({ pages: 1 })).rejects.toThrow(
        'Cannot update a query once a slice has been taken.',
      );
    }));

  test('delete cascades per onDelete, in one transaction, and reports counts per model', () =>
    inTx(async () => {
      const { authors, publishers } = await seedLibrary();
      await Profile.objects.create({ author: authors.cat });
      // cat has 2 books (Epsilon, Zeta), Zeta is edited by Ann (protect, but Ann is not deleted).
      const [n, per] = await authors.cat.$delete();
      expect(per).toEqual({ Book: 2, Author: 1, Profile: 1 });
      expect(n).toBe(4);
      expect(authors.cat.id).toBeNull();
      expect(await Book.objects.count()).toBe(4);
      // setNull: deleting a publisher keeps its authors, with no publisher.
      await publishers.acme.$delete();
      expect((await Author.objects.get({ pk: authors.ann.id })).publisherId).toBeNull();
      // Many-to-many rows go with their owner.
      const [, per2] = await Book.objects.filter({ title: 'Alpha' }).delete();
      expect(per2).toEqual({ Book_tags: 2, Book: 1 });
      // A query set delete of a model without dependents is one statement (no SELECT first).
      const { result, queries } = await captureQueries(() => Review.objects.filter({ rating__gt: 100 }).delete());
      expect(result).toEqual([0, {}]);
      expect(queries.map((q) => q.sql.split(' ')[0])).toEqual(['delete']);
      // With dependents, the keys are selected first, then each table is deleted.
      const tagDelete = await captureQueries(() => Tag.objects.filter({ name: 'nothing' }).delete());
      expect(tagDelete.queries.map((q) => q.sql.split(' ')[0])).toEqual(['select']);
    }));

  test('protect and restrict refuse the delete and leave everything in place', () =>
    inTx(async () => {
      const { authors, books } = await seedLibrary();
      // Bob edits Beta (protect): deleting Bob is refused.
      const err = await atomic(() => authors.bob.$delete()).catch((e: unknown) => e);
      expect(ProtectedError.is(err)).toBe(true);
      expect(IntegrityError.is(err)).toBe(true);
      expect((err as Error).message).toBe(
        "Cannot delete some instances of model 'Author' because they are referenced through protected foreign keys: 'Book.editor' (Book(" +
          books.beta.id +
          ')).',
      );
      expect(await Author.objects.filter({ pk: authors.bob.id }).exists()).toBe(true);
      // Review.book is restrict: a reviewed book cannot be deleted on its own...
      await Review.objects.create({ book: books.alpha, reviewer: authors.dan, rating: 3 });
      const err2 = await atomic(() => books.alpha.$delete()).catch((e: unknown) => e);
      expect(RestrictedError.is(err2)).toBe(true);
      expect((err2 as Error).message).toMatch(
        /^Cannot delete some instances of model 'Book' because they are referenced through restricted foreign keys: 'Review.book'/,
      );
      // ...but it can when the review goes in the same delete through a cascade (Dan's reviews cascade from Dan).
      const ann = authors.ann;
      await Book.objects.filter({ editor: ann }).update({ editor: null });
      await Review.objects.filter({ reviewer: authors.dan }).update({ reviewer: ann });
      const [, per] = await ann.$delete();
      expect(per.Review).toBe(1);
      expect(per.Book).toBe(2);
    }));

  test('inBulk and iterator (keyset chunks, or offsets when ordered otherwise)', () =>
    inTx(async () => {
      const { books } = await seedLibrary();
      const map = await Book.objects.inBulk([books.alpha.id, books.beta.id, 999999]);
      expect([...map.keys()].sort()).toEqual([books.alpha.id, books.beta.id].sort());
      expect(map.get(books.alpha.id)?.title).toBe('Alpha');
      const byTitle = await Book.objects.inBulk(['Alpha' as never], { fieldName: 'title' as never }).catch((e: unknown) => e);
      expect(FieldError.is(byTitle)).toBe(true);
      const seen: string[] = [];
      const { queries } = await captureQueries(async () => {
        for await (const b of Book.objects.orderBy('pk').iterator({ chunkSize: 4 })) seen.push(b.title);
      });
      expect(seen).toHaveLength(6);
      expect(queries).toHaveLength(2);
      expect(queries[1]?.sql).toMatch(/\.(id|`id`|"id") > /);
      const byPages: number[] = [];
      for await (const b of Book.objects.orderBy('-pages').iterator({ chunkSize: 4 })) byPages.push(b.pages);
      expect(byPages).toEqual([450, 320, 200, 120, 90, 80]);
      const flat: number[] = [];
      for await (const p of Book.objects.orderBy('pages').valuesList('pages', { flat: true }).iterator({ chunkSize: 5 })) flat.push(p);
      expect(flat).toEqual([80, 90, 120, 200, 320, 450]);
    }));

  test('selectForUpdate locks inside atomic, and is refused outside a transaction where the database locks rows', async () => {
    await scope(async () => {
      const pub = await Publisher.objects.create({ name: `Lock${Date.now()}` });
      try {
        const locked = await atomic(async () => {
          const { result, queries } = await captureQueries(() => Publisher.objects.filter({ pk: pub.id }).selectForUpdate().fetchAll());
          if (connections.backend('default').features.hasSelectForUpdate) expect(queries[0]?.sql).toMatch(/for update$/);
          return result;
        });
        expect(locked).toHaveLength(1);
        const outside = Publisher.objects.filter({ pk: pub.id }).selectForUpdate().fetchAll();
        if (db.name === 'sqlite') await expect(outside).resolves.toHaveLength(1);
        else {
          await expect(outside).rejects.toThrow(TransactionManagementError);
          await expect(Publisher.objects.selectForUpdate().fetchAll()).rejects.toThrow(
            'selectForUpdate() on Publisher cannot be used outside of a transaction',
          );
        }
      } finally {
        await pub.$delete();
      }
    });
  });

  test('every query of a scope runs inside its atomic() block: a rollback undoes ORM writes', async () => {
    await scope(async () => {
      await atomic(async () => {
        await Publisher.objects.create({ name: 'RolledBack' });
        expect(await Publisher.objects.filter({ name: 'RolledBack' }).exists()).toBe(true);
        throw new Error('undo');
      }).catch(() => undefined);
      expect(await Publisher.objects.filter({ name: 'RolledBack' }).exists()).toBe(false);
      await assertNumQueries(0, async () => undefined);
    });
  });
});
