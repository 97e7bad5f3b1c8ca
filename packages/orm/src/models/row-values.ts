/**
 * What an INSERT or UPDATE of instances binds: keys taken from cached related instances, values
 * adapted by the field for the backend, bindings in the compiled statement's order. Shared by
 * `$save()` (persistence.ts) and `bulkCreate()` (bulk-insert.ts). Internal to the package.
 */
import { DataError, type QueryOptions } from '@spool/connections';
import type { BaseOperations } from '../backends/base-operations';
import { FieldError, ValidationError, type ValidationMessage } from '../errors';
import type { Field } from '../fields/field';
import { ForeignObject } from '../fields/foreign-key';
import { bigintExactFromDb } from '../fields/integer-field';
import type { Compiled } from '../query/compiler';
import type { AnyInstance } from '../types';
import type { ModelMeta } from './model-meta';
import { stateOf } from './model-state';

/** Bind values (row-major, columns in order) into a compiled INSERT. */
export function bindValues(c: Compiled, values: readonly unknown[]): unknown[] {
  const out = new Array(c.slots.length);
  for (let i = 0; i < c.slots.length; i++) {
    const s = c.slots[i] as number;
    out[i] = s >= 0 ? values[s] : c.consts[i];
  }
  return out;
}

/**
 * The values of `fields` an INSERT or UPDATE of `rec` writes (after `preSave`), each checked and
 * normalised by its field (`cleanForWrite`: `toJs` and the column's length, range and places, as
 * `update()` does) and put back on the instance, so that the instance holds what the database will
 * return. Null stays null (a NOT NULL column refuses it
 * itself). Throws one ValidationError naming the model and every field whose value is wrong;
 * `label` (`object 3 of 10`, or a function writing it, called only when a value is wrong) is put
 * before each message.
 */
export function valuesForWrite(
  meta: ModelMeta,
  rec: Record<string, unknown>,
  fields: readonly Field[],
  add: boolean,
  label?: string | (() => string),
): unknown[] {
  const out = new Array(fields.length);
  let errors: Record<string, ValidationMessage[]> | undefined;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i] as Field;
    let v = f.preSave(rec, add);
    if (v !== null && v !== undefined) {
      try {
        const js = f.cleanForWrite(v);
        if (js !== v) rec[f.attname] = js;
        v = js;
      } catch (err) {
        if (!ValidationError.is(err)) throw err;
        // A foreign key's value is checked by the target's key field: name the foreign key.
        const messages = Object.values(err.errors).flat();
        const prefix = typeof label === 'function' ? label() : label;
        (errors ??= {})[f.name] = prefix === undefined ? messages : messages.map((m) => ({ ...m, message: `${prefix}: ${m.message}` }));
      }
    }
    out[i] = v;
  }
  if (errors !== undefined) throw new ValidationError(errors, { model: meta.name });
  return out;
}

/** The value of `f` bound on the backend of `ops` (NULL for null and undefined). */
export function dbValue(f: Field, v: unknown, ops: BaseOperations): unknown {
  return v === null || v === undefined ? null : f.toDbForWrite(v, ops);
}

/** Before saving: take keys from cached related instances, refuse unsaved ones (Django's `_prepare_related_fields_for_save`). */
export function prepareRelated(meta: ModelMeta, obj: AnyInstance, operation: string): void {
  const state = stateOf(obj as unknown as object);
  const rec = obj as unknown as Record<string, unknown>;
  if (!state.hasAnyCached()) return;
  for (const f of meta.fields) {
    if (!(f instanceof ForeignObject)) continue;
    const related = state.cached(f.name);
    if (related === undefined || related === null) continue;
    const target = (f as ForeignObject<never>).relatedMeta;
    const pk = (related as Record<string, unknown>)[target.pk.attname];
    if (pk === null || pk === undefined) {
      throw new FieldError(
        `${operation}() prohibited to prevent data loss due to unsaved related object '${f.name}' (${target.name}): save it first.`,
        { model: meta.name, field: f.name },
      );
    }
    if (rec[f.attname] === null || rec[f.attname] === undefined) rec[f.attname] = pk;
  }
}

/** RETURNING the new key as an array row; else the insert id, as a bigint where the driver would round it (SQLite). @internal */
export const INSERT_RETURNING: QueryOptions = Object.freeze({ rowMode: 'array', safeIntegers: true });
export const INSERT_SAFE_INTEGERS: QueryOptions = Object.freeze({ safeIntegers: true });

/**
 * A key the database generated (RETURNING's value or the driver's insert id), as the key field
 * holds it: a bigint for a BigAutoField, else a number, and a DataError rather than a rounded
 * number when an AutoField's key (64-bit on SQLite) is beyond 2^53.
 * @internal
 */
export function generatedKey(meta: ModelMeta, pk: Field, raw: unknown, ops: BaseOperations): unknown {
  const conv = pk.fromDb(ops);
  if (pk.bigint) return bigintExactFromDb?.(raw);
  if (typeof raw === 'bigint' || (typeof raw === 'string' && /^-?\d+$/.test(raw))) {
    const n = Number(raw);
    if (!Number.isSafeInteger(n))
      throw new DataError(
        `${meta.name}.${pk.name}: the database generated the key ${String(raw)}, beyond 2^53, which a number cannot hold exactly; use a BigAutoField (bigint keys).`,
      );
    return n;
  }
  return conv ? conv(raw) : raw;
}
