/**
 * A many-to-one relation: a column holding the related row's primary key, an accessor for the
 * related instance (`book.author`) and one for the raw key (`book.authorId`, column `author_id`
 * by the default naming strategy unless `dbColumn` says otherwise).
 *
 * Reading `book.author` never queries: load it with `selectRelated('author')`,
 * `prefetchRelated('author')` or `await book.$fetch('author')`, or it throws
 * `RelatedNotLoadedError` (Spool's guard against N+1).
 *
 * `onDelete` decides what deleting the related row does, as Django's `on_delete` (Spool runs it,
 * not the database): `'cascade'` deletes this row too, `'protect'` refuses with `ProtectedError`,
 * `'restrict'` refuses with `RestrictedError` unless the row is deleted by a cascade of the same
 * operation, `'setNull'` sets the column to NULL (needs `null: true`), `'setDefault'` sets the
 * default, `'doNothing'` leaves it to the database.
 *
 * ### Examples
 * ```ts
 * class Book extends Model.define({
 *   title: new CharField({ maxLength: 200 }),
 *   author: new ForeignKey(() => Author, { onDelete: 'cascade', relatedName: 'books' }),
 * }) {}
 * ```
 */
import type { BaseOperations } from '../backends/base-operations';
import { ModelDefinitionError } from '../errors';
import type { RelationSpec } from '../types';
import { Field, type FieldOptions, type FromDb } from './field';
import { targetOf, type ModelCtor, type ModelRef, type Target } from './model-ref';
import type { ModelMeta } from '../models/model-meta';
import type { NamingStrategy } from '../models/naming-strategy';

export const ON_DELETE = ['cascade', 'protect', 'restrict', 'setNull', 'setDefault', 'doNothing'] as const;
export type OnDelete = (typeof ON_DELETE)[number];

export interface ForeignKeyOptions extends Omit<FieldOptions<unknown>, 'choices'> {
  /** What deleting the related row does to this one. Required, as in Django. */
  onDelete: OnDelete;
  /** The name of the reverse accessor and reverse lookups on the related model (default `<model>Set` / `<model>`). */
  relatedName?: string;
  /** The name of the reverse lookups, when different from `relatedName`. */
  relatedQueryName?: string;
  /** Create a FOREIGN KEY constraint in the database? Default true. */
  dbConstraint?: boolean;
}

export type ForeignKeySpec<I, O, Rel extends 'fk' | 'o2o' = 'fk'> = {
  readonly rel: Rel;
  readonly target: I;
  readonly null: O extends { null: true } ? true : false;
  readonly optional: O extends { null: true } ? true : O extends { default: unknown } ? true : false;
  readonly pk: O extends { primaryKey: true } ? true : false;
  /** A one-to-one is unique; a foreign key when declared `unique` (or the primary key). */
  readonly unique: Rel extends 'o2o' ? true : O extends { unique: true } | { primaryKey: true } ? true : false;
};

/** The base of relation fields: the related model, resolved on first use, and the reverse names. */
export abstract class RelatedField<S extends RelationSpec> extends Field<S> {
  override readonly isRelation = true;
  readonly target: Target;
  readonly relatedName: string | undefined;
  relatedQueryName: string | undefined;
  /** The related model, once resolved. */
  private resolved: ModelMeta | undefined;

  constructor(to: unknown, options: FieldOptions<unknown>, extraKeys: readonly string[], fieldType: string) {
    super(options, extraKeys);
    this.target = targetOf(to, fieldType);
    const o = options as { relatedName?: string; relatedQueryName?: string };
    this.relatedName = o.relatedName;
    this.relatedQueryName = o.relatedQueryName ?? o.relatedName;
    if (o.relatedName !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(o.relatedName)) {
      throw new TypeError(`${fieldType}: relatedName '${o.relatedName}' must be an identifier.`);
    }
  }

  /** The related model's metadata (resolving the thunk on first use). */
  get relatedMeta(): ModelMeta {
    if (this.resolved) return this.resolved;
    if (!this.model) throw new ModelDefinitionError(`The field is not attached to a model yet.`);
    this.resolved = this.model.resolveTarget(this.target, this);
    return this.resolved;
  }
}

/** The implementation shared by ForeignKey and OneToOneField: a column holding the related row's key. */
export abstract class ForeignObject<S extends RelationSpec> extends RelatedField<S> {
  readonly onDelete: OnDelete;
  readonly dbConstraint: boolean;

  constructor(to: unknown, options: ForeignKeyOptions) {
    super(to, options, ['onDelete', 'relatedName', 'relatedQueryName', 'dbConstraint'], new.target.name);
    if (!options || !(ON_DELETE as readonly string[]).includes(options.onDelete)) {
      throw new TypeError(
        `${new.target.name}: onDelete must be one of ${ON_DELETE.map((x) => `'${x}'`).join(', ')}, got ${JSON.stringify(options?.onDelete)}.`,
      );
    }
    this.onDelete = options.onDelete;
    if (this.onDelete === 'setNull' && !this.null) {
      throw new TypeError(`${new.target.name}: onDelete 'setNull' needs null: true.`);
    }
    if (this.onDelete === 'setDefault' && !this.hasDefaultValue) {
      throw new TypeError(`${new.target.name}: onDelete 'setDefault' needs a default.`);
    }
    this.dbConstraint = options.dbConstraint ?? true;
  }

  get lookupKind(): 'integer' {
    return 'integer';
  }

  protected override attnameFor(name: string): string {
    return `${name}Id`;
  }

  protected override defaultColumn(naming: NamingStrategy): string {
    return naming.foreignKeyColumnName(this.name);
  }

  /** The related model's primary key field, which this column mirrors. */
  get targetField(): Field {
    return this.relatedMeta.pk;
  }

  /** Are the values bigints (a key to a BigAutoField or BigIntegerField)? */
  override get bigint(): boolean {
    return this.targetField.bigint;
  }

  /** The type of the key it references (an auto-increment key's type is a plain integer column of the same width). */
  dbType(ops: BaseOperations): string | undefined {
    return this.targetField.dbType(ops);
  }

  override toJs(value: unknown): unknown {
    return this.targetField.toJs(value);
  }

  override toDb(value: unknown, ops: BaseOperations): unknown {
    return this.targetField.toDb(value, ops);
  }

  override fromDb(ops: BaseOperations): FromDb {
    return this.targetField.fromDb(ops);
  }
}

/** A many-to-one relation (see the module comment). */
export class ForeignKey<I, const O extends ForeignKeyOptions = ForeignKeyOptions> extends ForeignObject<ForeignKeySpec<I, O>> {
  readonly internalType: string = 'ForeignKey';

  constructor(to: (() => ModelCtor<I>) | ModelRef<I>, options: O & ForeignKeyOptions) {
    super(to, options);
  }
}

/** A one-to-one relation: a unique foreign key; the reverse accessor returns one instance. */
export class OneToOneField<I, const O extends ForeignKeyOptions = ForeignKeyOptions> extends ForeignObject<ForeignKeySpec<I, O, 'o2o'>> {
  readonly internalType: string = 'OneToOneField';

  constructor(to: (() => ModelCtor<I>) | ModelRef<I>, options: O & ForeignKeyOptions) {
    super(to, { ...options, unique: true });
  }
}
