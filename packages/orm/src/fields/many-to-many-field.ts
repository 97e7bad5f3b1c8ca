/**
 * A many-to-many relation through an automatically created table (`<table>_<field>`, with columns
 * `<model>_id` and `<target>_id`, unique together, as Django's auto-created through model), or
 * through a model of yours (`through: () => Membership`).
 *
 * `book.tags` is a related manager: `await book.tags.all()`, `add()`, `remove()`, `set()`,
 * `clear()`, `create()`.
 *
 * ### Examples
 * ```ts
 * class Book extends Model.define({
 *   tags: new ManyToManyField(() => Tag, { relatedName: 'books' }),
 * }) {}
 * await book.tags.add(python, django);
 * await Book.objects.filter({ tags__name: 'python' });
 * ```
 */
import type { BaseOperations } from '../backends/base-operations';
import type { RelationSpec } from '../types';
import type { FieldOptions } from './field';
import { RelatedField } from './foreign-key';
import type { ModelCtor, ModelRef } from './model-ref';
import type { ModelMeta } from '../models/model-meta';

export interface ManyToManyFieldOptions extends Pick<FieldOptions<unknown>, 'blank' | 'helpText' | 'verboseName'> {
  /** The name of the reverse accessor and lookups on the related model (default `<model>Set` / `<model>`). */
  relatedName?: string;
  relatedQueryName?: string;
  /** The name of the auto-created table (default `<table>_<field>`). */
  dbTable?: string;
  /** A model of yours holding the two foreign keys (extra columns allowed); add/remove/set/clear then need `throughDefaults` for its required fields. */
  through?: () => unknown;
}

export type ManyToManySpec<I> = {
  readonly rel: 'm2m';
  readonly target: I;
  readonly null: false;
  readonly optional: true;
  readonly pk: false;
};

export class ManyToManyField<I> extends RelatedField<ManyToManySpec<I>> {
  readonly internalType: string = 'ManyToManyField';
  override readonly concrete = false;
  override readonly manyValued = true;
  readonly dbTable: string | undefined;
  readonly throughThunk: (() => unknown) | undefined;

  constructor(to: (() => ModelCtor<I>) | ModelRef<I>, options: ManyToManyFieldOptions = {}) {
    super(to, options, ['relatedName', 'relatedQueryName', 'dbTable', 'through'], 'ManyToManyField');
    this.dbTable = options.dbTable;
    this.throughThunk = options.through;
  }

  get lookupKind(): 'integer' {
    return 'integer';
  }

  dbType(_ops: BaseOperations): undefined {
    return undefined;
  }

  /** The through model's metadata. */
  get through(): ModelMeta {
    return this.model.throughFor(this);
  }
}

/** The spec of a declared reverse relation. */
export type ReverseSpec<I, Rel extends 'reverse-fk' | 'reverse-o2o' | 'reverse-m2m'> = {
  readonly rel: Rel;
  readonly target: I;
  readonly null: false;
  readonly optional: true;
  readonly pk: false;
};
export type { RelationSpec };
