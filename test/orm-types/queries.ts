// values('a', 'b') yields { a, b } rows; valuesList tuples and flat values; annotations add typed
// keys; aggregate() returns typed values.
import { Avg, Count, F, Max, Min, Q, Sum } from '@spool/orm';
import type { Equal, Expect } from './utils';
import { Author, Book } from './models';

export async function values(): Promise<void> {
  const rows = await Book.objects.values('title', 'pages');
  type T1 = Expect<Equal<typeof rows, { title: string; pages: number }[]>>;
  const spanning = await Book.objects.values('title', 'author__name', 'author__publisher__name');
  type T2 = Expect<Equal<typeof spanning, { title: string; author__name: string; author__publisher__name: string | null }[]>>;
  const keys = await Book.objects.values('authorId', 'parent', 'price');
  type T3 = Expect<Equal<typeof keys, { authorId: number; parent: number | null; price: string | null }[]>>;
  const all = await Author.objects.values();
  type T4 = Expect<
    Equal<typeof all, { name: string; age: number | null; status: 'active' | 'retired'; publisherId: number | null; id: number }[]>
  >;
  const tuples = await Book.objects.valuesList('id', 'title', 'published');
  type T5 = Expect<Equal<typeof tuples, [number, string, string | null][]>>;
  const flat = await Book.objects.valuesList('title', { flat: true });
  type T6 = Expect<Equal<typeof flat, string[]>>;
  const reverse = await Author.objects.values('name', 'books__title');
  type T7 = Expect<Equal<typeof reverse, { name: string; books__title: string | null }[]>>;
}

export async function annotations(): Promise<void> {
  const authors = await Author.objects.annotate({ nBooks: Count('books'), avgPages: Avg('books__pages') });
  type A0 = (typeof authors)[number];
  type T1 = Expect<Equal<A0['nBooks'], number>>;
  type T2 = Expect<Equal<A0['avgPages'], number | null>>;
  type T3 = Expect<Equal<A0['name'], string>>;
  const filtered = Author.objects
    .annotate({ n: Count('books') })
    .filter({ n__gte: 2 })
    .orderBy('-n');
  void filtered;
  const grouped = await Book.objects.values('authorId').annotate({ n: Count('id'), total: Sum('pages') });
  type T4 = Expect<Equal<typeof grouped, { authorId: number; n: number; total: number | null }[]>>;
  const agg = await Book.objects.aggregate({ n: Count('id'), latest: Max<string | null>('published') });
  type T5 = Expect<Equal<typeof agg, { n: number; latest: string | null }>>;
  // Aggregates are typed from the field: decimals are strings, integers numbers, Min/Max the field's type.
  const typed = await Book.objects.aggregate({
    sum: Sum('price'),
    avg: Avg('price'),
    pages: Avg('pages'),
    first: Min('published'),
    most: Max('pages'),
    third: Sum(F('pages').div(3)),
    ratio: Sum('pages').div(3),
  });
  type T6 = Expect<
    Equal<
      typeof typed,
      {
        sum: string | null;
        avg: string | null;
        pages: number | null;
        first: string | null;
        most: number | null;
        third: number | null;
        ratio: number | null;
      }
    >
  >;
  // Arithmetic is typed as computed (issue 9): over a decimal a decimal string, over integers a
  // number; nullable when an operand is; aggregates of expressions take the expression's type.
  const arith = await Book.objects.annotate({
    double: F('price').mul(2),
    pagesTwice: F('pages').mul(2),
    perPage: F('price').div(F('pages')),
    plusPages: F('pages').add(F('price')),
    nested: F('price').mul(2).sub(1),
    revenue: Sum(F('price').mul(3)),
    avgRevenue: Avg(F('price').mul(3)),
    pagesSum: Sum(F('pages').mul(2)),
    avgPages: Avg(F('pages').mul(2)),
    topDouble: Max(F('price').mul(2)),
    sumTimes: Sum('price').mul(2),
    avgPlus: Avg('price').add(1),
  });
  type TA = Expect<
    Equal<
      Pick<
        (typeof arith)[number],
        | 'double'
        | 'pagesTwice'
        | 'perPage'
        | 'plusPages'
        | 'nested'
        | 'revenue'
        | 'avgRevenue'
        | 'pagesSum'
        | 'avgPages'
        | 'topDouble'
        | 'sumTimes'
        | 'avgPlus'
      >,
      {
        double: string | null;
        pagesTwice: number;
        perPage: string | null;
        plusPages: string | null;
        nested: string | null;
        revenue: string | null;
        avgRevenue: string | null;
        pagesSum: number | null;
        avgPages: number | null;
        topDouble: string | null;
        sumTimes: string | null;
        avgPlus: string | null;
      }
    >
  >;
  const arithRows = await Book.objects.values('id', { double: F('price').mul(2) });
  type TB = Expect<Equal<(typeof arithRows)[number]['double'], string | null>>;
  const perAuthor = await Author.objects.annotate({ total: Sum('books__price'), top: Max('books__pages') });
  type T7 = Expect<Equal<(typeof perAuthor)[number]['total'], string | null>>;
  type T8 = Expect<Equal<(typeof perAuthor)[number]['top'], number | null>>;
}

export function lookups(): void {
  Book.objects.filter({ title__icontains: 'x', pages__gte: 3, published__year: 2020, author__name__startswith: 'A' });
  Book.objects.filter({ author: { name: 'Ann', publisher: { name__in: ['a'] } } });
  Book.objects.filter({ tags__name: 'x', price__isnull: true, created__date: '2024-01-01', pages__range: [1, 2] });
  Book.objects.filter({ pages__gt: F('price').mul(2) });
  // A query set is an __in value (its published type has no @internal members).
  Book.objects.filter({ author__in: Author.objects.filter({ name__startswith: 'A' }) });
  Author.objects.filter({ id__in: Book.objects.filter({ pages__gt: 3 }).values('author') });
  Book.objects.filter(Q<Book>({ title: 'a' }).or(Q<Book>({ pages: 3 })));
  Author.objects.filter({ books__title: 'x', status: 'retired' });
  Book.objects.orderBy('-pages', 'author__name', '?');
  Book.objects.selectRelated('author', 'author__publisher');
  Book.objects.prefetchRelated('tags', 'author__books');
}
