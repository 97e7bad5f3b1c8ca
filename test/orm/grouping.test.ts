// values()/valuesList() after an aggregate annotate(): the rows stay one per object, as in Django
// (GROUP BY the model's columns, then what is selected). Grouping by the selected columns alone
// merged distinct objects with equal values (52 authors gave one row per age, or a single row
// when only the aggregate was selected): a silently wrong answer. Django's values are in
// test/django-reference/expected/grouping.json.
import { scope } from '@spool/connections';
import { Count } from '@spool/orm';
import { eachDatabase } from '../support/helpers';
import { djangoValue, loadReferenceData } from '../django-reference/reference';
import { Author } from './models';
import { useTables } from './support';

type Row = [number | string | null, number];
/** Django's sort of the unordered rows: NULLs first, then by value, then by the count. */
const sortRows = (rows: readonly Row[]): Row[] =>
  [...rows].sort((a, b) => {
    if ((a[0] === null) !== (b[0] === null)) return a[0] === null ? -1 : 1;
    if (a[0] !== b[0]) return (a[0] as number | string) < (b[0] as number | string) ? -1 : 1;
    return a[1] - b[1];
  });

eachDatabase('values() after an aggregate annotate() (Django grouping)', (db) => {
  useTables(db);
  beforeAll(() => scope(() => loadReferenceData()), 120_000);
  const django = <T = unknown>(name: string): T => djangoValue<T>(`grouping.${name}`, db.name);

  test('only the aggregate selected: one value per object', () =>
    scope(async () => {
      const counts = await Author.objects.annotate({ n: Count('books') }).valuesList('n', { flat: true });
      expect(counts).toHaveLength(52);
      expect([...counts].sort((a, b) => a - b)).toEqual(django('annotate_then_values_list_flat'));
    }));

  test('a column objects share, then the aggregate: one row per object, not per value', () =>
    scope(async () => {
      const rows = await Author.objects.annotate({ n: Count('books') }).valuesList('age', 'n');
      expect(sortRows(rows as Row[])).toEqual(django('annotate_then_values_shared_value'));
    }));

  test('a related column, then the aggregate: one row per object', () =>
    scope(async () => {
      const rows = await Author.objects.annotate({ n: Count('books') }).valuesList('publisher__country', 'n');
      expect(sortRows(rows as Row[])).toEqual(django('annotate_then_values_related'));
    }));

  test('values() before annotate() still groups by the values', () =>
    scope(async () => {
      const rows = await Author.objects
        .values('age')
        .annotate({ n: Count('books') })
        .orderBy('age')
        .valuesList('age', 'n');
      expect(rows).toEqual(django('values_then_annotate'));
    }));

  test('the aggregate with a filter on it (HAVING) keeps one row per object', () =>
    scope(async () => {
      const all = await Author.objects.annotate({ n: Count('books') }).valuesList('n', { flat: true });
      const many = await Author.objects
        .annotate({ n: Count('books') })
        .filter({ n__gte: 4 })
        .valuesList('n', { flat: true });
      expect([...many].sort((a, b) => a - b)).toEqual([...all].filter((n) => n >= 4).sort((a, b) => a - b));
    }));
});
