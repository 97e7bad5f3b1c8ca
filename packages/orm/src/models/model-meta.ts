/**
 * A model's metadata (Django's `Options`, `Model._meta`): its name, table, fields, primary key,
 * ordering, constraints, and its relations in both directions.
 *
 * Built in two steps: `Model.define()` checks the field map at once (reserved names, clashes);
 * what depends on other models (relation targets, reverse relations, through tables) and on the
 * subclass (the name) is resolved on first use, so models may refer to models declared later.
 */
import { ConfigError } from '@spool/connections';
import { ModelDefinitionError, FieldError } from '../errors';
import { Field, RESERVED_FIELD_NAMES } from '../fields/field';
import { AutoField } from '../fields/auto-field';
import { ForeignKey, ForeignObject, RelatedField } from '../fields/foreign-key';
import { ManyToManyField } from '../fields/many-to-many-field';
import { ReverseRelation } from '../fields/reverse-relation';
import type { Target } from '../fields/model-ref';
import { META, MODEL_BRAND } from '../brand';
import { type Constraint, Index, UniqueConstraint } from './constraints';
import { isIdentifier, lowerFirst } from './naming';
import { checkNamingStrategy, describeStrategy, namingStrategy, type NamingStrategy } from './naming-strategy';
import { allModels, register, registryVersion } from './registry';

/** Options of `Model.define(fields, options)` (Django's `class Meta`). */
export interface MetaOptions<F = Record<string, unknown>> {
  /** The model's name in messages and registries (default: the class name). */
  name?: string;
  /** The table name (default: the naming strategy's, the model name in snake_case). */
  dbTable?: string;
  /**
   * How the model's table and columns are named when no `dbTable` / `dbColumn` is given (default:
   * the strategy set by `setNamingStrategy()`, else `UnderscoreNamingStrategy`: `created_at`, `author_id`).
   */
  namingStrategy?: NamingStrategy;
  /** Default ordering: field names, `-name` for descending. */
  ordering?: readonly ((keyof F & string) | `-${keyof F & string}` | 'pk' | '-pk' | 'id' | '-id')[];
  /** Sets of fields that must be unique together (Django's `unique_together`). */
  uniqueTogether?: readonly (readonly (keyof F & string)[])[];
  /** Named constraints (`UniqueConstraint`). */
  constraints?: readonly Constraint[];
  /** Named indexes (`Index`). */
  indexes?: readonly Index[];
  /** Field used by `latest()` / `earliest()`. */
  getLatestBy?: keyof F & string;
  /** @internal an auto-created through model. */
  autoCreated?: boolean;
}

const META_KEYS = [
  'name',
  'dbTable',
  'namingStrategy',
  'ordering',
  'uniqueTogether',
  'constraints',
  'indexes',
  'getLatestBy',
  'autoCreated',
];

/** The reverse side of a relation, found on the related model (Django's `ForeignObjectRel`). */
export interface RelatedObject {
  /** The forward field (on `model`). */
  readonly field: ForeignObject<never> | ManyToManyField<unknown>;
  /** The model holding the forward field. */
  readonly model: ModelMeta;
  /** The model the relation points to (where the reverse accessor lives). */
  readonly parent: ModelMeta;
  readonly kind: 'reverse-fk' | 'reverse-o2o' | 'reverse-m2m';
  /** The accessor on instances of `parent` (`author.books`). */
  readonly accessorName: string;
  /** The name used in lookups (`Author.objects.filter({ books__title })`). */
  readonly queryName: string;
  readonly multiple: boolean;
  /** Hidden relations (auto-created through models) get no accessor. */
  readonly hidden: boolean;
}

/** What a name in a lookup path resolves to. */
export type PathElement =
  { kind: 'field'; field: Field } | { kind: 'm2m'; field: ManyToManyField<unknown> } | { kind: 'reverse'; rel: RelatedObject };

/** A runtime model class (any). */
export interface ModelClassLike {
  // Any constructor: model classes take their own value types.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  new (...args: any[]): any;
  readonly name: string;
  prototype: object;
}

type ReverseInstaller = (meta: ModelMeta, name: string) => void;
type ThroughFactory = (fields: Record<string, Field>, options: MetaOptions) => ModelClassLike;

/** Installs reverse accessors on a model's prototype, set by model.ts. */
let reverseInstaller: ReverseInstaller | undefined;
/** Makes the class of an auto-created through model, set by model.ts (which imports this module). */
let throughFactory: ThroughFactory | undefined;

/** Called once by model.ts. @internal */
export function setReverseInstaller(f: ReverseInstaller): void {
  reverseInstaller = f;
}

/** Called once by model.ts. @internal */
export function setThroughFactory(f: ThroughFactory): void {
  throughFactory = f;
}

export class ModelMeta {
  /** The class `Model.define()` returned. */
  readonly base: ModelClassLike;
  /** The class instances are made of: the user's subclass, once seen, else `base`. */
  modelClass: ModelClassLike;
  readonly options: MetaOptions;
  /** Every declared field, by name, in declaration order (with the implicit `id` first). */
  readonly declared: ReadonlyMap<string, Field>;
  /** Fields with a column, in declaration order. */
  readonly fields: readonly Field[];
  readonly pk: Field;
  readonly manyToMany: readonly ManyToManyField<unknown>[];
  readonly reverseDeclarations: readonly ReverseRelation<never>[];
  /** How the table and columns are named where `dbTable` / `dbColumn` are not given. */
  readonly naming: NamingStrategy;
  /** Did the model take the default strategy (no `namingStrategy` option)? @internal */
  readonly usesDefaultNaming: boolean;
  private readonly byAttname = new Map<string, Field>();
  private nameValue: string | undefined;
  private tableValue: string | undefined;
  private relatedCache:
    { version: number; list: RelatedObject[]; byQuery: Map<string, RelatedObject>; byAccessor: Map<string, RelatedObject> } | undefined;
  private readonly throughs = new Map<ManyToManyField<unknown>, ModelMeta>();
  private checkedClass = false;
  /** Per-model caches of the query layer (mappers, resolved lookups). @internal */
  readonly cache = new Map<string, unknown>();
  /** Resolved filter plans, per table alias and key (the fast path of filter()). @internal */
  readonly plans = new Map<string, Map<string, unknown>>();

  constructor(base: ModelClassLike, fields: Record<string, Field>, options: MetaOptions) {
    this.base = base;
    this.modelClass = base;
    if (options === null || typeof options !== 'object') throw new ModelDefinitionError(`Model options must be an object.`);
    for (const key of Object.keys(options)) {
      if (!META_KEYS.includes(key))
        throw new ModelDefinitionError(
          `Unknown model option '${key}'. Valid options: ${META_KEYS.filter((k) => k !== 'autoCreated').join(', ')}.`,
        );
    }
    this.options = options;
    if (options.namingStrategy !== undefined) checkNamingStrategy(options.namingStrategy, `${options.name ?? 'Model.define()'}`);
    this.naming = options.namingStrategy ?? namingStrategy();
    this.usesDefaultNaming = options.namingStrategy === undefined && options.autoCreated !== true;
    if (options.name !== undefined) {
      if (!isIdentifier(options.name))
        throw new ModelDefinitionError(`Model option name must be an identifier, got ${JSON.stringify(options.name)}.`);
      this.nameValue = options.name;
    }
    if (fields === null || typeof fields !== 'object')
      throw new ModelDefinitionError(`Model.define() takes an object of fields, got ${fields === null ? 'null' : typeof fields}.`);
    const declared = new Map<string, Field>();
    const label = options.name ?? 'the model';
    const entries = Object.entries(fields);
    const hasPk = entries.some(([, f]) => Field.is(f) && f.primaryKey);
    if (!hasPk) {
      if ('id' in fields)
        throw new ModelDefinitionError(
          `${label}: a field named 'id' must be the primary key (primaryKey: true), because Spool adds 'id' when no primary key is declared.`,
          { model: options.name },
        );
      const id = new AutoField();
      declared.set('id', id);
    }
    for (const [name, field] of entries) {
      if (!Field.is(field))
        throw new ModelDefinitionError(
          `${label}.${name} is not a field (got ${field === null ? 'null' : typeof field}). Use a field class: new CharField({ maxLength: 100 }).`,
          { model: options.name },
        );
      checkFieldName(label, name);
      declared.set(name, field);
    }
    const concrete: Field[] = [];
    const m2m: ManyToManyField<unknown>[] = [];
    const reverse: ReverseRelation<never>[] = [];
    let pk: Field | undefined;
    for (const [name, field] of declared) {
      if ((field as Field).model !== undefined) {
        throw new ModelDefinitionError(
          `${label}.${name}: this field object already belongs to ${field.model.name}.${field.name}. Create a new field for each model.`,
          { model: options.name },
        );
      }
      field.contribute(this, name);
      if (field instanceof ReverseRelation) reverse.push(field as ReverseRelation<never>);
      else if (field instanceof ManyToManyField) m2m.push(field);
      else {
        concrete.push(field);
        if (field.primaryKey) {
          if (pk)
            throw new ModelDefinitionError(`${label}: only one primary key is allowed ('${pk.name}' and '${name}').`, {
              model: options.name,
            });
          pk = field;
        }
      }
    }
    for (const f of concrete) {
      if (f.attname !== f.name && declared.has(f.attname)) {
        throw new ModelDefinitionError(`${label}.${f.name}: its attribute '${f.attname}' clashes with the field '${f.attname}'.`, {
          model: options.name,
        });
      }
      this.byAttname.set(f.attname, f);
      if (!isIdentifier(f.column))
        throw new ModelDefinitionError(
          `${label}.${f.name}: column name ${JSON.stringify(f.column)}${f.dbColumn === undefined ? ` (from ${describeStrategy(this.naming)})` : ''} must be an identifier (letters, digits, underscore; at most 64 characters).`,
          { model: options.name },
        );
    }
    const columns = new Map<string, string>();
    for (const f of concrete) {
      const other = columns.get(f.column.toLowerCase());
      if (other)
        throw new ModelDefinitionError(
          `${label}: fields '${other}' and '${f.name}' map to the same column '${f.column}' (${describeColumn(declared.get(other) as Field, this.naming)}; ${describeColumn(f, this.naming)}). Give one of them another dbColumn, or rename it.`,
          { model: options.name },
        );
      columns.set(f.column.toLowerCase(), f.name);
    }
    this.declared = declared;
    this.fields = concrete;
    this.pk = pk as Field;
    this.manyToMany = m2m;
    this.reverseDeclarations = reverse;
    if (options.dbTable !== undefined && !isIdentifier(options.dbTable)) {
      throw new ModelDefinitionError(
        `${label}: dbTable ${JSON.stringify(options.dbTable)} must be an identifier (letters, digits, underscore; at most 64 characters).`,
        { model: options.name },
      );
    }
    for (const group of options.uniqueTogether ?? []) {
      for (const n of group) if (!this.declared.has(n) || !this.declared.get(n)?.concrete) throw this.unknownField(n, 'uniqueTogether');
    }
    for (const c of [...(options.constraints ?? []), ...(options.indexes ?? [])]) {
      if (!(c instanceof UniqueConstraint) && !(c instanceof Index))
        throw new ModelDefinitionError(`${label}: constraints and indexes must be UniqueConstraint or Index objects.`);
      for (const n of c.fields) {
        const name = n.startsWith('-') ? n.slice(1) : n;
        if (!this.declared.has(name) || !this.declared.get(name)?.concrete) throw this.unknownField(name, c.name);
      }
    }
    for (const o of options.ordering ?? []) {
      const name = o.startsWith('-') ? o.slice(1) : o;
      if (name !== 'pk' && name !== '?' && !name.includes('__') && !this.declared.has(name) && !this.byAttname.has(name))
        throw this.unknownField(name, 'ordering');
    }
    register(this);
  }

  // ---- identity ---------------------------------------------------------------------------------

  /** The model's name: the `name` option, else the class name. */
  get name(): string {
    if (this.nameValue) return this.nameValue;
    const n = this.modelClass.name;
    if (n && this.modelClass !== this.base) return n;
    return n || 'Model';
  }

  /** Is the model's name known (a `name` option, or the subclass was seen)? */
  get named(): boolean {
    return this.nameValue !== undefined || this.modelClass !== this.base;
  }

  /**
   * The name, when something depends on it (table name, reverse names). A model is named after its
   * class, which Spool learns when the class is first used; a model reached only through another
   * model's relations before that has no name yet.
   */
  private requireName(what: string): string {
    if (this.named) return this.name;
    const fields = [...this.declared.keys()].join(', ');
    throw new ModelDefinitionError(
      `A model (fields: ${fields}) is used through a relation before its class was, so its ${what} is unknown: Spool names a model after its class (class Letter extends Model.define(...)), which it learns when the class is first used. Give Model.define() a { name } (and { dbTable }) option, or use the class first.`,
    );
  }

  /** The table: the `dbTable` option, else the model name in snake_case. */
  get dbTable(): string {
    if (this.tableValue) return this.tableValue;
    const t = this.options.dbTable ?? this.naming.tableName(this.requireName('table name'));
    if (!isIdentifier(t)) {
      throw new ModelDefinitionError(
        `${this.name}: the table name ${JSON.stringify(t)} (from ${describeStrategy(this.naming)}) is not a valid identifier; set dbTable.`,
        { model: this.name },
      );
    }
    // Fix the table once the concrete class is known (or a name/table was given).
    if (this.options.dbTable || this.nameValue || this.modelClass !== this.base) this.tableValue = t;
    return t;
  }

  get ordering(): readonly string[] {
    return (this.options.ordering ?? []) as readonly string[];
  }

  get autoCreated(): boolean {
    return this.options.autoCreated === true;
  }

  /**
   * Record the class instances are made of (the user's subclass). Called from the static accessors
   * and the constructor with `this` / `new.target`. @internal
   */
  adopt(cls: ModelClassLike): void {
    if (cls === this.modelClass || cls === this.base) return;
    if (this.modelClass !== this.base) {
      // A subclass of the subclass (e.g. a proxy-like class) is fine; two siblings are not.
      if (cls.prototype instanceof this.modelClass) return;
      if (this.modelClass.prototype instanceof cls) return;
      throw new ModelDefinitionError(
        `The model defined by Model.define() was subclassed twice (${this.modelClass.name} and ${cls.name}). Call Model.define() once per model.`,
        { model: this.modelClass.name },
      );
    }
    this.modelClass = cls;
    this.checkClass();
  }

  /** A method of the subclass must not hide a field. */
  private checkClass(): void {
    if (this.checkedClass || this.modelClass === this.base) return;
    this.checkedClass = true;
    for (let p = this.modelClass.prototype; p && p !== this.base.prototype; p = Object.getPrototypeOf(p)) {
      for (const key of Object.getOwnPropertyNames(p)) {
        if (key === 'constructor') continue;
        if (this.declared.has(key) || this.byAttname.has(key)) {
          throw new ModelDefinitionError(`${this.name}.${key} is both a field and a method or accessor of the class. Rename one of them.`, {
            model: this.name,
          });
        }
      }
    }
  }

  // ---- fields -----------------------------------------------------------------------------------

  /** A declared field by name (concrete, many-to-many, declared reverse), or undefined. */
  field(name: string): Field | undefined {
    return this.declared.get(name);
  }

  /** A concrete field by attribute name (`authorId`) or name. */
  fieldByAttname(name: string): Field | undefined {
    return this.byAttname.get(name) ?? (this.declared.get(name)?.concrete ? this.declared.get(name) : undefined);
  }

  /** A concrete field by name, or a FieldError naming the valid ones. */
  concreteField(name: string, context?: string): Field {
    if (name === 'pk') return this.pk;
    const f = this.declared.get(name) ?? this.byAttname.get(name);
    if (f && f.concrete) return f;
    throw this.unknownField(
      name,
      context,
      this.fields.map((x) => x.name),
    );
  }

  /** Resolve one name of a lookup path: a field, its attname, `pk`, a many-to-many, a reverse relation. */
  pathElement(name: string): PathElement | undefined {
    if (name === 'pk') return { kind: 'field', field: this.pk };
    const f = this.declared.get(name);
    if (f) {
      if (f instanceof ManyToManyField) return { kind: 'm2m', field: f };
      if (f instanceof ReverseRelation) {
        const rel = this.related().byQuery.get(name);
        return rel ? { kind: 'reverse', rel } : undefined;
      }
      return { kind: 'field', field: f };
    }
    const a = this.byAttname.get(name);
    if (a) return { kind: 'field', field: a };
    const rel = this.related().byQuery.get(name);
    return rel ? { kind: 'reverse', rel } : undefined;
  }

  /** Every name a lookup may start with here (for messages). */
  lookupNames(): string[] {
    const names = new Set<string>(['pk']);
    for (const [n, f] of this.declared) if (!(f instanceof ReverseRelation)) names.add(n);
    for (const f of this.fields) names.add(f.attname);
    for (const r of this.related().list) if (!r.hidden) names.add(r.queryName);
    return [...names].sort();
  }

  /** A FieldError for an unknown name, listing the valid ones. */
  unknownField(name: string, context?: string, choices: readonly string[] = this.safeLookupNames()): FieldError {
    const where = context ? ` (in ${context})` : '';
    return new FieldError(`Cannot resolve keyword '${name}' into field of ${this.name}${where}. Choices are: ${choices.join(', ')}.`, {
      model: this.name,
      field: name,
      choices,
    });
  }

  private safeLookupNames(): string[] {
    try {
      return this.lookupNames();
    } catch {
      return [...this.declared.keys()].sort();
    }
  }

  // ---- relations ----------------------------------------------------------------------------------

  /** Resolve a relation target (`'self'` or a thunk) to the related model's metadata. @internal */
  resolveTarget(target: Target, field: Field): ModelMeta {
    if (target === 'self') return this;
    let cls: unknown;
    try {
      cls = target();
    } catch (err) {
      throw new ModelDefinitionError(
        `${this.name}.${field.name}: the related model could not be resolved (${(err as Error).message}). The thunk runs when the model is first used; make sure the related model's module is loaded by then.`,
        { model: this.name, cause: err },
      );
    }
    const meta = metaOfClass(cls);
    if (!meta) {
      throw new ModelDefinitionError(
        `${this.name}.${field.name}: the related model must be a model class (from Model.define()), got ${describe(cls)}.`,
        { model: this.name },
      );
    }
    meta.adopt(cls as ModelClassLike);
    return meta;
  }

  /** Reverse relations pointing at this model, from every registered model. */
  related(): { list: RelatedObject[]; byQuery: Map<string, RelatedObject>; byAccessor: Map<string, RelatedObject> } {
    const v = registryVersion();
    if (this.relatedCache && this.relatedCache.version === v) return this.relatedCache;
    const list: RelatedObject[] = [];
    // Declared reverse relations name their model's class: resolving them teaches Spool its name.
    for (const d of this.reverseDeclarations) safeResolve(this, d);
    for (const m of allModels()) {
      for (const f of [...m.fields, ...m.manyToMany]) {
        if (!(f instanceof RelatedField)) continue;
        let target: ModelMeta;
        try {
          target = (f as RelatedField<never>).relatedMeta;
        } catch {
          // A relation that cannot be resolved is reported where it is used, not on every model.
          continue;
        }
        if (target !== this) continue;
        list.push(m.relatedObjectFor(f as ForeignObject<never> | ManyToManyField<unknown>, this));
      }
    }
    const byQuery = new Map<string, RelatedObject>();
    const byAccessor = new Map<string, RelatedObject>();
    for (const r of list) {
      if (r.hidden) continue;
      const clashQ = byQuery.get(r.queryName);
      if (clashQ) {
        throw new ModelDefinitionError(
          `Reverse query name '${r.queryName}' of ${r.model.name}.${r.field.name} clashes with ${clashQ.model.name}.${clashQ.field.name} on ${this.name}. Give one of them a relatedName.`,
          { model: this.name },
        );
      }
      const own = this.declared.get(r.accessorName);
      if (own && !(own instanceof ReverseRelation)) {
        throw new ModelDefinitionError(
          `Reverse accessor '${r.accessorName}' of ${r.model.name}.${r.field.name} clashes with the field ${this.name}.${r.accessorName}. Give ${r.model.name}.${r.field.name} a relatedName.`,
          { model: this.name },
        );
      }
      byQuery.set(r.queryName, r);
      byAccessor.set(r.accessorName, r);
    }
    for (const d of this.reverseDeclarations) {
      const r = byAccessor.get(d.name);
      if (!r) {
        const target = this.resolveTarget(d.target, d);
        const f = target.declared.get(d.fieldName);
        throw new ModelDefinitionError(
          f
            ? `${this.name}.${d.name} declares the reverse of ${target.name}.${d.fieldName}, but that field ${f instanceof RelatedField && (f as RelatedField<never>).relatedMeta !== this ? `points to ${(f as RelatedField<never>).relatedMeta.name}` : `has relatedName '${(f as RelatedField<never>).relatedName}'`}.`
            : `${this.name}.${d.name} declares the reverse of ${target.name}.${d.fieldName}, which does not exist. Fields of ${target.name}: ${[...target.declared.keys()].join(', ')}.`,
          { model: this.name },
        );
      }
      if (r.field.internalType !== d.expects) {
        throw new ModelDefinitionError(
          `${this.name}.${d.name} is a ${d.internalType} but ${r.model.name}.${r.field.name} is a ${r.field.internalType}. Use the matching declaration.`,
          { model: this.name },
        );
      }
    }
    this.relatedCache = { version: v, list, byQuery, byAccessor };
    for (const name of byAccessor.keys()) reverseInstaller?.(this, name);
    return this.relatedCache;
  }

  /** Make sure reverse accessors of relations declared elsewhere exist on instances (cheap when up to date). @internal */
  ensureReverseAccessors(): void {
    if (this.relatedCache?.version === registryVersion()) return;
    try {
      this.related();
    } catch {
      // A broken relation elsewhere is reported when it is used, not here.
    }
  }

  /** The RelatedObject for a forward field of this model pointing at `parent`. @internal */
  relatedObjectFor(field: ForeignObject<never> | ManyToManyField<unknown>, parent: ModelMeta): RelatedObject {
    const key = `rel:${field.name}`;
    const cached = this.cache.get(key) as RelatedObject | undefined;
    if (cached && cached.parent === parent) return cached;
    const kind = field instanceof ManyToManyField ? 'reverse-m2m' : field.internalType === 'OneToOneField' ? 'reverse-o2o' : 'reverse-fk';
    const declaration = parent.reverseDeclarations.find((d) => d.fieldName === field.name && safeResolve(parent, d) === this);
    if (declaration && field.relatedName !== undefined && field.relatedName !== declaration.name) {
      throw new ModelDefinitionError(
        `${parent.name}.${declaration.name} declares the reverse of ${this.name}.${field.name}, whose relatedName is '${field.relatedName}'. Use the same name on both sides.`,
        { model: parent.name },
      );
    }
    const explicit = declaration?.name ?? field.relatedName;
    const base =
      explicit !== undefined && (field.relatedQueryName !== undefined || declaration)
        ? ''
        : lowerFirst(this.requireName(`reverse accessor on ${parent.name}`));
    const accessorName = explicit ?? (kind === 'reverse-o2o' ? base : `${base}Set`);
    const queryName = declaration?.name ?? field.relatedQueryName ?? field.relatedName ?? base;
    const rel: RelatedObject = {
      field,
      model: this,
      parent,
      kind,
      accessorName,
      queryName,
      multiple: kind !== 'reverse-o2o',
      hidden: this.autoCreated,
    };
    this.cache.set(key, rel);
    return rel;
  }

  /** The through model of a many-to-many field of this model (auto-created on first use). */
  throughFor(field: ManyToManyField<unknown>): ModelMeta {
    const existing = this.throughs.get(field);
    if (existing) return existing;
    let meta: ModelMeta;
    if (field.throughThunk) {
      meta = this.resolveTarget(field.throughThunk, field);
    } else {
      if (!throughFactory) throw new ConfigError('Spool ORM is not initialised (model.ts not loaded).');
      const target = field.relatedMeta;
      const self = target === this;
      const fromName = self ? `from${this.name}` : lowerFirst(this.name);
      const toName = self ? `to${target.name}` : lowerFirst(target.name);
      const fromCol = this.naming.joinColumnName(this.name, self ? 'from' : undefined);
      const toCol = this.naming.joinColumnName(target.name, self ? 'to' : undefined);
      const fields: Record<string, Field> = {
        [fromName]: new ForeignKey(() => this.modelClass as never, {
          onDelete: 'cascade',
          dbColumn: fromCol,
          relatedName: `${this.name}_${field.name}_from`,
        }) as unknown as Field,
        [toName]: new ForeignKey(() => target.modelClass as never, {
          onDelete: 'cascade',
          dbColumn: toCol,
          relatedName: `${this.name}_${field.name}_to`,
        }) as unknown as Field,
      };
      const table = field.dbTable ?? this.naming.joinTableName(this.dbTable, field.name);
      const cls = throughFactory(fields, {
        name: `${this.name}_${field.name}`,
        dbTable: table,
        namingStrategy: this.naming,
        uniqueTogether: [[fromName, toName]],
        autoCreated: true,
      });
      meta = metaOfClass(cls) as ModelMeta;
    }
    this.throughs.set(field, meta);
    return meta;
  }

  /** The two foreign keys of a many-to-many through model: to the source and to the target. @internal */
  throughFields(field: ManyToManyField<unknown>): { source: ForeignObject<never>; target: ForeignObject<never> } {
    const through = this.throughFor(field);
    const target = field.relatedMeta;
    const fks = through.fields.filter((f): f is ForeignObject<never> => f instanceof ForeignObject);
    const self = target === this;
    const source = self ? fks[0] : fks.find((f) => f.relatedMeta === this);
    const tgt = self ? fks[1] : fks.find((f) => f.relatedMeta === target);
    if (!source || !tgt) {
      throw new ModelDefinitionError(
        `${this.name}.${field.name}: the through model ${through.name} must have a ForeignKey to ${this.name} and one to ${target.name}.`,
        { model: this.name },
      );
    }
    return { source, target: tgt };
  }
}

/** How a field got its column, for messages. */
function describeColumn(f: Field, naming: NamingStrategy): string {
  return f.dbColumn !== undefined ? `'${f.name}' has dbColumn '${f.dbColumn}'` : `'${f.name}' is named by ${describeStrategy(naming)}`;
}

function safeResolve(parent: ModelMeta, d: ReverseRelation<never>): ModelMeta | undefined {
  try {
    return parent.resolveTarget(d.target, d);
  } catch {
    return undefined;
  }
}

function describe(v: unknown): string {
  if (typeof v === 'function') return `function ${v.name || '(anonymous)'}`;
  return v === null ? 'null' : typeof v;
}

function checkFieldName(label: string, name: string): void {
  if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(name)) {
    throw new ModelDefinitionError(
      `${label}: field name '${name}' must start with a letter and contain only letters, digits and underscores (names starting with '$' or '_' are reserved for Spool's instance API).`,
    );
  }
  if (name.includes('__')) throw new ModelDefinitionError(`${label}: field name '${name}' cannot contain '__' (it separates lookups).`);
  if (name.endsWith('_')) throw new ModelDefinitionError(`${label}: field name '${name}' cannot end with an underscore.`);
  if (RESERVED_FIELD_NAMES.has(name)) {
    throw new ModelDefinitionError(`${label}: '${name}' is a reserved word that cannot be used as a field name.`);
  }
}

/** The metadata of a model class, or undefined for anything else. @internal */
export function metaOfClass(cls: unknown): ModelMeta | undefined {
  if (typeof cls !== 'function') return undefined;
  const m = (cls as unknown as Record<symbol, unknown>)[META];
  if (m instanceof ModelMeta) return m;
  if ((cls as unknown as Record<symbol, unknown>)[MODEL_BRAND] === true && m && typeof m === 'object') return m as ModelMeta;
  return undefined;
}
