/**
 * A model's field as a `FieldSpec` (Django's `Field.deconstruct()`): the type and the options that
 * matter to the database, with every name explicit (the column as the model metadata reports
 * it, the many-to-many table and its columns as the through model reports them).
 */
import type { Field } from '../fields/field';
import { ForeignObject, RelatedField } from '../fields/foreign-key';
import { ManyToManyField } from '../fields/many-to-many-field';
import type { ModelMeta } from '../models/model-meta';
import { ModelDefinitionError } from '../errors';
import { FIELD_TYPES, fieldSpec, type FieldSpec, type FieldSpecOptions, type FieldType, type StateValue } from './field-spec';

/** Names the app of a model (`library`), or undefined when the model is in no app. */
export type AppLabelOf = (meta: ModelMeta) => string | undefined;

/** A field's default that cannot be written into a migration (a function): kept aside for the questioner. */
export const CALLABLE_DEFAULT = Symbol.for('spool.migrations.callableDefault');

/** `app.Model` of a related model, or a ModelDefinitionError naming the field. */
export function modelLabel(meta: ModelMeta, labelOf: AppLabelOf, from: Field): string {
  const app = labelOf(meta);
  if (!app) {
    throw new ModelDefinitionError(
      `${from.model.name}.${from.name} points to ${meta.name}, which belongs to no app: add it to an app's models in the Spool config.`,
      { model: from.model.name },
    );
  }
  return `${app}.${meta.name}`;
}

/** Is `value` something a migration file can hold literally? */
export function isStateValue(value: unknown): value is StateValue {
  if (value === null || ['string', 'number', 'boolean', 'bigint'].includes(typeof value)) return true;
  if (value instanceof Date) return !Number.isNaN(value.getTime());
  if (Array.isArray(value)) return value.every(isStateValue);
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype)
    return Object.values(value as object).every(isStateValue);
  return false;
}

/** The field as a spec. A default given as a function is not in the spec (see `callableDefault`). */
export function deconstructField(field: Field, labelOf: AppLabelOf): FieldSpec {
  const type = field.internalType as FieldType;
  if (!(FIELD_TYPES as readonly string[]).includes(type)) {
    throw new ModelDefinitionError(
      `${field.model.name}.${field.name}: migrations do not know the field type '${field.internalType}'. Known types: ${FIELD_TYPES.join(', ')}.`,
      { model: field.model.name },
    );
  }
  const o: FieldSpecOptions = {};
  if (field instanceof ManyToManyField) {
    const m2m = field as ManyToManyField<unknown>;
    o.to = modelLabel(m2m.relatedMeta, labelOf, field);
    const through = field.model.throughFor(m2m);
    if (through.autoCreated) {
      const tf = field.model.throughFields(m2m);
      o.dbTable = through.dbTable;
      o.throughColumns = [tf.source.column, tf.target.column];
    } else {
      o.through = modelLabel(through, labelOf, field);
    }
    if (m2m.relatedName !== undefined) o.relatedName = m2m.relatedName;
    if (m2m.relatedQueryName !== undefined && m2m.relatedQueryName !== m2m.relatedName) o.relatedQueryName = m2m.relatedQueryName;
    return fieldSpec(type, o);
  }
  const auto = type === 'AutoField' || type === 'BigAutoField';
  if (field.primaryKey && !auto) o.primaryKey = true;
  if (field.null) o.null = true;
  if (field.unique && !field.primaryKey && type !== 'OneToOneField') o.unique = true;
  if (field.dbIndex) o.dbIndex = true;
  if (field.column !== field.name) o.dbColumn = field.column;
  const raw = field as unknown as Record<string, unknown>;
  if (field.hasDefaultValue) {
    const d = raw.defaultValue;
    if (typeof d !== 'function') {
      if (!isStateValue(d)) {
        throw new ModelDefinitionError(
          `${field.model.name}.${field.name}: its default (${describe(d)}) cannot be written into a migration. Use a literal value (string, number, boolean, null, Date, plain arrays and objects) or a function.`,
          { model: field.model.name },
        );
      }
      o.default = d;
    }
  }
  for (const key of ['maxLength', 'maxDigits', 'decimalPlaces', 'dbCollation'] as const) {
    if (raw[key] !== undefined) (o as Record<string, unknown>)[key] = raw[key];
  }
  if (raw.autoNow === true) o.autoNow = true;
  if (raw.autoNowAdd === true) o.autoNowAdd = true;
  if (field instanceof ForeignObject) {
    const fk = field as ForeignObject<never>;
    o.to = modelLabel(fk.relatedMeta, labelOf, field);
    o.onDelete = fk.onDelete;
    if (fk.relatedName !== undefined) o.relatedName = fk.relatedName;
    if (fk.relatedQueryName !== undefined && fk.relatedQueryName !== fk.relatedName) o.relatedQueryName = fk.relatedQueryName;
    if (!fk.dbConstraint) o.dbConstraint = false;
  } else if (field instanceof RelatedField) {
    throw new ModelDefinitionError(`${field.model.name}.${field.name}: unsupported relation type for migrations.`);
  }
  return fieldSpec(type, o);
}

/** The field's default when it is a function (called at makemigrations time if a value is needed), else undefined. */
export function callableDefault(field: Field): (() => unknown) | undefined {
  const d = (field as unknown as Record<string, unknown>).defaultValue;
  return field.hasDefaultValue && typeof d === 'function' ? (d as () => unknown) : undefined;
}

function describe(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (typeof v === 'object' && v !== null) return `an instance of ${v.constructor?.name ?? 'Object'}`;
  return typeof v;
}
