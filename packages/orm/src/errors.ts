/**
 * The ORM's errors, all subclasses of `SpoolError` from `@spool/connections`, so that
 * `SpoolError.is(err)` and `FieldError.is(err)` hold across copies of the packages:
 *
 * ```
 * SpoolError
 * ├── FieldError                     unknown field or lookup, wrong use of a field
 * ├── ValidationError                fullClean(): messages per field
 * ├── ObjectDoesNotExist             get() found nothing; each model has its own DoesNotExist subclass
 * ├── MultipleObjectsReturned        get() found more than one; per model too
 * ├── RelatedNotLoadedError          a relation was read without selectRelated/prefetchRelated/$fetch
 * ├── ModelDefinitionError           a model definition is invalid (checked when defined or first used)
 * ├── DatabaseError > IntegrityError (re-exported from @spool/connections; constraint name kept)
 * │   ├── ProtectedError             delete() blocked by onDelete: 'protect'
 * │   └── RestrictedError            delete() blocked by onDelete: 'restrict'
 * └── NotSupportedError              (re-exported) a feature the database lacks
 * ```
 */
import { IntegrityError, SpoolError, type SpoolErrorOptions } from '@spool/connections';
import type { ModelMeta } from './models/model-meta';

/** An unknown field, lookup or relation, or a field used where it cannot be. Raised before any SQL is built. */
export class FieldError extends SpoolError {
  static override readonly kind: string = 'FieldError';
  /** The model concerned. */
  readonly model: string | undefined;
  /** The name that was wrong (a field, a lookup, a path). */
  readonly field: string | undefined;
  /** The names that would have been valid. */
  readonly choices: readonly string[];
  constructor(message: string, options: SpoolErrorOptions & { model?: string; field?: string; choices?: readonly string[] } = {}) {
    super(message, { ...options, code: 'E_FIELD' });
    this.model = options.model;
    this.field = options.field;
    this.choices = options.choices ?? [];
  }
}

/** A model definition is invalid: a reserved field name, a relation that cannot be resolved, bad options. */
export class ModelDefinitionError extends SpoolError {
  static override readonly kind: string = 'ModelDefinitionError';
  readonly model: string | undefined;
  constructor(message: string, options: SpoolErrorOptions & { model?: string } = {}) {
    super(message, { ...options, code: 'E_MODEL_DEFINITION' });
    this.model = options.model;
  }
}

/** One validation message, with a machine-readable code (Django's `ValidationError(code=...)`). */
export interface ValidationMessage {
  message: string;
  code: string;
  params?: Record<string, unknown>;
}

/**
 * Validation failed: `errors` maps each field name (or `__all__` for model-wide checks such as
 * unique-together) to its messages. Thrown by `fullClean()` and by validators.
 */
export class ValidationError extends SpoolError {
  static override readonly kind: string = 'ValidationError';
  readonly model: string | undefined;
  /** Messages per field; `__all__` for errors that concern no single field. */
  readonly errors: Readonly<Record<string, readonly ValidationMessage[]>>;
  constructor(
    errors: Record<string, readonly ValidationMessage[]> | string,
    options: SpoolErrorOptions & { model?: string; code?: string } = {},
  ) {
    const map: Record<string, readonly ValidationMessage[]> =
      typeof errors === 'string' ? { __all__: [{ message: errors, code: options.code ?? 'invalid' }] } : errors;
    const lines = Object.entries(map).map(([field, msgs]) => `${field}: ${msgs.map((m) => m.message).join(' ')}`);
    super(`${options.model ? `${options.model}: ` : ''}validation failed. ${lines.join('; ')}`, { ...options, code: 'E_VALIDATION' });
    this.model = options.model;
    this.errors = map;
  }

  /** Messages per field as plain strings, for forms and APIs. */
  get messageDict(): Record<string, string[]> {
    return Object.fromEntries(Object.entries(this.errors).map(([k, v]) => [k, v.map((m) => m.message)]));
  }
}

/** `get()` matched no row. Each model has its own subclass: `Author.DoesNotExist`. */
export class ObjectDoesNotExist extends SpoolError {
  static override readonly kind: string = 'ObjectDoesNotExist';
  readonly model: string | undefined;
  constructor(message: string, options: SpoolErrorOptions & { model?: string } = {}) {
    super(message, { ...options, code: 'E_DOES_NOT_EXIST' });
    this.model = options.model;
  }
}

/** `get()` matched more than one row. Each model has its own subclass: `Author.MultipleObjectsReturned`. */
export class MultipleObjectsReturned extends SpoolError {
  static override readonly kind: string = 'MultipleObjectsReturned';
  readonly model: string | undefined;
  constructor(message: string, options: SpoolErrorOptions & { model?: string } = {}) {
    super(message, { ...options, code: 'E_MULTIPLE_OBJECTS' });
    this.model = options.model;
  }
}

/**
 * A relation was read synchronously but is not loaded. Spool never runs a query behind a property
 * read (that is how N+1 happens): load it with `selectRelated`, `prefetchRelated` or `await obj.$fetch(name)`.
 */
export class RelatedNotLoadedError extends SpoolError {
  static override readonly kind: string = 'RelatedNotLoadedError';
  readonly model: string | undefined;
  readonly field: string | undefined;
  constructor(message: string, options: SpoolErrorOptions & { model?: string; field?: string } = {}) {
    super(message, { ...options, code: 'E_RELATED_NOT_LOADED' });
    this.model = options.model;
    this.field = options.field;
  }
}

/** delete() would remove rows that an `onDelete: 'protect'` foreign key still references. */
export class ProtectedError extends IntegrityError {
  static override readonly kind: string = 'ProtectedError';
  /** The objects that protect the deletion. */
  readonly protectedObjects: readonly unknown[];
  constructor(message: string, options: SpoolErrorOptions & { protectedObjects: readonly unknown[] }) {
    super(message, { ...options, code: 'E_PROTECTED' });
    this.protectedObjects = options.protectedObjects;
  }
}

/** delete() would remove rows that an `onDelete: 'restrict'` foreign key references from outside the deletion. */
export class RestrictedError extends IntegrityError {
  static override readonly kind: string = 'RestrictedError';
  readonly restrictedObjects: readonly unknown[];
  constructor(message: string, options: SpoolErrorOptions & { restrictedObjects: readonly unknown[] }) {
    super(message, { ...options, code: 'E_RESTRICTED' });
    this.restrictedObjects = options.restrictedObjects;
  }
}

/** `Author.DoesNotExist`: the model's own subclass of `ObjectDoesNotExist` (created once per model). */
export function doesNotExistClass(meta: ModelMeta): typeof ObjectDoesNotExist {
  return perModelError(meta, ObjectDoesNotExist, 'DoesNotExist');
}

/** `Author.MultipleObjectsReturned`: the model's own subclass of `MultipleObjectsReturned` (created once per model). */
export function multipleObjectsReturnedClass(meta: ModelMeta): typeof MultipleObjectsReturned {
  return perModelError(meta, MultipleObjectsReturned, 'MultipleObjectsReturned');
}

/**
 * A subclass of `base` named `key`, whose `kind` names the model (`Author.DoesNotExist`), so that
 * `Author.DoesNotExist.is(err)` holds for that model only while `ObjectDoesNotExist.is(err)` holds
 * for every model. Kept in the model's metadata cache.
 */
function perModelError<C extends typeof ObjectDoesNotExist | typeof MultipleObjectsReturned>(meta: ModelMeta, base: C, key: string): C {
  let cls = meta.cache.get(key) as C | undefined;
  if (!cls) {
    const kind = `${meta.name}.${key}`;
    cls = class extends (base as typeof ObjectDoesNotExist) {
      static override readonly kind: string = kind;
    } as unknown as C;
    Object.defineProperty(cls, 'name', { value: key });
    meta.cache.set(key, cls);
  }
  return cls;
}
