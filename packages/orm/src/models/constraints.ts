/**
 * Table-level constraints and indexes declared in a model's options (Django's `Meta.constraints`
 * and `Meta.indexes`). The schema editor creates them; names are required, as in Django, so that
 * an `IntegrityError`'s `constraint` says which rule was broken.
 *
 * ### Examples
 * ```ts
 * Model.define({ ... }, {
 *   constraints: [new UniqueConstraint({ fields: ['author', 'title'], name: 'orm_book_author_title_uniq' })],
 *   indexes: [new Index({ fields: ['-published', 'title'], name: 'orm_book_pub_title_idx' })],
 * });
 * ```
 */
import { isIdentifier } from './naming';

export class UniqueConstraint {
  readonly kind = 'unique' as const;
  readonly fields: readonly string[];
  readonly name: string;
  constructor(options: { fields: readonly string[]; name: string }) {
    if (!options || !Array.isArray(options.fields) || options.fields.length === 0)
      throw new TypeError('UniqueConstraint: fields must be a non-empty list of field names.');
    if (!isIdentifier(options.name))
      throw new TypeError(`UniqueConstraint: name must be an identifier of at most 64 characters, got ${JSON.stringify(options.name)}.`);
    this.fields = [...options.fields];
    this.name = options.name;
  }
}

export class Index {
  readonly kind = 'index' as const;
  /** Field names; a leading '-' makes the column descending. */
  readonly fields: readonly string[];
  readonly name: string;
  readonly unique: boolean;
  constructor(options: { fields: readonly string[]; name: string; unique?: boolean }) {
    if (!options || !Array.isArray(options.fields) || options.fields.length === 0)
      throw new TypeError('Index: fields must be a non-empty list of field names.');
    if (!isIdentifier(options.name))
      throw new TypeError(`Index: name must be an identifier of at most 64 characters, got ${JSON.stringify(options.name)}.`);
    this.fields = [...options.fields];
    this.name = options.name;
    this.unique = options.unique ?? false;
  }
}

export type Constraint = UniqueConstraint;
