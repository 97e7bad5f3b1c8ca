// What must not compile: unknown fields, wrong value types, wrong lookups, unknown paths.
import { Q } from '@spool/orm';
import { Book, Author, Item } from './models';

export function wrong(): void {
  // @ts-expect-error -- typo in a field name
  Book.objects.filter({ titel: 'x' });
  // @ts-expect-error -- wrong value type
  Book.objects.filter({ pages: 'many' });
  // @ts-expect-error -- a text lookup on an integer
  Book.objects.filter({ pages__contains: 3 });
  // @ts-expect-error -- an unknown lookup
  Book.objects.filter({ title__like: 'x' });
  // @ts-expect-error -- typo across a relation
  Book.objects.filter({ author__nmae: 'x' });
  // @ts-expect-error -- typo in the nested form
  Book.objects.filter({ author: { nmae: 'x' } });
  // @ts-expect-error -- a value outside the choices
  Author.objects.filter({ status: 'dead' });
  // @ts-expect-error -- isnull takes a boolean
  Book.objects.filter({ price__isnull: 'yes' });
  // @ts-expect-error -- in takes a list
  Book.objects.filter({ pages__in: 3 });
  // @ts-expect-error -- unknown field in values()
  Book.objects.values('nope');
  // @ts-expect-error -- unknown ordering
  Book.objects.orderBy('-nope');
  // @ts-expect-error -- selectRelated only follows forward keys
  Book.objects.selectRelated('tags');
  // @ts-expect-error -- missing required field
  void Book.objects.create({ pages: 3 });
  // @ts-expect-error -- wrong type on create
  void Book.objects.create({ title: 3, author: 1 });
  // @ts-expect-error -- unknown field on create
  void Book.objects.create({ title: 'x', author: 1, colour: 'red' });
  // @ts-expect-error -- a Book is not an Author
  void Book.objects.create({ title: 'x', author: new Book({ title: 'y', author: 1 }) });
  // @ts-expect-error -- update of an unknown field
  void Book.objects.update({ nope: 1 });
  // @ts-expect-error -- wrong type in update
  void Book.objects.update({ pages: 'x' });
  // @ts-expect-error -- Q is typed by the model given
  Q<Book>({ titel: 'x' });
  // @ts-expect-error -- annotations are typed too
  Author.objects.annotate({}).filter({ nBooks__gt: 1 });
  // @ts-expect-error -- valuesList flat takes one field
  Book.objects.valuesList('title', 'pages', { flat: true });
  const b = new Book({ title: 'x', author: 1 });
  // @ts-expect-error -- instance fields are typed
  b.pages = 'x';
  // @ts-expect-error -- no such field on instances
  void b.colour;
}

// Issue 9, types.
export function wrongRelations(): void {
  // @ts-expect-error -- selectRelated follows forward single-valued relations only: `books` is multi-valued
  Book.objects.selectRelated('author__books__author');
  // @ts-expect-error -- a reverse relation in the middle of the chain
  Author.objects.selectRelated('books__author');
  // @ts-expect-error -- a many-to-many at the end
  Book.objects.selectRelated('author__books__tags');
  // @ts-expect-error -- inBulk keys by a unique field only (title is not unique)
  void Book.objects.inBulk(['x'], { fieldName: 'title' });
  // @ts-expect-error -- the ids have the field's type
  void Item.objects.inBulk([1], { fieldName: 'code' });
  // @ts-expect-error -- a Book is not a nested filter of its author
  Book.objects.filter({ author: new Book({ title: 'y', author: 1 }) });
}
