// NOT in exclude() and Q, against Django 3.2's answers on the reference data (catalogue section
// `negation` of test/django-reference/queries.py), on every database of the matrix. Found by an
// independent probe of issue 9 (findings F1-F3), each silently wrong before:
// - F1: a comparison with F() of a nullable column under NOT dropped the rows where that column
//   is NULL (Django: `NOT (a > b AND b IS NOT NULL)`);
// - F2: two negations over a multi-valued relation cancelled into an INNER JOIN (rows repeated)
//   where Django keeps the subquery;
// - F3: a multi-valued lookup under an even number of NOTs inside a larger exclude() joined too
//   (rows without related rows lost), and a positive lookup there kept an INNER join on a
//   nullable relation that Django makes LEFT.
import { scope } from '@spool/connections';
import { Case, Count, F, Max, Min, Q, Sum, Value, When, type QuerySet } from '@spool/orm';
import { eachDatabase } from '../support/helpers';
import { djangoAnswer, djangoValue, loadReferenceData } from '../django-reference/reference';
import { Author, Book, Publisher, Tag } from './models';
import { inTx, useTables } from './support';

type Listed = QuerySet<Book> | QuerySet<Author> | QuerySet<Tag> | QuerySet<Publisher>;

eachDatabase('negation (Django’s answers)', (db) => {
  useTables(db);
  beforeAll(() => scope(() => loadReferenceData()), 120_000);
  const django = <T = unknown>(name: string): T => djangoValue<T>(`negation.${name}`, db.name);
  const ids = (qs: Listed): PromiseLike<number[]> => (qs as unknown as QuerySet<Book>).orderBy('id').valuesList('id', { flat: true });

  describe('F() of a nullable column under NOT: the F() column IS NOT NULL inside the NOT (F1)', () => {
    test('on the model’s own column, as rows and as a count', () =>
      scope(async () => {
        const qs = Book.objects.exclude({ pages__gt: F('price') });
        expect(await ids(qs)).toEqual(django('exclude_f_nullable_column'));
        expect(await qs.count()).toBe(django('exclude_f_nullable_column_count'));
        // Books whose price is NULL are among them (the NOT of an unknown comparison keeps the row).
        const nullPrices = await Book.objects.filter({ price__isnull: true }).valuesList('id', { flat: true });
        expect(nullPrices.length).toBeGreaterThan(0);
        expect(await ids(qs)).toEqual(expect.arrayContaining(nullPrices));
      }));

    test('both sides nullable, across a foreign key, across a nullable foreign key, as Q.not()', () =>
      scope(async () => {
        expect(await ids(Book.objects.exclude({ price__lt: F('author__age') }))).toEqual(django('exclude_f_both_nullable'));
        expect(await ids(Book.objects.exclude({ pages__gt: F('author__age') }))).toEqual(django('exclude_f_across_fk'));
        expect(await ids(Book.objects.exclude({ pages__gt: F('editor__age') }))).toEqual(django('exclude_f_across_nullable_fk'));
        expect(await ids(Book.objects.filter(Q.not({ pages__gt: F('author__age') })))).toEqual(django('not_q_f_across_fk'));
      }));

    test('an expression over the column is not a column: no IS NOT NULL for it (as Django)', () =>
      scope(async () => {
        expect(await ids(Book.objects.exclude({ pages__gt: F('author__age').add(100) }))).toEqual(django('exclude_f_expression'));
      }));

    test('F() across a multi-valued relation (a LEFT JOIN, a row per related row)', () =>
      scope(async () => {
        expect(await ids(Author.objects.exclude({ age__gt: F('books__pages') }))).toEqual(django('exclude_f_multi_valued'));
      }));
  });

  describe('a multi-valued lookup under any NOT is a subquery, even under two (F2, F3)', () => {
    test('exclude(Q.not(multi)) and filter(Q.not(Q.not(multi))): each tag once, as Django', () =>
      scope(async () => {
        expect(await ids(Tag.objects.exclude(Q.not({ books__price__lt: 20 })))).toEqual(django('exclude_not_multi'));
        expect(await ids(Tag.objects.filter(Q.not(Q.not({ books__price__lt: 20 }))))).toEqual(django('filter_not_not_multi'));
        expect({
          exclude_not: await Tag.objects.exclude(Q.not({ books__price__lt: 20 })).count(),
          filter_not_not: await Tag.objects.filter(Q.not(Q.not({ books__price__lt: 20 }))).count(),
          filter: await Tag.objects.filter({ books__price__lt: 20 }).count(),
        }).toEqual(django('double_negation_counts'));
        expect(await ids(Publisher.objects.exclude(Q.not({ authors__age__gt: 40 })))).toEqual(django('exclude_not_reverse_fk'));
      }));

    test('Q.not(Q.not(x)) nests instead of cancelling', () => {
      const q = Q.not(Q.not({ books__price__lt: 20 }));
      expect(q.negated).toBe(true);
      expect(q.children).toHaveLength(1);
      expect((q.children[0] as ReturnType<typeof Q>).negated).toBe(true);
    });

    test('a negated multi-valued lookup inside exclude(): rows without related rows stay, each row once', () =>
      scope(async () => {
        expect(await ids(Author.objects.exclude(Q.not({ books__pages__lt: 150 }).and({ age__gt: 30 })))).toEqual(
          django('exclude_not_multi_and_column'),
        );
        expect(await ids(Tag.objects.exclude(Q.not({ books__pages__gt: 300 }).or({ name: 'python' })))).toEqual(
          django('exclude_not_multi_or_column'),
        );
        expect(await ids(Book.objects.exclude(Q.not({ tags__isnull: false })))).toEqual(django('exclude_not_m2m_isnull'));
        expect(await ids(Book.objects.exclude(Q.not({ price__lt: 20, tags__isnull: false })))).toEqual(django('exclude_not_mixed'));
        expect(await ids(Author.objects.exclude(Q.not({ books__pages__lt: 150 }).and({ books__price__gt: 10 })))).toEqual(
          django('exclude_not_multi_and_multi'),
        );
      }));

    test('a positive lookup under two NOTs in an OR-like NOT (a AND b) keeps its nullable join LEFT', () =>
      scope(async () => {
        const qs = Author.objects.exclude(Q.not({ publisher__name: 'Acme', books__pages__lt: 150 }).and({ age__gt: 30 }));
        expect(await ids(qs)).toEqual(django('exclude_not_join_promotion'));
        // Django's SQL joins the publisher LEFT OUTER; so does Spool's.
        expect(djangoAnswer('negation.exclude_not_join_promotion', db.name).sql?.[0]).toMatch(/LEFT OUTER JOIN `?"?orm_publisher/);
        expect(qs.toSQL().sql).toMatch(/left (outer )?join [`"]orm_publisher/i);
      }));
  });

  describe('a condition used as an expression is tested on each joined row: aggregate filter, When (F12, F13)', () => {
    test('Count/Sum with filter: Q.not(multi) count the joined rows that fail the condition, no subquery', () =>
      scope(async () => {
        const rows = (qs: any, name: string): Promise<unknown> => qs.orderBy('id').valuesList('id', name);
        expect(await rows(Author.objects.annotate({ c: Count('books', { filter: Q.not({ books__price__lt: 20 }) }) }), 'c')).toEqual(
          django('aggregate_filter_not_multi'),
        );
        expect(await rows(Author.objects.annotate({ c: Count('books', { filter: Q.not({ books__tags__name: 'python' }) }) }), 'c')).toEqual(
          django('aggregate_filter_not_m2m'),
        );
        expect(await rows(Author.objects.annotate({ s: Sum('books__pages', { filter: Q.not({ books__price__gt: 10 }) }) }), 's')).toEqual(
          django('aggregate_filter_not_sum'),
        );
        expect(
          await Book.objects.aggregate({
            tags: Count('id', { filter: Q.not({ tags__name: 'python' }) }),
            f: Count('id', { filter: Q.not({ pages__gt: F('price') }) }),
          }),
        ).toEqual(django('aggregate_filter_not_plain'));
      }));

    test('When(Q.not(...)): per joined row in a conditional sum, an annotation and update()', () =>
      scope(async () => {
        const x = (when: ReturnType<typeof Q>) => Case(When(when, new Value(1)), { default: new Value(0) });
        expect(
          await Author.objects
            .annotate({ x: Sum(x(Q.not({ books__price__lt: 20 }))) })
            .orderBy('id')
            .valuesList('id', 'x'),
        ).toEqual(django('when_not_multi_sum'));
        expect(
          await Book.objects
            .annotate({ x: x(Q.not({ pages__gt: F('price') })) })
            .orderBy('id')
            .valuesList('id', 'x'),
        ).toEqual(django('when_not_f_nullable'));
        expect(
          await Book.objects
            .annotate({ x: x(Q.not({ tags__name: 'python' })) })
            .orderBy('id')
            .valuesList('id', 'x'),
        ).toEqual(django('when_not_m2m_rows'));
        await inTx(async () => {
          const updated = await Book.objects.update({ pages: x(Q.not({ pages__gt: F('price') })) as never });
          expect({ updated, rows: await Book.objects.orderBy('id').valuesList('id', 'pages') }).toEqual(
            django('update_when_not_f_nullable'),
          );
        });
        await inTx(async () => {
          const updated = await Book.objects.exclude({ pages__gt: F('price') }).update({ pages: 0 });
          expect({ updated, rows: await Book.objects.filter({ pages: 0 }).orderBy('id').valuesList('id', { flat: true }) }).toEqual(
            django('update_exclude_f_nullable'),
          );
        });
      }));

    test('the latest join of a relation filtered twice (also in the join-reuse catalogue)', () =>
      scope(async () => {
        expect(
          await Author.objects
            .annotate({ a0: Min('books__pages') })
            .filter({ books__price__isnull: true })
            .annotate({ a1: Min('books__pages') })
            .orderBy('id')
            .valuesList('id', 'a0', 'a1'),
        ).toEqual(django('latest_join_aggregate'));
        expect(
          await Author.objects
            .filter({ books__tags__name: 'python' })
            .filter({ books__pages__gt: 100 })
            .annotate({ t: Max('books__pages') })
            .orderBy('id')
            .valuesList('id', 't'),
        ).toEqual(django('latest_join_chained_filters'));
        expect(
          await Author.objects
            .filter({ books__pages__lt: 150 })
            .filter({ books__pages__gt: 300 })
            .aggregate({ t: Sum('books__pages') }),
        ).toEqual(django('latest_join_aggregate_call'));
      }));
  });
});
