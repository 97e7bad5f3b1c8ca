/**
 * Deleting with `onDelete` (Django's `Collector`): starting from the rows to delete, follow every
 * foreign key pointing at them and apply its rule, then run the statements in dependency order,
 * inside the caller's transaction.
 *
 * - `cascade`: the referencing rows are deleted too (and what references them, recursively); when
 *   a referencing model has no dependents of its own the rows are deleted by one statement
 *   without being fetched ("fast delete").
 * - `protect`: `ProtectedError` naming the referencing objects; nothing is deleted.
 * - `restrict`: `RestrictedError`, unless every referencing row is itself deleted by a cascade of
 *   the same operation.
 * - `setNull` / `setDefault`: one UPDATE of the referencing rows.
 * - `doNothing`: left to the database.
 *
 * Many-to-many rows go with their owner (the through table's keys cascade).
 *
 * The collector sits below `QuerySet` (whose `delete()` uses it): it is handed the class to query
 * with rather than importing it. Internal to the package (not exported from its index).
 */
import { connections } from '@spool/connections';
import { operationsFor } from '../backends/operations-for';
import { ProtectedError, RestrictedError } from '../errors';
import { ForeignObject } from '../fields/foreign-key';
import type { ModelMeta, RelatedObject } from '../models/model-meta';
import { compileDelete, bind } from './compiler';
import type { Param } from './nodes';
import { Q } from './q';
import { Query } from './query';
import type { QuerySet } from './query-set';
import type { AnyInstance } from '../types';

/**
 * Keys per statement. An `__in` list is one bound parameter whatever its length (`ops.inListSql`),
 * so this bounds the size of one statement (MariaDB's `max_allowed_packet`: 10,000 UUIDs are
 * under 400 kB of SQL), not a parameter count.
 */
const BATCH = 10_000;

interface FastDelete {
  meta: ModelMeta;
  field: string;
  values: unknown[];
}

export class Collector {
  /** Primary keys to delete, per model, in the order models were reached (parents first). */
  private readonly data = new Map<ModelMeta, Set<unknown>>();
  /**
   * The same keys in batches, in the order they were reached: a self-referencing cascade (a
   * tree) adds a deeper batch per level, deleted deepest first, because MariaDB checks foreign
   * keys row by row within a statement.
   */
  private readonly batches = new Map<ModelMeta, unknown[][]>();
  private readonly fast: FastDelete[] = [];
  private readonly updates: Array<{ meta: ModelMeta; field: ForeignObject<never>; value: unknown; values: unknown[] }> = [];
  private readonly restricted: Array<{ rel: RelatedObject; pks: unknown[] }> = [];

  constructor(
    readonly alias: string,
    /** The query set class (injected: see the module comment). */
    private readonly querySets: typeof QuerySet,
  ) {}

  /** The rows of `meta` on the collector's alias. */
  private objects(meta: ModelMeta): QuerySet<AnyInstance> {
    return new this.querySets(meta).using(this.alias);
  }

  /** Reverse relations whose rows must be looked at when `meta`'s rows are deleted. */
  private dependents(meta: ModelMeta): RelatedObject[] {
    return meta
      .related()
      .list.filter((r) => r.field instanceof ForeignObject && (r.field as ForeignObject<never>).onDelete !== 'doNothing');
  }

  /**
   * Can rows of `meta` be deleted by one statement, without being fetched? Not when something
   * depends on them, nor when they hold a `restrict` key (the restrict check needs their keys).
   */
  canFastDelete(meta: ModelMeta, cascaded = false): boolean {
    if (this.dependents(meta).length > 0) return false;
    return !cascaded || !meta.fields.some((f) => f instanceof ForeignObject && (f as ForeignObject<never>).onDelete === 'restrict');
  }

  /** Add rows of `meta` (by primary key) and everything their deletion touches. */
  async collect(meta: ModelMeta, pks: readonly unknown[]): Promise<void> {
    const known = this.data.get(meta) ?? new Set<unknown>();
    const fresh = pks.filter((pk) => !known.has(pk));
    if (!this.data.has(meta)) this.data.set(meta, known);
    for (const pk of fresh) known.add(pk);
    if (fresh.length === 0) return;
    let list = this.batches.get(meta);
    if (!list) this.batches.set(meta, (list = []));
    list.push(fresh);
    for (const rel of this.dependents(meta)) {
      const fk = rel.field as ForeignObject<never>;
      const target = fk.targetField;
      // The referenced values: usually the primary keys themselves.
      const values = target === meta.pk ? fresh : await this.valuesOf(meta, target.attname, fresh);
      for (let i = 0; i < values.length; i += BATCH) {
        const chunk = values.slice(i, i + BATCH);
        const related = this.objects(rel.model).filter({ [`${fk.attname}__in`]: chunk } as never);
        switch (fk.onDelete) {
          case 'cascade':
            if (this.canFastDelete(rel.model, true)) this.fast.push({ meta: rel.model, field: fk.attname, values: chunk });
            else
              await this.collect(
                rel.model,
                (await related
                  .orderBy()
                  .valuesList('pk' as never, { flat: true })
                  .fetchAll()) as unknown[],
              );
            break;
          case 'protect': {
            const objs = await related.orderBy().slice(0, 20).fetchAll();
            if (objs.length > 0) {
              throw new ProtectedError(
                `Cannot delete some instances of model '${meta.name}' because they are referenced through protected foreign keys: '${rel.model.name}.${fk.name}' (${objs.map((o) => String(o)).join(', ')}).`,
                { protectedObjects: objs, alias: this.alias },
              );
            }
            break;
          }
          case 'restrict': {
            const ids = (await related
              .orderBy()
              .valuesList('pk' as never, { flat: true })
              .fetchAll()) as unknown[];
            if (ids.length > 0) this.restricted.push({ rel, pks: ids });
            break;
          }
          case 'setNull':
            this.updates.push({ meta: rel.model, field: fk, value: null, values: chunk });
            break;
          case 'setDefault':
            this.updates.push({ meta: rel.model, field: fk, value: fk.getDefault(), values: chunk });
            break;
          default:
            break;
        }
      }
    }
  }

  private async valuesOf(meta: ModelMeta, attname: string, pks: unknown[]): Promise<unknown[]> {
    const out: unknown[] = [];
    for (let i = 0; i < pks.length; i += BATCH) {
      out.push(
        ...((await this.objects(meta)
          .filter(Q({ pk__in: pks.slice(i, i + BATCH) }) as never)
          .orderBy()
          .valuesList(attname as never, { flat: true })
          .fetchAll()) as unknown[]),
      );
    }
    return out;
  }

  /** Run the collected statements; returns `[total, perModel]`. Call inside atomic(). */
  async delete(): Promise<[number, Record<string, number>]> {
    for (const { rel, pks } of this.restricted) {
      const deleted = this.data.get(rel.model);
      const outside = pks.filter((pk) => !deleted?.has(pk));
      if (outside.length > 0) {
        const objs = await this.objects(rel.model)
          .filter(Q({ pk__in: outside.slice(0, 20) }) as never)
          .fetchAll();
        throw new RestrictedError(
          `Cannot delete some instances of model '${rel.parent.name}' because they are referenced through restricted foreign keys: '${rel.model.name}.${rel.field.name}' (${objs.map((o) => String(o)).join(', ')}).`,
          { restrictedObjects: objs, alias: this.alias },
        );
      }
    }
    const counts: Record<string, number> = {};
    const add = (meta: ModelMeta, n: number) => {
      if (n > 0) counts[meta.name] = (counts[meta.name] ?? 0) + n;
    };
    for (const u of this.updates) {
      await this.objects(u.meta)
        .filter({ [`${u.field.attname}__in`]: u.values } as never)
        .update({ [u.field.attname]: u.value } as never);
    }
    for (const f of this.fast) {
      const n = await rawDelete(f.meta, this.alias, { [`${f.field}__in`]: f.values });
      add(f.meta, n);
    }
    // Children were reached after their parents: delete in reverse order.
    const models = [...this.batches.entries()].reverse();
    for (const [meta, levels] of models) {
      for (const list of [...levels].reverse()) {
        for (let i = 0; i < list.length; i += BATCH) {
          const n = await rawDelete(meta, this.alias, { pk__in: list.slice(i, i + BATCH) });
          add(meta, n);
        }
      }
    }
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    return [total, counts];
  }
}

/** DELETE FROM <table> WHERE <lookup> (no collection). */
async function rawDelete(meta: ModelMeta, alias: string, lookup: Record<string, unknown>): Promise<number> {
  const q = new Query(meta);
  q.addFilter(Q(lookup), false);
  q.ordering = [];
  if (q.empty) return 0;
  const ops = operationsFor(connections.backend(alias).vendor);
  const compiled = compileDelete(q, ops, alias);
  const params: Param[] = [];
  q.collectParams(params);
  const res = await connections.query(alias, compiled.sql, bind(compiled, params, ops));
  return res.rowCount;
}
