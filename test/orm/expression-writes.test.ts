// Expressions on instances (book.pages = F('pages').add(1); await book.$save() updates in SQL, and
// the field then waits for $refreshFromDb()) and bulkUpdate (CASE WHEN pk = ... per field, in
// batches), on three databases.
import { Concat, F, FieldError, Upper, Value } from '@spool/orm';
import { captureQueries } from '@spool/testing';
import { eachDatabase } from '../support/helpers';
import { Author, Book, Sample } from './models';
import { inTx, seedLibrary, useTables } from './support';

eachDatabase('expressions in writes', (db) => {
  useTables(db);

  test('$save() with an expression updates atomically in SQL; the field must be refreshed before it is read', () =>
    inTx(async () => {
      const { books } = await seedLibrary();
      const book = books.alpha;
      // Another writer changes the row meanwhile: the expression reads the database's value.
      await Book.objects.filter({ pk: book.id }).update({ pages: 500 });
      (book as { pages: unknown }).pages = F('pages').add(1);
      book.title = 'Alpha 2';
      const { queries } = await captureQueries(() => book.$save());
      expect(queries).toHaveLength(1);
      expect(queries[0]?.sql).toMatch(/^update /);
      expect(await Book.objects.filter({ pk: book.id }).valuesList('pages', 'title')).toEqual([[501, 'Alpha 2']]);
      expect(() => book.pages).toThrow(
        new FieldError(
          'Book.pages was saved as an expression: its new value is in the database only. Call $refreshFromDb() to read it (or assign a value).',
        ),
      );
      // A later save leaves the field alone (the database has its value).
      book.title = 'Alpha 3';
      await book.$save();
      expect(await Book.objects.filter({ pk: book.id }).valuesList('pages', 'title')).toEqual([[501, 'Alpha 3']]);
      await book.$refreshFromDb();
      expect(book.pages).toBe(501);
      // Functions too; an assignment replaces the pending value.
      (book as { title: unknown }).title = Upper('title');
      await book.$save({ updateFields: ['title'] });
      book.title = 'plain';
      expect(book.title).toBe('plain');
      await book.$save();
      expect(await Book.objects.filter({ pk: book.id }).valuesList('title', { flat: true })).toEqual(['plain']);
      // No expression on insert (Django: F() expressions can only be used to update).
      const fresh = new Book({ title: 'x', author: book.authorId, pages: 1 });
      (fresh as { pages: unknown }).pages = F('pages').add(1);
      await expect(fresh.$save()).rejects.toThrow('Failed to insert an expression in Book.pages');
    }));

  test('bulkUpdate() sets each instance its values with CASE WHEN, in batches, in one transaction', () =>
    inTx(async () => {
      const { books } = await seedLibrary();
      const list = [books.alpha, books.beta, books.gamma];
      books.alpha.pages = 11;
      books.alpha.price = '1.10';
      books.beta.pages = 22;
      books.beta.price = null;
      books.gamma.pages = 33;
      books.gamma.price = '3.30';
      books.gamma.published = '2001-02-03';
      const { result, queries } = await captureQueries(() =>
        Book.objects.bulkUpdate(list, ['pages', 'price', 'published'], { batchSize: 2 }),
      );
      expect(result).toBe(3);
      const updates = queries.filter((q) => /^update/i.test(q.sql));
      expect(updates).toHaveLength(2);
      expect(
        await Book.objects
          .filter({ pk__in: list.map((b) => b.id) })
          .orderBy('id')
          .valuesList('pages', 'price', 'published'),
      ).toEqual([
        [11, '1.10', '2019-03-01'],
        [22, null, '2021-07-15'],
        [33, '3.30', '2001-02-03'],
      ]);
      const sql = updates[0]?.sql;
      if (db.name === 'postgres')
        expect(sql).toBe(
          'update "orm_book" set "pages" = (CASE WHEN "orm_book"."id" = $1 THEN CAST($2 AS bigint) WHEN "orm_book"."id" = $3 THEN CAST($4 AS bigint) ELSE NULL END)::integer, "price" = (CASE WHEN "orm_book"."id" = $5 THEN CAST($6 AS numeric) WHEN "orm_book"."id" = $7 THEN NULL ELSE NULL END)::numeric(8, 2), "published" = (CASE WHEN "orm_book"."id" = $8 THEN $9 WHEN "orm_book"."id" = $10 THEN $11 ELSE NULL END)::date where "orm_book"."id" = ANY($12)',
        );
      else if (db.name === 'mysql')
        expect(sql).toBe(
          'update `orm_book` set `pages` = CASE WHEN `orm_book`.`id` = ? THEN CAST(? AS SIGNED) WHEN `orm_book`.`id` = ? THEN CAST(? AS SIGNED) ELSE NULL END, `price` = CASE WHEN `orm_book`.`id` = ? THEN CAST(? AS DECIMAL(65, 30)) WHEN `orm_book`.`id` = ? THEN NULL ELSE NULL END, `published` = CASE WHEN `orm_book`.`id` = ? THEN ? WHEN `orm_book`.`id` = ? THEN ? ELSE NULL END where `orm_book`.`id` IN (?)',
        );
      // Expressions and foreign keys; text values.
      books.alpha.title = 'A!';
      (books.beta as { title: unknown }).title = Concat('title', new Value('!'));
      books.alpha.author = books.gamma.author;
      books.beta.author = books.gamma.author;
      expect(await Book.objects.bulkUpdate([books.alpha, books.beta], ['title', 'author'])).toBe(2);
      expect(
        await Book.objects
          .filter({ pk__in: [books.alpha.id, books.beta.id] })
          .orderBy('id')
          .valuesList('title', 'author__name'),
      ).toEqual([
        ['A!', 'Bob Brown'],
        ['Beta!', 'Bob Brown'],
      ]);
      // Other field types (booleans, instants, UUIDs, JSON) through the cast PostgreSQL needs.
      const s1 = await Sample.objects.create({ small: 1 });
      const s2 = await Sample.objects.create({ small: 2 });
      s1.flag = true;
      s1.at = new Date('2024-01-02T03:04:05.678Z');
      s1.doc = { n: 1 };
      s2.other = '12345678-1234-5678-1234-567812345678';
      s2.ratio = 0.5;
      await Sample.objects.bulkUpdate([s1, s2], ['flag', 'at', 'doc', 'other', 'ratio']);
      const [r1, r2] = await Sample.objects.orderBy('small').valuesList('flag', 'at', 'doc', 'other', 'ratio');
      expect([r1?.[0], (r1?.[1] as Date).toISOString(), r1?.[2]]).toEqual([true, '2024-01-02T03:04:05.678Z', { n: 1 }]);
      expect([r2?.[0], r2?.[3], r2?.[4]]).toEqual([false, '12345678-1234-5678-1234-567812345678', 0.5]);
      // Refusals, as Django's.
      await expect(Book.objects.bulkUpdate(list, [])).rejects.toThrow('Field names must be given to bulkUpdate().');
      await expect(Book.objects.bulkUpdate(list, ['id'] as never)).rejects.toThrow('bulkUpdate() cannot be used with primary key fields.');
      await expect(Book.objects.bulkUpdate(list, ['tags'] as never)).rejects.toThrow('bulkUpdate() can only be used with concrete fields');
      await expect(Book.objects.bulkUpdate([new Book({ title: 'x', author: books.alpha.authorId })], ['title'])).rejects.toThrow(
        'All bulkUpdate() objects must have a primary key set.',
      );
      await expect(Book.objects.bulkUpdate([await Author.objects.get({ name: 'Dan Drake' })] as never, ['title'])).rejects.toThrow(
        'bulkUpdate() takes Book instances',
      );
      expect(await Book.objects.bulkUpdate([], ['title'])).toBe(0);
    }));
});
