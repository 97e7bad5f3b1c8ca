// Database functions and conditional expressions: an annotation's type follows the function's
// output and the fields it reads; a function of the wrong kind of argument does not compile.
import {
  Abs,
  Case,
  Cast,
  Coalesce,
  Concat,
  Count,
  ExtractYear,
  F,
  FloatField,
  Greatest,
  Left,
  Length,
  Lower,
  Mod,
  Now,
  Power,
  NullIf,
  Q,
  StdDev,
  Sum,
  TextField,
  TruncDate,
  TruncMonth,
  Upper,
  Value,
  When,
} from '@spool/orm';
import type { Equal, Expect } from './utils';
import { Author, Book } from './models';

export async function functionTypes(): Promise<void> {
  const rows = await Author.objects.annotate({
    lower: Lower('name'),
    lowerAge: Coalesce('age', 0),
    n: Length('name'),
    upper: Upper(F('name')),
    left: Left('name', 1),
    concat: Concat('name', new Value('!')),
    nullif: NullIf('name', new Value('x')),
    greatest: Greatest('age', 30),
    abs: Abs('age'),
    float: Cast('age', new FloatField()),
    field: F('name'),
  });
  type R = (typeof rows)[number];
  type T1 = Expect<Equal<R['lower'], string>>;
  type T2 = Expect<Equal<R['lowerAge'], number>>;
  type T3 = Expect<Equal<R['n'], number>>;
  type T4 = Expect<Equal<R['upper'], string>>;
  type T5 = Expect<Equal<R['left'], string>>;
  type T6 = Expect<Equal<R['concat'], string>>;
  type T7 = Expect<Equal<R['nullif'], string | null>>;
  type T8 = Expect<Equal<R['greatest'], number | null>>;
  type T9 = Expect<Equal<R['abs'], number | null>>;
  type T10 = Expect<Equal<R['float'], number | null>>;
  type T11 = Expect<Equal<R['field'], string>>;

  const books = await Book.objects
    .annotate({
      year: ExtractYear('published'),
      month: TruncMonth('published'),
      created: TruncMonth('created'),
      day: TruncDate('created'),
      price: Coalesce('price', new Value('0.00')),
      mod: Mod('pages', 7),
      decimalMod: Mod('price', 2),
      now: Now(),
    })
    .values('year', 'month', 'created', 'day', 'price', 'mod', 'decimalMod', 'now');
  type B = (typeof books)[number];
  type T12 = Expect<Equal<B['year'], number | null>>;
  type T13 = Expect<Equal<B['month'], string | null>>;
  type T14 = Expect<Equal<B['created'], Date>>;
  type T15 = Expect<Equal<B['day'], string>>;
  type T16 = Expect<Equal<B['price'], string>>;
  type T17 = Expect<Equal<B['mod'], number>>;
  type T18 = Expect<Equal<B['decimalMod'], string | null>>;
  type T19 = Expect<Equal<B['now'], Date>>;

  // Case: the union of its branches, null without a default.
  const sized = await Book.objects.annotate({
    size: Case(When({ pages__gte: 300 }, new Value('long')), { default: new Value('short') }),
    maybe: Case(When(Q({ pages__gte: 300 }), 'pages')),
    mixed: Case(When({ pages__gte: 300 }, 'title'), When({ pages__lt: 10 }, 'price'), { default: new Value('?') }),
  });
  type S = (typeof sized)[number];
  type T20 = Expect<Equal<S['size'], string>>;
  type T21 = Expect<Equal<S['maybe'], number | null>>;
  type T22 = Expect<Equal<S['mixed'], string | null>>;

  // Conditional aggregates keep their types.
  const counted = await Author.objects.annotate({
    long: Count('books', { filter: Q({ books__pages__gt: 300 }) }),
    pages: Sum('books__pages', { filter: { books__pages__gt: 300 } }),
    sd: StdDev('books__pages', { sample: true }),
  });
  type C = (typeof counted)[number];
  type T23 = Expect<Equal<C['long'], number>>;
  type T24 = Expect<Equal<C['pages'], number | null>>;
  type T25 = Expect<Equal<C['sd'], number | null>>;

  // Concat of other types with a text outputField (Django's output_field=CharField()).
  const concat = await Author.objects.annotate({ c: Concat('name', new Value(' '), 'age', { outputField: new TextField() }) });
  type T30 = Expect<Equal<(typeof concat)[number]['c'], string>>;

  // values() and valuesList() take expressions directly (Django's values(**expressions), values_list(expr)).
  const vals = await Book.objects.values('id', 'title', { lower: Lower('title'), n: Length('title'), books: Count('id') });
  type V = (typeof vals)[number];
  type T26 = Expect<Equal<V, { id: number; title: string; lower: string; n: number; books: number }>>;
  const filtered = await Book.objects.values({ lower: Lower('title') }).filter({ lower__startswith: 'a' });
  type T27 = Expect<Equal<(typeof filtered)[number], { lower: string }>>;
  const tuples = await Book.objects.valuesList('id', Lower('title'), Power('pages', 2), 'price');
  type T28 = Expect<Equal<(typeof tuples)[number], [number, string, number, string | null]>>;
  const flat = await Book.objects.valuesList(Upper('title'), { flat: true });
  type T29 = Expect<Equal<(typeof flat)[number], string>>;
}

export function rejected(): void {
  // @ts-expect-error: Lower takes text, not a number.
  Lower(Length('name'));
  // @ts-expect-error: Lower takes text, not a number literal.
  Lower(3);
  // @ts-expect-error: ExtractYear takes a date, not a number.
  ExtractYear(Length('name'));
  // @ts-expect-error: Abs takes a number, not text.
  Abs(Upper('name'));
  // @ts-expect-error: TruncMonth takes a date, not a number.
  TruncMonth(F('pages').add(1));
  // @ts-expect-error: Case takes When branches.
  Case({ pages__gt: 3 });
  // @ts-expect-error: Concat takes text; a number needs a text outputField.
  Concat('name', Length('name'));
  // @ts-expect-error: Concat's outputField is a field.
  Concat('name', Length('name'), { outputField: 'text' });
  // @ts-expect-error: values() takes an object of expressions, not plain values.
  void Book.objects.values('id', { lower: 'title' });
  // @ts-expect-error: an unknown field among the keys.
  void Book.objects.values('nope', { lower: Lower('title') });
}
