// What arithmetic over decimals and bigints reads back is what its TypeScript type says (issue 9:
// "expressions carry an output type as in Django"; test/orm-types/queries.ts asserts the types):
// a decimal string over a decimal (Django: Decimal), a number over integers, a bigint over a
// BigAutoField or BigIntegerField, null where an operand is null; aggregates of expressions the
// expression's type. The same on every database.
import { Avg, F, Max, Sum } from '@spool/orm';
import { eachDatabase } from '../support/helpers';
import { ALL_MODELS, Book, Sample } from './models';
import { inTx, seedLibrary, useTables } from './support';

eachDatabase('arithmetic result types', (db) => {
  useTables(db, ALL_MODELS);

  test('over a DecimalField: decimal strings with the exact value; over integers: numbers; null operands give null', () =>
    inTx(async () => {
      await seedLibrary();
      const rows = await Book.objects
        .annotate({
          double: F('price').mul(2),
          pagesTwice: F('pages').mul(2),
          perPage: F('price').div(F('pages')),
          plusPages: F('pages').add(F('price')),
          nested: F('price').mul(2).sub(1),
        })
        .orderBy('title')
        .values('title', 'double', 'pagesTwice', 'perPage', 'plusPages', 'nested');
      const alpha = rows.find((r) => r.title === 'Alpha')!;
      const gamma = rows.find((r) => r.title === 'Gamma 100%')!;
      expect([typeof alpha.double, typeof alpha.pagesTwice, typeof alpha.perPage, typeof alpha.plusPages, typeof alpha.nested]).toEqual([
        'string',
        'number',
        'string',
        'string',
        'string',
      ]);
      // Django: Decimal('21.00'), 240, Decimal('0.0875'), Decimal('130.50'), Decimal('20.00').
      expect([Number(alpha.double), alpha.pagesTwice, Number(alpha.plusPages), Number(alpha.nested)]).toEqual([21, 240, 130.5, 20]);
      expect(Number(alpha.perPage)).toBeCloseTo(0.0875, 10);
      expect([gamma.double, gamma.perPage, gamma.plusPages, gamma.nested]).toEqual([null, null, null, null]);
    }));

  test('aggregates of expressions and arithmetic on aggregates', () =>
    inTx(async () => {
      await seedLibrary();
      const agg = await Book.objects.aggregate({
        revenue: Sum(F('price').mul(3)),
        avgRevenue: Avg(F('price').mul(3)),
        pagesSum: Sum(F('pages').mul(2)),
        topDouble: Max(F('price').mul(2)),
        sumTimes: Sum('price').mul(2),
        avgPlus: Avg('price').add(1),
      });
      expect(Object.fromEntries(Object.entries(agg).map(([k, v]) => [k, typeof v]))).toEqual({
        revenue: 'string',
        avgRevenue: 'string',
        pagesSum: 'number',
        topDouble: 'string',
        sumTimes: 'string',
        avgPlus: 'string',
      });
      // Prices 10.50, 25.00, NULL, 40.00, 15.25, 5.00 (Django: Decimal('287.25'), Decimal('57.45'), 2520, Decimal('80.00'), Decimal('191.50'), Decimal('20.15')).
      expect(Number(agg.revenue)).toBe(287.25);
      expect(Number(agg.avgRevenue)).toBeCloseTo(57.45, 10);
      expect(agg.pagesSum).toBe(2520);
      expect(Number(agg.topDouble)).toBe(80);
      expect(Number(agg.sumTimes)).toBe(191.5);
      expect(Number(agg.avgPlus)).toBeCloseTo(20.15, 10);
      const none = await Book.objects.filter({ pages: -1 }).aggregate({ sumTimes: Sum('price').mul(2), pagesSum: Sum(F('pages').mul(2)) });
      expect(none).toEqual({ sumTimes: null, pagesSum: null });
    }));

  test('over a BigIntegerField: bigints, exact beyond 2^53', () =>
    inTx(async () => {
      await Sample.objects.create({ big: 2n ** 53n + 1n, small: 1 });
      const [row] = await Sample.objects.annotate({ next: F('big').add(1), twice: F('big').mul(2) }).values('next', 'twice');
      expect(row).toEqual({ next: 2n ** 53n + 2n, twice: 2n ** 54n + 2n });
      const agg = await Sample.objects.aggregate({ total: Sum('big'), plus: Sum(F('big').add(1)), top: Max('big') });
      expect(agg).toEqual({ total: 2n ** 53n + 1n, plus: 2n ** 53n + 2n, top: 2n ** 53n + 1n });
    }));
});
