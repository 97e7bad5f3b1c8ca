// Which join of a multi-valued relation a reference reads (probe 9, findings 9, 10 and 10b), against
// Django 3.2's answers in test/django-reference (section `joins`). Each chained filter() on a
// multi-valued relation makes a new join; a later annotate() aggregate, F(), values(), orderBy() or
// aggregate() naming the relation reads the most recent one (Django's Query.join() reuses its last
// alias), so it sees the rows the last filter kept. And an aggregate condition ORed with a column of a
// multi-valued join goes to HAVING with that column grouped (MariaDB refused it: finding 9).
import { scope } from '@spool/connections';
import { Count, F, Max, Min, Q, Sum } from '@spool/orm';
import { eachDatabase } from '../support/helpers';
import { djangoAnswer, loadReferenceData } from '../django-reference/reference';
import { Author, Book, Publisher } from './models';
import { inTx, useTables } from './support';

eachDatabase('Django answers (join reuse)', (db) => {
  useTables(db);
  beforeAll(() => scope(() => loadReferenceData()), 120_000);

  /** `run` (in a rolled-back transaction) gives Django's answer to `name` on this database. */
  const check = (name: string, run: () => PromiseLike<unknown>) =>
    inTx(async () => {
      const answer = djangoAnswer(name, db.name);
      expect(answer.error).toBeUndefined();
      expect(await run()).toEqual(answer.value);
    });

  const twoFilters = () => Author.objects.filter({ books__pages__lt: 200 }).filter({ books__pages__gt: 700 });

  test('an aggregate annotated after filter() reads the filter join (F10)', () =>
    check('joins.annotate_filter_annotate', () =>
      Author.objects
        .annotate({ a0: Min('books__pages') })
        .filter({ books__price__isnull: true })
        .annotate({ a1: Min('books__pages') })
        .orderBy('id')
        .valuesList('id', 'a0', 'a1'),
    ));

  test('Count, then filter(), then Sum and Count: both through the filter join (F10)', () =>
    check('joins.count_filter_sum', () =>
      Author.objects
        .annotate({ n: Count('books') })
        .filter({ books__pages__gt: 500 })
        .annotate({ s: Sum('books__pages'), c: Count('books') })
        .orderBy('id')
        .valuesList('id', 'n', 's', 'c'),
    ));

  test('annotate() after two filter()s reads the second one (F10b)', () =>
    check('joins.chained_filters_annotate', () =>
      Author.objects
        .filter({ books__tags__name: 'python' })
        .filter({ books__pages__gt: 500 })
        .annotate({ t: Max('books__pages'), c: Count('books') })
        .orderBy('id')
        .valuesList('id', 't', 'c'),
    ));

  test('aggregate() after two filter()s (F10b)', () =>
    check('joins.chained_filters_aggregate', () =>
      twoFilters().aggregate({ t: Sum('books__pages'), c: Count('books'), m: Min('books__pages') }),
    ));

  test('F() after two filter()s (F10b)', () =>
    check('joins.chained_filters_f', () =>
      twoFilters()
        .annotate({ t: F('books__pages') })
        .orderBy('id', 't')
        .valuesList('id', 't'),
    ));

  test('valuesList() after two filter()s (F10b)', () =>
    check('joins.chained_filters_values', () => twoFilters().orderBy('id', 'books__pages').valuesList('id', 'books__pages')));

  test('orderBy() after two filter()s (F10b)', () =>
    check('joins.chained_filters_order_by', () => twoFilters().orderBy('-books__pages', 'id').valuesList('id', { flat: true })));

  test('many-to-many: Count and Max of tags after two filter()s on tags', () =>
    check('joins.chained_m2m_count', () =>
      Book.objects
        .filter({ tags__name: 'python' })
        .filter({ tags__name__in: ['web', 'db'] })
        .annotate({ n: Count('tags'), m: Max('tags__name') })
        .orderBy('id')
        .valuesList('id', 'n', 'm'),
    ));

  test('two hops: books under the last authors join', () =>
    check('joins.chained_nested', () =>
      Publisher.objects
        .filter({ authors__books__pages__gt: 800 })
        .filter({ authors__age__lt: 40 })
        .annotate({ m: Max('authors__books__pages'), c: Count('authors__books') })
        .orderBy('id')
        .valuesList('id', 'm', 'c'),
    ));

  test('aggregate() of an annotation made after two filter()s', () =>
    check('joins.chained_annotate_aggregate', () =>
      twoFilters()
        .annotate({ m: Max('books__pages') })
        .aggregate({ s: Sum('m'), c: Count('id') }),
    ));

  test('HAVING: an aggregate ORed with a column of a multi-valued join (F9)', () =>
    check('joins.having_or_multi_valued_column', () =>
      Author.objects
        .annotate({ n: Count('books') })
        .filter(Q.or({ n__lt: 2 }, { books__tags__name: 'python' }))
        .orderBy('id', 'n')
        .valuesList('id', 'n'),
    ));

  test('HAVING: an aggregate ORed with a column named like one of the model (publisher.name), filter and exclude', () =>
    check('joins.having_or_related_name', async () => {
      const a = () => Author.objects.annotate({ n: Count('books') });
      const cond = Q.or({ n__gt: 5 }, { publisher__name__startswith: 'B' });
      return {
        filter: await a().filter(cond).orderBy('id').valuesList('id', 'n'),
        exclude: await a().exclude(cond).orderBy('id').valuesList('id', 'n'),
      };
    }));

  test("HAVING: an aggregate ORed with a book's id (Django raises on MariaDB; Spool answers as Django does elsewhere)", () =>
    inTx(async () => {
      const rows = await Author.objects
        .annotate({ n: Count('books') })
        .filter(Q.or({ n__gt: 5 }, { books__id__in: [3, 4, 5] }))
        .orderBy('id', 'n')
        .valuesList('id', 'n');
      const name = 'joins.having_or_book_id';
      if (db.name === 'mysql') {
        expect(djangoAnswer(name, 'mysql').error?.message).toMatch(/Unknown column 'T3.id' in 'HAVING'/);
        expect(rows).toEqual(djangoAnswer(name, 'postgres').value);
      } else expect(rows).toEqual(djangoAnswer(name, db.name).value);
    }));
});
