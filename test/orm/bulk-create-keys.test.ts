// bulkCreate() sets the primary keys of the instances it inserts, on every database (issue 9):
// PostgreSQL and MariaDB ≥ 10.5 through INSERT ... RETURNING (Django's
// can_return_rows_from_bulk_insert), SQLite from the last rowid of each INSERT. Django 3.2 sets
// them on PostgreSQL and MariaDB 10.5+ (issue9.bulk_create_sets_pks), not on SQLite.
import { scope } from '@spool/connections';
import { captureQueries } from '@spool/testing';
import { eachDatabase } from '../support/helpers';
import { djangoValue, loadReferenceData } from '../django-reference/reference';
import { Tag } from './models';
import { inTx, useTables } from './support';

/** How each database hands the keys back. */
const KEYS_FROM: Record<string, RegExp> = {
  postgres: /^insert into "orm_tag" .* returning "id"$/i,
  mysql: /^insert into `orm_tag` .* RETURNING `id`$/,
  sqlite: /^insert into `orm_tag` (?!.*returning)/i,
};

eachDatabase('bulkCreate sets primary keys', (db) => {
  useTables(db);
  beforeAll(() => scope(() => loadReferenceData()), 120_000);

  test('two tags: keys set and matching the rows (Django: issue9.bulk_create_sets_pks)', () =>
    inTx(async () => {
      const django = djangoValue<{ pks: (number | null)[]; in_db: string[] }>('issue9.bulk_create_sets_pks', db.name);
      const { result: objs, queries } = await captureQueries(() => Tag.objects.bulkCreate([{ name: 'bulk-a' }, { name: 'bulk-b' }]));
      const inserts = queries.filter((q) => /^insert/i.test(q.sql));
      expect(inserts).toHaveLength(1);
      expect(inserts[0]?.sql).toMatch(KEYS_FROM[db.name] as RegExp);
      const pks = objs.map((o) => o.id);
      // Django leaves them unset on SQLite; Spool sets them there too (a deliberate difference).
      if (django.pks.every((pk) => pk !== null)) expect(pks).toEqual(django.pks);
      else expect(pks).toEqual([11, 12]);
      expect(await Tag.objects.filter({ name__startswith: 'bulk-' }).orderBy('name').valuesList('name', { flat: true })).toEqual(
        django.in_db,
      );
      for (const o of objs) expect((await Tag.objects.get({ pk: o.id })).name).toBe(o.name);
    }));

  test('2,500 tags over three batches, keys in order', () =>
    inTx(async () => {
      const objs = await Tag.objects.bulkCreate(
        Array.from({ length: 2500 }, (_, i) => ({ name: `batch-${String(i).padStart(4, '0')}` })),
        { batchSize: 1000 },
      );
      expect(objs.every((o) => typeof o.id === 'number')).toBe(true);
      expect(new Set(objs.map((o) => o.id)).size).toBe(2500);
      const byId = await Tag.objects.inBulk(objs.map((o) => o.id));
      for (const o of objs) expect(byId.get(o.id)?.name).toBe(o.name);
    }));

  test('5,000 tags: batches of 1,000 rows in one statement shape (a multi-row VALUES list, also on SQLite), keys set', () =>
    inTx(async () => {
      const { result: objs, queries } = await captureQueries(() =>
        Tag.objects.bulkCreate(Array.from({ length: 5000 }, (_, i) => ({ name: `five-${String(i).padStart(4, '0')}` }))),
      );
      const inserts = queries.filter((q) => /^insert/i.test(q.sql));
      expect(inserts).toHaveLength(5);
      expect(new Set(inserts.map((q) => q.sql)).size).toBe(1);
      const sql = inserts[0]?.sql ?? '';
      // One VALUES list of 1,000 rows, not knex's SQLite form (SELECT ... UNION ALL SELECT ..., 500 at most).
      expect(sql).not.toMatch(/union all/i);
      expect(sql.match(/\(\?\)|\(\$\d+\)/g)).toHaveLength(1000);
      expect(objs.every((o) => typeof o.id === 'number')).toBe(true);
      expect(new Set(objs.map((o) => o.id)).size).toBe(5000);
      const byId = await Tag.objects.inBulk(objs.map((o) => o.id));
      for (const o of objs) expect(byId.get(o.id)?.name).toBe(o.name);
    }));

  test('a batch of 10,000 rows is one INSERT where the parameters fit (SQLite: 32,766)', () =>
    inTx(async () => {
      const { result: objs, queries } = await captureQueries(() =>
        Tag.objects.bulkCreate(
          Array.from({ length: 10_000 }, (_, i) => ({ name: `ten-${String(i).padStart(5, '0')}` })),
          { batchSize: 10_000 },
        ),
      );
      expect(queries.filter((q) => /^insert/i.test(q.sql))).toHaveLength(1);
      expect(await Tag.objects.filter({ name__startswith: 'ten-' }).count()).toBe(10_000);
      const last = objs[9999];
      expect((await Tag.objects.get({ pk: last?.id })).name).toBe('ten-09999');
    }));
});
