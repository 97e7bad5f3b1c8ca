// JSON fields (issue 10): key and index paths in filter(), values() and orderBy(); contains,
// contained_by, has_key, has_keys, has_any_keys; JSON null versus SQL NULL as Django 3.2.
import { NotSupportedError } from '@spool/connections';
import { JSONField, Model, Value, type Manager } from '@spool/orm';
import { captureQueries } from '@spool/testing';
import { eachDatabase } from '../support/helpers';
import { inTx, useTables } from './support';

type Data = { owner?: { name: string; age?: number } | null; tags?: string[]; n?: number | null };

class Doc extends Model.define(
  {
    data: new JSONField<Data | null>({ null: true }),
  },
  { dbTable: 'orm_json_doc' },
) {
  declare static objects: Manager<Doc>;
}

/** d1..d6: keys, an array, a null key, a null value, the JSON null document, SQL NULL. */
async function seed() {
  const d1 = await Doc.objects.create({ data: { owner: { name: 'Ann', age: 30 }, tags: ['a', 'b'], n: 1 } });
  const d2 = await Doc.objects.create({ data: { owner: { name: 'Bob' }, tags: ['b'], n: 2 } });
  const d3 = await Doc.objects.create({ data: { owner: null, tags: [], n: 10 } });
  const d4 = await Doc.objects.create({ data: { n: null } });
  const d5 = await Doc.objects.create({ data: null });
  await Doc.objects.filter({ pk: d5.id }).update({ data: new Value('null') as never }); // the JSON null document
  const d6 = await Doc.objects.create({ data: null }); // SQL NULL
  return { d1, d2, d3, d4, d5, d6 };
}

eachDatabase('JSON fields', (db) => {
  useTables(db, [Doc]);

  test('key and index paths in filter(), JSON null versus SQL NULL (Django 3.2)', () =>
    inTx(async () => {
      const d = await seed();
      const ids = async (filter: Parameters<typeof Doc.objects.filter>[0]) =>
        (await Doc.objects.filter(filter).orderBy('id')).map((x) => Object.entries(d).find(([, v]) => v.id === x.id)?.[0]);
      expect(await ids({ data__owner__name: 'Ann' })).toEqual(['d1']);
      expect(await ids({ data__tags__0: 'b' })).toEqual(['d2']);
      expect(await ids({ data__tags__1: 'b' })).toEqual(['d1']);
      expect(await ids({ data__n: 10 })).toEqual(['d3']);
      expect(await ids({ data__owner: { name: 'Bob' } })).toEqual(['d2']);
      expect(await ids({ data__tags: [] })).toEqual(['d3']);
      // A key holding JSON null; a missing key (or no document); the JSON null document; SQL NULL.
      expect(await ids({ data__n: null })).toEqual(['d4']);
      expect(await ids({ data__owner: null })).toEqual(['d3']);
      expect(await ids({ data__n__isnull: true })).toEqual(['d5', 'd6']);
      expect(await ids({ data__n__isnull: false })).toEqual(['d1', 'd2', 'd3', 'd4']);
      expect(await ids({ data__owner__age__isnull: false })).toEqual(['d1']);
      expect(await ids({ data: null })).toEqual(['d5']);
      expect(await ids({ data__isnull: true })).toEqual(['d6']);
      expect(await ids({ data__isnull: false })).toEqual(['d1', 'd2', 'd3', 'd4', 'd5']);
      // Keys: has_key (Django's name or hasKey), has_keys (all), has_any_keys (any), under a key path too.
      expect(await ids({ data__has_key: 'owner' })).toEqual(['d1', 'd2', 'd3']);
      expect(await ids({ data__hasKey: 'n' })).toEqual(['d1', 'd2', 'd3', 'd4']);
      expect(await ids({ data__has_keys: ['owner', 'tags', 'n'] })).toEqual(['d1', 'd2', 'd3']);
      expect(await ids({ data__hasAnyKeys: ['tags', 'nope'] })).toEqual(['d1', 'd2', 'd3']);
      expect(await ids({ data__owner__has_key: 'age' })).toEqual(['d1']);
      expect(await ids({ data__tags__has_key: '1' })).toEqual(['d1']);
      // Negation keeps Django's answer (SQL NULL documents stay out of `data__n: 1`).
      // Django 3.2 writes NOT (key = v AND data IS NOT NULL): a document without the key (or whose
      // key is JSON null) compares as NULL and stays out; an SQL NULL document is in (json.null_semantics
      // exclude_key_n_1 in the reference catalogue is Django's own answer to the same shape).
      const excluded = await Doc.objects.exclude({ data__owner__name: 'Ann' }).orderBy('id');
      expect(excluded.map((x) => Object.entries(d).find(([, v]) => v.id === x.id)?.[0])).toEqual(['d2', 'd6']);
      const { queries } = await captureQueries(() => Doc.objects.filter({ data__owner__name: 'Ann' }).fetchAll());
      const sql = queries[0]?.sql ?? '';
      if (db.name === 'postgres') expect(sql).toContain('where ("orm_json_doc"."data" #> $1::text[]) = $2::jsonb');
      else if (db.name === 'mysql') expect(sql).toContain('where JSON_EQUALS(JSON_EXTRACT(`orm_json_doc`.`data`, ?), ?) = 1');
      else expect(sql).toContain("where JSON_EXTRACT(`orm_json_doc`.`data`, ?) = JSON_EXTRACT(?, '$')");
      expect(queries[0]?.bindings[0]).toEqual(db.name === 'postgres' ? '{"owner","name"}' : '$."owner"."name"');
    }));

  test('contains and contained_by: PostgreSQL and MariaDB; NotSupportedError on SQLite (as Django)', () =>
    inTx(async () => {
      const d = await seed();
      const contains = Doc.objects.filter({ data__contains: { tags: ['b'] } }).orderBy('id');
      if (db.name === 'sqlite') {
        await expect(contains.fetchAll()).rejects.toThrow(NotSupportedError);
        await expect(contains.fetchAll()).rejects.toThrow("The JSON 'contains' lookup is not supported on SQLite");
        await expect(Doc.objects.filter({ data__containedBy: {} }).fetchAll()).rejects.toThrow(NotSupportedError);
        return;
      }
      expect((await contains).map((x) => x.id)).toEqual([d.d1.id, d.d2.id]);
      expect((await Doc.objects.filter({ data__owner__contains: { name: 'Bob' } })).map((x) => x.id)).toEqual([d.d2.id]);
      expect((await Doc.objects.filter({ data__tags__contains: 'a' })).map((x) => x.id)).toEqual([d.d1.id]);
      expect(
        (await Doc.objects.filter({ data__contained_by: { n: 2, owner: { name: 'Bob' }, tags: ['b'], extra: 1 } })).map((x) => x.id),
      ).toEqual([d.d2.id]);
      expect((await Doc.objects.filter({ data__containedBy: { n: null, more: true } })).map((x) => x.id)).toEqual([d.d4.id]);
    }));

  test('key paths in values() (read as JSON) and orderBy()', () =>
    inTx(async () => {
      await seed();
      const rows = await Doc.objects.orderBy('id').values('data__owner__name', 'data__tags', 'data__n', 'data__tags__0');
      expect(rows).toEqual([
        { data__owner__name: 'Ann', data__tags: ['a', 'b'], data__n: 1, data__tags__0: 'a' },
        { data__owner__name: 'Bob', data__tags: ['b'], data__n: 2, data__tags__0: 'b' },
        { data__owner__name: null, data__tags: [], data__n: 10, data__tags__0: null },
        { data__owner__name: null, data__tags: null, data__n: null, data__tags__0: null },
        { data__owner__name: null, data__tags: null, data__n: null, data__tags__0: null },
        { data__owner__name: null, data__tags: null, data__n: null, data__tags__0: null },
      ]);
      // A string that looks like a number stays a string.
      await Doc.objects.create({ data: { owner: { name: '123' }, n: 3 } });
      expect(await Doc.objects.filter({ data__n: 3 }).valuesList('data__owner__name', { flat: true })).toEqual(['123']);
      expect(await Doc.objects.filter({ data__owner__name: '123' }).count()).toBe(1);
      // Ordering by a key: JSON numbers on PostgreSQL, SQL values on SQLite, text on MariaDB (as Django).
      const order = await Doc.objects
        .filter({ data__n__isnull: false })
        .exclude({ data__n: null })
        .orderBy('data__n')
        .valuesList('data__n', { flat: true });
      expect(order).toEqual(db.name === 'mysql' ? [1, 10, 2, 3] : [1, 2, 3, 10]);
      expect(
        await Doc.objects
          .filter({ data__has_key: 'owner' })
          .orderBy('-data__owner__name', 'id')
          .valuesList('data__owner__name', { flat: true }),
      ).toEqual(db.name === 'postgres' ? [null, 'Bob', 'Ann', '123'] : ['Bob', 'Ann', '123', null]);
    }));

  test('a document that is a JSON string reads back as that string, whatever its text (read once, as Django)', () =>
    inTx(async () => {
      class Any extends Model.define({ data: new JSONField<unknown>({ null: true }) }, { dbTable: 'orm_json_doc' }) {}
      const texts = ['123', 'null', 'true', '[1,2]', '{"a":1}', '1e3', ' 5', '"q"', ''];
      for (const t of texts) await Any.objects.create({ data: t });
      await Any.objects.create({ data: { k: '123', l: ['null'] } });
      const read = await Any.objects.orderBy('id').valuesList('data', { flat: true });
      expect(read).toEqual([...texts, { k: '123', l: ['null'] }]);
      const got = await Any.objects.orderBy('id').fetchAll();
      expect(got.map((x) => x.data)).toEqual([...texts, { k: '123', l: ['null'] }]);
      // Through a key path and through raw SQL of the ORM's table, the same.
      expect(await Any.objects.filter({ data__k: '123' }).valuesList('data__k', { flat: true })).toEqual(['123']);
      expect(await Any.objects.filter({ data__k: '123' }).valuesList('data__l', { flat: true })).toEqual([['null']]);
    }));

  test('bad JSON lookups are clear errors', () =>
    inTx(async () => {
      expect(() => Doc.objects.filter({ data__has_keys: 'owner' as never })).toThrow('must be a non-empty list of keys');
      expect(() => Doc.objects.filter({ data__has_key: 3 as never })).not.toThrow();
      expect(() => Doc.objects.filter({ data__contains: null as never })).toThrow('takes a JSON value');
      expect(() => Doc.objects.filter({ data__owner__isnull: 'yes' as never })).toThrow('must be true or false');
      expect(() => Doc.objects.values('nope__x' as never)).toThrow("Cannot resolve keyword 'nope'");
    }));
});
