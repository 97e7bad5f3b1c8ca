// Field types: values written and read back with the right JavaScript types on every database;
// defaults, autoNow/autoNowAdd, choices, validators; fullClean with per-field messages; the
// schema editor's DDL per database.
import { atomic, connections, IntegrityError } from '@spool/connections';
import { SchemaEditor, ValidationError } from '@spool/orm';
import { eachDatabase } from '../support/helpers';
import { Author, Book, Publisher, Review, Sample } from './models';
import { inTx, useTables } from './support';

eachDatabase('fields', (db) => {
  useTables(db);

  test('every field type round-trips with its JavaScript type', () =>
    inTx(async () => {
      const at = new Date('2023-04-05T06:07:08.123Z');
      const s = await Sample.objects.create({
        small: -42,
        big: 9007199254740991,
        ratio: 0.125,
        amount: '1234567.891',
        label: 'y',
        body: 'multi\nline \'quoted\' "text" ✓',
        flag: true,
        day: '2024-02-29',
        at,
        doc: { tags: ['a', 'b'], n: 3 },
        other: '00000000-0000-4000-8000-000000000001',
      });
      expect(s.id).toMatch(/^[0-9a-f-]{36}$/);
      const r = await Sample.objects.get({ pk: s.id });
      expect(r.small).toBe(-42);
      expect(r.big).toBe(9007199254740991n);
      expect(r.ratio).toBe(0.125);
      expect(r.amount).toBe('1234567.891');
      expect(r.label).toBe('y');
      expect(r.body).toBe('multi\nline \'quoted\' "text" ✓');
      expect(r.flag).toBe(true);
      expect(r.day).toBe('2024-02-29');
      expect(r.at).toBeInstanceOf(Date);
      expect(r.at?.toISOString()).toBe('2023-04-05T06:07:08.123Z');
      expect(r.touched).toBeInstanceOf(Date);
      expect(Math.abs((r.touched as Date).getTime() - Date.now())).toBeLessThan(60_000);
      expect(r.doc).toEqual({ tags: ['a', 'b'], n: 3 });
      expect(r.other).toBe('00000000-0000-4000-8000-000000000001');
      expect(r.id).toBe(s.id);
      // Defaults and NULLs.
      const d = await Sample.objects.create({});
      const rd = await Sample.objects.get({ pk: d.id });
      expect([rd.small, rd.big, rd.ratio, rd.amount, rd.label, rd.body, rd.flag, rd.day, rd.at, rd.doc, rd.other]).toEqual([
        null,
        null,
        null,
        null,
        'x',
        null,
        false,
        null,
        null,
        null,
        null,
      ]);
      // Filters on each type.
      expect(await Sample.objects.filter({ flag: true }).count()).toBe(1);
      expect(await Sample.objects.filter({ amount__gt: '1000' }).count()).toBe(1);
      expect(await Sample.objects.filter({ day: '2024-02-29' }).count()).toBe(1);
      expect(await Sample.objects.filter({ at }).count()).toBe(1);
      expect(await Sample.objects.filter({ doc__isnull: false }).count()).toBe(1);
      expect(await Sample.objects.filter({ big__gte: 9007199254740990 }).count()).toBe(1);
      // values() converts too.
      const [v] = await Sample.objects.filter({ pk: s.id }).values('flag', 'day', 'at', 'doc', 'amount');
      expect(v).toEqual({ flag: true, day: '2024-02-29', at, doc: { tags: ['a', 'b'], n: 3 }, amount: '1234567.891' });
    }));

  test('autoNow updates on every save, autoNowAdd only on insert', () =>
    inTx(async () => {
      const s = await Sample.objects.create({ small: 1 });
      const first = s.touched;
      await new Promise((r) => setTimeout(r, 15));
      s.small = 2;
      await s.$save();
      expect(s.touched.getTime()).toBeGreaterThan(first.getTime());
      const a = await Author.objects.create({ name: 'A' });
      const b = await Book.objects.create({ title: 'T', author: a });
      const r = await Review.objects.create({ book: b, reviewer: a, rating: 1 });
      const created = r.created;
      r.rating = 2;
      await r.$save();
      expect(r.created).toBe(created);
    }));

  test('fullClean validates every field and reports messages per field', () =>
    inTx(async () => {
      const bad = new Author({ name: 'x'.repeat(101), age: 200, email: 'e@x' });
      const err = await bad.$fullClean().catch((e: unknown) => e);
      expect(ValidationError.is(err)).toBe(true);
      const v = err as ValidationError;
      expect(v.messageDict).toEqual({
        name: ['Ensure this value has at most 100 characters (it has 101).'],
        age: ['Ensure this value is less than or equal to 150.'],
      });
      expect(v.model).toBe('Author');
      const p = new Publisher({ name: 'P', country: 'de' as never });
      await expect(p.$fullClean()).rejects.toThrow('country: Value "de" is not a valid choice. Valid choices: "fr", "uk", "us".');
      // Uniqueness is checked against the database.
      await Publisher.objects.create({ name: 'Taken' });
      const dup = new Publisher({ name: 'Taken' });
      const e2 = (await dup.$fullClean().catch((e: unknown) => e)) as ValidationError;
      expect(e2.messageDict).toEqual({ name: ['Publisher with this name already exists.'] });
      // Wrong types are converted or reported.
      const s = new Sample({ small: '12' as never, day: 'not a date' as never, amount: '1.23456' });
      const e3 = (await s.$fullClean().catch((e: unknown) => e)) as ValidationError;
      expect(Object.keys(e3.errors).sort()).toEqual(['amount', 'day']);
      expect(s.small).toBe(12);
      expect(e3.messageDict.day).toEqual(['"not a date" value has an invalid date format. It must be in YYYY-MM-DD format.']);
      expect(e3.messageDict.amount).toEqual(['Ensure that there are no more than 3 decimal places.']);
      await new Author({ name: 'Fine', age: 30 }).$fullClean();
    }));

  test('the schema editor creates tables, indexes and constraints per database', () =>
    inTx(async () => {
      const editor = new SchemaEditor();
      const sql = editor.sqlCreateModels([Book]);
      const q = (n: string) => (db.name === 'mysql' ? `\`${n}\`` : `"${n}"`);
      const create = sql[0] as string;
      const pk: Record<string, string> = {
        postgres: `${q('id')} integer NOT NULL PRIMARY KEY GENERATED BY DEFAULT AS IDENTITY`,
        mysql: `${q('id')} integer AUTO_INCREMENT NOT NULL PRIMARY KEY`,
        sqlite: `${q('id')} integer NOT NULL PRIMARY KEY AUTOINCREMENT`,
      };
      expect(
        create.startsWith(
          `CREATE TABLE ${q('orm_book')} (${pk[db.name]}, ${q('title')} varchar(200) NOT NULL, ${q('pages')} integer NOT NULL, `,
        ),
      ).toBe(true);
      const priceType: Record<string, string> = { postgres: 'numeric(8, 2)', mysql: 'numeric(8, 2)', sqlite: 'decimal' };
      expect(create).toContain(`${q('price')} ${priceType[db.name]} NULL`);
      expect(sql).toContain(`CREATE INDEX ${q('orm_book_pub_title_idx')} ON ${q('orm_book')} (${q('published')} DESC, ${q('title')})`);
      // dbIndex: an index on the column.
      expect(
        editor
          .sqlCreateModels([Author])
          .some((s) =>
            new RegExp(
              `^CREATE INDEX ${q('orm_author_age_[0-9a-f]{8}_idx')} ON ${q('orm_author')} \\(${q('age')}\\)$`.replace(/[`"]/g, (m) => m),
            ).test(s),
          ),
      ).toBe(true);
      // The auto-created many-to-many table.
      expect(sql.some((s) => s.startsWith(`CREATE TABLE ${q('orm_book_tags')} (`))).toBe(true);
      if (db.name === 'sqlite')
        expect(create).toContain(
          `${q('author_id')} integer NOT NULL REFERENCES ${q('orm_author')} (${q('id')}) DEFERRABLE INITIALLY DEFERRED`,
        );
      else
        expect(
          sql.some(
            (s) =>
              s.startsWith(`ALTER TABLE ${q('orm_book')} ADD CONSTRAINT`) &&
              s.includes(`FOREIGN KEY (${q('author_id')}) REFERENCES ${q('orm_author')} (${q('id')})`),
          ),
        ).toBe(true);
      // The tables exist (the suite created them with the editor): the database knows the columns.
      const rows = await connections.query(
        'default',
        db.name === 'sqlite'
          ? `SELECT name FROM pragma_table_info('orm_sample')`
          : db.name === 'postgres'
            ? `SELECT column_name AS name FROM information_schema.columns WHERE table_name = 'orm_sample'`
            : `SELECT column_name AS name FROM information_schema.columns WHERE table_name = 'orm_sample' AND table_schema = DATABASE()`,
        [],
      );
      expect(rows.rows.map((r) => (r as { name: string }).name ?? (r as { NAME: string }).NAME).sort()).toEqual(
        ['amount', 'at', 'big', 'body', 'day', 'doc', 'flag', 'id', 'label', 'other', 'ratio', 'small', 'touched'].sort(),
      );
    }));

  test('unique together from model options is enforced by the database', () =>
    inTx(async () => {
      await Sample.objects.create({ small: 1, label: 'x' });
      await Sample.objects.create({ small: 1, label: 'y' });
      const err = await atomic(() => Sample.objects.create({ small: 1, label: 'x' })).catch((e: unknown) => e);
      expect(IntegrityError.is(err)).toBe(true);
    }));
});
