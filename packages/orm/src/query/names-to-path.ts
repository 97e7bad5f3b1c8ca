/**
 * Resolving a lookup path (`author__publisher__name__startswith`, split on `__`) against a model,
 * without touching any query (Django's `Query.names_to_path`): the relations it crosses, each with
 * the joins it needs, and where it stops: the column compared and the names left over (transforms
 * and the lookup). The query creates the joins (`Query.resolvePath`, `addSelectRelated`); filters, values, ordering,
 * expressions, `exclude()`'s multi-valued test, the nested filter form and `selectRelated` all
 * read paths through this one walker.
 *
 * Where a path stops (Django's `trim_joins`, decided up front): a foreign key followed by nothing,
 * by `pk` (or the target's primary key name) or by a lookup the target has no field for is
 * compared on its own column, without a join; a many-to-many followed likewise is compared on the
 * through table's column; a reverse relation is compared on the related model's primary key.
 * With `{ trim: false }` (selectRelated) every relation is joined.
 *
 * Internal to the package (not exported from its index).
 */
import type { Field } from '../fields/field';
import { ForeignObject } from '../fields/foreign-key';
import { ManyToManyField } from '../fields/many-to-many-field';
import type { ModelMeta, RelatedObject } from '../models/model-meta';
import { isLookupName } from './lookups';
import type { JoinSpec } from './nodes';

/** One relation crossed by a path (Django's `PathInfo`). */
export interface PathStep {
  /** The path element (`author`). */
  readonly name: string;
  /** The model the step starts from. */
  readonly from: ModelMeta;
  /** The model it reaches. */
  readonly to: ModelMeta;
  /** The joins it needs, in order: one, or two for a many-to-many (the through table, then the far model). */
  readonly joins: readonly JoinSpec[];
  /** The forward foreign key crossed, when the step is one (selectRelated follows only those). */
  readonly forward: ForeignObject<never> | undefined;
}

/** A resolved path. */
export interface ResolvedPath {
  readonly steps: readonly PathStep[];
  /** The field compared (a relation's own column when the path stops at it); undefined when `failed`. */
  readonly field: Field | undefined;
  readonly column: string;
  /** The path ended on a relation: values are instances of this model (or their primary keys). */
  readonly relTarget: ModelMeta | undefined;
  /** Names left: transforms and the lookup. */
  readonly rest: readonly string[];
  /** Does the path cross a multi-valued relation (reverse foreign key, many-to-many)? */
  readonly multi: boolean;
  /** May the final column be NULL (a nullable field, or a relation that can lose rows)? */
  readonly nullable: boolean;
  /** The first name that resolves to nothing, and the model it was looked up on. */
  readonly failed: { readonly name: string; readonly meta: ModelMeta } | undefined;
}

/** Resolve `names` from `meta`. Never throws for unknown names: see `failed`. */
export function namesToPath(meta: ModelMeta, names: readonly string[], options: { trim?: boolean } = {}): ResolvedPath {
  const trim = options.trim ?? true;
  const steps: PathStep[] = [];
  let multi = false;
  let nullable = false;
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string;
    const el = meta.pathElement(name);
    if (!el)
      return { steps, field: undefined, column: '', relTarget: undefined, rest: names.slice(i), multi, nullable, failed: { name, meta } };
    const next = names[i + 1];
    if (el.kind === 'field') {
      const f = el.field;
      // A plain column, or a foreign key named by its attribute (`authorId`): its own column.
      if (!(f instanceof ForeignObject) || (name === f.attname && name !== f.name))
        return ended(steps, f, f.column, names.slice(i + 1), undefined, multi, nullable || f.null);
      const fk = f as ForeignObject<never>;
      const target = fk.relatedMeta;
      const nextIsPk = isPkName(target, next);
      if (trim && stopsAt(target, next, nextIsPk)) {
        return ended(steps, fk, fk.column, names.slice(i + (nextIsPk ? 2 : 1)), nextIsPk ? undefined : target, multi, nullable || fk.null);
      }
      steps.push({ name, from: meta, to: target, joins: [forwardJoin(fk)], forward: fk });
      nullable = nullable || fk.null;
      meta = target;
      continue;
    }
    if (el.kind === 'm2m' || (el.kind === 'reverse' && el.rel.field instanceof ManyToManyField)) {
      // Many-to-many in either direction: the through table, then (unless the path stops at the key) the far model.
      const forward = el.kind === 'm2m';
      const m2m = (forward ? el.field : (el as { rel: RelatedObject }).rel.field) as ManyToManyField<unknown>;
      const owner = forward ? meta : (el as { rel: RelatedObject }).rel.model;
      const through = owner.throughFor(m2m);
      const tf = owner.throughFields(m2m);
      const near = forward ? tf.source : tf.target;
      const far = forward ? tf.target : tf.source;
      const farMeta = forward ? m2m.relatedMeta : owner;
      const throughJoin: JoinSpec = {
        table: through.dbTable,
        parentColumn: meta.pk.column,
        column: near.column,
        multi: true,
        nullableHop: true,
        rel: `m2m:${owner.name}.${m2m.name}:${forward ? 'f' : 'r'}`,
      };
      multi = true;
      nullable = true;
      const nextIsPk = isPkName(farMeta, next);
      if (trim && stopsAt(farMeta, next, nextIsPk)) {
        steps.push({ name, from: meta, to: through, joins: [throughJoin], forward: undefined });
        return ended(steps, far, far.column, names.slice(i + (nextIsPk ? 2 : 1)), nextIsPk ? undefined : farMeta, multi, true);
      }
      const farJoin: JoinSpec = {
        table: farMeta.dbTable,
        parentColumn: far.column,
        column: farMeta.pk.column,
        multi: false,
        nullableHop: true,
        rel: `fk:${through.name}.${far.name}`,
      };
      steps.push({ name, from: meta, to: farMeta, joins: [throughJoin, farJoin], forward: undefined });
      meta = farMeta;
      continue;
    }
    // Reverse foreign key / one-to-one: compared on the related model's primary key when the path stops here.
    const rel = el.rel;
    const fk = rel.field as ForeignObject<never>;
    steps.push({
      name,
      from: meta,
      to: rel.model,
      joins: [
        {
          table: rel.model.dbTable,
          parentColumn: fk.targetField.column,
          column: fk.column,
          multi: rel.multiple,
          nullableHop: true,
          rel: `rev:${rel.model.name}.${fk.name}`,
        },
      ],
      forward: undefined,
    });
    multi = multi || rel.multiple;
    nullable = true;
    meta = rel.model;
    if (trim && (next === undefined || (isLookupName(next) && !meta.pathElement(next)))) {
      return ended(steps, meta.pk, meta.pk.column, names.slice(i + 1), meta, multi, true);
    }
  }
  // Every name was a relation and none was the last one to stop at (selectRelated, or no names).
  return { steps, field: undefined, column: '', relTarget: meta, rest: [], multi, nullable, failed: undefined };
}

/** A path that stops at `field`'s column. */
function ended(
  steps: PathStep[],
  field: Field,
  column: string,
  rest: readonly string[],
  relTarget: ModelMeta | undefined,
  multi: boolean,
  nullable: boolean,
): ResolvedPath {
  return { steps, field, column, relTarget, rest, multi, nullable, failed: undefined };
}

/** The join of a forward foreign key. */
function forwardJoin(fk: ForeignObject<never>): JoinSpec {
  return {
    table: fk.relatedMeta.dbTable,
    parentColumn: fk.column,
    column: fk.targetField.column,
    multi: false,
    nullableHop: fk.null,
    rel: `fk:${fk.model.name}.${fk.name}`,
  };
}

/** Does `name` name `target`'s primary key (`pk`, or its field name when that is a plain column)? */
function isPkName(target: ModelMeta, name: string | undefined): boolean {
  return name !== undefined && (name === 'pk' || (name === target.pk.name && !target.pk.isRelation));
}

/** Does a path stop at a relation to `target` followed by `next`: nothing, the target's key, or a lookup the target has no field for? */
function stopsAt(target: ModelMeta, next: string | undefined, nextIsPk: boolean): boolean {
  return next === undefined || nextIsPk || (isLookupName(next) && !target.pathElement(next));
}
