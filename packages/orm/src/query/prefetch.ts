/**
 * `prefetchRelated`: after the main query, one query per relation (`WHERE key IN (...)`), whose
 * rows are attached to the instances: forward keys fill `obj.author`, reverse keys and
 * many-to-many fill `obj.books.items` (and make `obj.books.all()` answer without a query).
 * Paths go deeper level by level: `prefetchRelated('books__tags')` is two extra queries.
 *
 * ### Examples
 * ```ts
 * const authors = await Author.objects.prefetchRelated('books', new Prefetch('books', Book.objects.filter({ pages__gt: 300 }), { toAttr: 'longBooks' }));
 * ```
 */
import { connections } from '@spool/connections';
import { FieldError } from '../errors';
import { ForeignObject } from '../fields/foreign-key';
import { ManyToManyField } from '../fields/many-to-many-field';
import { ReverseRelation } from '../fields/reverse-relation';
import type { ModelMeta, RelatedObject } from '../models/model-meta';
import { setCachedOnAll, stateOf } from '../models/model-state';
import type { AnyInstance, PrefetchPath } from '../types';
import { ColNode } from './nodes';
import type { QuerySet } from './query-set';

const PREFETCH_KEY = '__prefetchKey';

/** A prefetch with a custom query set, optionally stored under another attribute (`toAttr`). */
export class Prefetch<I extends AnyInstance = AnyInstance> {
  readonly lookup: string;
  readonly queryset: QuerySet<AnyInstance, unknown, unknown> | undefined;
  readonly toAttr: string | undefined;
  // Any query set: of the relation's model, with whatever rows and annotations it has.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  constructor(lookup: PrefetchPath<I> | string, queryset?: QuerySet<any, any, any>, options: { toAttr?: string } = {}) {
    if (typeof lookup !== 'string' || lookup === '') throw new TypeError('Prefetch() takes a relation path.');
    this.lookup = lookup;
    this.queryset = queryset;
    this.toAttr = options.toAttr;
    if (options.toAttr !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(options.toAttr))
      throw new TypeError(`Prefetch(): toAttr must be an identifier, got ${JSON.stringify(options.toAttr)}.`);
  }
}

function metaOf(o: unknown): ModelMeta {
  return (o as { constructor: { $meta: ModelMeta } }).constructor.$meta;
}

/**
 * Attach the relations of `lookups` to `instances`, then answer `finish()`. `QuerySet.fetchAll()`
 * calls it after the main query and hands it the query set class (this module sits below
 * `QuerySet`: it does not import it).
 *
 * Not an async function: one promise per relation level (its query's, whose callback attaches
 * the rows and walks on), where `async`/`await` made five more per level (this function's,
 * `prefetchOne`'s, `inBatches`'s, `fetchAll()`'s `.then` and a throwaway one per `await`), each
 * with the connection layer's AsyncLocalStorage hook. Never throws: a failure is a rejection, as
 * it was.
 */
export function prefetchRelatedObjects<T>(
  instances: readonly AnyInstance[],
  lookups: readonly (string | Prefetch)[],
  querySets: typeof QuerySet,
  finish: () => T,
): Promise<T> {
  try {
    if (instances.length === 0) return Promise.resolve(finish());
    return Promise.resolve(new PrefetchWalk(instances, lookups, querySets, finish).next());
  } catch (err) {
    return Promise.reject(err);
  }
}

/**
 * The walk over `lookups` and the levels of each path, as the loop it replaces (`for` over the
 * lookups, `for` over the levels, an `await` per level), resumed after each level's query.
 */
class PrefetchWalk<T> {
  private readonly done = new Map<string, AnyInstance[]>();
  /** The lookup being walked (its index), its Prefetch and its path's names. */
  private li = -1;
  private p: Prefetch | undefined;
  private names: string[] = [];
  /** The next level (index into `names`), the instances at it and the path up to it. */
  private i = 0;
  private level: AnyInstance[] = [];
  private path = '';

  constructor(
    private readonly instances: readonly AnyInstance[],
    private readonly lookups: readonly (string | Prefetch)[],
    private readonly querySets: typeof QuerySet,
    private readonly finish: () => T,
  ) {}

  /**
   * Walk on until a level needs a query: that query's promise, whose callback walks on; at the
   * end, `finish()`.
   */
  next(): T | Promise<T> {
    for (;;) {
      if (this.p === undefined || this.i >= this.names.length) {
        if (++this.li >= this.lookups.length) return this.finish();
        const l = this.lookups[this.li] as string | Prefetch;
        this.p = typeof l === 'string' ? new Prefetch(l) : l;
        this.names = this.p.lookup.split('__');
        // Read only (prefetchOne never changes the list it is given): no copy.
        this.level = this.instances as AnyInstance[];
        this.path = '';
        this.i = 0;
      }
      const p = this.p;
      const i = this.i;
      const name = this.names[i] as string;
      this.path = this.path ? `${this.path}__${name}` : name;
      const isLast = i === this.names.length - 1;
      const cached = this.done.get(this.path);
      if (cached && !(isLast && (p.queryset || p.toAttr))) {
        this.level = cached;
        this.i = i + 1;
        continue;
      }
      if (this.level.length === 0) {
        // The rest of this path has nothing to attach to: the next lookup.
        this.i = this.names.length;
        continue;
      }
      const path = this.path;
      return prefetchOne(this.level, name, isLast ? p : undefined, p.lookup, this.querySets, (level) => {
        if (!(isLast && p.toAttr)) this.done.set(path, level);
        this.level = level;
        this.i = i + 1;
        return this.next();
      });
    }
  }
}

/**
 * Prefetch one relation `name` for `objs` (all of one model), then hand the related instances to
 * `then` (from the query's own callback). May throw (an unknown relation): its caller turns that
 * into a rejection.
 */
function prefetchOne<T>(
  objs: AnyInstance[],
  name: string,
  custom: Prefetch | undefined,
  full: string,
  querySets: typeof QuerySet,
  then: (related: AnyInstance[]) => T | Promise<T>,
): T | Promise<T> {
  const meta = metaOf(objs[0]);
  const db = stateOf(objs[0] as AnyInstance).db;
  const declared = meta.field(name);
  const f = declared instanceof ReverseRelation ? undefined : declared;
  const rel = f ? undefined : (meta.related().byAccessor.get(name) ?? meta.related().byQuery.get(name));
  const base = (target: ModelMeta) => {
    const alias = connections.router.dbForRead(target.modelClass, { instance: objs[0], instanceAlias: db });
    return ((custom?.queryset as QuerySet<AnyInstance> | undefined) ?? new querySets<AnyInstance>(target)).using(
      custom?.queryset?.state.db ?? alias,
    );
  };
  if (f instanceof ForeignObject) {
    const fk = f as ForeignObject<never>;
    const target = fk.relatedMeta;
    const keys = unique(objs.map((o) => (o as unknown as Record<string, unknown>)[fk.attname]));
    return inBatches(
      keys,
      (chunk) => base(target).filter({ [`${fk.targetField.name === target.pk.name ? 'pk' : fk.targetField.name}__in`]: chunk } as never),
      (rows) => then(attachForward(objs, fk, custom, rows)),
    );
  }
  if (f instanceof ManyToManyField || (rel && rel.field instanceof ManyToManyField)) {
    return prefetchM2M(
      objs,
      meta,
      name,
      (f as ManyToManyField<unknown>) ?? (rel as RelatedObject).field,
      !!f,
      custom,
      base,
      querySets,
      then,
    );
  }
  if (rel) {
    const fk = rel.field as ForeignObject<never>;
    const keyAttr = fk.targetField.attname;
    // Each key read once (a keyed load per row and name): the parents' and the rows'.
    const parentKeys = valuesOf(objs, keyAttr);
    const keys = unique(parentKeys);
    return inBatches(
      keys,
      (chunk) => base(rel.model).filter({ [`${fk.attname}__in`]: chunk } as never),
      (rows) => then(attachReverse(objs, rel, fk, parentKeys, custom, rows)),
    );
  }
  throw unknownRelation(meta, name, full);
}

/** A forward key's rows (`rows`) set on `objs` (`obj.author`, or `toAttr`); returns the rows. */
function attachForward(objs: AnyInstance[], fk: ForeignObject<never>, custom: Prefetch | undefined, rows: AnyInstance[]): AnyInstance[] {
  const byKey = new Map<unknown, AnyInstance>();
  for (const r of rows) byKey.set(keyOf((r as unknown as Record<string, unknown>)[fk.targetField.attname]), r);
  for (const o of objs) {
    const v = (o as unknown as Record<string, unknown>)[fk.attname];
    const related = v === null || v === undefined ? null : (byKey.get(keyOf(v)) ?? null);
    if (custom?.toAttr) (o as unknown as Record<string, unknown>)[custom.toAttr] = related;
    else stateOf(o).setCached(fk.name, related);
  }
  return rows;
}

/**
 * A reverse key's rows (`rows`) grouped by parent and set on `objs` (`obj.books.items`, the
 * reverse one-to-one's `obj.profile`, or `toAttr`), each row's back-reference set; returns the rows.
 */
function attachReverse(
  objs: AnyInstance[],
  rel: RelatedObject,
  fk: ForeignObject<never>,
  parentKeys: unknown[],
  custom: Prefetch | undefined,
  rows: AnyInstance[],
): AnyInstance[] {
  const rowKeys = valuesOf(rows, fk.attname);
  const key = numericKeys(rowKeys) && numericKeys(parentKeys) ? sameKey : keyOf;
  const groups = new Map<unknown, AnyInstance[]>();
  for (let i = 0; i < rows.length; i++) {
    const k = key(rowKeys[i]);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = []));
    g.push(rows[i] as AnyInstance);
  }
  const fkName = fk.name;
  for (let j = 0; j < objs.length; j++) {
    const o = objs[j] as AnyInstance;
    const list = groups.get(key(parentKeys[j])) ?? [];
    // The back-reference (Django's): each row's `author` is its parent, without a query.
    setCachedOnAll(list as unknown as object[], fkName, o);
    if (custom?.toAttr) (o as unknown as Record<string, unknown>)[custom.toAttr] = rel.kind === 'reverse-o2o' ? (list[0] ?? null) : list;
    else if (rel.kind === 'reverse-o2o') stateOf(o).setCached(rel.accessorName, list[0] ?? null);
    else stateOf(o).setPrefetched(rel.accessorName, list);
  }
  return rows;
}

function unknownRelation(meta: ModelMeta, name: string, full: string): FieldError {
  return new FieldError(
    `Cannot find '${name}' on ${meta.name} object, '${full}' is an invalid parameter to prefetchRelated(). Relations of ${meta.name}: ${[
      ...meta.fields.filter((x) => x instanceof ForeignObject).map((x) => x.name),
      ...meta.manyToMany.map((x) => x.name),
      ...meta
        .related()
        .list.filter((r) => !r.hidden)
        .map((r) => r.accessorName),
    ].join(', ')}.`,
    { model: meta.name, field: name },
  );
}

function prefetchM2M<T>(
  objs: AnyInstance[],
  meta: ModelMeta,
  accessor: string,
  field: ManyToManyField<unknown>,
  forward: boolean,
  custom: Prefetch | undefined,
  base: (m: ModelMeta) => QuerySet<AnyInstance>,
  querySets: typeof QuerySet,
  then: (related: AnyInstance[]) => T | Promise<T>,
): T | Promise<T> {
  const owner = field.model;
  const tf = owner.throughFields(field);
  const target = forward ? field.relatedMeta : owner;
  // From the target's side, the lookup back to `meta` across the through table.
  const back = forward ? target.related().list.find((r) => r.field === field)?.queryName : field.name;
  if (!back) throw new FieldError(`${meta.name}.${accessor}: cannot find the reverse of the many-to-many field.`, { model: meta.name });
  const nearFk = forward ? tf.source : tf.target;
  const keys = unique(objs.map((o) => (o as unknown as Record<string, unknown>)[meta.pk.attname]));
  return inBatches(
    keys,
    (chunk) => {
      const qs = base(target).filter({ [`${back}__in`]: chunk } as never);
      // Select the through table's key to the source alongside each row (Django's _prefetch_related_val).
      const q = qs.query.clone();
      const j = q.joins.find((x) => x.table === field.model.throughFor(field).dbTable && x.multi);
      if (!j) throw new Error('internal: through join not found');
      q.annotations = [
        ...q.annotations,
        { name: PREFETCH_KEY, node: ColNode.create(j.alias, nearFk), aggregate: false, field: nearFk, convert: undefined },
      ];
      return new querySets<AnyInstance>(target, q, qs.state);
    },
    (rows) => {
      const groups = new Map<unknown, AnyInstance[]>();
      for (const r of rows) {
        const rec = r as unknown as Record<string, unknown>;
        const k = keyOf(rec[PREFETCH_KEY]);
        delete rec[PREFETCH_KEY];
        let g = groups.get(k);
        if (!g) groups.set(k, (g = []));
        g.push(r);
      }
      for (const o of objs) {
        const list = groups.get(keyOf((o as unknown as Record<string, unknown>)[meta.pk.attname])) ?? [];
        if (custom?.toAttr) (o as unknown as Record<string, unknown>)[custom.toAttr] = list;
        else stateOf(o).setPrefetched(accessor, list);
      }
      return then(rows);
    },
  );
}

function keyOf(v: unknown): unknown {
  return typeof v === 'number' || typeof v === 'string' ? String(v) : v instanceof Date ? v.toISOString() : String(v);
}

/** The value itself: a key when every key on both sides is a number (see `numericKeys`). */
function sameKey(v: unknown): unknown {
  return v;
}

/**
 * Whether every value is a number (or null or undefined). When both sides' keys are, a number can
 * be its own key: `String()` tells numbers apart exactly as a `Map` does (0 and -0 alike, NaN equal
 * to itself), so the groups are `keyOf`'s, without a string per row.
 */
function numericKeys(values: readonly unknown[]): boolean {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== 'number' && v !== null && v !== undefined) return false;
  }
  return true;
}

/** The `attname` of each of `objs`, in order. */
function valuesOf(objs: readonly AnyInstance[], attname: string): unknown[] {
  const get = getterOf(attname);
  const out = new Array<unknown>(objs.length);
  for (let i = 0; i < objs.length; i++) out[i] = get(objs[i]);
  return out;
}

/**
 * A function reading one attribute with a named load (`o.author_id`), made once per name: a
 * load by a name that varies (`o[attname]`) is a generic lookup per row once a second name has
 * gone through it. Attribute names are identifiers (checked when a model is defined); any other
 * name is read by key.
 */
const getters = new Map<string, (o: unknown) => unknown>();
function getterOf(attname: string): (o: unknown) => unknown {
  let get = getters.get(attname);
  if (get === undefined) {
    get = /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(attname)
      ? (new Function('o', `return o.${attname};`) as (o: unknown) => unknown)
      : (o: unknown) => (o as Record<string, unknown>)[attname];
    getters.set(attname, get);
  }
  return get;
}

function unique(values: unknown[]): unknown[] {
  let key: (v: unknown) => unknown = sameKey;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== 'number' && v !== null && v !== undefined) {
      key = keyOf;
      break;
    }
  }
  const seen = new Set<unknown>();
  const out: unknown[] = [];
  for (const v of values) {
    if (v === null || v === undefined) continue;
    const k = key(v);
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(v);
  }
  return out;
}

/**
 * The related rows of `keys`, in one statement: an `__in` list is one bound parameter whatever its
 * length (`ops.inListSql`), so no parameter limit splits it (as Django's prefetch runs one query).
 */
function inBatches<T>(
  keys: unknown[],
  query: (chunk: unknown[]) => QuerySet<AnyInstance>,
  then: (rows: AnyInstance[]) => T | Promise<T>,
): T | Promise<T> {
  // The level's query set is made here for this one run: its rows go to `then` from the query's
  // own callback (`runThen`), not through `fetchAll()`'s cache and a `.then` of its promise.
  return keys.length === 0 ? then([]) : query(keys).runThen(then);
}
