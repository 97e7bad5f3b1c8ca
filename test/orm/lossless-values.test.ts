// Values come back as they were written, on every database (issue 9): instants keep their
// microseconds (PreciseDate), BigIntegerField values are bigints exact over the 64-bit range, and
// filters on such values find exactly the row. Django's answers (test/django-reference) are the
// assertion values, on the reference dataset loaded through Spool.
import { connections, scope } from '@spool/connections';
import { Avg, F, Max, Min, PreciseDate, Sum, ValidationError } from '@spool/orm';
import { eachDatabase } from '../support/helpers';
import { djangoAnswer, djangoValue, loadReferenceData } from '../django-reference/reference';
import { ALL_MODELS, Review, Sample } from './models';
import { inTx, useTables } from './support';

/** An instant as Django's answers write it: UTC, six fractional digits. */
const iso6 = (d: unknown): string => {
  if (!(d instanceof Date)) throw new Error(`not a Date: ${String(d)}`);
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
};
/** Django writes integers beyond 2^53 as strings: as bigints. */
const big = (v: unknown): bigint | null => (v === null ? null : BigInt(v as string | number));

/** A second alias whose sessions are not in UTC (SQLite has no session time zone). */
const NOT_UTC: Record<string, string[]> = {
  postgres: [`SET TIME ZONE 'Asia/Kolkata'`],
  mysql: [`SET time_zone = '+05:30'`],
  sqlite: [],
};

eachDatabase('lossless values', (db) => {
  useTables(db, ALL_MODELS, { tz: db.settings({ initSql: NOT_UTC[db.name] ?? [] }) });
  beforeAll(() => scope(() => loadReferenceData()), 120_000);

  describe('instants keep their microseconds', () => {
    test('read back exactly (Django: issue9.datetime_microseconds_read), as PreciseDates', () =>
      scope(async () => {
        const rows = await Review.objects.filter({ id__lte: 6 }).orderBy('id').valuesList('id', 'created');
        const django = djangoValue<[number, string][]>('issue9.datetime_microseconds_read', db.name);
        expect(rows.map(([id, at]) => [id, iso6(at)])).toEqual(django);
        const r = await Review.objects.get({ id: 4 });
        expect(r.created).toBeInstanceOf(Date);
        expect(r.created).toBeInstanceOf(PreciseDate);
        expect((r.created as PreciseDate).microsecond).toBe(123456);
        expect(r.created.toISOString()).toBe('2021-03-04T05:06:07.123456Z');
        expect(JSON.stringify({ at: r.created })).toBe('{"at":"2021-03-04T05:06:07.123456Z"}');
      }));

    test('filters with microseconds find the row; milliseconds alone do not (Django: issue9.datetime_filter_*)', () =>
      scope(async () => {
        const ids = async (filter: Parameters<typeof Review.objects.filter>[0]) =>
          Review.objects.filter(filter).orderBy('id').valuesList('id', { flat: true });
        expect(await ids({ created: '2021-03-04T05:06:07.123456Z' })).toEqual(
          djangoValue('issue9.datetime_filter_exact_microseconds', db.name),
        );
        expect(await ids({ created: PreciseDate.from('2021-03-04T05:06:07.123456Z') })).toEqual([4]);
        // A plain Date is that instant to the millisecond, with 0 microseconds: not the stored value.
        expect(await ids({ created: new Date('2021-03-04T05:06:07.123Z') })).toEqual(
          djangoValue('issue9.datetime_filter_milliseconds_no_match', db.name),
        );
        expect(await ids({ created__gt: '2021-12-31T23:59:59.999998Z', created__lte: '2022-01-01T00:00:00.000000Z' })).toEqual(
          djangoValue('issue9.datetime_range_one_microsecond', db.name),
        );
        expect(await ids({ created__in: ['2021-12-31T23:59:59.999999Z', '2020-02-29T12:00:00.000001Z'] })).toEqual([1, 3]);
        const close = await Review.objects
          .filter({ created__gte: '2021-12-31T23:59:59Z', created__lt: '2022-01-01T00:00:01Z' })
          .orderBy('-created', 'id')
          .valuesList('id', 'created');
        expect(close.map(([id, at]) => [id, iso6(at)])).toEqual(djangoValue('issue9.datetime_order_close_instants', db.name));
      }));

    test('written with create(), $save(), bulkCreate() and update(): the same microseconds read back (Django: values.datetime_microseconds)', () =>
      inTx(async () => {
        const s = await Sample.objects.create({ at: '2024-05-01T12:00:07.123456Z' });
        expect(s.at).toBeInstanceOf(PreciseDate);
        const read = await Sample.objects.filter({ pk: s.id }).valuesList('at', { flat: true });
        expect(read.map(iso6)).toEqual(djangoValue<{ read: string[] }>('values.datetime_microseconds', db.name).read);
        expect(await Sample.objects.filter({ at: '2024-05-01T12:00:07.123456Z' }).count()).toBe(
          djangoValue<{ found: number }>('values.datetime_microseconds', db.name).found,
        );
        // $save() of a changed value (UPDATE), bulkCreate() and update() with sub-millisecond instants.
        s.at = new PreciseDate(Date.UTC(2020, 1, 29, 23, 59, 59, 999), 999);
        await s.$save();
        const [b1, b2] = await Sample.objects.bulkCreate([{ at: '1999-12-31T23:59:59.000001Z' }, { at: new Date('2001-01-01T00:00:00Z') }]);
        await Sample.objects.filter({ pk: b2!.id }).update({ at: PreciseDate.fromEpochMicroseconds(978307200000000n + 7n) });
        const back = await Sample.objects
          .filter({ pk__in: [s.id, b1!.id, b2!.id] })
          .orderBy('at')
          .valuesList('at', { flat: true });
        expect(back.map((d) => d?.toISOString())).toEqual([
          '1999-12-31T23:59:59.000001Z',
          '2001-01-01T00:00:00.000007Z',
          '2020-02-29T23:59:59.999999Z',
        ]);
        // Plain Dates keep working: written and read to the millisecond, printed as Dates print.
        const plain = await Sample.objects.create({ at: new Date('2023-04-05T06:07:08.123Z') });
        const again = await Sample.objects.get({ pk: plain.id });
        expect(again.at?.toISOString()).toBe('2023-04-05T06:07:08.123Z');
        expect(again.at?.getTime()).toBe(Date.UTC(2023, 3, 5, 6, 7, 8, 123));
      }));

    test('a session time zone other than UTC changes nothing: instants are read and written as UTC', () =>
      scope(async () => {
        // PostgreSQL writes timestamptz text in the session's zone (`…+05:30`); MariaDB's DATETIME has none.
        const zone: Record<string, [string, unknown]> = {
          postgres: ['SELECT current_setting($1) AS tz', 'Asia/Kolkata'],
          mysql: ['SELECT @@session.time_zone AS tz', '+05:30'],
        };
        const check = zone[db.name];
        if (check) {
          const bindings = db.name === 'postgres' ? ['TimeZone'] : [];
          expect((await connections.query('tz', check[0], bindings)).rows[0]?.tz).toBe(check[1]);
        }
        const r = await Review.objects.using('tz').get({ id: 4 });
        expect(r.created.toISOString()).toBe('2021-03-04T05:06:07.123456Z');
        expect(await Review.objects.using('tz').filter({ created: '2021-03-04T05:06:07.123456Z' }).count()).toBe(1);
        expect(
          await Review.objects
            .using('tz')
            .filter({ created: PreciseDate.from('2021-03-04 10:36:07.123456+05:30') })
            .count(),
        ).toBe(1);
      }));

    test('digits beyond the microsecond are refused, not cut', () =>
      inTx(async () => {
        await expect(Sample.objects.create({ at: '2024-05-01T12:00:07.1234567Z' })).rejects.toThrow(
          /Sample: validation failed\. at: "2024-05-01T12:00:07\.1234567Z" value has an invalid format/,
        );
        // Trailing zeros are no loss.
        const s = await Sample.objects.create({ at: '2024-05-01T12:00:07.123456000Z' });
        expect(s.at?.toISOString()).toBe('2024-05-01T12:00:07.123456Z');
      }));
  });

  describe('doubles are exact however the statement travels', () => {
    test('FloatField values read through an __in list (MariaDB: the text protocol), before and after the text is prepared, are the doubles written; columns without a double read alike', () =>
      inTx(async () => {
        const ratios = [287 / 3, 0.1, 1 / 3, 1e15 / 7, -2.5e-300];
        const made = await Sample.objects.bulkCreate(
          ratios.map((ratio, i) => ({ ratio, small: i, big: 2n ** 53n + BigInt(i), amount: `${i}.125` })),
        );
        const ids = made.map((s) => s.id);
        const one = [];
        for (const id of ids) one.push(...(await Sample.objects.filter({ pk: id }).valuesList('small', 'big', 'amount')));
        // More runs than prepareThreshold: a list stays on the text protocol, a single key is prepared.
        for (let run = 0; run < 6; run++) {
          const list = Sample.objects.filter({ id__in: ids }).orderBy('small');
          expect((await list).map((s) => s.ratio)).toEqual(ratios);
          expect(await list.valuesList('ratio', { flat: true })).toEqual(ratios);
          expect(await list.valuesList('small', 'big', 'amount')).toEqual(one);
          expect(one[1]).toEqual([1, 2n ** 53n + 1n, '1.125']);
          expect((await Sample.objects.get({ pk: ids[0] })).ratio).toBe(287 / 3);
        }
      }));
  });

  describe('BigIntegerField values are exact bigints', () => {
    test('filters on values beyond 2^53 find exactly the row (Django: issue9.bigint_*)', () =>
      scope(async () => {
        const flat = (filter: Parameters<typeof Sample.objects.filter>[0]) =>
          Sample.objects.filter(filter).orderBy('big').valuesList('big', { flat: true });
        const exact = await flat({ big: 2n ** 53n + 1n });
        expect(exact).toEqual(djangoValue<unknown[]>('issue9.bigint_filter_exact', db.name).map(big));
        expect(typeof exact[0]).toBe('bigint');
        const neighbours = djangoValue<Record<string, unknown[]>>('issue9.bigint_filter_neighbours', db.name);
        expect(await flat({ big: 2n ** 53n })).toEqual(neighbours.two_53?.map(big));
        expect(await flat({ big: -(2n ** 53n + 1n) })).toEqual(neighbours.minus_two_53_plus_1?.map(big));
        expect(await flat({ big: 2n ** 63n - 1n })).toEqual(neighbours.max?.map(big));
        expect(await flat({ big__gt: 2n ** 53n })).toEqual(djangoValue<unknown[]>('issue9.bigint_range', db.name).map(big));
        expect(await flat({ big__in: [2n ** 53n + 1n, 2n ** 63n - 1n, -(2n ** 63n)] })).toEqual(
          djangoValue<unknown[]>('issue9.bigint_in', db.name).map(big),
        );
        const all = await Sample.objects.orderBy('big', 'id').valuesList('big', { flat: true });
        expect(all).toEqual(djangoValue<unknown[]>('issue9.bigint_order_all', db.name).map(big));
        // Instances and values() read bigints too.
        const row = await Sample.objects.filter({ big: 2n ** 63n - 1n }).values('big', 'small');
        expect(row).toEqual([{ big: 2n ** 63n - 1n, small: expect.any(Number) }]);
      }));

    test('aggregates and arithmetic over them stay exact (Django: issue9.aggregate_big_*)', () =>
      scope(async () => {
        const minMax = djangoValue<Record<string, string>>('issue9.aggregate_big_min_max', db.name);
        expect(await Sample.objects.aggregate({ min: Min('big'), max: Max('big') })).toEqual({
          min: BigInt(minMax.min as string),
          max: BigInt(minMax.max as string),
        });
        const sumAvg = djangoValue<{ sum: string; avg: number }>('issue9.aggregate_big_sum_beyond_2_53', db.name);
        const got = await Sample.objects
          .filter({ big__gt: -(10n ** 18n), big__lt: 10n ** 18n })
          .aggregate({ sum: Sum('big'), avg: Avg('big') });
        expect(got).toEqual({ sum: BigInt(sumAvg.sum), avg: sumAvg.avg });
        const overflow = djangoAnswer('issue9.aggregate_big_sum_overflow', db.name);
        const sum = Sample.objects.filter({ big__gt: 0 }).aggregate({ sum: Sum('big') });
        // Beyond 2^63: SQLite's SUM overflows (an error, as in Django); PostgreSQL and MariaDB sum as decimals.
        if (overflow.error) await expect(sum).rejects.toThrow(/integer overflow/);
        else expect(await sum).toEqual({ sum: BigInt((overflow.value as { sum: string }).sum) });
        const [next] = await Sample.objects
          .filter({ big: 2n ** 53n + 1n })
          .annotate({ next: F('big').add(1) })
          .valuesList('next', { flat: true });
        expect(next).toBe(2n ** 53n + 2n);
      }));

    test('written as given: bigints, safe numbers and digit strings (Django: values.bigint_beyond_2_53)', () =>
      inTx(async () => {
        const s = await Sample.objects.create({ big: 2n ** 53n + 1n, small: 31337 });
        expect(await Sample.objects.filter({ pk: s.id }).valuesList('big', { flat: true })).toEqual(
          djangoValue<unknown[]>('values.bigint_beyond_2_53', db.name).map(big),
        );
        const fromNumber = await Sample.objects.create({ big: 42 });
        expect(fromNumber.big).toBe(42n);
        expect((await Sample.objects.get({ pk: fromNumber.id })).big).toBe(42n);
        await Sample.objects.filter({ pk: fromNumber.id }).update({ big: -(2n ** 63n) });
        expect((await Sample.objects.get({ pk: fromNumber.id })).big).toBe(-(2n ** 63n));
        const [a, b] = await Sample.objects.bulkCreate([{ big: 2n ** 62n + 3n }, { big: '-9007199254740995' as never }]);
        expect((await Sample.objects.get({ pk: a!.id })).big).toBe(2n ** 62n + 3n);
        expect((await Sample.objects.get({ pk: b!.id })).big).toBe(-9007199254740995n);
        // The small integers of the same rows stay numbers (SQLite reads them with safeIntegers).
        expect((await Sample.objects.get({ pk: s.id })).small).toBe(31337);
      }));

    test('a number beyond 2^53 and a value beyond 64 bits are refused before anything is sent (Django: values.bigint_2_63_overflow raises)', () =>
      inTx(async () => {
        const before = await Sample.objects.count();
        await expect(Sample.objects.create({ big: 2 ** 53 + 2 })).rejects.toThrow(
          /Sample: validation failed\. big: 9007199254740994 is beyond 2\^53: as a number it may already have lost digits\. Pass a bigint/,
        );
        await expect(Sample.objects.create({ big: 2n ** 63n })).rejects.toThrow(ValidationError);
        await expect(Sample.objects.create({ big: 2n ** 63n })).rejects.toThrow(
          /big: Ensure this value is between -9223372036854775808 and 9223372036854775807\./,
        );
        expect(await Sample.objects.count()).toBe(before);
      }));
  });
});

describe('PreciseDate', () => {
  test('parses ISO and SQL text with offsets, keeps microseconds, refuses lost digits', () => {
    const a = PreciseDate.from('2024-05-01 14:00:07.123456+02');
    expect(a.toISOString()).toBe('2024-05-01T12:00:07.123456Z');
    expect(PreciseDate.from('2024-05-01T17:30:07.000001+05:30').toISOString()).toBe('2024-05-01T12:00:07.000001Z');
    expect(PreciseDate.from('2024-05-01 12:00:07').toISOString()).toBe('2024-05-01T12:00:07.000Z'); // no offset: UTC
    expect(a.microsecond).toBe(123456);
    expect(a.getMicroseconds()).toBe(456);
    expect(a.getTime()).toBe(Date.UTC(2024, 4, 1, 12, 0, 7, 123));
    expect(Number.isNaN(PreciseDate.from('2024-05-01T12:00:07.1234567Z').getTime())).toBe(true);
    expect(Number.isNaN(PreciseDate.from('2023-02-30T00:00:00Z').getTime())).toBe(true);
    expect(PreciseDate.from('2024-05-01T12:00:07.123456000Z').microsecond).toBe(123456);
  });

  test('is a Date: JSON, epoch microseconds, setters', () => {
    const d = PreciseDate.fromEpochMicroseconds(-1n);
    expect(d).toBeInstanceOf(Date);
    expect(d.toISOString()).toBe('1969-12-31T23:59:59.999999Z');
    expect(d.epochMicroseconds).toBe(-1);
    const e = new PreciseDate(PreciseDate.from('2024-05-01T12:00:07.123456Z'));
    expect(JSON.stringify([e])).toBe('["2024-05-01T12:00:07.123456Z"]');
    e.setUTCHours(13);
    expect(e.toISOString()).toBe('2024-05-01T13:00:07.123456Z');
    e.setTime(0);
    expect(e.toISOString()).toBe('1970-01-01T00:00:00.000Z');
    expect(() => new PreciseDate(0, 1000)).toThrow(/extraMicroseconds must be an integer from 0 to 999, got 1000/);
  });
});
