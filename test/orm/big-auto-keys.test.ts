// BigAutoField keys are bigints, exact beyond 2^53 (issue 9: "integers beyond 2^53 are never
// rounded"): each table's sequence (identity, AUTO_INCREMENT, sqlite_sequence) is set past 2^53
// and every way a key is written or read (create, $save, bulkCreate, getOrCreate, filters,
// foreign keys, selectRelated, prefetchRelated, raw(), delete) must give the database's own key,
// read back as text by SQL, not its rounded neighbour. Django's int holds such a key exactly;
// an AutoField key there (64-bit on SQLite) is a DataError rather than a rounded number.
import { connections, scope, sql } from '@spool/connections';
import {
  AutoField,
  BigAutoField,
  CharField,
  DataError,
  ForeignKey,
  type Manager,
  Model,
  ReverseForeignKey,
  ValidationError,
} from '@spool/orm';
import { eachDatabase } from '../support/helpers';
import { inTx, useTables } from './support';

export class BigKeyed extends Model.define(
  {
    id: new BigAutoField(),
    name: new CharField({ maxLength: 40 }),
    children: new ReverseForeignKey<BigChild>(() => BigChild, 'parent'),
  },
  { dbTable: 'i9_big_keyed' },
) {
  declare static objects: Manager<BigKeyed>;
}

export class BigChild extends Model.define(
  {
    id: new BigAutoField(),
    parent: new ForeignKey(() => BigKeyed, { onDelete: 'cascade', relatedName: 'children' }),
    label: new CharField({ maxLength: 40 }),
  },
  { dbTable: 'i9_big_child' },
) {
  declare static objects: Manager<BigChild>;
}

export class SmallKeyed extends Model.define(
  { id: new AutoField(), name: new CharField({ maxLength: 40 }) },
  { dbTable: 'i9_small_keyed' },
) {}

/** A statement written out (no values), its rows. */
const run = async (text: string): Promise<unknown[]> => (await connections.query('default', text, [])).rows;

const START = 2n ** 53n + 1n; // 9007199254740993: as a number it is 9007199254740992

/** Each key of `table` as the database writes it in text (no JavaScript number in between). */
async function keysAsText(db: string, table: string): Promise<string[]> {
  const text = db === 'mysql' ? 'CHAR' : 'TEXT';
  const rows = await run(`SELECT CAST(id AS ${text}) AS k FROM ${table} ORDER BY id`);
  return (rows as { k: string }[]).map((r) => r.k);
}

/** Make the next generated key of `table` START (or beyond). */
function startKeysAt(db: string, table: string, next: bigint): string {
  if (db === 'postgres') return `ALTER TABLE ${table} ALTER COLUMN id RESTART WITH ${next}`;
  if (db === 'mysql') return `ALTER TABLE ${table} AUTO_INCREMENT = ${next}`;
  return `INSERT INTO sqlite_sequence (name, seq) VALUES ('${table}', ${next - 1n})`;
}

eachDatabase('BigAutoField keys beyond 2^53', (db) => {
  useTables(db, [BigKeyed, BigChild, SmallKeyed]);
  beforeAll(() =>
    scope(async () => {
      await run(startKeysAt(db.name, 'i9_big_keyed', START));
      await run(startKeysAt(db.name, 'i9_big_child', START + 1000n));
    }),
  );

  test('create(), $save() and getOrCreate() set the exact key, a bigint; get() and filters find that row, not its neighbour', () =>
    inTx(async () => {
      const a = await BigKeyed.objects.create({ name: 'a' });
      const b = new BigKeyed({ name: 'b' });
      await b.$save();
      const [c, created] = await BigKeyed.objects.getOrCreate({ name: 'c' });
      expect(created).toBe(true);
      expect(typeof a.id).toBe('bigint');
      expect(a.id).toBeGreaterThanOrEqual(START);
      expect([a.id, b.id, c.id].map(String)).toEqual(await keysAsText(db.name, 'i9_big_keyed'));
      expect(b.id).toBe(a.id + 1n);
      // The neighbours differ only beyond 2^53: each filter finds exactly its row.
      expect((await BigKeyed.objects.get({ pk: b.id })).name).toBe('b');
      expect((await BigKeyed.objects.get({ id: c.id })).name).toBe('c');
      expect(
        await BigKeyed.objects
          .filter({ id__in: [a.id, c.id] })
          .orderBy('id')
          .valuesList('name', { flat: true }),
      ).toEqual(['a', 'c']);
      expect(await BigKeyed.objects.filter({ id__gt: a.id }).count()).toBe(2);
      expect(await BigKeyed.objects.orderBy('id').valuesList('id', { flat: true })).toEqual([a.id, b.id, c.id]);
      const [again, createdAgain] = await BigKeyed.objects.getOrCreate({ name: 'b' });
      expect([again.id, createdAgain]).toEqual([b.id, false]);
      // updateOrCreate() and $save() of an existing row update that row.
      const [u] = await BigKeyed.objects.updateOrCreate({ id: b.id }, { name: 'b2' });
      expect(u.id).toBe(b.id);
      a.name = 'a2';
      await a.$save();
      await b.$refreshFromDb();
      expect([b.id, b.name]).toEqual([u.id, 'b2']);
      expect(await BigKeyed.objects.orderBy('id').valuesList('name', { flat: true })).toEqual(['a2', 'b2', 'c']);
      // A safe number is taken for a key (and is not the row beyond 2^53).
      expect(await BigKeyed.objects.filter({ pk: 5 }).count()).toBe(0);
      expect(() => BigKeyed.objects.filter({ pk: 2 ** 53 + 2 })).toThrow(ValidationError);
    }));

  test('bulkCreate() sets each exact key on every database', () =>
    inTx(async () => {
      const objs = await BigKeyed.objects.bulkCreate([{ name: 'x' }, { name: 'y' }, { name: 'z' }].map((v) => new BigKeyed(v)));
      const keys = await keysAsText(db.name, 'i9_big_keyed');
      if (db.name === 'mysql' && !(await mariadbReturning())) {
        expect(objs.every((o) => o.id === null || o.id === undefined)).toBe(true); // MySQL, MariaDB < 10.5: unset, as Django
      } else {
        expect(objs.map((o) => String(o.id))).toEqual(keys);
        expect(objs.every((o) => typeof o.id === 'bigint')).toBe(true);
        expect((await BigKeyed.objects.get({ pk: objs[1]!.id })).name).toBe('y');
      }
    }));

  test('foreign keys to a BigAutoField hold bigints: writes, joins, selectRelated, prefetchRelated, related managers, cascade', () =>
    inTx(async () => {
      const p = await BigKeyed.objects.create({ name: 'parent' });
      const q = await BigKeyed.objects.create({ name: 'other' });
      const c1 = await BigChild.objects.create({ parent: p, label: 'one' });
      const c2 = await BigChild.objects.create({ parent: p.id, label: 'two' });
      await BigChild.objects.bulkCreate([new BigChild({ parent: q, label: 'three' })]);
      expect(typeof c1.parentId).toBe('bigint');
      expect(c2.parentId).toBe(p.id);
      expect(String(c1.id)).toBe((await keysAsText(db.name, 'i9_big_child'))[0]);
      expect(c1.id).toBeGreaterThan(START + 999n);
      const fk = await run(`SELECT CAST(parent_id AS ${db.name === 'mysql' ? 'CHAR' : 'TEXT'}) AS k FROM i9_big_child WHERE label = 'two'`);
      expect((fk as { k: string }[])[0]?.k).toBe(String(p.id));
      expect(await BigChild.objects.filter({ parent: q }).valuesList('label', { flat: true })).toEqual(['three']);
      expect(await BigChild.objects.filter({ parent__name: 'parent' }).orderBy('id').valuesList('label', { flat: true })).toEqual([
        'one',
        'two',
      ]);
      expect(await BigChild.objects.filter({ parentId: q.id }).count()).toBe(1);
      const joined = await BigChild.objects.selectRelated('parent').orderBy('id');
      expect(joined.map((c) => [c.parent.id, c.parent.name])).toEqual([
        [p.id, 'parent'],
        [p.id, 'parent'],
        [q.id, 'other'],
      ]);
      const parents = await BigKeyed.objects.prefetchRelated('children').orderBy('id');
      expect(parents.map((x) => [x.id, x.children.items.map((c) => c.label)])).toEqual([
        [p.id, ['one', 'two']],
        [q.id, ['three']],
      ]);
      expect(await p.children.orderBy('id').valuesList('label', { flat: true })).toEqual(['one', 'two']);
      const byKey = await BigKeyed.objects.inBulk([p.id, q.id]);
      expect(byKey.get(q.id)?.name).toBe('other');
      const [deleted] = await p.$delete();
      expect(deleted).toBe(3); // the parent and its two children, not its neighbour's
      expect(await BigChild.objects.valuesList('label', { flat: true })).toEqual(['three']);
    }));

  test('raw() reads keys and foreign keys as exact bigints', () =>
    inTx(async () => {
      const p = await BigKeyed.objects.create({ name: 'raw' });
      await BigChild.objects.create({ parent: p, label: 'r' });
      const [row] = await BigKeyed.objects.raw(sql`SELECT * FROM i9_big_keyed WHERE id = ${p.id}`);
      expect(row?.id).toBe(p.id);
      const [child] = await BigChild.objects.raw(sql`SELECT id, parent_id, label FROM i9_big_child WHERE parent_id = ${p.id}`);
      expect(child?.parentId).toBe(p.id);
      expect(typeof child?.id).toBe('bigint');
    }));

  test('a key that is not an integer in the 64-bit range is refused before any SQL', () =>
    inTx(async () => {
      await expect(BigKeyed.objects.create({ id: 2n ** 63n, name: 'too big' })).rejects.toThrow(ValidationError);
      await expect(BigKeyed.objects.create({ id: 1.5 as never, name: 'fraction' })).rejects.toThrow(ValidationError);
      const explicit = await BigKeyed.objects.create({ id: 2n ** 62n + 7n, name: 'explicit' });
      expect((await BigKeyed.objects.get({ pk: 2n ** 62n + 7n })).id).toBe(explicit.id);
    }));

  if (db.name === 'sqlite') {
    // An AutoField is 64-bit on SQLite (the rowid), 32-bit on PostgreSQL and MariaDB.
    test('an AutoField key generated beyond 2^53 (SQLite) is a DataError, not a rounded number', () =>
      inTx(async () => {
        await run(startKeysAt(db.name, 'i9_small_keyed', START));
        await expect(SmallKeyed.objects.create({ name: 'rounded?' })).rejects.toThrow(DataError);
        await expect(SmallKeyed.objects.create({ name: 'rounded?' })).rejects.toThrow(
          /SmallKeyed.id: the database generated the key 900719925474099\d, beyond 2\^53.*BigAutoField/,
        );
      }));
  }
});

/** Does this MariaDB return rows from INSERT (10.5+)? */
async function mariadbReturning(): Promise<boolean> {
  const rows = (await run('SELECT VERSION() AS v')) as { v: string }[];
  const m = /^(\d+)\.(\d+).*mariadb/i.exec(rows[0]?.v ?? '');
  return m !== null && (Number(m[1]) > 10 || (Number(m[1]) === 10 && Number(m[2]) >= 5));
}
