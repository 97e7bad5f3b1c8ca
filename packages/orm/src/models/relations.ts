/**
 * Relation plumbing for instances: descriptors of related managers, and `$fetch()`.
 * Internal to the package (not exported from its index).
 */
import { connections } from '@spool/connections';
import { ForeignObject } from '../fields/foreign-key';
import { ManyToManyField } from '../fields/many-to-many-field';
import { ReverseRelation } from '../fields/reverse-relation';
import type { AnyInstance } from '../types';
import { RelatedManager, type RelationDescriptor } from '../query/related-managers';
import { QuerySet } from '../query/query-set';
import { Q } from '../query/q';
import type { ModelMeta, RelatedObject } from './model-meta';
import { stateOf } from './model-state';

/** The descriptor of a many-to-many, seen from `meta` (forward) or from the target (reverse). */
export function m2mDescriptor(meta: ModelMeta, field: ManyToManyField<unknown>, forward: boolean): RelationDescriptor {
  const owner = field.model;
  const through = owner.throughFor(field);
  const tf = owner.throughFields(field);
  if (forward) {
    const target = field.relatedMeta;
    const back = target.related().list.find((r) => r.field === field);
    return {
      kind: 'm2m',
      accessor: field.name,
      model: target,
      parent: meta,
      field,
      queryName: back?.queryName ?? field.name,
      through,
      sourceFk: tf.source,
      targetFk: tf.target,
    };
  }
  return {
    kind: 'm2m',
    accessor: '',
    model: owner,
    parent: meta,
    field,
    queryName: field.name,
    through,
    sourceFk: tf.target,
    targetFk: tf.source,
  };
}

export function reverseDescriptor(rel: RelatedObject): RelationDescriptor {
  if (rel.field instanceof ManyToManyField) {
    const d = m2mDescriptor(rel.parent, rel.field, false);
    return { ...d, accessor: rel.accessorName } as RelationDescriptor;
  }
  return { kind: 'reverse-fk', accessor: rel.accessorName, model: rel.model, fk: rel.field as ForeignObject<never>, parent: rel.parent };
}

export function relatedManager(instance: AnyInstance, d: RelationDescriptor): RelatedManager<AnyInstance> {
  return new RelatedManager(instance, d);
}

/** `$fetch(name)`: load a relation with one query and cache it on the instance. */
export async function fetchRelated(obj: AnyInstance, name: string): Promise<unknown> {
  const meta = (obj.constructor as unknown as { $meta: ModelMeta }).$meta;
  const state = stateOf(obj as unknown as object);
  const rec = obj as unknown as Record<string, unknown>;
  const db = state.db;
  const declared = meta.field(name);
  const f = declared instanceof ReverseRelation ? undefined : declared;
  if (f instanceof ForeignObject) {
    const fk = f as ForeignObject<never>;
    const id = rec[fk.attname];
    let value: unknown = null;
    if (id !== null && id !== undefined) {
      const alias = connections.router.dbForRead(fk.relatedMeta.modelClass, { instance: obj, instanceAlias: db });
      value = await new QuerySet(fk.relatedMeta).using(alias).get(Q({ pk: id }) as never);
    }
    state.setCached(name, value);
    return value;
  }
  const rel = meta.related().byAccessor.get(name);
  if (rel && rel.kind === 'reverse-o2o') {
    const alias = connections.router.dbForRead(rel.model.modelClass, { instance: obj, instanceAlias: db });
    const fk = rel.field as ForeignObject<never>;
    const value = await new QuerySet(rel.model).using(alias).get(Q({ [fk.attname]: rec[fk.targetField.attname] }) as never);
    state.setCached(name, value);
    return value;
  }
  if (f instanceof ManyToManyField || rel) {
    const manager = rec[name] as RelatedManager<AnyInstance>;
    state.deletePrefetched(name);
    const list = await manager.all().fetchAll();
    state.setPrefetched(name, list);
    return list;
  }
  throw meta.unknownField(name, '$fetch()', [
    ...meta.fields.filter((x) => x instanceof ForeignObject).map((x) => x.name),
    ...meta.manyToMany.map((x) => x.name),
    ...meta
      .related()
      .list.filter((r) => !r.hidden)
      .map((r) => r.accessorName),
  ]);
}
