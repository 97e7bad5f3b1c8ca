// Row, insert and update types inferred from the definitions; instances and their relations.
import type { InferInsert, InferRow, InferUpdate, PkOf, RelatedManager } from '@spool/orm';
import type { Equal, Expect, HasKey, Mutual, Not } from './utils';
import { Author, Book, Item, Sku, SkuDetail, type Publisher, type Tag } from './models';

// The row of a model: columns, foreign keys as <name>Id, the implicit id.
export type T1 = Expect<
  Equal<InferRow<typeof Author>, { name: string; age: number | null; status: 'active' | 'retired'; publisherId: number | null; id: number }>
>;
export type T2 = Expect<
  Equal<
    InferRow<typeof Book>,
    {
      title: string;
      pages: number;
      price: string | null;
      published: string | null;
      created: Date;
      active: boolean;
      meta: { edition: number } | null;
      authorId: number;
      parentId: number | null;
      id: number;
    }
  >
>;
// A declared primary key replaces the implicit id.
export type T3 = Expect<Equal<InferRow<typeof Item>, { code: string; qty: number }>>;
export type T4 = Expect<Equal<PkOf<Item>, string>>;
export type T5 = Expect<Equal<PkOf<Book>, number>>;

// Insert: required fields are required; defaults, nullables and auto fields are optional; a foreign key takes an instance or a key.
export type Ins = InferInsert<typeof Book>;
export type T6 = Expect<Equal<Ins['title'], string>>;
export type T7 = Expect<Equal<Ins['author'], Author | number>>;
export type T8 = Expect<HasKey<Ins, 'pages'>>;
export type T9 = Expect<Equal<undefined extends Ins['pages'] ? true : false, true>>;
export type T10 = Expect<Equal<undefined extends Ins['title'] ? true : false, false>>;
export type T11 = Expect<Not<HasKey<Ins, 'tags'>>>;
// Update: everything optional, expressions allowed.
export type T12 = Expect<Equal<undefined extends InferUpdate<typeof Book>['title'] ? true : false, true>>;

// Instances: fields, <fk>Id, related instances and managers, custom methods, the $-API.
declare const book: Book;
export type T13 = Expect<Equal<typeof book.title, string>>;
export type T14 = Expect<Equal<typeof book.author, Author>>;
export type T15 = Expect<Equal<typeof book.parent, Book | null>>;
export type T16 = Expect<Equal<typeof book.authorId, number>>;
export type T17 = Expect<Equal<typeof book.tags, RelatedManager<Tag>>>;
export type T18 = Expect<Equal<ReturnType<typeof book.author.greet>, string>>;
export type T19 = Expect<Equal<ReturnType<typeof book.$save>, Promise<Book>>>;
declare const author: Author;
export type T20 = Expect<Equal<typeof author.books, RelatedManager<Book>>>;
declare const publisher: Publisher;
export type T21 = Expect<Equal<typeof publisher.authors, RelatedManager<Author>>>;

export async function queries(): Promise<void> {
  const a = await Author.objects.get({ name: 'Ann' });
  type T22 = Expect<Equal<typeof a, Author>>; // custom methods visible thanks to `declare static objects`
  a.greet();
  const b = await Book.objects.create({ title: 'T', author: a });
  // Without `declare static objects`, results are the model's base instance type: the same members as Book.
  type T23 = Expect<Mutual<typeof b, Book>>;
  const books = await Book.objects.filter({ pages__gt: 3 });
  type T24 = Expect<Mutual<typeof books, Book[]>>;
  const first = await Book.objects.first();
  type T25 = Expect<Mutual<typeof first, Book | null>>;
  const tags = await b.tags.all();
  type T26 = Expect<Equal<typeof tags, Tag[]>>;
  const n = await Book.objects.count();
  type T27 = Expect<Equal<typeof n, number>>;
  const [obj, created] = await Author.objects.getOrCreate({ name: 'x' }, { age: 3 });
  type T28 = Expect<Equal<typeof obj, Author>>;
  type T29 = Expect<Equal<typeof created, boolean>>;
  const map = await Item.objects.inBulk(['a']);
  type T30 = Expect<Mutual<typeof map, Map<string, Item>>>;
  // inBulk by another unique field is keyed by that field's type (issue 9).
  const bySku = await Sku.objects.inBulk(['a-1'], { fieldName: 'sku' });
  type T31 = Expect<Mutual<typeof bySku, Map<string, Sku>>>;
  const byOrdinal = await Sku.objects.inBulk([1, 2], { fieldName: 'ordinal' });
  type T32 = Expect<Mutual<typeof byOrdinal, Map<number | null, Sku>>>;
  const byPk = await Sku.objects.inBulk([1], { fieldName: 'pk' });
  type T33 = Expect<Mutual<typeof byPk, Map<number, Sku>>>;
  const byDetail = await SkuDetail.objects.inBulk([1], { fieldName: 'sku' });
  type T34 = Expect<Mutual<typeof byDetail, Map<number, SkuDetail>>>;
}
