// raw() reads values as the ORM reads them (issue 9: "a value written with microseconds must read
// back with the same microseconds"): a DateTimeField column as a PreciseDate with the server's
// microseconds (a driver's Date keeps milliseconds), other instants the query returns likewise
// (PostgreSQL, MariaDB: SQLite has no instant type, its text stays text), dates as 'YYYY-MM-DD',
// BigIntegerField values as exact bigints. And values written by raw SQL are found by the ORM's
// filters to the microsecond, as Django finds them.
import { randomUUID } from 'node:crypto';
import { sql } from '@spool/connections';
import { PreciseDate } from '@spool/orm';
import { eachDatabase } from '../support/helpers';
import { Sample } from './models';
import { inTx, useTables } from './support';

/** An instant literal as each database takes it for a Spool DateTimeField column. */
const INSTANT: Record<string, string> = {
  postgres: '2024-05-01 12:00:07.654321+00',
  mysql: '2024-05-01 12:00:07.654321',
  sqlite: '2024-05-01T12:00:07.654321Z', // Spool's stored form on SQLite (README, section 4)
};

eachDatabase('raw() reads values as the ORM does', (db) => {
  useTables(db, [Sample]);

  test('a DateTimeField keeps its microseconds, a BigIntegerField its digits, a DateField its day', () =>
    inTx(async () => {
      const s = await Sample.objects.create({ at: '2024-05-01T12:00:07.123456Z', day: '2024-02-29', big: 2n ** 53n + 1n, small: 7 });
      const [r] = await Sample.objects.raw(sql`SELECT * FROM orm_sample WHERE small = ${7}`);
      expect(r?.at).toBeInstanceOf(PreciseDate);
      expect((r?.at as PreciseDate).microsecond).toBe(123456);
      expect(r?.at?.toISOString()).toBe('2024-05-01T12:00:07.123456Z');
      expect(r?.big).toBe(2n ** 53n + 1n);
      expect(r?.small).toBe(7);
      expect(r?.day).toBe('2024-02-29');
      // The same as the ORM's own read.
      const orm = await Sample.objects.get({ id: s.id });
      expect([orm.at?.toISOString(), orm.big, orm.day]).toEqual([r?.at?.toISOString(), r?.big, r?.day]);
    }));

  test('columns that are not fields: instants with microseconds (PostgreSQL, MariaDB), integers as numbers', () =>
    inTx(async () => {
      await Sample.objects.create({ at: '2024-05-01T12:00:07.000001Z', big: 5n, small: 8 });
      const [r] = await Sample.objects.raw(sql`SELECT id, at, at AS copied, big AS big_copy, 2 AS two FROM orm_sample WHERE small = ${8}`);
      const extra = r as unknown as { copied: unknown; big_copy: unknown; two: unknown };
      if (db.name === 'sqlite') expect(extra.copied).toBe('2024-05-01T12:00:07.000001Z');
      else {
        expect(extra.copied).toBeInstanceOf(PreciseDate);
        expect((extra.copied as PreciseDate).toISOString()).toBe('2024-05-01T12:00:07.000001Z');
      }
      expect(extra.two).toBe(2);
      expect(Number(extra.big_copy)).toBe(5);
      expect(r?.at?.toISOString()).toBe('2024-05-01T12:00:07.000001Z');
    }));

  test('a value written by raw SQL with microseconds is found by filters to the microsecond and read back whole', () =>
    inTx(async () => {
      const id = randomUUID();
      const at = INSTANT[db.name] as string;
      // The key as each database stores a UUIDField: uuid on PostgreSQL, 32 hex digits elsewhere.
      const key = db.name === 'postgres' ? id : id.replace(/-/g, '');
      await sql`INSERT INTO orm_sample (id, label, flag, at, touched, big, small) VALUES (${key}, 'x', FALSE, ${at}, ${at}, 9007199254740993, 9)`;
      const s = await Sample.objects.get({ id });
      expect(s.at?.toISOString()).toBe('2024-05-01T12:00:07.654321Z');
      expect(s.big).toBe(9007199254740993n);
      expect(await Sample.objects.filter({ at: '2024-05-01T12:00:07.654321Z' }).count()).toBe(1);
      expect(await Sample.objects.filter({ at: '2024-05-01T12:00:07.654320Z' }).count()).toBe(0);
      expect(await Sample.objects.filter({ at: new Date('2024-05-01T12:00:07.654Z') }).count()).toBe(0);
      expect(await Sample.objects.filter({ at__gt: '2024-05-01T12:00:07.654320Z', at__lt: '2024-05-01T12:00:07.654322Z' }).count()).toBe(1);
      expect(await Sample.objects.filter({ big: 9007199254740993n }).count()).toBe(1);
      expect(await Sample.objects.filter({ big: 9007199254740992n }).count()).toBe(0);
      const [r] = await Sample.objects.raw(sql`SELECT * FROM orm_sample WHERE small = ${9}`);
      expect(r?.id).toBe(id);
      expect(r?.at?.toISOString()).toBe('2024-05-01T12:00:07.654321Z');
      expect(r?.touched?.toISOString()).toBe('2024-05-01T12:00:07.654321Z');
    }));
});
