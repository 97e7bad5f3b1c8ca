/**
 * The models the ORM suites share (tables prefixed `orm_`). A small library: publishers, authors,
 * books, tags, profiles, reviews, a category tree and a sample of every field type.
 */
import { randomUUID } from 'node:crypto';
import {
  BigIntegerField,
  BooleanField,
  CharField,
  DateField,
  DateTimeField,
  DecimalField,
  FloatField,
  ForeignKey,
  Index,
  IntegerField,
  JSONField,
  type Manager,
  ManyToManyField,
  Model,
  OneToOneField,
  ReverseForeignKey,
  ReverseManyToMany,
  ReverseOneToOne,
  TextField,
  UUIDField,
  UniqueConstraint,
  maxValue,
  minValue,
  ref,
} from '@spool/orm';

export class Publisher extends Model.define(
  {
    name: new CharField({ maxLength: 100, unique: true }),
    country: new CharField({ maxLength: 2, null: true, choices: ['fr', 'uk', 'us'] }),
    authors: new ReverseForeignKey<Author>(() => Author, 'publisher'),
  },
  { dbTable: 'orm_publisher', ordering: ['name'] },
) {}

export class Author extends Model.define(
  {
    name: new CharField({ maxLength: 100 }),
    email: new CharField({ maxLength: 200, unique: true, null: true }),
    age: new IntegerField({ null: true, dbIndex: true, validators: [minValue(0), maxValue(150)] }),
    publisher: new ForeignKey(() => Publisher, { onDelete: 'setNull', null: true, relatedName: 'authors' }),
    books: new ReverseForeignKey<Book>(() => Book, 'author'),
    profile: new ReverseOneToOne<Profile>(() => Profile, 'author'),
  },
  { dbTable: 'orm_author', ordering: ['name'] },
) {
  declare static objects: Manager<Author>;
  /** A method of the subclass: visible on instances from queries thanks to the declaration above. */
  get initials(): string {
    return this.name
      .split(/\s+/)
      .map((w) => w[0] ?? '')
      .join('');
  }
}

export class Tag extends Model.define(
  {
    name: new CharField({ maxLength: 50, unique: true }),
    books: new ReverseManyToMany<Book>(() => Book, 'tags'),
  },
  { dbTable: 'orm_tag', ordering: ['name'] },
) {}

export class Book extends Model.define(
  {
    title: new CharField({ maxLength: 200 }),
    pages: new IntegerField({ default: 100 }),
    price: new DecimalField({ maxDigits: 8, decimalPlaces: 2, null: true }),
    published: new DateField({ null: true }),
    author: new ForeignKey(() => Author, { onDelete: 'cascade' }),
    editor: new ForeignKey(() => Author, { onDelete: 'protect', null: true, relatedName: 'edited' }),
    tags: new ManyToManyField(() => Tag),
  },
  { dbTable: 'orm_book', ordering: ['title'], indexes: [new Index({ fields: ['-published', 'title'], name: 'orm_book_pub_title_idx' })] },
) {}

export class Profile extends Model.define(
  {
    author: new OneToOneField(() => Author, { onDelete: 'cascade' }),
    bio: new TextField({ blank: true, default: '' }),
  },
  { dbTable: 'orm_profile' },
) {}

export class Review extends Model.define(
  {
    book: new ForeignKey(() => Book, { onDelete: 'restrict', relatedName: 'reviews' }),
    reviewer: new ForeignKey(() => Author, { onDelete: 'cascade', relatedName: 'reviews' }),
    rating: new IntegerField(),
    created: new DateTimeField({ autoNowAdd: true }),
  },
  {
    dbTable: 'orm_review',
    constraints: [new UniqueConstraint({ fields: ['book', 'reviewer'], name: 'orm_review_one_per_reviewer' })],
  },
) {}

export class Category extends Model.define(
  {
    name: new CharField({ maxLength: 50 }),
    parent: new ForeignKey(ref<Category>('self'), { onDelete: 'cascade', null: true, relatedName: 'children' }),
  },
  { dbTable: 'orm_category' },
) {}

export class Sample extends Model.define(
  {
    id: new UUIDField({ primaryKey: true, default: () => randomUUID() }),
    small: new IntegerField({ null: true }),
    big: new BigIntegerField({ null: true }),
    ratio: new FloatField({ null: true }),
    amount: new DecimalField({ maxDigits: 10, decimalPlaces: 3, null: true }),
    label: new CharField({
      maxLength: 20,
      default: 'x',
      choices: [
        ['x', 'Ex'],
        ['y', 'Why'],
      ],
    }),
    body: new TextField({ null: true }),
    flag: new BooleanField({ default: false }),
    day: new DateField({ null: true }),
    at: new DateTimeField({ null: true }),
    touched: new DateTimeField({ autoNow: true }),
    doc: new JSONField<{ tags?: string[]; n?: number } | null>({ null: true }),
    other: new UUIDField({ null: true }),
  },
  { dbTable: 'orm_sample', uniqueTogether: [['small', 'label']] },
) {}

/** Every model, in creation order. */
export const ALL_MODELS = [Publisher, Author, Tag, Book, Profile, Review, Category, Sample];
