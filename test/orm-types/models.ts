import {
  BooleanField,
  CharField,
  DateField,
  DateTimeField,
  DecimalField,
  ForeignKey,
  IntegerField,
  JSONField,
  OneToOneField,
  type Manager,
  ManyToManyField,
  Model,
  ReverseForeignKey,
  ReverseManyToMany,
  UUIDField,
  ref,
} from '@spool/orm';

export class Publisher extends Model.define({
  name: new CharField({ maxLength: 100 }),
  authors: new ReverseForeignKey<Author>(() => Author, 'publisher'),
}) {}

export class Author extends Model.define({
  name: new CharField({ maxLength: 100 }),
  age: new IntegerField({ null: true }),
  status: new CharField({ maxLength: 10, choices: ['active', 'retired'], default: 'active' }),
  publisher: new ForeignKey(() => Publisher, { onDelete: 'setNull', null: true }),
  books: new ReverseForeignKey<Book>(() => Book, 'author'),
}) {
  declare static objects: Manager<Author>;
  greet(): string {
    return `Hello, ${this.name}`;
  }
}

export class Tag extends Model.define({
  name: new CharField({ maxLength: 30 }),
  books: new ReverseManyToMany<Book>(() => Book, 'tags'),
}) {}

export class Book extends Model.define({
  title: new CharField({ maxLength: 200 }),
  pages: new IntegerField({ default: 100 }),
  price: new DecimalField({ maxDigits: 8, decimalPlaces: 2, null: true }),
  published: new DateField({ null: true }),
  created: new DateTimeField({ autoNowAdd: true }),
  active: new BooleanField({ default: true }),
  meta: new JSONField<{ edition: number } | null>({ null: true }),
  author: new ForeignKey(() => Author, { onDelete: 'cascade' }),
  tags: new ManyToManyField(() => Tag),
  parent: new ForeignKey(ref<Book>('self'), { onDelete: 'cascade', null: true }),
}) {}

export class Item extends Model.define({
  code: new UUIDField({ primaryKey: true }),
  qty: new IntegerField(),
}) {}

// Unique fields for inBulk({ fieldName }).
export class Sku extends Model.define({
  sku: new CharField({ maxLength: 20, unique: true }),
  ordinal: new IntegerField({ unique: true, null: true }),
  label: new CharField({ maxLength: 20 }),
}) {}

export class SkuDetail extends Model.define({
  sku: new OneToOneField(() => Sku, { onDelete: 'cascade' }),
  note: new CharField({ maxLength: 20 }),
}) {}
