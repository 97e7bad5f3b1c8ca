/**
 * `Model`: the base of every model, and `Model.define(fields, options)`, which makes a model class
 * from a map of fields. Types are inferred from the map (no codegen, no decorators):
 *
 * ```ts
 * export class Author extends Model.define({
 *   name: new CharField({ maxLength: 100 }),
 *   email: new CharField({ maxLength: 200, unique: true }),
 *   books: new ReverseForeignKey<Book>(() => Book, 'author'),
 * }, { dbTable: 'author', ordering: ['name'] }) {
 *   get initials() { return this.name.split(' ').map((w) => w[0]).join(''); }
 * }
 *
 * const a = await Author.objects.create({ name: 'Ann', email: 'ann@example.com' });  // a.id: number
 * await Author.objects.filter({ nmae: 'x' });   // compile error: 'nmae' is not a lookup of Author
 * ```
 *
 * **Instance methods are `$`-prefixed** (`$save()`, `$delete()`, `$refreshFromDb()`,
 * `$fullClean()`, `$fetch()`, `$pk`, `$state`) so they can never collide with a field: a field
 * may not start with `$` or `_`, and names JavaScript reserves (`constructor`, `then`, `toJSON`,
 * ...) and `pk` are rejected when the model is defined. A method or accessor of your subclass
 * that has the name of a field is rejected on first use.
 */
import { META, MODEL_BRAND, STATE } from '../brand';
import {
  FieldError,
  RelatedNotLoadedError,
  ValidationError,
  doesNotExistClass,
  multipleObjectsReturnedClass,
  type ObjectDoesNotExist,
  type MultipleObjectsReturned,
  type ValidationMessage,
} from '../errors';
import type { Field } from '../fields/field';
import { ForeignObject } from '../fields/foreign-key';
import { ManyToManyField } from '../fields/many-to-many-field';
import { ReverseRelation } from '../fields/reverse-relation';
import type { AnyInstance, FIELDS, FieldMap, InsertOf, ModelFields, PkValue } from '../types';
import { Manager } from '../query/manager';
import { ModelMeta, metaOfClass, setReverseInstaller, setThroughFactory, type MetaOptions, type ModelClassLike } from './model-meta';
import { ModelState, FROM_DB, cachedRelation, stateOf as stateOfInstance } from './model-state';
import { deleteInstance, fullClean, refreshFromDb, saveInstance } from './persistence';
import { fetchRelated, m2mDescriptor, relatedManager, reverseDescriptor } from './relations';

/** Options of `$save()`. */
export interface SaveOptions {
  /** Always INSERT (fail if the row exists). */
  forceInsert?: boolean;
  /** Always UPDATE (fail if no row was updated). */
  forceUpdate?: boolean;
  /** The alias to save to (else the routers, then the alias the instance came from). */
  using?: string;
  /** Update only these fields. */
  updateFields?: readonly string[];
}

/** The static side of a model made by `Model.define(fields)`. */
export interface ModelClass<F extends FieldMap, I extends AnyInstance = ModelInstance<F>> {
  new (values?: InsertOf<F>): I;
  /** The manager: `Author.objects.filter(...)`. */
  readonly objects: Manager<I>;
  /** Thrown by `get()` when nothing matches. */
  readonly DoesNotExist: typeof ObjectDoesNotExist;
  /** Thrown by `get()` when several rows match. */
  readonly MultipleObjectsReturned: typeof MultipleObjectsReturned;
  /** The field map (typed). */
  readonly $fields: F;
  /** The model's metadata (table, fields, relations). */
  readonly $meta: ModelMeta;
  readonly prototype: I;
}

/** The instance type of a model defined with fields `F`. */
export type ModelInstance<F extends FieldMap> = Model & ModelFields<F> & { readonly [FIELDS]: F; $pk: PkValue<F> };

/** The base class of every model instance. */
export abstract class Model {
  /**
   * Define a model from a map of fields (and Django's `Meta` options). Subclass the result to add
   * methods; its name is the model's name (the table defaults to it in snake_case).
   */
  static define<const F extends FieldMap>(fields: F, options: MetaOptions<F> = {}): ModelClass<F> {
    const Base = class extends Model {};
    Object.defineProperty(Base, 'name', { value: options.name ?? 'Model' });
    const meta = new ModelMeta(Base as unknown as ModelClassLike, fields as unknown as Record<string, Field>, options as MetaOptions);
    Object.defineProperty(Base, META, { value: meta });
    Object.defineProperty(Base, MODEL_BRAND, { value: true });
    Object.defineProperty(Base, '$fields', { value: fields });
    installAccessors(meta, Base.prototype);
    return Base as unknown as ModelClass<F>;
  }

  /** Build an instance from field values (not saved: call `$save()`, or use `objects.create()`). */
  constructor(values?: Record<string, unknown>) {
    if ((values as unknown) === FROM_DB) return;
    const meta = metaFor(new.target as unknown as ModelClassLike);
    meta.ensureReverseAccessors();
    (this as unknown as Record<symbol, unknown>)[STATE] = new ModelState(true, undefined);
    initInstance(meta, this as unknown as Record<string, unknown>, values ?? {});
  }

  // ---- static API -------------------------------------------------------------------------------

  /** The manager (Django's `objects`). */
  static get objects(): Manager<AnyInstance> {
    const meta = metaFor(this as unknown as ModelClassLike);
    let m = meta.cache.get('manager') as Manager<AnyInstance> | undefined;
    if (!m) {
      m = new Manager(meta);
      meta.cache.set('manager', m);
    }
    return m;
  }

  /** This model's DoesNotExist error class. */
  static get DoesNotExist(): typeof ObjectDoesNotExist {
    return doesNotExistClass(metaFor(this as unknown as ModelClassLike));
  }

  /** This model's MultipleObjectsReturned error class. */
  static get MultipleObjectsReturned(): typeof MultipleObjectsReturned {
    return multipleObjectsReturnedClass(metaFor(this as unknown as ModelClassLike));
  }

  /** The model's metadata. */
  static get $meta(): ModelMeta {
    return metaFor(this as unknown as ModelClassLike);
  }

  // ---- instance API -----------------------------------------------------------------------------

  /**
   * `console.log(book)` / `util.inspect`: the class name and the instance's own fields (what
   * `JSON.stringify` shows), not Spool's bookkeeping under its state symbol (an alias string or a
   * `ModelState`, which differ only in whether the instance was touched). Costs nothing until
   * something inspects an instance.
   */
  [Symbol.for('nodejs.util.inspect.custom')](
    depth: number,
    options: { depth?: number | null } & Record<string, unknown>,
    inspect: (value: unknown, options: Record<string, unknown>) => string,
  ): string {
    const name = this.constructor.name || 'Model';
    if (depth < 0) return `[${name}]`;
    // An object of a throwaway class of the same name, so that inspect prints `Book { … }`.
    const Shown = { [name]: class {} }[name] as new () => Record<string, unknown>;
    const shown = new Shown();
    for (const key of Object.keys(this)) shown[key] = (this as unknown as Record<string, unknown>)[key];
    return inspect(shown, { ...options, depth: options.depth == null ? options.depth : depth });
  }

  /** The primary key's value. */
  get $pk(): unknown {
    const meta = metaFor(this.constructor as ModelClassLike);
    return (this as unknown as Record<string, unknown>)[meta.pk.attname];
  }
  set $pk(value: unknown) {
    const meta = metaFor(this.constructor as ModelClassLike);
    (this as unknown as Record<string, unknown>)[meta.pk.attname] = value;
  }

  /** `{ adding, db }`: not saved yet; the alias it came from. */
  get $state(): { readonly adding: boolean; readonly db: string | undefined } {
    const s = stateOf(this);
    return { adding: s.adding, db: s.db };
  }

  /** The model's metadata. */
  get $meta(): ModelMeta {
    return metaFor(this.constructor as ModelClassLike);
  }

  /**
   * Save: INSERT when new, else UPDATE (and INSERT if no row was updated), as Django does.
   * `autoNow` fields are set; `updateFields` limits the UPDATE.
   */
  async $save(options: SaveOptions = {}): Promise<this> {
    await saveInstance(this as unknown as AnyInstance, options);
    return this;
  }

  /**
   * Delete the row and what depends on it (per `onDelete`), in a transaction. The primary key is
   * cleared afterwards. Returns `[total, perModel]`.
   */
  async $delete(options: { using?: string } = {}): Promise<[number, Record<string, number>]> {
    return deleteInstance(this as unknown as AnyInstance, options);
  }

  /** Reload the fields from the database (all, or `fields`). */
  async $refreshFromDb(options: { fields?: readonly string[]; using?: string } = {}): Promise<this> {
    await refreshFromDb(this as unknown as AnyInstance, options);
    return this;
  }

  /**
   * Validate: convert and check every field (null, blank, choices, length, validators), run
   * `$clean()`, check uniqueness against the database. Throws a `ValidationError` with messages
   * per field.
   */
  async $fullClean(options: { exclude?: readonly string[]; validateUnique?: boolean } = {}): Promise<void> {
    await fullClean(this as unknown as AnyInstance, options);
  }

  /** Check each field's value; throws a ValidationError with messages per field. */
  $cleanFields(exclude: readonly string[] = []): void {
    const meta = metaFor(this.constructor as ModelClassLike);
    const errors: Record<string, ValidationMessage[]> = {};
    const rec = this as unknown as Record<string, unknown>;
    for (const f of meta.fields) {
      if (exclude.includes(f.name)) continue;
      let v = rec[f.attname];
      if (f.blank && (v === null || v === undefined || v === '')) continue;
      try {
        v = f.toJs(v);
        rec[f.attname] = v;
      } catch (err) {
        if (ValidationError.is(err)) {
          errors[f.name] = Object.values(err.errors).flat();
          continue;
        }
        throw err;
      }
      const msgs = f.validate(v);
      if (msgs.length > 0) errors[f.name] = msgs;
    }
    if (Object.keys(errors).length > 0) throw new ValidationError(errors, { model: meta.name });
  }

  /** Model-wide validation hook run by `$fullClean()` (override; throw a ValidationError). */
  $clean(): void | Promise<void> {}

  /**
   * Load a relation with one query and cache it: a forward key's instance, a reverse one-to-one's
   * instance, or a multi-valued relation's list (then `obj.books.items` works without a query).
   */
  async $fetch<K extends string & keyof this>(name: K): Promise<this[K] extends { items: infer L } ? L : this[K]> {
    return fetchRelated(this as unknown as AnyInstance, name) as never;
  }

  /** Is the relation loaded (selectRelated, prefetchRelated, $fetch or assignment)? */
  $isLoaded(name: string): boolean {
    const s = stateOf(this);
    return s.hasCached(name) || s.hasPrefetched(name);
  }

  /** The row as plain data: column values by attribute (`authorId`), no relations. */
  $toRow(): Record<string, unknown> {
    const meta = metaFor(this.constructor as ModelClassLike);
    const out: Record<string, unknown> = {};
    for (const f of meta.fields) out[f.attname] = (this as unknown as Record<string, unknown>)[f.attname];
    return out;
  }

  /** Same model and same primary key (Django's `__eq__`). */
  $is(other: unknown): boolean {
    if (!(other instanceof Model)) return false;
    const a = metaFor(this.constructor as ModelClassLike);
    const b = metaFor(other.constructor as ModelClassLike);
    const pk = this.$pk;
    return a === b && pk !== null && pk !== undefined && pk === other.$pk;
  }

  /** `Author(3)`, for logs. */
  toString(): string {
    const meta = metaFor(this.constructor as ModelClassLike);
    return `${meta.name}(${String(this.$pk)})`;
  }
}
Object.defineProperty(Model, MODEL_BRAND, { value: true });

/** The metadata of a model class, adopting the class as the concrete one. */
function metaFor(cls: ModelClassLike): ModelMeta {
  const meta = metaOfClass(cls);
  if (!meta) {
    throw new FieldError(`${cls?.name ?? 'This class'} is not a model made by Model.define(): extend Model.define({ ...fields }).`);
  }
  if (meta.modelClass !== cls && meta.base !== cls) meta.adopt(cls);
  return meta;
}

function stateOf(obj: object): ModelState {
  const s = stateOfInstance(obj) as ModelState | undefined;
  if (!s) throw new TypeError('Not a model instance.');
  return s;
}

/** Set defaults, then the given values (a foreign key accepts an instance or a key). */
function initInstance(meta: ModelMeta, obj: Record<string, unknown>, values: Record<string, unknown>): void {
  if (values === null || typeof values !== 'object') throw new TypeError(`${meta.name}() takes an object of field values.`);
  const has = Object.prototype.hasOwnProperty;
  const fields = meta.fields;
  let consumed = 0;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i] as Field;
    if (f instanceof ForeignObject) {
      const byName = has.call(values, f.name);
      const byAttname = has.call(values, f.attname);
      if (byName) {
        consumed += 1;
        const v = values[f.name];
        if (v !== null && v !== undefined && typeof v === 'object')
          obj[f.name] = v; // setter: cache + key
        else obj[f.attname] = v ?? null;
        if (byAttname) {
          consumed += 1;
          if (values[f.attname] !== obj[f.attname])
            throw new FieldError(`${meta.name}(): '${f.name}' and '${f.attname}' disagree.`, { model: meta.name, field: f.name });
        }
      } else if (byAttname) {
        consumed += 1;
        obj[f.attname] = values[f.attname];
      } else obj[f.attname] = f.getDefault() ?? null;
      continue;
    }
    if (has.call(values, f.name)) {
      consumed += 1;
      obj[f.attname] = values[f.name];
    } else obj[f.attname] = f.getDefault() ?? (f.null || f.autoGenerated ? null : undefined);
  }
  const keys = Object.keys(values);
  if (consumed === keys.length) return;
  for (const k of keys) {
    if (fields.some((x) => x.name === k || x.attname === k)) continue;
    const f = meta.field(k);
    if (f instanceof ManyToManyField || f instanceof ReverseRelation) {
      throw new FieldError(`${meta.name}(): '${k}' is a multi-valued relation; set it after saving with obj.${k}.set([...]).`, {
        model: meta.name,
        field: k,
      });
    }
    const choices = fields.flatMap((x) => (x.attname === x.name ? [x.name] : [x.name, x.attname]));
    throw new FieldError(`${meta.name}() got an unexpected field '${k}'. Valid fields: ${choices.join(', ')}.`, {
      model: meta.name,
      field: k,
      choices,
    });
  }
}

/** Define forward-relation and many-to-many accessors on the model's prototype. */
function installAccessors(meta: ModelMeta, proto: object): void {
  for (const f of meta.fields) {
    if (!(f instanceof ForeignObject)) continue;
    const fk = f as ForeignObject<never>;
    Object.defineProperty(proto, fk.name, {
      configurable: true,
      enumerable: false,
      get(this: Record<string | symbol, unknown>) {
        const id = this[fk.attname];
        // Read without making a state (a prefetched row's back-reference stays shared).
        const cached = cachedRelation(this, fk.name);
        if (cached !== undefined) {
          if (cached === null) {
            if (id === null || id === undefined) return null;
          } else if ((cached as Record<string, unknown>)[fk.relatedMeta.pk.attname] === id) return cached;
        }
        if (id === null || id === undefined) return null;
        throw new RelatedNotLoadedError(
          `${meta.name}.${fk.name} is not loaded. Use selectRelated('${fk.name}') or prefetchRelated('${fk.name}') on the query, or await obj.$fetch('${fk.name}'). (Spool never queries behind a property read.)`,
          { model: meta.name, field: fk.name },
        );
      },
      set(this: Record<string | symbol, unknown>, value: unknown) {
        const state = stateOf(this);
        if (value === null || value === undefined) {
          this[fk.attname] = null;
          state.setCached(fk.name, null);
          return;
        }
        if (typeof value !== 'object' || !(value instanceof Model)) {
          throw new FieldError(
            `Cannot assign ${JSON.stringify(value)} to ${meta.name}.${fk.name}: it must be a ${fk.relatedMeta.name} instance (assign the key to ${fk.attname}).`,
            { model: meta.name, field: fk.name },
          );
        }
        const target = fk.relatedMeta;
        if (metaFor(value.constructor as ModelClassLike) !== target) {
          throw new FieldError(
            `Cannot assign a ${metaFor(value.constructor as ModelClassLike).name} to ${meta.name}.${fk.name}: it must be a ${target.name} instance.`,
            { model: meta.name, field: fk.name },
          );
        }
        this[fk.attname] = (value as unknown as Record<string, unknown>)[target.pk.attname] ?? null;
        state.setCached(fk.name, value);
      },
    });
  }
  for (const f of meta.manyToMany) {
    defineManagerAccessor(proto, f.name, () => {
      return m2mDescriptor(meta, f, true);
    });
  }
  for (const d of meta.reverseDeclarations) {
    defineReverseAccessor(meta, proto, d.name);
  }
}

/** A getter returning the instance's related manager for `name` (created once per instance). */
function defineManagerAccessor(proto: object, name: string, descriptor: () => unknown): void {
  if (Object.prototype.hasOwnProperty.call(proto, name)) return;
  Object.defineProperty(proto, name, {
    configurable: true,
    enumerable: false,
    get(this: Record<string | symbol, unknown>) {
      const state = stateOf(this);
      const existing = state.managers?.get(name);
      if (existing) return existing;
      const m = relatedManager(this as unknown as AnyInstance, descriptor() as never);
      (state.managers ??= new Map()).set(name, m);
      return m;
    },
  });
}

/** Accessors for reverse relations found in the registry (declared or not). */
function defineReverseAccessor(meta: ModelMeta, proto: object, name: string): void {
  if (Object.prototype.hasOwnProperty.call(proto, name)) return;
  Object.defineProperty(proto, name, {
    configurable: true,
    enumerable: false,
    get(this: Record<string | symbol, unknown>) {
      const rel = meta.related().byAccessor.get(name);
      if (!rel)
        throw new FieldError(`${meta.name}.${name}: no relation declares this reverse accessor.`, { model: meta.name, field: name });
      const state = stateOf(this);
      if (rel.kind === 'reverse-o2o') {
        const cached = state.cached(name);
        if (cached !== undefined) return cached;
        throw new RelatedNotLoadedError(
          `${meta.name}.${name} is not loaded. Use selectRelated/prefetchRelated('${name}') or await obj.$fetch('${name}').`,
          { model: meta.name, field: name },
        );
      }
      const existing = state.managers?.get(name);
      if (existing) return existing;
      const m = relatedManager(this as unknown as AnyInstance, reverseDescriptor(rel) as never);
      (state.managers ??= new Map()).set(name, m);
      return m;
    },
  });
}

setReverseInstaller((meta, name) => defineReverseAccessor(meta, meta.base.prototype, name));

// Auto-created through models are models too.
setThroughFactory((fields, options) => Model.define(fields as FieldMap, options as MetaOptions<FieldMap>) as unknown as ModelClassLike);
