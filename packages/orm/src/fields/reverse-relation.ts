/**
 * Declarations of reverse relations, so that TypeScript knows them. Django adds `author.books`
 * when `Book.author` says `related_name='books'`; Spool does the same at run time whether or not
 * it is declared, and a declaration on the target model types it:
 *
 * ```ts
 * class Author extends Model.define({
 *   name: new CharField({ maxLength: 100 }),
 *   books: new ReverseForeignKey<Book>(() => Book, 'author'),   // typed author.books, books__title lookups
 * }) {}
 * class Book extends Model.define({
 *   author: new ForeignKey(() => Author, { onDelete: 'cascade' }),  // relatedName 'books' comes from the declaration
 * }) {}
 * ```
 *
 * The type argument is required: TypeScript cannot infer a class's type from inside another
 * class's base expression when the two refer to each other. The declaration is checked against
 * the forward field when the models are first used (a declaration naming a field that does not
 * exist, or of the wrong kind, is a `ModelDefinitionError`).
 */
import type { BaseOperations } from '../backends/base-operations';
import { Field } from './field';
import { isModelRef, type ModelRef, type Target, type UntypedThunk, targetOf } from './model-ref';
import type { ReverseSpec } from './many-to-many-field';

/** The base of the reverse relation declarations (they type a relation declared on the other model). */
export abstract class ReverseRelation<S extends ReverseSpec<unknown, 'reverse-fk' | 'reverse-o2o' | 'reverse-m2m'>> extends Field<S> {
  override readonly isRelation = true;
  override readonly concrete = false;
  readonly lookupKind = 'integer' as const;
  readonly target: Target;
  /** The forward field's name on the related model. */
  readonly fieldName: string;
  /** The kind of forward field expected. */
  abstract readonly expects: 'ForeignKey' | 'OneToOneField' | 'ManyToManyField';

  // The thunk's type is not asked for (see UntypedThunk): the type argument names the model.
  constructor(to: UntypedThunk | ModelRef<unknown>, fieldName: string) {
    super({});
    this.target = isModelRef(to) ? to.target : targetOf(to, new.target.name);
    if (typeof fieldName !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(fieldName)) {
      throw new TypeError(
        `${new.target.name}: the second argument must name the forward field on the related model, got ${JSON.stringify(fieldName)}.`,
      );
    }
    this.fieldName = fieldName;
  }

  dbType(_ops: BaseOperations): undefined {
    return undefined;
  }
}

/** The reverse side of a ForeignKey: a related manager (`author.books`). */
export class ReverseForeignKey<I> extends ReverseRelation<ReverseSpec<I, 'reverse-fk'>> {
  readonly internalType: string = 'ReverseForeignKey';
  override readonly manyValued = true;
  readonly expects = 'ForeignKey' as const;
}

/** The reverse side of a OneToOneField: one instance (`user.profile`). */
export class ReverseOneToOne<I> extends ReverseRelation<ReverseSpec<I, 'reverse-o2o'>> {
  readonly internalType: string = 'ReverseOneToOne';
  readonly expects = 'OneToOneField' as const;
}

/** The reverse side of a ManyToManyField: a related manager (`tag.books`). */
export class ReverseManyToMany<I> extends ReverseRelation<ReverseSpec<I, 'reverse-m2m'>> {
  readonly internalType: string = 'ReverseManyToMany';
  override readonly manyValued = true;
  readonly expects = 'ManyToManyField' as const;
}
