// Values at the edges of what each database stores (found by an independent comparison with
// Django 3.2): wide decimals on SQLite, the first years of the calendar. Each is read back as
// written, or refused at the write with a ValidationError naming the model and the field.
import { atomic, DataError, sql } from '@spool/connections';
import { DateField, DecimalField, JSONField, Model, ValidationError, type Manager } from '@spool/orm';
import { eachDatabase } from '../support/helpers';
import { inTx, useTables } from './support';

class Edge extends Model.define(
  {
    wide: new DecimalField({ maxDigits: 20, decimalPlaces: 10, null: true }),
    day: new DateField({ null: true }),
    doc: new JSONField({ null: true }),
  },
  { dbTable: 'orm_edge_values' },
) {
  declare static objects: Manager<Edge>;
}

eachDatabase('edge values', (db) => {
  useTables(db, [Edge]);

  test('a decimal of 15 significant digits reads back at its places, not with a float’s binary tail', () =>
    inTx(async () => {
      const values = ['1234567890.12345', '0.0000000001', '-99999.9999999999', '12345.678901', '5'];
      for (const wide of values) await Edge.objects.create({ wide });
      const read = await Edge.objects.orderBy('id').valuesList('wide', { flat: true });
      // Django 3.2 reads these as Decimal('1234567890.1234500000'), ... on every database.
      expect(read).toEqual(['1234567890.1234500000', '0.0000000001', '-99999.9999999999', '12345.6789010000', '5.0000000000']);
      expect((await Edge.objects.orderBy('id').first())?.wide).toBe('1234567890.1234500000');
    }));

  test('a decimal with more significant digits than the database keeps: exact on PostgreSQL and MariaDB, refused on SQLite', () =>
    inTx(async () => {
      const wide = '1234567890.1234567890';
      const writes: Array<[string, () => Promise<unknown>]> = [
        ['create', () => Edge.objects.create({ wide })],
        ['bulkCreate', () => Edge.objects.bulkCreate([new Edge({ wide: '1.5' }), new Edge({ wide })])],
        ['update', () => Edge.objects.filter({ id__gte: 0 }).update({ wide })],
        [
          '$save',
          async () => {
            const e = await Edge.objects.create({ wide: '2' });
            e.wide = '9999999999.9999999999';
            await e.$save();
          },
        ],
      ];
      if (db.name === 'sqlite') {
        await Edge.objects.create({ wide: '1' });
        for (const [name, write] of writes) {
          const err = await write().then(
            () => undefined,
            (e: unknown) => e,
          );
          expect([name, err]).toEqual([name, expect.any(ValidationError)]);
          expect((err as ValidationError).message).toMatch(
            /Edge.*wide.*significant digits; SQLite stores a decimal as an 8-byte float, which keeps 15/s,
          );
        }
        // Nothing was written or changed.
        expect(await Edge.objects.orderBy('id').valuesList('wide', { flat: true })).toEqual(['1.0000000000', '2.0000000000']);
      } else {
        await writes[0]?.[1]();
        expect(await Edge.objects.valuesList('wide', { flat: true })).toEqual([wide]);
        await writes[3]?.[1]();
        expect(await Edge.objects.orderBy('id').valuesList('wide', { flat: true })).toEqual([wide, '9999999999.9999999999']);
      }
    }));

  test('dates of the years 1 to 99 are stored as given (not as 19xx); year 0 is refused', () =>
    inTx(async () => {
      for (const day of ['0001-01-01', '0099-12-31', '0100-03-01', '9999-12-31']) await Edge.objects.create({ day });
      expect(await Edge.objects.orderBy('id').valuesList('day', { flat: true })).toEqual([
        '0001-01-01',
        '0099-12-31',
        '0100-03-01',
        '9999-12-31',
      ]);
      expect(await Edge.objects.filter({ day__lt: '0100-01-01' }).count()).toBe(2);
      await expect(Edge.objects.create({ day: '0000-06-01' })).rejects.toThrow(/day.*"0000-06-01" value has an invalid date format/s);
    }));

  test('a JSON integer beyond 2^53 written by another program is a DataError naming where it is, not a rounded number', () =>
    inTx(async () => {
      const fine = await Edge.objects.create({ doc: { n: 1234567890123456, f: 1.2345678901234567, s: '12345678901234567890' } });
      const big = await Edge.objects.create({ doc: null });
      // Another program (Django reads it exactly) writes an integer JavaScript cannot hold.
      await sql`UPDATE orm_edge_values SET doc = ${'{"a": [1, {"big": 12345678901234567}]}'} WHERE id = ${big.id}`;
      expect((await Edge.objects.get({ id: fine.id })).doc).toEqual({
        n: 1234567890123456,
        f: 1.2345678901234567,
        s: '12345678901234567890',
      });
      const reads: Array<() => Promise<unknown>> = [
        () => Edge.objects.get({ id: big.id }),
        async () => Edge.objects.filter({ id: big.id }).valuesList('doc', { flat: true }),
      ];
      for (const read of reads) {
        // In a savepoint: an error inside an atomic block marks it failed (PostgreSQL), as Django.
        const err = await atomic(async () => {
          await read();
        }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(DataError);
        expect((err as Error).message).toContain('integer beyond 2^53 at $.a[1].big');
      }
      // The connection is fine afterwards.
      expect(await Edge.objects.filter({ id: fine.id }).count()).toBe(1);
    }));
});
