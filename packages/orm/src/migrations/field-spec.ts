/**
 * A field as migrations see it: its type and the options that matter to the database or to the
 * historical models a data migration uses, as plain data. Migration files are written with the
 * `fields` factories (`f.CharField({ maxLength: 100 })`), the autodetector compares specs, and
 * the historical models are rendered from them (Django's `Field.deconstruct()` output).
 *
 * Names are explicit: the column is `dbColumn` when given, else the field's name, whatever the
 * models' naming rules are today. A migration file therefore means the same thing forever, and a
 * change of naming rule shows up as a column rename in the next migration.
 *
 * Options not kept (they change nothing in the database): `blank`, `choices`, `validators`,
 * `editable`, `helpText`, `verboseName`.
 */
import type { Vendor } from '@spool/connections';
import { ON_DELETE, type OnDelete } from '../fields/foreign-key';
import { BadMigrationError } from './errors';

/** The field types migrations know, by Django's internal type name. */
export const FIELD_TYPES = [
  'AutoField',
  'BigAutoField',
  'IntegerField',
  'BigIntegerField',
  'FloatField',
  'DecimalField',
  'CharField',
  'TextField',
  'BooleanField',
  'DateField',
  'DateTimeField',
  'UUIDField',
  'JSONField',
  'ForeignKey',
  'OneToOneField',
  'ManyToManyField',
] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

/** A value a migration file can hold literally (defaults). */
export type StateValue = string | number | boolean | null | bigint | Date | readonly StateValue[] | { readonly [key: string]: StateValue };

/** The options of a field spec (the union over all types; each type accepts its own subset). */
export interface FieldSpecOptions {
  primaryKey?: boolean;
  null?: boolean;
  unique?: boolean;
  dbIndex?: boolean;
  /** The column, when it is not the field's name. */
  dbColumn?: string;
  /** The default, used to fill existing rows when a column is added, and by historical models. */
  default?: StateValue;
  maxLength?: number;
  maxDigits?: number;
  decimalPlaces?: number;
  dbCollation?: string | Partial<Record<Vendor, string>>;
  autoNow?: boolean;
  autoNowAdd?: boolean;
  /** Relations: the related model, `app.Model`. */
  to?: string;
  onDelete?: OnDelete;
  relatedName?: string;
  relatedQueryName?: string;
  dbConstraint?: boolean;
  /** Many-to-many: the table of the auto-created through model. */
  dbTable?: string;
  /** Many-to-many: the through table's columns pointing at the source and at the target. */
  throughColumns?: readonly [string, string];
  /** Many-to-many: a through model of yours, `app.Model` (then no table is created for the field). */
  through?: string;
}

/** A field in a migration: its type and options. */
export interface FieldSpec {
  readonly type: FieldType;
  readonly options: Readonly<FieldSpecOptions>;
}

const KEY_ORDER: readonly (keyof FieldSpecOptions)[] = [
  'to',
  'onDelete',
  'through',
  'maxLength',
  'maxDigits',
  'decimalPlaces',
  'primaryKey',
  'null',
  'unique',
  'dbIndex',
  'default',
  'autoNow',
  'autoNowAdd',
  'dbColumn',
  'dbCollation',
  'dbTable',
  'throughColumns',
  'relatedName',
  'relatedQueryName',
  'dbConstraint',
];

const COMMON = ['null', 'unique', 'dbIndex', 'dbColumn', 'default', 'primaryKey'] as const;
const RELATION = ['to', 'onDelete', 'relatedName', 'relatedQueryName', 'dbConstraint'] as const;
const ALLOWED: Record<FieldType, readonly (keyof FieldSpecOptions)[]> = {
  AutoField: ['dbColumn', 'primaryKey'],
  BigAutoField: ['dbColumn', 'primaryKey'],
  IntegerField: COMMON,
  BigIntegerField: COMMON,
  FloatField: COMMON,
  DecimalField: [...COMMON, 'maxDigits', 'decimalPlaces'],
  CharField: [...COMMON, 'maxLength', 'dbCollation'],
  TextField: [...COMMON, 'dbCollation'],
  BooleanField: COMMON,
  DateField: [...COMMON, 'autoNow', 'autoNowAdd'],
  DateTimeField: [...COMMON, 'autoNow', 'autoNowAdd'],
  UUIDField: COMMON,
  JSONField: COMMON,
  ForeignKey: [...COMMON, ...RELATION],
  OneToOneField: [...COMMON, ...RELATION],
  ManyToManyField: ['to', 'relatedName', 'relatedQueryName', 'dbTable', 'throughColumns', 'through'],
};

const REQUIRED: Partial<Record<FieldType, readonly (keyof FieldSpecOptions)[]>> = {
  CharField: ['maxLength'],
  DecimalField: ['maxDigits', 'decimalPlaces'],
  ForeignKey: ['to', 'onDelete'],
  OneToOneField: ['to', 'onDelete'],
  ManyToManyField: ['to'],
};

/** Build a field spec, checking the options for the type (a typo in a migration file is named). */
export function fieldSpec(type: FieldType, options: FieldSpecOptions = {}): FieldSpec {
  if (!(FIELD_TYPES as readonly string[]).includes(type)) {
    throw new BadMigrationError(`Unknown field type '${String(type)}' in a migration. Known types: ${FIELD_TYPES.join(', ')}.`);
  }
  if (options === null || typeof options !== 'object') throw new BadMigrationError(`f.${type}(): options must be an object.`);
  const allowed = ALLOWED[type];
  const clean: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) {
    if (!allowed.includes(key as keyof FieldSpecOptions)) {
      throw new BadMigrationError(`f.${type}(): unknown option '${key}'. Valid options: ${allowed.join(', ')}.`);
    }
    if (value !== undefined) clean[key] = value;
  }
  for (const key of REQUIRED[type] ?? []) {
    if (clean[key] === undefined) throw new BadMigrationError(`f.${type}(): option '${key}' is required.`);
  }
  if (clean.onDelete !== undefined && !(ON_DELETE as readonly string[]).includes(clean.onDelete as string)) {
    throw new BadMigrationError(`f.${type}(): onDelete must be one of ${ON_DELETE.join(', ')}, got ${JSON.stringify(clean.onDelete)}.`);
  }
  if (clean.to !== undefined && (typeof clean.to !== 'string' || !/^[A-Za-z_]\w*\.[A-Za-z_]\w*$/.test(clean.to))) {
    throw new BadMigrationError(`f.${type}(): 'to' must name a model as 'app.Model', got ${JSON.stringify(clean.to)}.`);
  }
  // A canonical key order, so that written migrations read the same whatever built the spec.
  const ordered: Record<string, unknown> = {};
  for (const key of KEY_ORDER) if (key in clean) ordered[key] = clean[key];
  return Object.freeze({ type, options: Object.freeze(ordered) as FieldSpecOptions });
}

type Opts<K extends keyof FieldSpecOptions> = Pick<FieldSpecOptions, K>;
type Common = (typeof COMMON)[number];
type Rel = (typeof RELATION)[number];

/**
 * The field factories migration files use: `f.CharField({ maxLength: 100 })`,
 * `f.ForeignKey({ to: 'library.Author', onDelete: 'cascade', dbColumn: 'author_id' })`.
 */
export const fields = {
  AutoField: (o: Opts<'dbColumn' | 'primaryKey'> = {}) => fieldSpec('AutoField', o),
  BigAutoField: (o: Opts<'dbColumn' | 'primaryKey'> = {}) => fieldSpec('BigAutoField', o),
  IntegerField: (o: Opts<Common> = {}) => fieldSpec('IntegerField', o),
  BigIntegerField: (o: Opts<Common> = {}) => fieldSpec('BigIntegerField', o),
  FloatField: (o: Opts<Common> = {}) => fieldSpec('FloatField', o),
  DecimalField: (o: Opts<Common | 'maxDigits' | 'decimalPlaces'>) => fieldSpec('DecimalField', o),
  CharField: (o: Opts<Common | 'maxLength' | 'dbCollation'>) => fieldSpec('CharField', o),
  TextField: (o: Opts<Common | 'dbCollation'> = {}) => fieldSpec('TextField', o),
  BooleanField: (o: Opts<Common> = {}) => fieldSpec('BooleanField', o),
  DateField: (o: Opts<Common | 'autoNow' | 'autoNowAdd'> = {}) => fieldSpec('DateField', o),
  DateTimeField: (o: Opts<Common | 'autoNow' | 'autoNowAdd'> = {}) => fieldSpec('DateTimeField', o),
  UUIDField: (o: Opts<Common> = {}) => fieldSpec('UUIDField', o),
  JSONField: (o: Opts<Common> = {}) => fieldSpec('JSONField', o),
  ForeignKey: (o: Opts<Common | Rel> & { to: string; onDelete: OnDelete }) => fieldSpec('ForeignKey', o),
  OneToOneField: (o: Opts<Common | Rel> & { to: string; onDelete: OnDelete }) => fieldSpec('OneToOneField', o),
  ManyToManyField: (o: Opts<'to' | 'relatedName' | 'relatedQueryName' | 'dbTable' | 'throughColumns' | 'through'> & { to: string }) =>
    fieldSpec('ManyToManyField', o),
} as const;

/** The column of a field in a migration: `dbColumn`, else the field's name; undefined for many-to-many. */
export function columnOf(name: string, spec: FieldSpec): string | undefined {
  if (spec.type === 'ManyToManyField') return undefined;
  return spec.options.dbColumn ?? name;
}

/** Is the spec a relation (has a `to`)? */
export function isRelation(spec: FieldSpec): boolean {
  return spec.options.to !== undefined;
}

/** Is the spec an auto-increment primary key? */
export function isAutoField(spec: FieldSpec): boolean {
  return spec.type === 'AutoField' || spec.type === 'BigAutoField';
}

/** Deep equality of two state values (Dates by time, objects by keys). */
export function valuesEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a instanceof Date || b instanceof Date) return a instanceof Date && b instanceof Date && a.getTime() === b.getTime();
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => valuesEqual(x, b[i]));
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
    const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => valuesEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  }
  return false;
}

/** Are two field specs the same? */
export function specsEqual(a: FieldSpec, b: FieldSpec): boolean {
  return a.type === b.type && valuesEqual(a.options, b.options);
}

/** A copy of `spec` with some options replaced (undefined removes one). */
export function withOptions(spec: FieldSpec, changes: FieldSpecOptions): FieldSpec {
  const options: Record<string, unknown> = { ...spec.options };
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) delete options[k];
    else options[k] = v;
  }
  return fieldSpec(spec.type, options as FieldSpecOptions);
}
