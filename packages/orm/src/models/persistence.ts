/**
 * Saving, deleting, refreshing and validating instances (Django's `Model.save_base`,
 * `_save_table`, `_do_insert`, `_do_update`, `delete`, `refresh_from_db`, `full_clean`).
 * `bulkCreate` is in bulk-insert.ts. Internal to the package (not exported from its index).
 */
import { atomic, connections, DatabaseError } from '@spool/connections';
import { FieldError, ValidationError, type ValidationMessage } from '../errors';
import type { Field } from '../fields/field';
import { ForeignObject } from '../fields/foreign-key';
import { operationsFor } from '../backends/operations-for';
import type { AnyInstance } from '../types';
import { compileInsert, compileUpdate } from '../query/compiler';
import { writePrep } from '../query/lookups';
import { NULL_NODE, ParamNode, collectExpr, type ExprNode, type Param } from '../query/nodes';
import { Expression } from '../query/expressions';
import { Q } from '../query/q';
import { Query } from '../query/query';
import { Collector } from '../query/collector';
import { QuerySet, updateSets } from '../query/query-set';
import type { ModelMeta } from './model-meta';
import { stateOf, type ModelState } from './model-state';
import { bindValues, dbValue, generatedKey, INSERT_RETURNING, INSERT_SAFE_INTEGERS, prepareRelated, valuesForWrite } from './row-values';
import type { SaveOptions } from './model';

function metaOf(obj: AnyInstance): ModelMeta {
  return (obj.constructor as unknown as { $meta: ModelMeta }).$meta;
}
/** `obj.$save()`. */
export async function saveInstance(obj: AnyInstance, options: SaveOptions): Promise<void> {
  const meta = metaOf(obj);
  const state = stateOf(obj);
  const rec = obj as unknown as Record<string, unknown>;
  if (options.forceInsert && (options.forceUpdate || options.updateFields))
    throw new TypeError('Cannot force both insert and updating in model saving.');
  prepareRelated(meta, obj, 'save');
  let updateFields: Field[] | undefined;
  if (options.updateFields !== undefined) {
    if (options.updateFields.length === 0) return;
    updateFields = options.updateFields.map((n) => {
      const f = meta.fieldByAttname(n);
      if (!f)
        throw meta.unknownField(
          n,
          'updateFields',
          meta.fields.map((x) => x.name),
        );
      if (f.primaryKey)
        throw new FieldError(`${meta.name}: the primary key '${n}' cannot be in updateFields.`, { model: meta.name, field: n });
      return f;
    });
  }
  const alias = options.using ?? connections.router.dbForWrite(meta.modelClass, { instance: obj, instanceAlias: state.db });
  const ops = operationsFor(connections.backend(alias).vendor);
  const pk = meta.pk;
  let pkValue = rec[pk.attname];
  const forceInsert = options.forceInsert === true || (state.adding && pk.hasDefaultValue);
  let updated = false;
  const pending = state.pendingRefresh;
  let expressions: Field[] = [];
  if (pkValue !== null && pkValue !== undefined && !forceInsert) {
    // A field saved as an expression before and not refreshed since keeps its value in the database.
    const fields = (updateFields ?? meta.fields.filter((f) => !f.primaryKey)).filter((f) => pending?.has(f.attname) !== true);
    // Expressions (`F('pages').add(1)`) are computed by the UPDATE itself (Django's save with F()).
    expressions = fields.filter((f) => Expression.is(rec[f.attname]));
    const plain = expressions.length === 0 ? fields : fields.filter((f) => !expressions.includes(f));
    const values = valuesForWrite(meta, rec, plain, false);
    const sets: Array<[Field, ExprNode]> = [];
    plain.forEach((f, i) => {
      const v = values[i];
      sets.push([f, v === null || v === undefined ? NULL_NODE : ParamNode.create(v, writePrep(f))]);
    });
    if (sets.length > 0 || expressions.length > 0) {
      const q = new Query(meta);
      if (expressions.length > 0) sets.push(...updateSets(q, Object.fromEntries(expressions.map((f) => [f.attname, rec[f.attname]]))));
      q.addFilter(Q({ pk: pkValue }), false);
      q.ordering = [];
      const compiled = compileUpdate(q, sets, ops, alias);
      const params: Param[] = [];
      for (const [, n] of sets) collectExpr(n, params);
      q.collectParams(params);
      const bindings = new Array(compiled.slots.length);
      for (let i = 0; i < compiled.slots.length; i++) {
        const s = compiled.slots[i] as number;
        bindings[i] = s >= 0 ? (params[s] as Param).bind(ops) : compiled.consts[i];
      }
      const res = await connections.query(alias, compiled.sql, bindings);
      updated = res.rowCount > 0;
    } else {
      updated = await new QuerySet(meta)
        .using(alias)
        .filter(Q({ pk: pkValue }) as never)
        .exists();
    }
    if (!updated && options.forceUpdate) throw new DatabaseError(`${meta.name}: forced update did not affect any rows.`, { alias });
    if (!updated && updateFields) throw new DatabaseError(`${meta.name}: save with updateFields did not affect any rows.`, { alias });
  } else if (options.forceUpdate) {
    throw new TypeError(`${meta.name}: cannot force an update in save() with no primary key.`);
  }
  if (!updated) {
    const fields = meta.fields.filter((f) => !(f.autoGenerated && (rec[f.attname] === null || rec[f.attname] === undefined)));
    for (const f of fields) {
      if (pending?.has(f.attname) || Expression.is(rec[f.attname]))
        throw new TypeError(
          `Failed to insert an expression in ${meta.name}.${f.name}: expressions (F(), functions) can only be used to update, not to insert.`,
        );
    }
    const values = valuesForWrite(meta, rec, fields, true).map((v, i) => dbValue(fields[i] as Field, v, ops));
    // The new key: from RETURNING, or from the driver's insert id (where that is cheaper or the only way).
    const returning =
      pk.autoGenerated &&
      (pkValue === null || pkValue === undefined) &&
      ops.features.canReturnRowsFromInsert &&
      !ops.features.keysFromLastInsertRowid;
    const compiled = compileInsert(meta, fields, 1, returning, ops, alias);
    const generated = pk.autoGenerated && (pkValue === null || pkValue === undefined);
    const res = await connections.query(
      alias,
      compiled.sql,
      bindValues(compiled, values),
      returning ? INSERT_RETURNING : generated ? INSERT_SAFE_INTEGERS : undefined,
    );
    if (generated) {
      const raw = returning ? (res.rows[0] as unknown as unknown[] | undefined)?.[0] : res.insertId;
      pkValue = raw === undefined || raw === null ? raw : generatedKey(meta, pk, raw, ops);
      rec[pk.attname] = pkValue;
    }
  }
  state.adding = false;
  state.db = alias;
  for (const f of expressions) markForRefresh(obj, meta, state, f);
}

/**
 * After a save with an expression, the field's value is in the database only (Django leaves the
 * expression on the instance): reading it throws a `FieldError` saying to refresh, until
 * `$refreshFromDb()` reads it or an assignment replaces it; a later `$save()` leaves it alone.
 */
function markForRefresh(obj: AnyInstance, meta: ModelMeta, state: ModelState, f: Field): void {
  (state.pendingRefresh ??= new Set()).add(f.attname);
  Object.defineProperty(obj, f.attname, {
    configurable: true,
    enumerable: true,
    get() {
      throw new FieldError(
        `${meta.name}.${f.attname} was saved as an expression: its new value is in the database only. Call $refreshFromDb() to read it (or assign a value).`,
        { model: meta.name, field: f.name },
      );
    },
    set(value: unknown) {
      Object.defineProperty(obj, f.attname, { configurable: true, enumerable: true, writable: true, value });
      state.pendingRefresh?.delete(f.attname);
    },
  });
}

/** `obj.$delete()`. */
export async function deleteInstance(obj: AnyInstance, options: { using?: string }): Promise<[number, Record<string, number>]> {
  const meta = metaOf(obj);
  const state = stateOf(obj);
  const rec = obj as unknown as Record<string, unknown>;
  const pk = rec[meta.pk.attname];
  if (pk === null || pk === undefined) {
    throw new TypeError(`${meta.name} object can't be deleted because its ${meta.pk.attname} attribute is not set.`);
  }
  const alias = options.using ?? connections.router.dbForWrite(meta.modelClass, { instance: obj, instanceAlias: state.db });
  const collector = new Collector(alias, QuerySet);
  const result = await atomic(
    async () => {
      await collector.collect(meta, [pk]);
      return collector.delete();
    },
    { using: alias, savepoint: false },
  );
  rec[meta.pk.attname] = null;
  state.adding = true;
  return result;
}

/** `obj.$refreshFromDb()`. */
export async function refreshFromDb(obj: AnyInstance, options: { fields?: readonly string[]; using?: string }): Promise<void> {
  const meta = metaOf(obj);
  const state = stateOf(obj);
  const rec = obj as unknown as Record<string, unknown>;
  const pk = rec[meta.pk.attname];
  if (pk === null || pk === undefined) throw new TypeError(`${meta.name}: cannot refresh an instance without a primary key.`);
  const fields = options.fields ? options.fields.map((n) => meta.concreteField(n, 'refreshFromDb')) : meta.fields;
  const alias = options.using ?? state.db ?? connections.router.dbForRead(meta.modelClass, { instance: obj });
  const fresh = (await new QuerySet(meta)
    .using(alias)
    .orderBy()
    .get(Q({ pk }) as never)) as unknown as Record<string, unknown>;
  for (const f of fields) {
    const before = state.pendingRefresh?.has(f.attname) ? undefined : rec[f.attname];
    rec[f.attname] = fresh[f.attname];
    if (f instanceof ForeignObject && before !== fresh[f.attname]) state.deleteCached(f.name);
  }
  if (!options.fields) state.clearPrefetched();
  state.db = alias;
}

/** `obj.$fullClean()`. */
export async function fullClean(obj: AnyInstance, options: { exclude?: readonly string[]; validateUnique?: boolean }): Promise<void> {
  const meta = metaOf(obj);
  const exclude = options.exclude ?? [];
  const errors: Record<string, ValidationMessage[]> = {};
  const model = obj as unknown as { $cleanFields(e: readonly string[]): void; $clean(): void | Promise<void> };
  const merge = (err: unknown) => {
    if (!ValidationError.is(err)) throw err;
    for (const [k, v] of Object.entries(err.errors)) (errors[k] ??= []).push(...v);
  };
  try {
    model.$cleanFields(exclude);
  } catch (err) {
    merge(err);
  }
  try {
    await model.$clean();
  } catch (err) {
    merge(err);
  }
  if (options.validateUnique !== false) {
    const rec = obj as unknown as Record<string, unknown>;
    const checks: Field[][] = [];
    for (const f of meta.fields) if (f.unique && !exclude.includes(f.name) && !errors[f.name]) checks.push([f]);
    for (const group of meta.options.uniqueTogether ?? []) checks.push(group.map((n) => meta.concreteField(n)));
    for (const c of meta.options.constraints ?? []) checks.push(c.fields.map((n) => meta.concreteField(n)));
    const pk = rec[meta.pk.attname];
    for (const group of checks) {
      if (group.some((f) => exclude.includes(f.name) || errors[f.name])) continue;
      const lookup: Record<string, unknown> = {};
      let skip = false;
      for (const f of group) {
        const v = rec[f.attname];
        if (v === null || v === undefined) skip = true;
        lookup[f.attname] = v;
      }
      if (skip) continue;
      if (group.length === 1 && group[0]?.primaryKey && stateOf(obj).adding === false) continue;
      let qs = new QuerySet(meta).filter(Q(lookup) as never);
      if (pk !== null && pk !== undefined && !stateOf(obj).adding) qs = qs.exclude(Q({ pk }) as never);
      if (stateOf(obj).db) qs = qs.using(stateOf(obj).db as string);
      if (await qs.exists()) {
        const key = group.length === 1 ? (group[0] as Field).name : '__all__';
        const label = group.map((f) => f.verboseName ?? f.name).join(' and ');
        (errors[key] ??= []).push({
          message: `${meta.name} with this ${label} already exists.`,
          code: group.length === 1 ? 'unique' : 'unique_together',
        });
      }
    }
  }
  if (Object.keys(errors).length > 0) throw new ValidationError(errors, { model: meta.name });
}
