/**
 * Query sets: lazy, immutable descriptions of a query. Every chaining method returns a new query
 * set; awaiting one runs it (once: the rows are kept, as Django's result cache). Terminal methods
 * (`get`, `count`, `update`, ...) return promises.
 *
 * ### Examples
 * ```ts
 * const recent = Book.objects.filter({ published__year__gte: 2020 }).exclude({ title__icontains: 'draft' }).orderBy('-published');
 * const books = await recent.slice(0, 10);            // runs now
 * const titles = await recent.valuesList('title', { flat: true });
 * const n = await recent.count();
 * ```
 * The generated SQL of `books` (PostgreSQL):
 * `select "book"."id", "book"."title", ... from "book" where EXTRACT(YEAR FROM "book"."published") >= $1 and not ("book"."title"::text ... ) order by "book"."published" desc limit $2`
 */
import { atomic, connections, IntegrityError, TransactionManagementError } from '@spool/connections';
import type { BaseOperations } from '../backends/base-operations';
import { operationsFor } from '../backends/operations-for';
import { FieldError, ObjectDoesNotExist, doesNotExistClass, multipleObjectsReturnedClass } from '../errors';
import type { Field } from '../fields/field';
import { ForeignObject } from '../fields/foreign-key';
import type { ModelMeta } from '../models/model-meta';
import { QUERYSET_BRAND, hasBrand } from '../brand';
import type {
  AnyInstance,
  FieldsOf,
  FilterOf,
  InsertOf,
  JsonPath,
  JSONLike,
  OrderTerm,
  PkOf,
  PrefetchPath,
  QueryFilter,
  RowOf,
  SelectRelatedPath,
  Simplify,
  UniqueKey,
  UniqueValue,
  UpdateOf,
  ValueMap,
  ValuePath,
  ValuesRow,
  ValuesTuple,
  Empty,
} from '../types';
import { Expression, Value, type Aggregate, type Inferred, type OrderBy } from './expressions';
import { Cast, CaseExpression, WhenBranch, type InferredAggregate, type ResolveValue } from './functions';
import type { WindowExpression } from './window-expressions';
import { Q, QNode, type ConditionExpression } from './q';
import { Query, describe, isModelInstance } from './query';
import {
  bind,
  compileAggregate,
  compileAggregateOver,
  aggregateOverParams,
  compileCount,
  compileDelete,
  compileExists,
  compileSelect,
  compileUpdate,
  READ_OPTIONS,
  withDefaultOrdering,
  type Compiled,
} from './compiler';
import { NULL_NODE, ParamNode, collectExpr, findAggregateOrWindow, type ExprNode, type Param } from './nodes';
import { writePrep } from './lookups';
import { Collector } from './collector';
import { prefetchRelatedObjects, type Prefetch } from './prefetch';
import { bulkInsert } from '../models/bulk-insert';
import { setCachedOnAll } from '../models/model-state';

/** How many rows `get()` fetches to tell "more than one" (Django's MAX_GET_RESULTS + 1). */
const MAX_GET_RESULTS = 21;

/**
 * Does a `get()` filter pin at most one row: a top-level `field: value` (or `field__exact`) on a
 * unique column with a plain value? Then `LIMIT 21` is pointless, and dropping it matters on
 * SQLite, where a bound LIMIT costs about as much as the primary-key lookup itself.
 */
function pinsOneRow(meta: ModelMeta, args: readonly unknown[]): boolean {
  for (const arg of args) {
    if (arg === null || typeof arg !== 'object' || Object.getPrototypeOf(arg) !== Object.prototype) continue;
    for (const key of Object.keys(arg)) {
      const value = (arg as Record<string, unknown>)[key];
      if (value === null || value === undefined) continue;
      if (typeof value === 'object' && !(value instanceof Date)) continue;
      const name = key.endsWith('__exact') ? key.slice(0, -'__exact'.length) : key;
      if (name.includes('__')) continue;
      const field = name === 'pk' ? meta.pk : meta.field(name);
      if (field !== undefined && field.unique && !(field instanceof ForeignObject)) return true;
    }
  }
  return false;
}

/** The value types of annotations `{ name: Count('x') }` → `{ name: number }`. */
/**
 * The value types of annotations: an expression's own type, or for an aggregate without a given
 * type, the type inferred from the aggregated field of `I` (`Sum('price')` of a `DecimalField` is
 * `string | null`, `Avg('pages')` of an integer `number | null`, `Max('published')` the field's type).
 */
export type AnnotationTypes<N, I = unknown> = {
  [K in keyof N]: N[K] extends Expression<infer T>
    ? [T] extends [Inferred]
      ? InferredAggregate<I, N[K] extends WindowExpression<unknown, infer E> ? E : N[K]>
      : ResolveValue<T, I>
    : unknown;
};

/** A key of `values()`: a field path, an annotation, or (last) an object of expressions. */
export type ValuesKey<I, A> = ValuePath<I> | (keyof A & string) | Readonly<Record<string, Expression>>;
/** The object of expressions given last to `values()` (none: `{}`). */
export type LastExpressions<Ks extends readonly unknown[]> = Ks extends readonly [...unknown[], infer L]
  ? L extends string
    ? Record<never, never>
    : { -readonly [K in keyof L]: L[K] }
  : Record<never, never>;

/** The value of one `valuesList()` key: an annotation, a field path, a JSON path or an expression. */
export type ValueOfKey<I, A, K> = K extends Expression
  ? AnnotationTypes<{ v: K }, I>['v']
  : K extends keyof A
    ? A[K]
    : K extends keyof ValueMap<I>
      ? ValueMap<I>[K]
      : K extends JsonPath<I>
        ? JSONLike
        : never;

/** Django's prefix of the name an expression in `values_list()` gets: an aggregate's `default_alias` (`books__count`), else its function's name lowercased. */
function expressionAliasPrefix(e: Expression): string {
  const x = e as Expression & { fn?: string; source?: unknown; builtin?: string };
  if (e.kind === 'aggregate' && typeof x.source === 'string' && x.source !== '*')
    return `${x.source}__${String(x.fn).toLowerCase()}`.replace(/[^A-Za-z0-9_]/g, '_');
  if (e.kind === 'func' && x.builtin) return x.builtin.toLowerCase();
  const name = e.constructor.name.replace(/Expression$/, '').toLowerCase();
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? name : 'expr';
}

/** A filter argument: typed lookups, or a Q. */
export type FilterArg<I, A> = QueryFilter<FieldsOf<I>, A> | QNode<I> | QNode<unknown> | ConditionExpression;

/** Options of `selectForUpdate()`. */
export interface SelectForUpdateOptions {
  /** Fail at once instead of waiting for a lock (NOWAIT). */
  nowait?: boolean;
  /** Skip rows locked by others (SKIP LOCKED). */
  skipLocked?: boolean;
  /** Lock only these tables' rows (`'self'` for the model's own): PostgreSQL `FOR UPDATE OF`. */
  of?: readonly string[];
}

export interface QuerySetState {
  db: string | undefined;
  prefetch: readonly (string | Prefetch)[];
  /** Hints for routers. */
  hints: Record<string, unknown>;
  /** Rows known without a query (prefetched related sets). */
  known: unknown[] | undefined;
  write: boolean;
  /** A relation every fetched row points to: `[fieldName, instance]` (set in each row's cache, as Django's known_related_objects). */
  knownRelated?: readonly [string, unknown];
}

const EMPTY_STATE: QuerySetState = { db: undefined, prefetch: [], hints: {}, known: undefined, write: false };
/** `chain()` without a change of state (compared by identity). */
const NO_STATE_CHANGE: Partial<QuerySetState> = Object.freeze({});

/**
 * A lazy query over instances `I` (rows typed `R`; `A` are the annotations). Awaiting it yields
 * `R[]`.
 */
export class QuerySet<I extends AnyInstance, R = I, A = Empty> implements PromiseLike<R[]> {
  /** @internal */
  readonly query: Query;
  /** @internal */
  readonly state: QuerySetState;
  private resultCache: R[] | undefined;
  private running: Promise<R[]> | undefined;

  constructor(meta: ModelMeta, query?: Query, state?: QuerySetState) {
    this.query = query ?? new Query(meta);
    this.state = state ?? EMPTY_STATE;
  }

  static is(v: unknown): v is QuerySet<AnyInstance, unknown, unknown> {
    return v instanceof QuerySet || hasBrand(v, QUERYSET_BRAND);
  }

  /** The model's metadata. */
  get meta(): ModelMeta {
    return this.query.meta;
  }

  /** @internal */
  protected chain<R2 = R, A2 = A>(query: Query = this.query.clone(), state: Partial<QuerySetState> = NO_STATE_CHANGE): QuerySet<I, R2, A2> {
    const next = Object.create(Object.getPrototypeOf(this)) as QuerySet<I, R2, A2>;
    (next as { query: Query }).query = query;
    // The state is never mutated: shared when nothing changes (most chained calls), else copied.
    (next as { state: QuerySetState }).state =
      this.state.known === undefined && state === NO_STATE_CHANGE ? this.state : { ...this.state, known: undefined, ...state };
    next.resultCache = undefined;
    next.running = undefined;
    return next;
  }

  // ---- the alias -----------------------------------------------------------------------------------

  /** The alias this query set runs on: `using()`, else the routers (Django's `QuerySet.db`). */
  get db(): string {
    if (this.state.db !== undefined) return this.state.db;
    const cls = this.meta.modelClass;
    const router = connections.router;
    return this.state.write || this.query.forUpdate ? router.dbForWrite(cls, this.state.hints) : router.dbForRead(cls, this.state.hints);
  }

  // ---- chaining ------------------------------------------------------------------------------------

  /** A copy of this query set (re-evaluated when awaited). */
  all(): QuerySet<I, R, A> {
    return this.chain();
  }

  /**
   * Rows matching every lookup (AND); several arguments or a `Q` for OR/NOT.
   *
   * ### Examples
   * ```ts
   * Book.objects.filter({ title__icontains: 'django', author__name__startswith: 'A' });
   * Book.objects.filter({ author: { name__startswith: 'A' } });  // nested form
   * Book.objects.filter(Q<Book>({ pages__lt: 100 }).or({ pages__gt: 1000 }));
   * ```
   */
  filter(...args: FilterArg<I, A>[]): QuerySet<I, R, A> {
    return this.addFilters(args, false, 'filter');
  }

  /** Rows not matching the lookups: `exclude({ a, b })` is `NOT (a AND b)`. */
  exclude(...args: FilterArg<I, A>[]): QuerySet<I, R, A> {
    return this.addFilters(args, true, 'exclude');
  }

  private addFilters(args: readonly unknown[], negate: boolean, method: string): QuerySet<I, R, A> {
    if (this.query.isSliced) throw new TypeError(`Cannot ${method} a query once a slice has been taken.`);
    const q = this.query.clone();
    applyFilters(q, args, negate, method);
    return this.chain(q);
  }

  /**
   * Order by fields: `'name'`, `'-name'` (descending), `'author__name'`, `'?'` (random), an
   * annotation, or an expression (`F('x').desc()`). With no argument, clears any ordering
   * (including the model's default).
   */
  orderBy(...terms: Array<OrderTerm<I, A> | OrderBy | Expression>): QuerySet<I, R, A> {
    if (this.query.isSliced) throw new TypeError('Cannot reorder a query once a slice has been taken.');
    const q = this.query.clone();
    q.setOrdering(terms as Array<string | OrderBy | Expression>);
    return this.chain(q);
  }

  /** Reverse the ordering (the default ordering if none was given). */
  reverse(): QuerySet<I, R, A> {
    if (this.query.isSliced) throw new TypeError('Cannot reverse a query once a slice has been taken.');
    const q = withDefaultOrdering(this.query).clone();
    q.ordering = (q.ordering ?? []).map((o) => ({
      ...o,
      desc: !o.desc,
      nulls: o.nulls === 'first' ? 'last' : o.nulls === 'last' ? 'first' : undefined,
    }));
    return this.chain(q);
  }

  /**
   * SELECT DISTINCT; with fields, `SELECT DISTINCT ON (fields)` (PostgreSQL only, as in Django:
   * NotSupportedError elsewhere): one row per distinct value of the fields, the first by the
   * ordering, which must start with the same fields (`distinct('author').orderBy('author', '-pages')`).
   */
  distinct(...fields: Array<OrderTerm<I, A>>): QuerySet<I, R, A> {
    if (this.query.isSliced) throw new TypeError('Cannot create distinct fields once a slice has been taken.');
    const q = this.query.clone();
    q.distinct = true;
    if (fields.length > 0) q.setDistinctFields(fields as string[]);
    return this.chain(q);
  }

  /** Rows `[start, end)` (Django's slicing): `slice(0, 10)`, `slice(20)`. */
  slice(start: number, end?: number): QuerySet<I, R, A> {
    const q = this.query.clone();
    q.setLimits(start, end);
    return this.chain(q);
  }

  /** At most `n` rows (LIMIT). */
  limit(n: number): QuerySet<I, R, A> {
    return this.slice(0, n);
  }

  /** Skip the first `n` rows (OFFSET). */
  offset(n: number): QuerySet<I, R, A> {
    return this.slice(n);
  }

  /** A query set that matches nothing, without running a query. */
  none(): QuerySet<I, R, A> {
    const q = this.query.clone();
    q.empty = true;
    return this.chain(q);
  }

  /** Run on `alias` (else the routers decide). */
  using(alias: string): QuerySet<I, R, A> {
    if (typeof alias !== 'string' || alias === '') throw new TypeError(`using() takes an alias, got ${describe(alias)}.`);
    connections.settingsFor(alias);
    return this.chain(this.query, { db: alias });
  }

  /**
   * Join forward relations and build the related instances from the same row (one query):
   * `selectRelated('author', 'author__publisher')`.
   */
  selectRelated(...paths: SelectRelatedPath<I>[]): QuerySet<I, R, A> {
    const q = this.query.clone();
    q.addSelectRelated(paths.length === 0 ? true : (paths as string[]));
    return this.chain(q);
  }

  /**
   * Load relations with one extra query per relation (`WHERE ... IN (...)`), after the main
   * query: `prefetchRelated('books', 'books__tags')`, or a `Prefetch` with a custom query set.
   */
  prefetchRelated(...lookups: Array<PrefetchPath<I> | Prefetch>): QuerySet<I, R, A> {
    for (const l of lookups) {
      if (typeof l !== 'string' && !(l && typeof l === 'object' && 'lookup' in l))
        throw new TypeError(`prefetchRelated() takes relation paths or Prefetch objects, got ${describe(l)}.`);
    }
    return this.chain(this.query, { prefetch: [...this.state.prefetch, ...(lookups as Array<string | Prefetch>)] });
  }

  /**
   * Lock the selected rows until the end of the transaction (SELECT ... FOR UPDATE). Must run
   * inside `atomic()`; ignored on SQLite (which locks the whole database on write), as in Django.
   */
  selectForUpdate(options: SelectForUpdateOptions = {}): QuerySet<I, R, A> {
    const q = this.query.clone();
    const of = (options.of ?? []).map((name) => {
      if (name === 'self') return q.alias;
      const j = q.joins.find((x) => x.rel.endsWith(`.${name}`));
      if (!j)
        throw new FieldError(`selectForUpdate({ of }): '${name}' is not 'self' nor a relation joined by selectRelated.`, {
          model: this.meta.name,
          field: name,
        });
      return j.alias;
    });
    q.forUpdate = { nowait: options.nowait ?? false, skipLocked: options.skipLocked ?? false, of };
    return this.chain(q);
  }

  /**
   * Add computed values to each row: aggregates over relations (grouping by the row) or
   * expressions. `annotate({ nBooks: Count('books') })`.
   */
  annotate<N extends Record<string, Expression>>(
    annotations: N,
  ): QuerySet<
    I,
    R extends I ? R & Simplify<AnnotationTypes<N, I>> : Simplify<R & AnnotationTypes<N, I>>,
    Simplify<A & AnnotationTypes<N, I>>
  > {
    if (annotations === null || typeof annotations !== 'object') throw new TypeError('annotate() takes an object of expressions.');
    const q = this.query.clone();
    for (const [name, e] of Object.entries(annotations)) q.addAnnotation(name, e);
    if (q.select.kind === 'values') {
      q.select = { ...q.select, columns: [...q.select.columns, ...q.valueColumns(Object.keys(annotations))] };
    }
    return this.chain(q);
  }

  /**
   * Rows as plain objects of the given paths (all columns when none): `values('id', 'author__name')`.
   * Before an aggregate `annotate()`, groups by these values.
   */
  values(): QuerySet<I, Simplify<RowOf<FieldsOf<I>> & A>, A>;
  /**
   * Rows as plain objects of the given paths, and of expressions given last (Django's
   * `values(*fields, **expressions)`): `values('id', { lower: Lower('title') })`. The expressions are
   * annotated first, then selected with the fields (an aggregate among them groups by the model's
   * columns, as Django: `values().annotate()` groups by the values).
   */
  values<const Ks extends readonly ValuesKey<I, A>[]>(
    ...keys: Ks
  ): [keyof LastExpressions<Ks>] extends [never]
    ? QuerySet<I, ValuesRow<I, A, Extract<Ks[number], string>>, A>
    : QuerySet<
        I,
        Simplify<ValuesRow<I, A, Extract<Ks[number], string>> & AnnotationTypes<LastExpressions<Ks>, I>>,
        Simplify<A & AnnotationTypes<LastExpressions<Ks>, I>>
      >;
  // The overloads' annotation types differ (the expressions add theirs): any, for the implementation only.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  values(...args: unknown[]): QuerySet<I, unknown, any> {
    const q = this.query.clone();
    let keys = args;
    const last = args[args.length - 1];
    const misplaced = args.findIndex((a, i) => i < args.length - 1 && a !== null && typeof a === 'object');
    if (misplaced >= 0) throw new TypeError('values(): the object of expressions comes last, after the field names.');
    if (last !== null && typeof last === 'object' && !Expression.is(last) && !Array.isArray(last)) {
      const expressions = Object.entries(last as Record<string, unknown>);
      for (const [name, e] of expressions) {
        if (!Expression.is(e)) throw new TypeError(`values(): '${name}' must be an expression (Lower('title'), F('price').mul(2), ...).`);
        q.addAnnotation(name, e);
      }
      keys = [...args.slice(0, -1), ...expressions.map(([name]) => name)];
    }
    for (const k of keys)
      if (typeof k !== 'string')
        throw new TypeError(
          `values() takes field names and, last, an object of expressions ({ lower: Lower('title') }), got ${describe(k)}.`,
        );
    q.setValues(keys as string[], 'object');
    return this.chain<unknown, A>(q);
  }

  /**
   * Rows as tuples: `valuesList('id', 'title')`; one column with `{ flat: true }` gives plain values.
   * An expression is a column too (Django's `values_list('id', Lower('title'))`), annotated under a
   * generated name (`lower1`, as Django: the function's name and a counter).
   */
  valuesList<K extends ValuePath<I> | (keyof A & string) | Expression>(
    key: K,
    options: { flat: true },
  ): QuerySet<I, ValueOfKey<I, A, K>, A>;
  valuesList<const K extends readonly (ValuePath<I> | (keyof A & string) | Expression)[]>(...keys: K): QuerySet<I, ValuesTuple<I, A, K>, A>;
  valuesList(...args: unknown[]): QuerySet<I, unknown, A> {
    const last = args[args.length - 1];
    let flat = false;
    if (last !== null && typeof last === 'object' && !Expression.is(last)) {
      const o = last as { flat?: boolean };
      for (const k of Object.keys(o)) if (k !== 'flat') throw new TypeError(`valuesList(): unknown option '${k}'. Valid options: flat.`);
      flat = o.flat === true;
      args = args.slice(0, -1);
    }
    const q = this.query.clone();
    if (args.some((a) => Expression.is(a))) {
      const taken = new Set(args.filter((a): a is string => typeof a === 'string'));
      let counter = 1;
      args = args.map((a) => {
        if (!Expression.is(a)) return a;
        const prefix = expressionAliasPrefix(a);
        let name: string;
        do name = `${prefix}${counter++}`;
        while (taken.has(name) || q.annotations.some((x) => x.name === name));
        taken.add(name);
        q.addAnnotation(name, a);
        return name;
      });
    }
    for (const k of args)
      if (typeof k !== 'string')
        throw new TypeError(`valuesList() takes field names and expressions, and last { flat: true }, got ${describe(k)}.`);
    q.setValues(args as string[], flat ? 'flat' : 'tuple');
    return this.chain(q);
  }

  // ---- running -------------------------------------------------------------------------------------

  then<T1 = R[], T2 = never>(
    onfulfilled?: ((value: R[]) => T1 | PromiseLike<T1>) | null,
    onrejected?: ((reason: unknown) => T2 | PromiseLike<T2>) | null,
  ): Promise<T1 | T2> {
    return this.fetchAll().then(onfulfilled, onrejected);
  }

  catch<T2 = never>(onrejected?: ((reason: unknown) => T2 | PromiseLike<T2>) | null): Promise<R[] | T2> {
    return this.fetchAll().catch(onrejected);
  }

  finally(onfinally?: (() => void) | null): Promise<R[]> {
    return this.fetchAll().finally(onfinally);
  }

  /** Run (once) and return the rows. */
  fetchAll(): Promise<R[]> {
    if (this.resultCache !== undefined) return Promise.resolve(this.resultCache);
    if (this.state.known !== undefined && !this.query.isSliced) {
      this.resultCache = this.state.known as R[];
      return Promise.resolve(this.resultCache);
    }
    if (this.running === undefined) {
      let p: Promise<R[]>;
      try {
        p = this.execute(cacheRows as (qs: QuerySet<I, R, A>, rows: R[]) => R[]);
      } catch (err) {
        return Promise.reject(err);
      }
      this.running = p;
    }
    return this.running;
  }

  /** @internal called with the rows (success) or undefined (failure) to keep or forget them. */
  settle(rows: R[] | undefined): void {
    this.running = undefined;
    if (rows !== undefined) this.resultCache = rows;
  }

  /**
   * Compile (from the cache when the shape was seen) and run. Kept to one promise on the hot
   * path: every promise costs more under AsyncLocalStorage, which the connection layer uses.
   */
  private execute<T = R[]>(then: (qs: QuerySet<I, R, A>, rows: R[]) => T): Promise<T> {
    const q = this.query;
    if (q.empty) return Promise.resolve(then(this, []));
    const alias = this.db;
    const backend = connections.backend(alias);
    const ops = operationsFor(backend.vendor);
    if (q.forUpdate && backend.features.hasSelectForUpdate && !connections.inAtomicBlock({ using: alias })) {
      throw new TransactionManagementError(
        `selectForUpdate() on ${this.meta.name} cannot be used outside of a transaction: wrap it in atomic({ using: '${alias}' }).`,
        { alias },
      );
    }
    const prepared = withDefaultOrdering(q);
    const compiled = compileSelect(prepared, ops, alias);
    const params: Param[] = [];
    prepared.collectParams(params);
    const bindings = bind(compiled, params, ops, limitOf(prepared), prepared.low);
    const map = compiled.map as NonNullable<Compiled['map']>;
    const known = this.state.knownRelated;
    const prefetch = this.state.prefetch;
    const model = q.select.kind === 'model';
    const withPrefetch = prefetch.length > 0 && model;
    // The rows, then (with prefetches) the prefetch walk from the same callback, which ends with
    // `then` (one promise for the rows and one per prefetch level, no promise for the steps
    // between: each costs AsyncLocalStorage's hook). A failure to read the rows forgets them
    // (`then(this, undefined)`; when mapping them fails, only with prefetches, as before), and a
    // prefetch's failure rejects.
    return connections.query(alias, compiled.sql, bindings, compiled.readOptions ?? READ_OPTIONS).then(
      (res) => {
        let out: R[];
        try {
          out = map(res.rows as unknown as unknown[][], alias) as R[];
          // One shared back-reference for the rows (see `SharedRelation`), not a state per row.
          if (known !== undefined && model) setCachedOnAll(out as unknown as object[], known[0], known[1]);
        } catch (err) {
          if (withPrefetch) then(this, undefined as never);
          throw err;
        }
        return withPrefetch && out.length > 0
          ? prefetchRelatedObjects(out as unknown as AnyInstance[], prefetch, QuerySet, () => then(this, out))
          : then(this, out);
      },
      (err) => {
        then(this, undefined as never);
        throw err;
      },
    ) as Promise<T>;
  }

  /**
   * Run and hand the rows to `fn`, without keeping them: for a query set no one else holds (a
   * prefetch level's, made for that one run), where `fetchAll().then(fn)` would make a promise
   * more. `fn` is called once, with the rows; a failure is a rejection. @internal
   */
  runThen<T>(fn: (rows: R[]) => T | PromiseLike<T>): Promise<T> {
    // A subclass's own fetchAll() is honoured, as when prefetch called it.
    if (this.fetchAll !== QuerySet.prototype.fetchAll) return this.fetchAll().then(fn);
    try {
      return this.execute((_qs, rows: R[] | undefined) => (rows === undefined ? (undefined as T) : fn(rows))) as Promise<T>;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** The SQL and bindings this query set would send (on its alias). */
  toSQL(): { sql: string; bindings: unknown[] } {
    const alias = this.db;
    const ops = operationsFor(connections.backend(alias).vendor);
    const prepared = withDefaultOrdering(this.query);
    const compiled = compileSelect(prepared, ops, alias);
    const params: Param[] = [];
    prepared.collectParams(params);
    return { sql: compiled.sql, bindings: bind(compiled, params, ops, limitOf(prepared), prepared.low) };
  }

  /** This query as a subquery (for `__in`). @internal */
  toSubquery(prefix: string): Query {
    const q = this.query.relabeledClone(prefix);
    if (q.select.kind === 'model') q.setValues(['pk'], 'flat');
    // As Django's Query.resolve_expression: the ordering only matters to a subquery that is sliced
    // or DISTINCT ON, and there it is kept, the model's default ordering included (without it, a
    // "first row per parent" subquery picked any row).
    if (q.isSliced || q.distinctFields !== undefined) return withDefaultOrdering(q);
    q.ordering = [];
    return q;
  }

  /**
   * The one row matching the lookups. Throws `Model.DoesNotExist` when none matches and
   * `Model.MultipleObjectsReturned` when more than one does.
   */
  get(...args: FilterArg<I, A>[]): Promise<R> {
    let qs: QuerySet<I, R, A>;
    try {
      const q = this.query.clone();
      if (args.length > 0) {
        if (q.isSliced) throw new TypeError('Cannot filter a query once a slice has been taken.');
        applyFilters(q, args, false, 'get');
      }
      if (!q.isSliced && !q.forUpdate && !q.distinct) {
        q.ordering = [];
        if (!pinsOneRow(this.meta, args)) q.setLimits(0, MAX_GET_RESULTS);
      }
      qs = this.chain(q);
    } catch (err) {
      return Promise.reject(err);
    }
    const meta = this.meta;
    return qs.execute((_qs, rows) => {
      if (rows === undefined) return undefined as never;
      if (rows.length === 1) return rows[0] as R;
      if (rows.length === 0) {
        const Err = doesNotExistClass(meta);
        throw new Err(`${meta.name} matching query does not exist.`, { model: meta.name });
      }
      const Err = multipleObjectsReturnedClass(meta);
      throw new Err(
        `get() returned more than one ${meta.name} -- it returned ${rows.length === MAX_GET_RESULTS ? `more than ${MAX_GET_RESULTS - 1}` : rows.length}!`,
        { model: meta.name },
      );
    });
  }

  /** The first row (by the ordering, else by primary key), or null. */
  async first(): Promise<R | null> {
    const qs = this.query.ordering !== undefined || this.meta.ordering.length > 0 ? this : this.orderBy('pk' as OrderTerm<I, A>);
    const rows = await qs.slice(0, 1).fetchAll();
    return rows[0] ?? null;
  }

  /** The last row (reversing the ordering, else by primary key), or null. */
  async last(): Promise<R | null> {
    const ordered = this.query.ordering !== undefined || this.meta.ordering.length > 0;
    const qs = ordered ? this.reverse() : this.orderBy('-pk' as OrderTerm<I, A>);
    const rows = await qs.slice(0, 1).fetchAll();
    return rows[0] ?? null;
  }

  /** The number of rows (`SELECT COUNT(*)`), without fetching them. */
  async count(): Promise<number> {
    if (this.resultCache !== undefined) return this.resultCache.length;
    const q = this.query;
    if (q.empty) return 0;
    const alias = this.db;
    const ops = operationsFor(connections.backend(alias).vendor);
    const prepared = q.isSliced ? withDefaultOrdering(q) : withoutOrdering(q);
    const compiled = compileCount(prepared, ops, alias);
    const rows = await runCompiled(compiled, prepared, ops, alias);
    return ((compiled.map as NonNullable<Compiled['map']>)(rows, alias)[0] as number) ?? 0;
  }

  /** Does any row match? (`SELECT 1 ... LIMIT 1`.) */
  async exists(): Promise<boolean> {
    if (this.resultCache !== undefined) return this.resultCache.length > 0;
    const q = this.query;
    if (q.empty) return false;
    const alias = this.db;
    const ops = operationsFor(connections.backend(alias).vendor);
    const prepared = withoutOrdering(q);
    const compiled = compileExists(prepared, ops, alias);
    const rows = await runCompiled(compiled, prepared, ops, alias);
    return rows.length > 0;
  }

  /**
   * Aggregate over all the rows: `aggregate({ total: Sum('pages'), n: Count('id') })` →
   * `{ total: number | null, n: number }`.
   */
  async aggregate<N extends Record<string, Expression>>(aggregates: N): Promise<Simplify<AnnotationTypes<N, I>>> {
    if (aggregates === null || typeof aggregates !== 'object' || Object.keys(aggregates).length === 0)
      throw new TypeError('aggregate() takes an object of aggregates: { total: Sum("pages") }.');
    const names = Object.keys(aggregates);
    const base = this.query;
    if (base.isSliced || base.distinct || base.annotations.length > 0) {
      // Over a subquery, as Django: SELECT SUM(__col1) FROM (SELECT ... LIMIT 10) subquery.
      const { inner, outer } = base.aggregateOver(names.map((n) => [n, aggregates[n] as Expression] as const));
      if (base.empty) return emptyAggregate(names, aggregates) as Simplify<AnnotationTypes<N, I>>;
      const alias = this.db;
      const ops = operationsFor(connections.backend(alias).vendor);
      const prepared = inner.isSliced ? withDefaultOrdering(inner) : inner;
      const compiled = compileAggregateOver(prepared, outer, ops, alias);
      const params = aggregateOverParams(prepared, outer);
      const res = await connections.query(
        alias,
        compiled.sql,
        bind(compiled, params, ops, limitOf(prepared), prepared.low),
        compiled.readOptions ?? READ_OPTIONS,
      );
      return (compiled.map as NonNullable<Compiled['map']>)(res.rows as unknown as unknown[][], alias)[0] as Simplify<
        AnnotationTypes<N, I>
      >;
    }
    const q = this.query.clone();
    for (const name of names) {
      const a = aggregates[name];
      if (!Expression.is(a)) throw new TypeError(`aggregate(): '${name}' is not an aggregate (Count, Sum, Avg, Min, Max).`);
      q.addAnnotation(name, a, { allowFieldNames: true });
      // An expression over aggregates (Sum('pages').div(3)) is one too.
      if (!q.annotations[q.annotations.length - 1]?.aggregate)
        throw new TypeError(`aggregate(): '${name}' is not an aggregate (Count, Sum, Avg, Min, Max, or an expression over them).`);
    }
    q.ordering = [];
    if (q.empty) return emptyAggregate(names, aggregates) as Simplify<AnnotationTypes<N, I>>;
    const alias = this.db;
    const ops = operationsFor(connections.backend(alias).vendor);
    const compiled = compileAggregate(q, names, ops, alias);
    const rows = await runCompiled(compiled, q, ops, alias);
    return (compiled.map as NonNullable<Compiled['map']>)(rows, alias)[0] as Simplify<AnnotationTypes<N, I>>;
  }

  /**
   * Update every matching row in one statement; returns the number of rows matched. Values may be
   * expressions: `update({ stock: F('stock').sub(1) })`. No save() runs (autoNow fields are not
   * touched), as in Django.
   */
  async update(values: UpdateOf<FieldsOf<I>>): Promise<number> {
    if (this.query.isSliced) throw new TypeError('Cannot update a query once a slice has been taken.');
    const q = this.query.clone();
    const sets = updateSets(q, values as Record<string, unknown>);
    if (sets.length === 0) return 0;
    if (q.empty) return 0;
    q.ordering = [];
    const alias = this.state.db ?? connections.router.dbForWrite(this.meta.modelClass, this.state.hints);
    const ops = operationsFor(connections.backend(alias).vendor);
    const compiled = compileUpdate(q, sets, ops, alias);
    const params: Param[] = [];
    for (const [, n] of sets) collectExpr(n, params);
    q.collectParams(params);
    const res = await connections.query(alias, compiled.sql, bind(compiled, params, ops));
    return res.rowCount;
  }

  /**
   * Delete the matching rows, and what depends on them per each foreign key's `onDelete`
   * (cascade, protect, restrict, set null), in one transaction. Returns `[total, perModel]`.
   */
  async delete(): Promise<[number, Record<string, number>]> {
    if (this.query.isSliced) throw new TypeError('Cannot use a limit or offset with delete().');
    if (this.query.select.kind !== 'model') throw new TypeError('Cannot call delete() after values() or valuesList().');
    if (this.query.empty) return [0, {}];
    const alias = this.state.db ?? connections.router.dbForWrite(this.meta.modelClass, this.state.hints);
    const collector = new Collector(alias, QuerySet);
    if (collector.canFastDelete(this.meta) && this.query.joins.length === 0) {
      const q = withoutOrdering(this.query);
      const ops = operationsFor(connections.backend(alias).vendor);
      const compiled = compileDelete(q, ops, alias);
      const res = await runCompiledWrite(compiled, q, ops, alias);
      return [res, res > 0 ? { [this.meta.name]: res } : {}];
    }
    return atomic(
      async () => {
        const pks = (await this.using(alias)
          .orderBy()
          .valuesList('pk' as ValuePath<I>, { flat: true })
          .fetchAll()) as unknown[];
        await collector.collect(this.meta, pks);
        return collector.delete();
      },
      { using: alias, savepoint: false },
    );
  }

  /**
   * Instances by primary key, or by another unique field (`fieldName`): a Map keyed by that
   * field's value. `inBulk(['a-1'], { fieldName: 'sku' })` is a `Map<string, Product>`; a field
   * that is not unique does not compile (and is a FieldError at run time).
   */
  inBulk(ids?: readonly PkOf<I>[]): Promise<Map<PkOf<I>, R>>;
  inBulk<K extends UniqueKey<I>>(
    ids: readonly NonNullable<UniqueValue<I, K>>[] | undefined,
    options: { fieldName: K },
  ): Promise<Map<UniqueValue<I, K>, R>>;
  async inBulk(ids?: readonly unknown[], options: { fieldName?: string } = {}): Promise<Map<unknown, R>> {
    const fieldName = (options.fieldName ?? 'pk') as string;
    const field = fieldName === 'pk' ? this.meta.pk : this.meta.concreteField(fieldName, 'inBulk');
    if (fieldName !== 'pk' && !field.unique)
      throw new FieldError(`inBulk()'s fieldName must be a unique field, '${fieldName}' is not.`, {
        model: this.meta.name,
        field: fieldName,
      });
    if (this.query.isSliced) throw new TypeError("Cannot use 'limit' or 'offset' with inBulk().");
    const out = new Map<unknown, R>();
    const attname = field.attname;
    if (ids !== undefined) {
      if (ids.length === 0) return out;
      // One statement: the list is one bound parameter whatever its length (`ops.inListSql`).
      const rows = await this.filter({ [`${fieldName}__in`]: ids } as FilterArg<I, A>).fetchAll();
      for (const r of rows) out.set((r as Record<string, unknown>)[attname], r);
      return out;
    }
    for (const r of await this.fetchAll()) out.set((r as Record<string, unknown>)[attname], r);
    return out;
  }

  /**
   * Stream the rows in chunks of `chunkSize` (default 2000), without keeping them: an async
   * iterator. Chunks are read by primary key (keyset pagination) when the query is ordered by it
   * or not ordered, else with LIMIT/OFFSET.
   */
  async *iterator(options: { chunkSize?: number } = {}): AsyncGenerator<R, void, undefined> {
    const chunkSize = options.chunkSize ?? 2000;
    if (!Number.isInteger(chunkSize) || chunkSize < 1)
      throw new RangeError(`iterator(): chunkSize must be a positive integer, got ${String(chunkSize)}.`);
    if (this.state.prefetch.length > 0)
      throw new TypeError('iterator() with prefetchRelated() is not supported: prefetch needs all the rows. Slice the query instead.');
    const q = this.query;
    const pk = this.meta.pk;
    const ordering = q.ordering ?? (this.meta.ordering.length > 0 ? undefined : []);
    const keyset =
      !q.isSliced &&
      !q.distinct &&
      !q.grouped &&
      ordering !== undefined &&
      (ordering.length === 0 ||
        (ordering.length === 1 && ordering[0]?.node.kind === 'col' && ordering[0].node.field === pk && ordering[0].node.alias === q.alias));
    const alias = this.db;
    if (keyset) {
      const desc = ordering.length === 1 && ordering[0]?.desc === true;
      let last: unknown = undefined;
      for (;;) {
        let qs: QuerySet<I, R, A> = this.orderBy((desc ? '-pk' : 'pk') as OrderTerm<I, A>).using(alias);
        if (last !== undefined) qs = qs.filter({ [desc ? 'pk__lt' : 'pk__gt']: last } as FilterArg<I, A>);
        const rows = await qs.slice(0, chunkSize).fetchAll();
        for (const r of rows) yield r;
        if (rows.length < chunkSize) return;
        const tail = rows[rows.length - 1] as Record<string, unknown> | unknown[] | unknown;
        last = lastKey(q, tail, pk);
        if (last === undefined)
          throw new TypeError('iterator(): keyset pagination needs the primary key in each row; include it in values().');
      }
    }
    const end = q.high;
    for (let start = 0; ; start += chunkSize) {
      const stop = end === undefined ? start + chunkSize : Math.min(start + chunkSize, end - q.low);
      if (end !== undefined && start >= end - q.low) return;
      const rows = await this.using(alias).slice(start, stop).fetchAll();
      for (const r of rows) yield r;
      if (rows.length < stop - start) return;
    }
  }

  // ---- creating ------------------------------------------------------------------------------------

  /** Create and save an instance (INSERT). */
  async create(values: InsertOf<FieldsOf<I>>): Promise<I> {
    const Cls = this.meta.modelClass as unknown as new (v: unknown) => I & { $save(o: unknown): Promise<unknown> };
    const obj = new Cls(values);
    await obj.$save({ forceInsert: true, using: this.state.db });
    return obj;
  }

  /**
   * Insert many instances in batches (one multi-row INSERT per batch, in one transaction). Primary
   * keys are set on the instances on PostgreSQL and SQLite (RETURNING); MariaDB, like MySQL in
   * Django, does not set them.
   */
  async bulkCreate(
    objs: ReadonlyArray<I | InsertOf<FieldsOf<I>>>,
    options: { batchSize?: number; ignoreConflicts?: boolean } = {},
  ): Promise<I[]> {
    return bulkInsert(this.meta, objs as unknown[], { ...options, using: this.state.db }) as Promise<I[]>;
  }

  /**
   * Update `fields` of many instances with their values, in batches: one UPDATE per batch, each
   * field set by `CASE WHEN pk = ... THEN ... END` (Django's `bulk_update`), all in one
   * transaction. A value may be an expression (`F('pages').add(1)`). No `$save()` runs (no
   * autoNow, no signals); returns the number of rows matched (Django 4's answer; 3.2's is None).
   *
   * ### Examples
   * ```ts
   * books[0].pages = 10; books[1].pages = 20;
   * await Book.objects.bulkUpdate(books, ['pages'], { batchSize: 500 });
   * ```
   */
  async bulkUpdate(
    objs: readonly I[],
    fields: readonly (keyof FieldsOf<I> & string)[],
    options: { batchSize?: number } = {},
  ): Promise<number> {
    const meta = this.meta;
    if (!Array.isArray(objs)) throw new TypeError('bulkUpdate() takes a list of instances.');
    if (!Array.isArray(fields) || fields.length === 0) throw new TypeError('Field names must be given to bulkUpdate().');
    const batchSize = options.batchSize;
    if (batchSize !== undefined && (!Number.isInteger(batchSize) || batchSize <= 0))
      throw new RangeError(`bulkUpdate(): batchSize must be a positive integer, got ${String(batchSize)}.`);
    const resolved = fields.map((name) => {
      const f = meta.fieldByAttname(name) ?? meta.field(name);
      if (!f)
        throw meta.unknownField(
          name,
          'bulkUpdate()',
          meta.fields.map((x) => x.name),
        );
      if (!f.concrete || (f.isRelation && !(f instanceof ForeignObject)))
        throw new FieldError(`bulkUpdate() can only be used with concrete fields ('${name}' is not one).`, {
          model: meta.name,
          field: name,
        });
      if (f.primaryKey) throw new FieldError('bulkUpdate() cannot be used with primary key fields.', { model: meta.name, field: name });
      return f;
    });
    for (const obj of objs) {
      if (
        !isModelInstance(obj) ||
        ((obj as { constructor: unknown }).constructor !== meta.modelClass && !(obj instanceof (meta.modelClass as never)))
      )
        throw new TypeError(`bulkUpdate() takes ${meta.name} instances, got ${describe(obj)}.`);
      const pk = (obj as Record<string, unknown>)[meta.pk.attname];
      if (pk === null || pk === undefined) throw new TypeError('All bulkUpdate() objects must have a primary key set.');
    }
    if (objs.length === 0) return 0;
    const alias = this.state.db ?? connections.router.dbForWrite(meta.modelClass, this.state.hints);
    const ops = operationsFor(connections.backend(alias).vendor);
    // Each object binds its key and a value per field; the key list of the filter is one parameter.
    const maxBatch = Math.max(1, Math.floor((ops.maxParams - 1) / (2 * resolved.length)));
    const size = Math.min(batchSize ?? maxBatch, maxBatch);
    const base = this.using(alias) as unknown as QuerySet<I, R, A>;
    return atomic(
      async () => {
        let rows = 0;
        for (let start = 0; start < objs.length; start += size) {
          const batch = objs.slice(start, start + size) as unknown as Record<string, unknown>[];
          const values: Record<string, unknown> = {};
          for (const f of resolved) {
            const whens = batch.map((obj) => {
              const v = obj[f.attname];
              return new WhenBranch({ pk: obj[meta.pk.attname] }, Expression.is(v) ? v : new Value(v, { outputField: f }));
            });
            const kase = new CaseExpression(whens, { outputField: f });
            // PostgreSQL types the CASE from its branches' parameters (text): cast to the column's type, as Django.
            values[f.attname] = ops.features.requiresCastedCaseInUpdates ? Cast(kase, f) : kase;
          }
          rows += await base.filter({ pk__in: batch.map((obj) => obj[meta.pk.attname]) } as never).update(values as never);
        }
        return rows;
      },
      { using: alias },
    );
  }

  /**
   * Fetch the row matching `lookup`, or create it from `lookup` and `defaults`. Returns
   * `[instance, created]`. Safe against a concurrent create through the unique constraint that
   * should back `lookup` (the create runs in a savepoint; on IntegrityError the row is fetched).
   */
  async getOrCreate(lookup: FilterOf<I>, defaults: Partial<InsertOf<FieldsOf<I>>> = {}): Promise<[I, boolean]> {
    const alias = this.state.db ?? connections.router.dbForWrite(this.meta.modelClass, this.state.hints);
    const qs = this.using(alias) as unknown as QuerySet<I, I, A>;
    try {
      return [await qs.get(lookup as FilterArg<I, A>), false];
    } catch (err) {
      if (!ObjectDoesNotExist.is(err)) throw err;
    }
    const params = createParams(this.meta, lookup as Record<string, unknown>, defaults as Record<string, unknown>);
    try {
      const obj = await atomic(() => qs.create(params as InsertOf<FieldsOf<I>>), { using: alias });
      return [obj, true];
    } catch (err) {
      if (IntegrityError.is(err)) {
        try {
          return [await qs.get(lookup as FilterArg<I, A>), false];
        } catch (again) {
          if (ObjectDoesNotExist.is(again)) throw err;
          throw again;
        }
      }
      throw err;
    }
  }

  /**
   * Update the row matching `lookup` with `defaults` (locking it), or create it. Returns
   * `[instance, created]`.
   */
  async updateOrCreate(
    lookup: FilterOf<I>,
    defaults: Partial<InsertOf<FieldsOf<I>>> = {},
    createDefaults?: Partial<InsertOf<FieldsOf<I>>>,
  ): Promise<[I, boolean]> {
    const alias = this.state.db ?? connections.router.dbForWrite(this.meta.modelClass, this.state.hints);
    return atomic(
      async () => {
        const qs = this.using(alias).selectForUpdate() as unknown as QuerySet<I, I, A>;
        let obj: I;
        try {
          obj = await qs.get(lookup as FilterArg<I, A>);
        } catch (err) {
          if (!ObjectDoesNotExist.is(err)) throw err;
          const [created, wasCreated] = await (this.using(alias) as unknown as QuerySet<I, I, A>).getOrCreate(lookup, {
            ...defaults,
            ...(createDefaults ?? {}),
          });
          if (wasCreated) return [created, true] as [I, boolean];
          obj = created;
        }
        const rec = obj as unknown as Record<string, unknown> & { $save(o: unknown): Promise<unknown> };
        const updateFields: string[] = [];
        for (const [k, v] of Object.entries(defaults)) {
          rec[k] = v;
          const f = this.meta.fieldByAttname(k);
          if (f) updateFields.push(f.name);
        }
        await rec.$save({ using: alias, updateFields: updateFields.length > 0 ? updateFields : undefined });
        return [obj, false] as [I, boolean];
      },
      { using: alias },
    );
  }
}
Object.defineProperty(QuerySet.prototype, QUERYSET_BRAND, { value: true });

// ---- helpers -------------------------------------------------------------------------------------------

/**
 * Add filter()/exclude() arguments to a query, as ONE call (Django's `filter(*args, **kwargs)`):
 * the arguments are ANDed into one condition, so that `exclude(a, b)` is `NOT (a AND b)` and
 * `filter(a, b)` on a multi-valued relation constrains the same related row (one join), while
 * chained calls stay separate. A single plain object takes the cached fast path when it can.
 */
function applyFilters(q: Query, args: readonly unknown[], negate: boolean, method: string): void {
  const parts: QNode<unknown>[] = [];
  for (const arg of args) {
    if (arg === undefined) continue;
    if (QNode.is(arg)) parts.push(arg);
    else if (Expression.is(arg)) parts.push(Q(arg as unknown as ConditionExpression));
    else if (arg !== null && typeof arg === 'object' && !Array.isArray(arg)) parts.push(Q(arg as Record<string, unknown>));
    else throw new TypeError(`${method}() takes objects of lookups or Q objects, got ${describe(arg)}.`);
  }
  if (parts.length === 0) return;
  if (parts.length === 1) {
    const only = args.find((a) => a !== undefined);
    if (!negate && !QNode.is(only) && !Expression.is(only) && q.addSimpleFilter(only as Record<string, unknown>)) return;
    q.addFilter(parts[0] as QNode<unknown>, negate);
    return;
  }
  q.addFilter(Q.and(...parts), negate);
}

/** Keep a query set's rows (Django's result cache). */
function cacheRows<R>(qs: { settle(rows: R[] | undefined): void }, rows: R[] | undefined): R[] {
  qs.settle(rows);
  return rows as R[];
}

function limitOf(q: Query): number | undefined {
  return q.high === undefined ? undefined : q.high - q.low;
}

/** Run a compiled SELECT-like statement and return its array rows. */
async function runCompiled(compiled: Compiled, q: Query, ops: BaseOperations, alias: string): Promise<unknown[][]> {
  const params: Param[] = [];
  q.collectParams(params);
  const res = await connections.query(
    alias,
    compiled.sql,
    bind(compiled, params, ops, limitOf(q), q.low),
    compiled.readOptions ?? READ_OPTIONS,
  );
  return res.rows as unknown as unknown[][];
}

async function runCompiledWrite(compiled: Compiled, q: Query, ops: BaseOperations, alias: string): Promise<number> {
  const params: Param[] = [];
  q.collectParams(params);
  const res = await connections.query(alias, compiled.sql, bind(compiled, params, ops, limitOf(q), q.low));
  return res.rowCount;
}

/** What aggregate() answers over no rows: COUNT 0, the others null. */
function emptyAggregate(names: readonly string[], aggregates: Record<string, Expression>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const n of names)
    out[n] = (aggregates[n] as Aggregate).kind === 'aggregate' && (aggregates[n] as Aggregate).fn === 'COUNT' ? 0 : null;
  return out;
}

function withoutOrdering(q: Query): Query {
  if (q.ordering !== undefined && q.ordering.length === 0) return q;
  const c = q.clone();
  c.ordering = [];
  return c;
}

/** The SET list of an update(): fields and their new value (a param or an expression on the model's own columns). */
export function updateSets(q: Query, values: Record<string, unknown>): Array<[Field, ExprNode]> {
  if (values === null || typeof values !== 'object') throw new TypeError('update() takes an object of field values.');
  const meta = q.meta;
  const sets: Array<[Field, ExprNode]> = [];
  for (const [key, value] of Object.entries(values)) {
    const f = meta.fieldByAttname(key);
    if (!f) {
      const declared = meta.field(key);
      if (declared && !declared.concrete)
        throw new FieldError(
          `${meta.name}.${key} is a many-to-many or reverse relation: update() can only set columns. Use ${key}.set([...]) on instances.`,
          { model: meta.name, field: key },
        );
      throw meta.unknownField(
        key,
        'update()',
        meta.fields.flatMap((x) => (x.attname === x.name ? [x.name] : [x.name, x.attname])),
      );
    }
    if (Expression.is(value)) {
      const node = q.resolveExpression(value, {
        call: 0,
        reuseAll: false,
        negated: false,
        inOr: false,
        allowJoins: false,
        forceOuter: false,
      } as never);
      // As Django's update(): SET cannot compute an aggregate or a window over the rows.
      const computed = findAggregateOrWindow(node);
      if (computed)
        throw new FieldError(
          `${meta.name}.update(): ${computed.kind === 'agg' ? 'aggregate functions' : 'window expressions'} are not allowed in this query (${key}=${computed.kind === 'agg' ? `${computed.fn}(...)` : 'Window(...)'}).`,
          { model: meta.name, field: key },
        );
      sets.push([f, node]);
      continue;
    }
    let v: unknown = value;
    if (f instanceof ForeignObject && isModelInstance(value))
      v = (value as Record<string, unknown>)[(f as ForeignObject<never>).relatedMeta.pk.attname];
    if (v === undefined)
      throw new FieldError(`${meta.name}.${key}: update() got undefined; use null to clear a nullable field.`, {
        model: meta.name,
        field: key,
      });
    if (v === null) {
      if (!f.null)
        throw new FieldError(`${meta.name}.${f.name} is not nullable: update() cannot set it to null.`, { model: meta.name, field: key });
      sets.push([f, NULL_NODE]);
      continue;
    }
    // Checked as every write is (`cleanForWrite`): a ValidationError naming the model and field.
    sets.push([f, ParamNode.create(f.cleanForWrite(v), writePrep(f))]);
  }
  return sets;
}

/** The values of a create from getOrCreate's lookup (exact keys only) and defaults. */
function createParams(meta: ModelMeta, lookup: Record<string, unknown>, defaults: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(lookup)) {
    if (k.includes('__')) continue;
    if (k === 'pk') {
      out[meta.pk.attname] = v;
      continue;
    }
    out[k] = v;
  }
  for (const [k, v] of Object.entries(defaults)) out[k] = typeof v === 'function' ? (v as () => unknown)() : v;
  return out;
}

function lastKey(q: Query, row: unknown, pk: Field): unknown {
  if (q.select.kind === 'model') return (row as Record<string, unknown>)[pk.attname];
  const cols = q.select.columns;
  const i = cols.findIndex((c) => c.node.kind === 'col' && c.node.field === pk && c.node.alias === q.alias);
  if (i < 0) return undefined;
  if (q.select.shape === 'flat') return row;
  if (q.select.shape === 'tuple') return (row as unknown[])[i];
  return (row as Record<string, unknown>)[(cols[i] as { name: string }).name];
}
