// Issue 10 (subqueries, windows, JSON): annotation types inferred from the expression; wrong uses rejected.
import {
  Case,
  Count,
  Exists,
  F,
  FirstValue,
  KeyTextTransform,
  KeyTransform,
  type JSONKeyValue,
  Lag,
  Lower,
  OuterRef,
  Q,
  Rank,
  RowNumber,
  Subquery,
  Sum,
  Value,
  When,
  Window,
  type JSONLike,
} from '@spool/orm';
import type { Equal, Expect } from './utils';
import { Author, Book } from './models';

export async function subqueries(): Promise<void> {
  const books = Book.objects.filter({ author: OuterRef('pk') }).orderBy('-pages');
  const rows = await Author.objects.annotate({
    title: Subquery(books.values('title').slice(0, 1)),
    pages: Subquery(books.valuesList('pages', { flat: true }).slice(0, 1)),
    price: Subquery(books.values('price').slice(0, 1)),
    hasBooks: Exists(books),
  });
  type R = (typeof rows)[number];
  type T1 = Expect<Equal<R['title'], string | null>>;
  type T2 = Expect<Equal<R['pages'], number | null>>;
  type T3 = Expect<Equal<R['price'], string | null>>;
  type T4 = Expect<Equal<R['hasBooks'], boolean>>;
  // Exists is a filter of its own, negated with not() or Q.not().
  void Author.objects.filter(Exists(books)).exclude(Exists(books).not());
  void Author.objects.filter(Q.not(Exists(books)), Q(Exists(books)).or({ age__lt: 30 }));
  void Author.objects.filter({ id__in: Book.objects.values('author') });
  void Book.objects.filter({ pages: Subquery(books.values('pages').slice(0, 1)) });
  // @ts-expect-error -- a plain value is not a condition
  void Author.objects.filter(F('age'));
  // @ts-expect-error -- Subquery takes a query set
  void Subquery(['x']);
  // A boolean expression is a When condition (Django's conditional expressions), without Q.
  const old = Case(When({ age__gt: 40 }, new Value(true)), { default: new Value(false) });
  const kinds = await Author.objects.annotate({
    kind: Case(When(Exists(books), new Value('writer')), When(old, new Value('old')), { default: new Value('-') }),
    n: Case(When(Exists(books).not(), new Value(0)), { default: new Value(1) }),
  });
  type T5 = Expect<Equal<(typeof kinds)[number]['kind'], string>>;
  type T6 = Expect<Equal<(typeof kinds)[number]['n'], number>>;
  void Author.objects.filter(old);
  // @ts-expect-error -- a field reference is not a condition (compare it: { flag: true })
  void When(F('age'), new Value(1));
  // @ts-expect-error -- a text expression is not a condition
  void When(Lower('name'), new Value(1));
}

export async function windows(): Promise<void> {
  const rows = await Book.objects.annotate({
    row: Window(RowNumber(), { orderBy: 'pages' }),
    rank: Window(Rank(), { partitionBy: 'author', orderBy: ['-pages', F('title').asc()] }),
    running: Window(Sum('pages'), { orderBy: 'pages' }),
    money: Window(Sum('price'), { partitionBy: 'author' }),
    n: Window(Count('*'), { partitionBy: 'author' }),
    before: Window(Lag('title'), { orderBy: 'pages' }),
    first: Window(FirstValue('published'), { orderBy: 'pages' }),
  });
  type R = (typeof rows)[number];
  type T1 = Expect<Equal<R['row'], number>>;
  type T2 = Expect<Equal<R['rank'], number>>;
  type T3 = Expect<Equal<R['running'], number | null>>;
  type T4 = Expect<Equal<R['money'], string | null>>;
  type T5 = Expect<Equal<R['n'], number>>;
  type T6 = Expect<Equal<R['before'], string | null>>;
  type T7 = Expect<Equal<R['first'], string | null>>;
  // @ts-expect-error -- Window takes options, not a field name
  void Window(RowNumber(), 'pages');
  // @ts-expect-error -- distinct() takes field names of the model
  void Book.objects.distinct('nope');
  void Book.objects.distinct('author', 'pages').orderBy('authorId', 'pages', '-title');
}

export async function json(): Promise<void> {
  void Book.objects.filter({ meta__edition: 2, meta__has_key: 'edition', meta__hasKeys: ['edition'], meta__contains: { edition: 2 } });
  void Book.objects.filter({ meta__edition__isnull: true, meta: null });
  const values = await Book.objects.values('title', 'meta__edition');
  type T1 = Expect<Equal<typeof values, { title: string; meta__edition: JSONLike }[]>>;
  const flat = await Book.objects.orderBy('-meta__edition').valuesList('meta__edition', { flat: true });
  type T2 = Expect<Equal<typeof flat, JSONLike[]>>;
  // (Any name after a JSON field is a key path taking a JSON value, so `meta__has_keys: 'edition'`
  // compiles; it is a FieldError when the query is built.)
  // @ts-expect-error -- key paths only on JSON fields
  void Book.objects.values('title__x');
  // Lookups on a key's value (Django's KeyTransform lookups).
  void Book.objects.filter({
    meta__edition__gt: 2,
    meta__edition__lte: '3',
    meta__edition__in: [1, '2', null],
    meta__owner__name__icontains: 'an',
    meta__owner__name__iregex: '^a',
  });
  // @ts-expect-error -- text lookups on a key take a string
  void Book.objects.filter({ meta__owner__name__startswith: 1 });
  // @ts-expect-error -- comparisons on a key take a scalar
  void Book.objects.filter({ meta__edition__gt: [1] });
  // @ts-expect-error -- in on a key takes a list
  void Book.objects.filter({ meta__edition__in: 1 });
  // @ts-expect-error -- range on a key is not supported
  void Book.objects.filter({ meta__edition__range: [1, 2] });
  // Key paths as expressions: a JSON value (KeyTransform), or its text parsed back (KeyTextTransform).
  const keys = await Book.objects
    .annotate({ e: F('meta__edition'), k: KeyTransform('owner', 'meta'), t: KeyTextTransform('name', KeyTransform('owner', 'meta')) })
    .valuesList('e', 'k', 't');
  type T3 = Expect<Equal<typeof keys, [JSONLike, JSONKeyValue, JSONKeyValue][]>>;
  void Book.objects.orderBy(F('meta__edition').desc(), KeyTransform('edition', 'meta'));
}
