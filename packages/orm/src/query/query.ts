/**
 * The query being built (Django's `sql.Query`): the base model, the joins, the where tree, the
 * annotations, what is selected, ordering, slicing, locking. Query sets clone it on every call
 * (they are immutable); the compiler turns it into SQL through knex.
 *
 * Names are resolved here, against the model's metadata, so that an unknown field or lookup is a
 * `FieldError` before any SQL exists. Joins follow Django's rules: single-valued relations
 * (forward foreign keys) are joined once and reused; multi-valued ones (reverse foreign keys,
 * many-to-many) are reused within one `filter()` call but not across calls, so
 * `filter({ a, b })` constrains the same related row and `filter({ a }).filter({ b })` may
 * match different ones; any other reference to the relation (annotate(), F(), values(), orderBy(),
 * aggregate()) reuses its most recent join, so it reads the rows the last filter kept. Joins are INNER unless a NULL must survive them (a nullable or
 * multi-valued relation under OR, NOT, `isnull: true`, ordering, annotation, select_related),
 * then LEFT OUTER. A negated lookup across a multi-valued relation becomes a subquery
 * (`pk NOT IN (SELECT ...)`), and a negated lookup on a nullable column adds `IS NOT NULL`, as
 * Django's `split_exclude` and `build_filter` do. Paths are resolved by `namesToPath`
 * (names-to-path.ts), the tree is built from the factories of nodes.ts. Internal to the package (not exported from its index).
 */
import { FieldError } from '../errors';
import type { Field } from '../fields/field';
import { ForeignObject } from '../fields/foreign-key';
import { jsonFromText } from '../fields/json-field';
import { extraMicroseconds } from '../fields/precise-date';
import type { ModelMeta } from '../models/model-meta';
import { MODEL_BRAND, META, QUERYSET_BRAND, STATE, hasBrand } from '../brand';
import { NotSupportedError } from '@spool/connections';
import {
  Aggregate,
  CombinedExpression,
  Expression,
  FieldRef,
  KeyTransformExpression,
  OrderBy,
  Value,
  WrappedExpression,
} from './expressions';
import { CaseExpression, Func } from './functions';
import { resolveCase, resolveFunc, type FunctionResolver } from './resolve-functions';
import { ResolvedExpression, registeredFor } from './custom-lookups';
import type { ExistsExpression, OuterRefExpression, SubqueryExpression } from './subquery-expressions';
import type { WindowExpression, WindowFunction, WindowTerm } from './window-expressions';
import { OUTPUT, aggregateOutput, arithmeticKind, combinedOutput, outputConverter, valueOutput } from './output-types';
import { QNode } from './q';
import {
  ALL_LOOKUPS,
  checkPatternValue,
  fieldPrep,
  isComparison,
  isDatePart,
  isTextLookup,
  isTimePart,
  listPrep,
  lookupsFor,
  numberPrep,
  patternPrep,
  textPrep,
  unsupportedLookup,
} from './lookups';
import {
  AggNode,
  AliasRelabeler,
  AnnotRefNode,
  ColNode,
  CombinedNode,
  DateNode,
  EMPTY_WHERE,
  Join,
  LookupNode,
  NOTHING,
  NULL_NODE,
  ParamNode,
  PartNode,
  RANDOM_NODE,
  SubqueryNode,
  WhereNode,
  WrapNode,
  OuterRefNode,
  OuterRefResolver,
  WinFnNode,
  WindowNode,
  findAggregateOrWindow,
  JsonKeyNode,
  type JsonKeyMode,
  NodeTransformer,
  nextPrefix,
  ONE_NODE,
  collectExpr,
  collectWhere,
  type ExprNode,
  type Param,
  type Prep,
  type JoinSpec,
  type WhereChild,
  sameExpr,
  bindsValues,
} from './nodes';
import { namesToPath, type ResolvedPath } from './names-to-path';

/** An annotation: a name bound to an expression (aggregate or not). */
export interface Annotation {
  readonly name: string;
  readonly node: ExprNode;
  readonly aggregate: boolean;
  /** The field whose `fromDb` converts the value, when known. */
  readonly field: Field | undefined;
  /** Converter for aggregates (COUNT → number, ...). */
  readonly convert: ((v: unknown) => unknown) | undefined;
}

/** One selected value of `values()` / `valuesList()`. */
export interface ValueColumn {
  readonly name: string;
  readonly node: ExprNode;
  readonly field: Field | undefined;
  readonly convert: ((v: unknown) => unknown) | undefined;
}

export interface OrderItem {
  readonly node: ExprNode;
  readonly desc: boolean;
  readonly nulls: 'first' | 'last' | undefined;
}

/** A node of the select_related tree: a forward relation joined and hydrated with its parent. */
export interface RelatedSelection {
  readonly field: ForeignObject<never>;
  readonly meta: ModelMeta;
  readonly alias: string;
  readonly children: RelatedSelection[];
}

export type SelectKind = { kind: 'model' } | { kind: 'values'; columns: readonly ValueColumn[]; shape: 'object' | 'tuple' | 'flat' };

export interface ForUpdate {
  readonly nowait: boolean;
  readonly skipLocked: boolean;
  readonly of: readonly string[];
}

interface FilterContext {
  /** The filter() call: multi-valued joins are reused within it. */
  call: number;
  /** Reuse every existing join (annotate, order, values). */
  reuseAll: boolean;
  /** Under NOT (odd number of negations): Django's `current_negated`. */
  negated: boolean;
  /**
   * Under at least one NOT, even if an even number of them cancel (Django's `branch_negated`): a
   * multi-valued relation is then tested in a subquery, never joined.
   */
  branchNegated: boolean;
  /**
   * May a negated multi-valued lookup become a subquery (Django's `split_subq`)? Not in a
   * condition used as an expression (an aggregate's `filter`, `When`): there it is tested on each
   * joined row, as Django's `Q.resolve_expression` does.
   */
  splitSubq: boolean;
  /** Under an OR branch. */
  inOr: boolean;
  /** May joins be created? (false in update()). */
  allowJoins: boolean;
  /** A LEFT join is needed regardless (ordering, annotations, values). */
  forceOuter: boolean;
}

interface SimplePlan {
  readonly field: Field;
  readonly relTarget: ModelMeta | undefined;
  readonly lookup: string;
  readonly lhs: ColNode;
  readonly prep: Prep | undefined;
}

/** A path resolved from the base model and joined: the column it ends on and what is left of it. */
interface JoinedPath {
  alias: string;
  field: Field;
  column: string;
  /** Names left: transforms and the lookup. */
  rest: readonly string[];
  /** The path ended on a relation: values are instances of this model (or their pk). */
  relTarget: ModelMeta | undefined;
  /** May the final column be NULL (nullable field or outer join)? */
  nullable: boolean;
  /** The last join used (its outer-ness decides IS NOT NULL handling). */
  lastJoin: Join | undefined;
}

const DEFAULT_CTX: FilterContext = {
  call: 0,
  reuseAll: true,
  negated: false,
  branchNegated: false,
  splitSubq: true,
  inOr: false,
  allowJoins: true,
  forceOuter: true,
};

export class Query {
  readonly meta: ModelMeta;
  /** Alias prefix: 'T' for the outermost query, 'U', 'V', ... for subqueries. */
  readonly prefix: string;
  /** The base table's alias. */
  readonly alias: string;
  joins: Join[] = [];
  where: WhereNode = EMPTY_WHERE;
  having: WhereNode = EMPTY_WHERE;
  annotations: Annotation[] = [];
  select: SelectKind = { kind: 'model' };
  /** Group by the selected values (values() before annotate()). */
  groupByValues: ValueColumn[] | undefined;
  /** Explicit ordering; undefined means the model's default ordering. */
  ordering: OrderItem[] | undefined;
  /** Terms as given, for reverse() and messages. */
  orderTerms: string[] | undefined;
  /** Has the default ordering been cleared (orderBy() with no term)? */
  distinct = false;
  /** `distinct(...fields)`: DISTINCT ON these expressions (PostgreSQL). */
  distinctFields: ExprNode[] | undefined;
  low = 0;
  high: number | undefined;
  forUpdate: ForUpdate | undefined;
  related: RelatedSelection[] | undefined;
  /** Nothing can match (an empty `__in`, `none()`). */
  empty = false;
  private calls = 0;
  private aliasCount = 0;

  constructor(meta: ModelMeta, prefix = 'T', alias?: string) {
    this.meta = meta;
    this.prefix = prefix;
    this.alias = alias ?? (prefix === 'T' ? meta.dbTable : `${prefix}0`);
    this.aliasCount = 1;
  }

  clone(): Query {
    // Explicit copies keep one hidden class for every Query (Object.assign would not).
    const q = new Query(this.meta, this.prefix, this.alias);
    q.joins = this.joins.length === 0 ? [] : this.joins.map((j) => ({ ...j }));
    q.where = this.where;
    q.having = this.having;
    q.annotations = this.annotations;
    q.select = this.select;
    q.groupByValues = this.groupByValues;
    q.ordering = this.ordering;
    q.orderTerms = this.orderTerms;
    q.distinct = this.distinct;
    q.distinctFields = this.distinctFields;
    q.low = this.low;
    q.high = this.high;
    q.forUpdate = this.forUpdate;
    q.related = this.related;
    q.empty = this.empty;
    q.calls = this.calls;
    q.aliasCount = this.aliasCount;
    return q;
  }

  /**
   * A copy whose aliases use `prefix` (`U0`, `U2`, ...), for use inside another query as a
   * subquery (Django's `relabeled_clone` / `change_aliases`). What only applies to a top-level
   * query is left out: row locks, select_related, the ordering terms as given.
   */
  relabeledClone(prefix: string, outer?: ReadonlyMap<string, string>): Query {
    if (prefix === this.prefix && outer === undefined) return this.clone();
    const q = new Query(this.meta, prefix);
    // The enclosing queries' renamings first (correlated columns), this query's own over them.
    const aliases = new Map<string, string>(outer ?? []);
    aliases.set(this.alias, q.alias);
    let n = 1;
    for (const j of this.joins) {
      n += 1;
      aliases.set(j.alias, `${prefix}${n}`);
    }
    q.joins = this.joins.map((j) => ({
      ...j,
      alias: aliases.get(j.alias) as string,
      parentAlias: aliases.get(j.parentAlias) ?? j.parentAlias,
    }));
    q.aliasCount = n;
    q.calls = this.calls;
    const t = new AliasRelabeler(aliases, prefix);
    q.where = t.transformWhere(this.where);
    q.having = t.transformWhere(this.having);
    q.annotations = this.annotations.map((a) => ({ ...a, node: t.transformExpr(a.node) }));
    q.select =
      this.select.kind === 'values'
        ? { ...this.select, columns: this.select.columns.map((c) => ({ ...c, node: t.transformExpr(c.node) })) }
        : this.select;
    q.groupByValues = this.groupByValues?.map((c) => ({ ...c, node: t.transformExpr(c.node) }));
    q.ordering = this.ordering?.map((o) => ({ ...o, node: t.transformExpr(o.node) }));
    q.distinct = this.distinct;
    q.distinctFields = this.distinctFields?.map((n) => t.transformExpr(n));
    q.low = this.low;
    q.high = this.high;
    q.empty = this.empty;
    return q;
  }

  /** A copy with every expression of the tree passed through `t` (this query when nothing changed). */
  transformed(t: NodeTransformer): Query {
    const where = t.transformWhere(this.where);
    const having = t.transformWhere(this.having);
    const annotations = this.annotations.map((a) => {
      const node = t.transformExpr(a.node);
      return node === a.node ? a : { ...a, node };
    });
    const col = (c: ValueColumn): ValueColumn => {
      const node = t.transformExpr(c.node);
      return node === c.node ? c : { ...c, node };
    };
    const select: SelectKind = this.select.kind === 'values' ? { ...this.select, columns: this.select.columns.map(col) } : this.select;
    const groupByValues = this.groupByValues?.map(col);
    const ordering = this.ordering?.map((o) => {
      const node = t.transformExpr(o.node);
      return node === o.node ? o : { ...o, node };
    });
    const same = (a: readonly unknown[] | undefined, b: readonly unknown[] | undefined) =>
      a === b || (a !== undefined && b !== undefined && a.length === b.length && a.every((x, i) => x === b[i]));
    if (
      where === this.where &&
      having === this.having &&
      same(annotations, this.annotations) &&
      (select === this.select ||
        (select.kind === 'values' && this.select.kind === 'values' && same(select.columns, this.select.columns))) &&
      same(groupByValues, this.groupByValues) &&
      same(ordering, this.ordering)
    )
      return this;
    const q = this.clone();
    q.where = where;
    q.having = having;
    q.annotations = annotations;
    q.select = select;
    q.groupByValues = groupByValues;
    q.ordering = ordering;
    return q;
  }

  /**
   * A query set's query embedded in this one as a subquery (`__in`, `Subquery`, `Exists`): relabeled
   * to this query's subquery prefix, its outer references (`OuterRef`) resolved against this query.
   */
  embed(value: unknown, form: SubqueryNode['form'], ctx: FilterContext = DEFAULT_CTX): SubqueryNode {
    let sub = (value as { toSubquery(prefix: string): Query }).toSubquery(nextPrefix(this.prefix));
    if (form === 'exists' || form === 'notExists') {
      // EXISTS(SELECT 1 AS a ... LIMIT 1), as Django's Exists.
      sub.select = { kind: 'values', columns: [{ name: 'a', node: ONE_NODE, field: undefined, convert: undefined }], shape: 'flat' };
      if (sub.grouped && sub.groupByValues === undefined)
        sub.groupByValues = [{ name: 'pk', node: ColNode.create(sub.alias, sub.meta.pk), field: sub.meta.pk, convert: undefined }];
      if (!sub.isSliced) {
        sub.ordering = [];
        sub.setLimits(0, 1);
      }
    } else if (sub.select.kind === 'values' && sub.select.columns.length !== 1) {
      throw new FieldError(
        `${this.meta.name}: a subquery used as a value must select one column (values('x')), got ${sub.select.columns.length}: ${sub.select.columns.map((c) => c.name).join(', ')}.`,
        { model: this.meta.name },
      );
    }
    const resolver = new OuterRefResolver((name) =>
      this.resolveExpression(new FieldRef(name), { ...ctx, reuseAll: true, forceOuter: true }),
    );
    sub = sub.transformed(resolver);
    const field =
      form === 'exists' || form === 'notExists'
        ? OUTPUT.boolean
        : sub.select.kind === 'values'
          ? sub.select.columns[0]?.field
          : sub.meta.pk;
    return SubqueryNode.create(sub, form, field);
  }

  // ---- joins --------------------------------------------------------------------------------------

  private newAlias(table: string): string {
    this.aliasCount += 1;
    if (this.prefix === 'T' && table !== this.alias && !this.joins.some((j) => j.alias === table || j.table === table)) return table;
    return `${this.prefix}${this.aliasCount}`;
  }

  private parentOuter(alias: string): boolean {
    if (alias === this.alias) return false;
    return this.joins.find((j) => j.alias === alias)?.outer ?? false;
  }

  /** Promote a join and the joins hanging from it to LEFT OUTER. */
  private promote(j: Join): void {
    if (j.outer) return;
    j.outer = true;
    for (const c of this.joins) if (c.parentAlias === j.alias) this.promote(c);
  }

  /** Join `spec` from `parentAlias`, reusing an existing join of the same hop when the rules allow (see the module comment). */
  private join(ctx: FilterContext, spec: JoinSpec, parentAlias: string): Join {
    if (!ctx.allowJoins) {
      throw new FieldError(
        `Joined field references are not permitted in this query (${this.meta.name}): update() and F() in updates work on the model's own columns.`,
        { model: this.meta.name },
      );
    }
    const wantOuter = spec.nullableHop && (ctx.forceOuter || ctx.inOr || ctx.negated);
    // The most recent join of the hop (Django's Query.join(): a relation joined by several filter()
    // calls is read through the last one by annotate(), F(), values(), orderBy() and aggregate()).
    for (let i = this.joins.length - 1; i >= 0; i--) {
      const j = this.joins[i] as Join;
      if (j.rel !== spec.rel || j.parentAlias !== parentAlias) continue;
      if (spec.multi && !ctx.reuseAll && j.call !== ctx.call) continue;
      if (wantOuter || this.parentOuter(j.parentAlias)) this.promote(j);
      return j;
    }
    const j = Join.create(spec, this.newAlias(spec.table), parentAlias, wantOuter || this.parentOuter(parentAlias), ctx.call);
    this.joins.push(j);
    return j;
  }

  /**
   * Resolve `names` (a key split on `__`) from the base model and join the relations it crosses:
   * the column compared, the transforms and lookup left.
   */
  private resolvePath(names: readonly string[], ctx: FilterContext, key: string): JoinedPath {
    const path = namesToPath(this.meta, names);
    let alias = this.alias;
    let lastJoin: Join | undefined;
    for (const step of path.steps) {
      for (const spec of step.joins) {
        lastJoin = this.join(ctx, spec, alias);
        alias = lastJoin.alias;
      }
    }
    if (path.failed) throw path.failed.meta.unknownField(path.failed.name, key === path.failed.name ? undefined : `'${key}'`);
    if (!path.field) throw this.meta.unknownField(names[names.length - 1] ?? '', `'${key}'`);
    return {
      alias,
      field: path.field,
      column: path.column,
      rest: path.rest,
      relTarget: path.relTarget,
      nullable: path.nullable,
      lastJoin,
    };
  }

  // ---- filters --------------------------------------------------------------------------------------

  /** Add `filter(...)` (negate = false) or `exclude(...)` (negate = true) conditions. */
  addFilter(q: QNode<unknown>, negate: boolean): void {
    if (q.empty && !negate) return;
    this.calls += 1;
    const ctx: FilterContext = {
      call: this.calls,
      reuseAll: false,
      negated: false,
      branchNegated: false,
      splitSubq: true,
      inOr: false,
      allowJoins: true,
      forceOuter: false,
    };
    const built = this.buildQ(negate ? q.not() : q, ctx);
    if (built.children.length === 0 && !built.negated) return;
    // Django's check_filterable: a window is computed after WHERE and HAVING.
    if (whereHas(built, (n) => n.kind === 'window')) throw new NotSupportedError('Window is disallowed in the filter clause.');
    // Conditions on aggregates go to HAVING, with whatever they are ORed with (Django's split_having).
    const [node, having] = splitHaving(built, false);
    if (having) this.having = WhereNode.create('AND', false, flattenAnd([...this.having.children, having]));
    if (!node) return;
    this.where = WhereNode.create('AND', false, flattenAnd([...this.where.children, node]));
    if (this.hasNothing(this.where)) this.empty = true;
  }

  /**
   * The fast path of `filter({ ... })`: keys on the model's own columns (no join, no transform),
   * resolved once per model and key and cached as a plan. Returns false (and changes nothing) when
   * any key needs the general path.
   */
  addSimpleFilter(obj: Record<string, unknown>): boolean {
    if (this.annotations.length > 0) return false;
    const keys = Object.keys(obj);
    if (keys.length === 0) return true;
    let cache = this.meta.plans.get(this.alias) as Map<string, SimplePlan | null> | undefined;
    if (cache === undefined) this.meta.plans.set(this.alias, (cache = new Map()));
    const nodes: WhereChild[] = [];
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      let plan = cache.get(key);
      if (plan === undefined) {
        plan = this.simplePlan(key);
        cache.set(key, plan);
      }
      if (plan === null) return false;
      const value = obj[key];
      const target = plan.relTarget ? plan.relTarget.pk : plan.field;
      if (plan.lookup === 'in') {
        // Primitive lists only (instances, NULLs, duplicates and query sets take the general path).
        if (!Array.isArray(value) || value.length === 0) return false;
        const items: unknown[] = [];
        const seen = new Set<unknown>();
        for (const v of value) {
          if (v === null || v === undefined || typeof v === 'object' || typeof v === 'function') return false;
          const js = target.toJs(v);
          if (seen.has(js)) continue;
          seen.add(js);
          items.push(js);
        }
        // The whole list is one parameter: one SQL shape whatever its length.
        nodes.push(LookupNode.create('in', plan.lhs, ParamNode.create(items, listPrep(plan.prep))));
        continue;
      }
      if (value === null || value === undefined || typeof value === 'object' || typeof value === 'function') return false;
      nodes.push(LookupNode.create(plan.lookup, plan.lhs, ParamNode.create(target.toJs(value), plan.prep)));
    }
    this.calls += 1;
    this.where = WhereNode.create('AND', false, this.where.children.length === 0 ? nodes : [...this.where.children, ...nodes]);
    return true;
  }

  /** A cached plan for `key` when it is a comparison on a column of the base table, else null. */
  private simplePlan(key: string): SimplePlan | null {
    const names = key.split('__');
    if (names.length > 2) return null;
    const name = names[0] as string;
    const lookup = names[1] ?? 'exact';
    if (!['exact', 'gt', 'gte', 'lt', 'lte', 'in'].includes(lookup)) return null;
    const el = this.meta.pathElement(name);
    if (!el || el.kind !== 'field' || !el.field.concrete) return null;
    const f = el.field;
    const isFk = f instanceof ForeignObject;
    if (f.lookupKind === 'json' || (lookup !== 'exact' && f.lookupKind === 'boolean')) return null;
    const relTarget = isFk && name === f.name ? (f as ForeignObject<never>).relatedMeta : undefined;
    const lhs = ColNode.create(this.alias, f, f.column);
    const prep = relTarget ? fieldPrep(relTarget.pk) : f.lookupKind === 'text' ? textPrep(f) : fieldPrep(f);
    return { field: f, relTarget, lookup, lhs, prep };
  }

  /** An always-false AND branch at the top makes the whole query empty (no SQL needed). */
  private hasNothing(w: WhereNode): boolean {
    if (w.negated) return false;
    if (w.connector === 'AND') return w.children.some((c) => c.kind === 'nothing' || (c.kind === 'where' && this.hasNothing(c)));
    return w.children.length > 0 && w.children.every((c) => c.kind === 'nothing' || (c.kind === 'where' && this.hasNothing(c)));
  }

  private buildQ(q: QNode<unknown>, parent: FilterContext): WhereNode {
    const negated = parent.negated !== q.negated;
    // Django's JoinPromoter: under an odd number of NOTs an AND is an OR of negations (and an OR
    // an AND), so a join that not every branch needs must keep its NULL rows: a positive lookup
    // in NOT (NOT (publisher__name = x AND ...) AND y) may match a row without a publisher.
    const effectiveOr = (q.connector === 'OR') !== negated;
    const ctx: FilterContext = {
      ...parent,
      negated,
      branchNegated: parent.branchNegated || q.negated,
      inOr: parent.inOr || (effectiveOr && q.children.length > 1),
    };
    const children: WhereChild[] = [];
    for (const child of q.children) {
      if (QNode.is(child)) {
        const w = this.buildQ(child, ctx);
        if (w.children.length > 0) children.push(w);
      } else if (Expression.is(child)) {
        // A condition expression (Exists(...)): `WHERE EXISTS (...)`.
        const node = this.resolveExpression(child, ctx);
        const field = this.outputOf(node);
        if (field?.lookupKind !== 'boolean')
          throw new TypeError(
            `${this.meta.name}: a condition (filter(), Q, When) takes a boolean expression (Exists(...)), got one of type ${field?.internalType ?? 'unknown'}.`,
          );
        children.push(LookupNode.create('expr', node, undefined));
      } else {
        const [key, value] = child as readonly [string, unknown];
        children.push(this.buildLookup(key, value, ctx));
      }
    }
    return WhereNode.create(q.connector, q.negated, simplify(children, q.connector));
  }

  /** Build the condition for one `key: value` pair. */
  private buildLookup(key: string, value: unknown, ctx: FilterContext): WhereChild {
    if (typeof key !== 'string' || key === '') throw new FieldError(`${this.meta.name}: an empty lookup key.`, { model: this.meta.name });
    const names = key.split('__');
    // A plain object under a relation is the nested form: { author: { name__startswith: 'A' } }.
    if (isPlainObject(value) && !hasBrand(value, QUERYSET_BRAND)) {
      const el = this.meta.pathElement(names[0] as string);
      const last = names[names.length - 1] as string;
      if (el && !ALL_LOOKUPS.has(last) && endsOnRelation(namesToPath(this.meta, names))) {
        const entries = Object.entries(value as Record<string, unknown>);
        if (entries.length === 0) return WhereNode.create('AND', false, []);
        const sub = new QNode(
          'AND',
          false,
          entries.map(([k, v]) => [`${key}__${k}`, v] as const),
        );
        return this.buildQ(sub, ctx);
      }
    }
    // Annotations (HAVING or WHERE on the annotation's expression).
    const ann = this.annotations.find((a) => a.name === names[0]);
    if (ann) return this.buildAnnotationLookup(ann, names, key, value, ctx);

    if (ctx.branchNegated && ctx.splitSubq && namesToPath(this.meta, names).multi) {
      // Django's split_exclude: pk IN (SELECT pk FROM ... WHERE <positive condition>), under the
      // NOT(s) above it. Under any negation, even two that cancel (exclude(Q.not(...)),
      // Q.not(Q.not(...))): a join there would repeat rows and lose the rows without related rows.
      const inner = new Query(this.meta, nextPrefix(this.prefix));
      inner.addFilter(new QNode('AND', false, [[key, value]]), false);
      inner.select = {
        kind: 'values',
        columns: [{ name: 'pk', node: ColNode.create(inner.alias, this.meta.pk), field: this.meta.pk, convert: undefined }],
        shape: 'flat',
      };
      inner.ordering = [];
      const sub = SubqueryNode.create(inner);
      return LookupNode.create('in', ColNode.create(this.alias, this.meta.pk), sub);
    }

    const last = names[names.length - 1] as string;
    const isnullTrue = (last === 'isnull' && value === true) || ((last === 'exact' || !ALL_LOOKUPS.has(last)) && value === null);
    const pctx: FilterContext = isnullTrue ? { ...ctx, forceOuter: true } : ctx;
    const path = this.resolvePath(names, pctx, key);
    const cond = this.buildCondition(path, value, key, pctx);
    // Negated comparisons (Django's build_filter under current_negated): NOT (x = v AND x IS NOT
    // NULL), so that a row whose x is NULL, which matches neither x = v nor its negation in SQL,
    // is kept by the NOT as Python's None handling would.
    if (!ctx.negated || cond.kind !== 'lookup' || cond.lookup === 'isnull' || value === null) return cond;
    const notNull: WhereChild[] = [];
    if (path.nullable || path.lastJoin?.outer) {
      // On a JSON key: the document IS NOT NULL, as Django 3.2 writes it (so a document without the
      // key is excluded too: its key compares as NULL inside the NOT).
      const col =
        cond.lhs.kind === 'jsonkey'
          ? cond.lhs.arg
          : cond.lhs.kind === 'col'
            ? cond.lhs
            : ColNode.create(path.alias, path.field, path.column);
      notNull.push(LookupNode.create('isnull', col, undefined, false));
    }
    // The right-hand side a nullable column (F('weight'), F('author__age')): it IS NOT NULL too.
    // As Django, only a plain column (the field's nullability, not the join's), not an expression
    // over one (F('weight').add(1) stays NULL inside the NOT, as in Django).
    const rhs = cond.rhs;
    if (rhs !== undefined && !Array.isArray(rhs) && (rhs as ExprNode).kind === 'col' && (rhs as ColNode).field.null)
      notNull.push(LookupNode.create('isnull', rhs as ColNode, undefined, false));
    return notNull.length === 0 ? cond : WhereNode.create('AND', false, [cond, ...notNull]);
  }

  /** The lhs (column plus transforms) and the lookup, then the rhs from the value. */
  private buildCondition(path: JoinedPath, value: unknown, key: string, ctx: FilterContext): WhereChild {
    const model = this.meta.name;
    const field = path.field;
    const isRelation = path.relTarget !== undefined || field instanceof ForeignObject;
    let kind: string = isRelation ? 'relation' : field.lookupKind;
    let lhs: ExprNode = ColNode.create(path.alias, field, path.column);
    const rest = path.rest;
    let lookup = 'exact';
    let prepField: Field | undefined = field;
    if (kind === 'json' && (rest.length > 0 || value === null)) return this.buildJsonCondition(lhs, field, rest, value, key, ctx);
    // The type of the left-hand side so far (a registered transform changes it): registered lookups apply to it.
    let current: Field | undefined = isRelation ? undefined : field;
    for (let i = 0; i < rest.length; i++) {
      const name = rest[i] as string;
      const isLast = i === rest.length - 1;
      const registered = registeredFor(current, name);
      if (registered?.kind === 'transform') {
        lhs = this.resolveExpression(registered.apply(new ResolvedExpression(lhs, current)), ctx);
        current = this.outputOf(lhs);
        kind = current?.lookupKind ?? 'text';
        prepField = current;
        continue;
      }
      if (registered?.kind === 'lookup' && isLast) {
        const o = { field: current, prepField: current, kind, relTarget: undefined, key, ctx };
        if (value === null || value === undefined)
          throw new FieldError(`${model}: '${key}' (the '${name}' lookup) takes a value, got ${String(value)}.`, { model, field: key });
        const rhs = Expression.is(value)
          ? this.resolveExpression(value, ctx)
          : ParamNode.create(this.normalize(value, o, key), this.prepFor(o));
        return LookupNode.create(registered.id, lhs, rhs);
      }
      if ((isDatePart(name) && (kind === 'date' || kind === 'datetime')) || (isTimePart(name) && kind === 'datetime')) {
        lhs = PartNode.create(name, kind === 'datetime', lhs);
        kind = 'part';
        prepField = undefined;
        current = undefined;
        continue;
      }
      if (name === 'date' && kind === 'datetime') {
        lhs = DateNode.create(lhs);
        kind = 'date';
        prepField = undefined;
        current = undefined;
        continue;
      }
      if (isLast && lookupsFor(kind as never).includes(name)) {
        lookup = name;
        continue;
      }
      throw unsupportedLookup(model, field, name, kind as never);
    }
    const transformed = current !== (isRelation ? undefined : field);
    return this.makeLookup(lhs, lookup, value, {
      field: transformed ? current : field,
      prepField,
      kind,
      relTarget: transformed ? undefined : path.relTarget,
      key,
      ctx,
    });
  }

  /**
   * A lookup on a JSON document or on a key path into it (Django's `KeyTransform`): every name that
   * is not a JSON lookup is a key (an integer is an array index), the last may be a lookup.
   */
  private buildJsonCondition(
    doc: ExprNode,
    field: Field,
    rest: readonly string[],
    value: unknown,
    key: string,
    ctx: FilterContext,
  ): WhereChild {
    const model = this.meta.name;
    const last = rest[rest.length - 1] as string;
    const lookup = JSON_LOOKUPS.get(last);
    const keys = jsonPath(lookup === undefined ? rest : rest.slice(0, -1));
    const name = lookup ?? 'exact';
    const onKey = keys.length > 0;
    // A lookup Spool does not support on JSON (range; gt, in, icontains, … on the whole document)
    // must not be read as one more key: that silently matched nothing.
    if ((lookup === undefined && ALL_LOOKUPS.has(last)) || (!onKey && KEY_ONLY_LOOKUPS.has(name)))
      throw new NotSupportedError(
        `${model}: the lookup '${last}' in '${key}' is not supported on a JSON ${onKey ? 'key' : 'field'} (supported: exact, isnull, contains, contained_by, has_key, has_keys, has_any_keys; on a key also ${[...KEY_ONLY_LOOKUPS].join(', ')}).`,
      );
    if (isTextLookup(name) && name !== 'contains') {
      // Django's KeyTransformIExact, IContains, StartsWith, ..., Regex, IRegex: on the key's value as text.
      const s = checkPatternValue(model, key, name, value);
      return LookupNode.create(name, jsonKeyNode(doc, keys, 'lookup', field), ParamNode.create(s, patternPrep(name, undefined)));
    }
    if (name === 'gt' || name === 'gte' || name === 'lt' || name === 'lte') {
      // Django's KeyTransformLt/Lte/Gt/Gte (KeyTransformNumericLookupMixin).
      const cmp = jsonKeyNode(doc, keys, 'cmp', field);
      if (Expression.is(value)) {
        const rhs = this.resolveExpression(value, ctx);
        return LookupNode.create(
          `json_${name}`,
          cmp,
          rhs.kind === 'jsonkey' ? JsonKeyNode.create(rhs.arg, rhs.path, rhs.depth, 'cmp', rhs.field) : rhs,
        );
      }
      if (typeof value !== 'number' && typeof value !== 'string' && typeof value !== 'boolean')
        throw new FieldError(`${model}: '${key}' takes a number, a string or a boolean, got ${describe(value)}.`, { model, field: key });
      return LookupNode.create(`json_${name}`, cmp, ParamNode.create(field.toJs(value), jsonComparePrep));
    }
    if (name === 'in') {
      // Django's KeyTransformIn: each item a JSON value (NULLs dropped; an empty list matches nothing).
      if (!Array.isArray(value))
        throw new FieldError(`${model}: the value of '${key}' (an in lookup) must be a list, got ${describe(value)}.`, {
          model,
          field: key,
        });
      const seen = new Set<string>();
      const items: ParamNode[] = [];
      for (const raw of value as unknown[]) {
        if (raw === null || raw === undefined) continue;
        const v = field.toJs(raw);
        const text = JSON.stringify(v);
        if (seen.has(text)) continue;
        seen.add(text);
        items.push(ParamNode.create(v, fieldPrep(field)));
      }
      if (items.length === 0) return NOTHING;
      return LookupNode.create('json_in', jsonKeyNode(doc, keys, 'cmp', field), items);
    }
    const lhs = onKey ? jsonKeyNode(doc, keys, 'json', field) : doc;
    switch (name) {
      case 'exact':
        if (value === undefined || Expression.is(value))
          throw new FieldError(`${model}: '${key}' takes a JSON value (null for JSON null).`, { model, field: key });
        if (!onKey) {
          // Django: `doc: null` is the JSON null document (SQL NULL is `doc__isnull: true`).
          if (value === null) return LookupNode.create('json_null', doc, undefined);
          return LookupNode.create('exact', doc, ParamNode.create(field.toJs(value), fieldPrep(field)));
        }
        if (value === null) return LookupNode.create('json_null', lhs, undefined);
        return LookupNode.create('json_exact', lhs, ParamNode.create(field.toJs(value), fieldPrep(field)));
      case 'isnull':
        if (typeof value !== 'boolean')
          throw new FieldError(`${model}: the value of '${key}' (an isnull lookup) must be true or false, got ${describe(value)}.`, {
            model,
            field: key,
          });
        // On a key: is the key missing (Django's KeyTransformIsNull); on the document: SQL NULL.
        return onKey ? LookupNode.create('json_isnull', lhs, undefined, value) : LookupNode.create('isnull', doc, undefined, value);
      case 'contains':
      case 'contained_by':
        if (value === null || value === undefined || Expression.is(value))
          throw new FieldError(`${model}: '${key}' takes a JSON value.`, { model, field: key });
        return LookupNode.create(`json_${name}`, lhs, ParamNode.create(field.toJs(value), fieldPrep(field)));
      default: {
        // has_key, has_keys, has_any_keys: the paths of the keys, under the key path if any.
        const list = name === 'has_key' ? [value] : value;
        if (!Array.isArray(list) || list.length === 0 || list.some((k) => typeof k !== 'string' && typeof k !== 'number'))
          throw new FieldError(
            `${model}: the value of '${key}' must be ${name === 'has_key' ? 'a key (a string)' : 'a non-empty list of keys (strings)'}, got ${describe(value)}.`,
            { model, field: key },
          );
        const paths = (list as (string | number)[]).map((k) => ParamNode.create([...keys, ...jsonPath([String(k)])], jsonPathPrep));
        return LookupNode.create(name === 'has_any_keys' ? 'json_has_any_keys' : 'json_has_keys', doc, paths);
      }
    }
  }

  private makeLookup(
    lhs: ExprNode,
    lookup: string,
    value: unknown,
    o: {
      field: Field | undefined;
      prepField: Field | undefined;
      kind: string;
      relTarget: ModelMeta | undefined;
      key: string;
      ctx: FilterContext;
    },
  ): WhereChild {
    const model = this.meta.name;
    const key = o.key;
    if (lookup === 'isnull') {
      if (typeof value !== 'boolean')
        throw new FieldError(`${model}: the value of '${key}' (an isnull lookup) must be true or false, got ${describe(value)}.`, {
          model,
          field: key,
        });
      return LookupNode.create('isnull', lhs, undefined, value);
    }
    if (value === null || value === undefined) {
      if (lookup === 'exact' && value === null) return LookupNode.create('isnull', lhs, undefined, true);
      throw new FieldError(
        `${model}: ${value === undefined ? 'undefined' : 'null'} cannot be used as a query value for '${key}'${value === null ? ' (use isnull: true)' : ''}.`,
        { model, field: key },
      );
    }
    if (Expression.is(value)) {
      if (lookup === 'in' || lookup === 'range')
        throw new FieldError(`${model}: '${key}' takes a list, not an expression.`, { model, field: key });
      const rhs = this.resolveExpression(value, o.ctx);
      return LookupNode.create(lookup, lhs, rhs);
    }
    if (lookup === 'in') {
      if (hasBrand(value, QUERYSET_BRAND)) return LookupNode.create('in', lhs, this.embed(value, 'in', o.ctx));
      if (!isIterable(value) || typeof value === 'string')
        throw new FieldError(`${model}: the value of '${key}' (an in lookup) must be a list, got ${describe(value)}.`, {
          model,
          field: key,
        });
      const seen = new Set<unknown>();
      const items: unknown[] = [];
      for (const raw of value as Iterable<unknown>) {
        if (raw === null || raw === undefined) continue; // NULL never matches IN (Django drops it)
        const v = this.normalize(raw, o, key);
        const sk = v instanceof Date ? `d${v.getTime()}.${extraMicroseconds(v)}` : v;
        if (seen.has(sk)) continue;
        seen.add(sk);
        items.push(v);
      }
      if (items.length === 0) return NOTHING;
      // The whole list is one parameter: one SQL shape whatever its length (see `ops.inListSql`).
      return LookupNode.create('in', lhs, ParamNode.create(items, listPrep(this.prepFor(o))));
    }
    if (lookup === 'range') {
      if (!Array.isArray(value) || value.length !== 2)
        throw new FieldError(
          `${model}: the value of '${key}' (a range lookup) must be a list of two values [low, high], got ${describe(value)}.`,
          { model, field: key },
        );
      const nodes = value.map((v) => {
        if (Expression.is(v)) return this.resolveExpression(v, o.ctx);
        if (v === null || v === undefined) throw new FieldError(`${model}: '${key}' bounds cannot be null.`, { model, field: key });
        return ParamNode.create(this.normalize(v, o, key), this.prepFor(o));
      });
      return LookupNode.create('range', lhs, nodes);
    }
    if (isTextLookup(lookup)) {
      const s = checkPatternValue(model, key, lookup, value);
      return LookupNode.create(lookup, lhs, ParamNode.create(s, patternPrep(lookup, o.field)));
    }
    if (isComparison(lookup)) {
      return LookupNode.create(lookup, lhs, ParamNode.create(this.normalize(value, o, key), this.prepFor(o)));
    }
    throw unsupportedLookup(model, o.field ?? key, lookup, o.kind as never);
  }

  /** Check and normalise a value at filter time (a wrong type is an error now, not at the database). */
  private normalize(
    value: unknown,
    o: { field: Field | undefined; prepField: Field | undefined; kind: string; relTarget: ModelMeta | undefined },
    key: string,
  ): unknown {
    if (o.relTarget || (o.field instanceof ForeignObject && o.prepField === o.field)) {
      const target = o.relTarget ?? (o.field as ForeignObject<never>).relatedMeta;
      if (isModelInstance(value)) {
        const meta = instanceMeta(value);
        if (meta !== target) {
          throw new FieldError(
            `${this.meta.name}: cannot query '${key}' with a ${meta?.name ?? 'model'} instance: it must be a ${target.name} instance or its primary key.`,
            { model: this.meta.name, field: key },
          );
        }
        const pk = (value as Record<string, unknown>)[target.pk.attname];
        if (pk === null || pk === undefined)
          throw new FieldError(`${this.meta.name}: cannot query '${key}' with an unsaved ${target.name} (its primary key is not set).`, {
            model: this.meta.name,
            field: key,
          });
        return pk;
      }
      return target.pk.toJs(value);
    }
    if (isModelInstance(value))
      throw new FieldError(
        `${this.meta.name}: '${key}' is not a relation; pass a value, not a ${instanceMeta(value)?.name ?? 'model'} instance.`,
        { model: this.meta.name, field: key },
      );
    if (o.kind === 'part') {
      const n = typeof value === 'number' ? value : Number(value);
      if (!Number.isInteger(n))
        throw new FieldError(`${this.meta.name}: '${key}' takes an integer, got ${describe(value)}.`, {
          model: this.meta.name,
          field: key,
        });
      return n;
    }
    if (o.kind === 'date' && o.prepField === undefined) {
      // datetime__date: a date.
      const d = value instanceof Date ? value.toISOString().slice(0, 10) : String(value);
      if (!/^\d{4}-\d{2}-\d{2}$/.test(d))
        throw new FieldError(`${this.meta.name}: '${key}' takes a date (YYYY-MM-DD), got ${describe(value)}.`, {
          model: this.meta.name,
          field: key,
        });
      return d;
    }
    return o.prepField ? o.prepField.toJs(value) : value;
  }

  /** How the values of a comparison are prepared for binding (the same for every comparison of a kind). */
  private prepFor(o: { field: Field | undefined; prepField: Field | undefined; relTarget: ModelMeta | undefined; kind: string }) {
    if (o.relTarget) return fieldPrep(o.relTarget.pk);
    if (o.kind === 'part') return numberPrep;
    if (!o.prepField) return undefined;
    if (o.prepField.lookupKind === 'text') return textPrep(o.prepField);
    return fieldPrep(o.prepField);
  }

  private buildAnnotationLookup(ann: Annotation, names: string[], key: string, value: unknown, ctx: FilterContext): WhereChild {
    if (names.length > 2)
      throw new FieldError(`${this.meta.name}: '${key}': lookups on an annotation take one lookup (${ann.name}__gt), not a path.`, {
        model: this.meta.name,
        field: key,
      });
    const lookup = names[1] ?? 'exact';
    // Text annotations (Lower('name'), ...) take the text lookups too.
    const allowed = ann.field?.lookupKind === 'text' ? lookupsFor('text') : ['exact', 'gt', 'gte', 'lt', 'lte', 'in', 'range', 'isnull'];
    if (!allowed.includes(lookup)) throw unsupportedLookup(this.meta.name, ann.name, lookup, 'integer');
    const lhs: ExprNode = ann.aggregate ? AnnotRefNode.create(ann.name, true) : ann.node;
    const node = this.makeLookup(lhs, lookup, value, {
      field: ann.field,
      prepField: ann.field,
      kind: ann.field?.lookupKind ?? 'float',
      relTarget: undefined,
      key,
      ctx,
    });
    // A condition on an aggregate stays in the tree; addFilter() moves it (and what it is ORed with) to HAVING.
    return node;
  }

  // ---- expressions --------------------------------------------------------------------------------

  /** Resolve an expression (F, Value, arithmetic, aggregate) against the model. */
  resolveExpression(e: Expression, ctx: FilterContext = DEFAULT_CTX, declared?: Field): ExprNode {
    // A registered transform's left-hand side, already resolved.
    if (e instanceof ResolvedExpression) return e.node;
    if (e instanceof FieldRef || (e as FieldRef).kind === 'ref') {
      const name = (e as FieldRef).name;
      const ann = this.annotations.find((a) => a.name === name);
      if (ann) return ann.aggregate ? AnnotRefNode.create(ann.name, true) : ann.node;
      const names = name.split('__');
      const path = this.resolvePath(names, ctx, name);
      const col = ColNode.create(path.alias, path.field, path.column);
      // A key path into a JSON document: Django's KeyTransform, its value as JSON.
      if (path.rest.length > 0 && path.field.lookupKind === 'json' && !(path.field instanceof ForeignObject))
        return jsonKeyNode(col, jsonPath(path.rest), 'json', path.field);
      if (path.rest.length > 0) throw this.meta.unknownField(path.rest[0] as string, `F('${name}')`);
      return col;
    }
    if (e instanceof KeyTransformExpression || (e as KeyTransformExpression).kind === 'jsonkey') {
      const t = e as KeyTransformExpression;
      const source = this.resolveExpression(t.source, ctx, declared);
      const key = jsonPath([t.key]);
      const mode = t.text ? 'text' : 'json';
      if (source.kind === 'jsonkey')
        return jsonKeyNode(source.arg, [...(source.path.p.value as (string | number)[]), ...key], mode, source.field as Field);
      if (source.kind === 'col' && source.field.lookupKind === 'json') return jsonKeyNode(source, key, mode, source.field);
      throw new FieldError(
        `${this.meta.name}: ${t.text ? 'KeyTextTransform' : 'KeyTransform'}('${t.key}', ...) takes a JSON field or a key of one, got ${this.outputOf(source)?.internalType ?? 'an expression'}.`,
        { model: this.meta.name },
      );
    }
    if (e instanceof Value || (e as Value).kind === 'value') {
      const val = e as Value;
      const v = val.value;
      if (v === null || v === undefined) return NULL_NODE;
      // A literal is typed (Django's Value output_field): numbers are cast to their type in the SQL.
      const output = val.outputField ?? valueOutput(v);
      const kind = arithmeticKind(output);
      const cast =
        kind === 'integer' || kind === 'float' || kind === 'decimal' ? kind : output?.lookupKind === 'boolean' ? 'boolean' : undefined;
      if (output === undefined && typeof v === 'object')
        throw new FieldError(
          `Cannot resolve expression type, unknown output_field: give new Value(${describe(v)}, { outputField }) (as Django's Value).`,
          { model: this.meta.name },
        );
      const prep = val.outputField
        ? fieldPrep(val.outputField)
        : v instanceof Date && output !== undefined
          ? fieldPrep(output)
          : cast === 'boolean'
            ? booleanPrep
            : undefined;
      const param = ParamNode.create(v, prep, cast);
      // Other types (text, booleans) keep their type for arithmetic checks; the SQL is the parameter's.
      return cast === undefined && output !== undefined ? WrapNode.create(param, output) : param;
    }
    if (e instanceof CombinedExpression || (e as CombinedExpression).kind === 'combined') {
      const c = e as CombinedExpression;
      // Inside an ExpressionWrapper, nested operations may mix types too (Django resolves them lazily).
      const lhs = this.resolveExpression(c.lhs, ctx, declared);
      const rhs = this.resolveExpression(c.rhs, ctx, declared);
      let output: Field | undefined;
      try {
        output = combinedOutput(this.outputOf(lhs), this.outputOf(rhs));
      } catch (error) {
        // A mix of types needs a declared output type (ExpressionWrapper), which then is the type.
        if (declared === undefined) throw error;
        output = declared;
      }
      return CombinedNode.create(c.operator, lhs, rhs, output);
    }
    if (e instanceof WrappedExpression || (e as WrappedExpression).kind === 'wrapper') {
      const w = e as WrappedExpression;
      return WrapNode.create(this.resolveExpression(w.expression, ctx, w.outputField), w.outputField);
    }
    if (e instanceof Aggregate || (e as Aggregate).kind === 'aggregate') {
      const a = e as Aggregate;
      let arg: ExprNode | '*';
      // An annotation by name (Avg('nBooks')); a field of that name wins (aggregate() may reuse field names).
      const annotated =
        typeof a.source === 'string' && !this.meta.pathElement(a.source) ? this.annotations.find((x) => x.name === a.source) : undefined;
      if (a.source === '*') arg = '*';
      else if (annotated) arg = annotated.aggregate ? AnnotRefNode.create(annotated.name, true) : annotated.node;
      else if (typeof a.source === 'string') {
        const names = a.source.split('__');
        const path = this.resolvePath(names, { ...ctx, reuseAll: true, forceOuter: true }, a.source);
        if (path.rest.length > 0) throw this.meta.unknownField(path.rest[0] as string, `${a.fn}('${a.source}')`);
        arg = ColNode.create(path.alias, path.field, path.column);
      } else {
        arg = this.resolveExpression(a.source, { ...ctx, reuseAll: true, forceOuter: true });
        // Django's "Cannot compute Sum('Count'): 'Count' is an aggregate" (an aggregate of an
        // annotated aggregate, by name or F(), stays possible: aggregate() wraps the query).
        const inner = findAggregateOrWindow(arg);
        if (inner)
          throw new FieldError(
            `Cannot compute ${a.fn}(${inner.kind === 'agg' ? inner.fn : 'Window'}(...)): '${inner.kind === 'agg' ? inner.fn : 'Window'}' is ${inner.kind === 'agg' ? 'an aggregate' : 'a window expression'}. Annotate it first and aggregate over the annotation's name.`,
            { model: this.meta.name },
          );
      }
      // A filter (Django's filter=Q(...)) reuses the aggregate's joins.
      const filter =
        a.filter === undefined ? undefined : this.buildQ(a.filter, { ...ctx, reuseAll: true, forceOuter: true, splitSubq: false });
      return AggNode.create(a.fn, a.distinct, arg, aggregateOutput(a.fn, arg === '*' ? undefined : this.outputOf(arg)), filter);
    }
    if (e instanceof Func || (e as Func).kind === 'func') return resolveFunc(e as Func, this.functionResolver(ctx, declared));
    if (e instanceof CaseExpression || (e as CaseExpression).kind === 'case')
      return resolveCase(e as CaseExpression, this.functionResolver(ctx, declared));
    switch (e.kind) {
      case 'outerref': {
        const { name, depth } = (e as OuterRefExpression).target;
        return OuterRefNode.create(name, depth);
      }
      case 'subquery':
        return this.embed((e as SubqueryExpression).queryset, 'scalar', ctx);
      case 'exists': {
        const x = e as ExistsExpression;
        return this.embed(x.queryset, x.negated ? 'notExists' : 'exists', ctx);
      }
      case 'window':
        return this.resolveWindow(e as WindowExpression, ctx);
      case 'winfn':
        throw new TypeError(`${(e as WindowFunction).fn.toLowerCase()}() is a window function: use it in Window(...).`);
      default:
        throw new TypeError(`Unsupported expression ${String(e)}.`);
    }
  }

  /** `Window(expression, { partitionBy, orderBy, frame })`. */
  private resolveWindow(w: WindowExpression, ctx: FilterContext): ExprNode {
    const octx: FilterContext = { ...ctx, reuseAll: true, forceOuter: true };
    const e = w.expression;
    let expr: ExprNode;
    let field: Field | undefined;
    if (e.kind === 'winfn') {
      const f = e as WindowFunction;
      const args = f.args.map((a) => this.resolveExpression(typeof a === 'string' ? new FieldRef(a) : a, octx));
      field = f.output === 'integer' ? OUTPUT.integer : f.output === 'float' ? OUTPUT.float : args[0] && this.outputOf(args[0]);
      expr = WinFnNode.create(f.fn, args, f.literals, field);
    } else if (e.kind === 'aggregate') {
      expr = this.resolveExpression(e, octx);
      field = this.outputOf(expr);
    } else {
      throw new TypeError(
        `Expression '${e.constructor.name}' isn't compatible with OVER clauses: Window() takes a window function (RowNumber(), Lag(...)) or an aggregate (Sum(...)).`,
      );
    }
    const term = (t: WindowTerm, ordering: boolean): { node: ExprNode; desc: boolean } => {
      if (t instanceof OrderBy) return { node: this.resolveExpression(t.expression, octx), desc: t.descending };
      if (Expression.is(t)) return { node: this.resolveExpression(t, octx), desc: false };
      if (typeof t !== 'string' || t === '')
        throw new TypeError(`Window(): ${ordering ? 'orderBy' : 'partitionBy'} takes field names or expressions, got ${describe(t)}.`);
      const desc = ordering && t.startsWith('-');
      return { node: this.resolveExpression(new FieldRef(desc ? t.slice(1) : t), octx), desc };
    };
    const partition = w.partitionBy.map((t) => term(t, false).node);
    const order = w.orderBy.map((t) => term(t, true));
    const frame = w.frame ? `${w.frame.type}:${w.frame.start ?? ''}:${w.frame.end ?? ''}` : undefined;
    return WindowNode.create(expr, partition, order, frame, field);
  }

  /** What functions and Case resolve their arguments and conditions with. */
  private functionResolver(ctx: FilterContext, declared: Field | undefined): FunctionResolver {
    return {
      model: this.meta.name,
      expr: (x) => this.resolveExpression(x, ctx, declared),
      outputOf: (n) => this.outputOf(n),
      condition: (q) => this.buildQ(q, { ...ctx, reuseAll: true, splitSubq: false }),
    };
  }

  /** The output field of a resolved expression (an annotation's for a reference to one). */
  outputOf(n: ExprNode): Field | undefined {
    if (n.kind === 'annot') return this.annotations.find((a) => a.name === n.name)?.field;
    return fieldOfNode(n);
  }

  /** `annotate({ name: expression })`. */
  addAnnotation(name: string, e: Expression, options: { allowFieldNames?: boolean } = {}): void {
    if (typeof name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
      throw new FieldError(`${this.meta.name}: annotation name ${JSON.stringify(name)} must be an identifier.`, { model: this.meta.name });
    if (!options.allowFieldNames && this.meta.pathElement(name))
      throw new FieldError(`${this.meta.name}: the annotation '${name}' conflicts with a field on the model.`, {
        model: this.meta.name,
        field: name,
      });
    if (this.annotations.some((a) => a.name === name))
      throw new FieldError(`${this.meta.name}: the annotation '${name}' is already defined.`, { model: this.meta.name, field: name });
    if (!Expression.is(e)) throw new TypeError(`annotate(): '${name}' must be an expression (Count('books'), F('price').mul(2), ...).`);
    const node = this.resolveExpression(e, { ...DEFAULT_CTX, forceOuter: true });
    const aggregate = containsAggregate(node);
    const field = this.outputOf(node);
    const convert = converterFor(node) ?? (node.kind === 'annot' ? outputConverter(field) : undefined);
    this.annotations = [...this.annotations, { name, node, aggregate, field, convert }];
  }

  /**
   * `aggregate()` over a sliced, distinct or annotated query (Django's `get_aggregation` with an
   * `AggregateQuery`): this query becomes the subquery `subquery`, selecting what each aggregate
   * reads as `__colN`; the aggregates read those columns. Returns the inner query and the
   * aggregates of the outer one.
   */
  aggregateOver(aggregates: ReadonlyArray<readonly [string, Expression]>): { inner: Query; outer: Annotation[] } {
    const inner = this.clone();
    inner.forUpdate = undefined;
    inner.related = undefined;
    if (!inner.isSliced && inner.distinctFields === undefined) inner.ordering = [];
    const extra: ValueColumn[] = [];
    const rewriter = new (class extends NodeTransformer {
      protected override transformAgg(n: AggNode): ExprNode {
        if (n.filter !== undefined)
          throw new NotSupportedError(
            'aggregate() with a filtered aggregate (filter: Q(...)) over a sliced, distinct or annotated query set is not supported: filter the query set instead.',
          );
        if (n.arg === '*') return n;
        const name = `__col${extra.length + 1}`;
        const field = fieldOfNode(n.arg) ?? (n.arg.kind === 'annot' ? inner.outputOf(n.arg) : undefined) ?? OUTPUT.float;
        extra.push({ name, node: n.arg, field, convert: undefined });
        return AggNode.create(n.fn, n.distinct, ColNode.create('subquery', field, name), n.field);
      }
    })();
    const outer: Annotation[] = [];
    for (const [name, e] of aggregates) {
      if (!Expression.is(e)) throw new TypeError(`aggregate(): '${name}' is not an aggregate (Count, Sum, Avg, Min, Max).`);
      const resolved = inner.resolveExpression(e, { ...DEFAULT_CTX, forceOuter: true });
      if (!containsAggregate(resolved))
        throw new TypeError(`aggregate(): '${name}' is not an aggregate (Count, Sum, Avg, Min, Max, or an expression over them).`);
      const field = inner.outputOf(resolved);
      const node = rewriter.transformExpr(resolved);
      outer.push({
        name,
        node,
        aggregate: true,
        field,
        convert: converterFor(node) ?? (node.kind === 'annot' ? outputConverter(field) : undefined),
      });
    }
    const grouped = inner.grouped;
    if (inner.distinct) {
      // The distinct rows are the query's own: its columns stay, the aggregated ones join them.
      const columns = inner.select.kind === 'values' ? inner.select.columns : inner.valueColumns([]);
      inner.select = { kind: 'values', columns: [...columns, ...extra], shape: 'tuple' };
    } else {
      const columns =
        extra.length > 0
          ? extra
          : [{ name: 'pk', node: ColNode.create(inner.alias, inner.meta.pk), field: inner.meta.pk, convert: undefined }];
      const before = inner.select;
      inner.select = { kind: 'values', columns, shape: 'tuple' };
      // Rows grouped by instance (annotate(Count(...)) on the model) stay one per instance.
      if (grouped && inner.groupByValues === undefined && before.kind === 'model')
        inner.groupByValues = [{ name: 'pk', node: ColNode.create(inner.alias, inner.meta.pk), field: inner.meta.pk, convert: undefined }];
    }
    return { inner, outer };
  }

  /** Does any annotation aggregate (so rows must be grouped)? */
  get grouped(): boolean {
    return this.annotations.some((a) => a.aggregate);
  }

  // ---- select -------------------------------------------------------------------------------------

  /** Resolve `values()` / `valuesList()` names to columns. */
  valueColumns(names: readonly string[]): ValueColumn[] {
    const out: ValueColumn[] = [];
    const list = names.length > 0 ? names : [...this.meta.fields.map((f) => f.attname), ...this.annotations.map((a) => a.name)];
    for (const name of list) {
      if (typeof name !== 'string')
        throw new FieldError(`${this.meta.name}: values() takes field names, got ${describe(name)}.`, { model: this.meta.name });
      const ann = this.annotations.find((a) => a.name === name);
      if (ann) {
        out.push({
          name,
          node: ann.aggregate ? AnnotRefNode.create(ann.name, true) : ann.node,
          field: ann.field,
          convert: ann.convert,
        });
        continue;
      }
      const names = name.split('__');
      const path = this.resolvePath(names, { ...DEFAULT_CTX, forceOuter: true }, name);
      const col = ColNode.create(path.alias, path.field, path.column);
      if (path.rest.length > 0 && path.field.lookupKind === 'json') {
        // A key path into a JSON document, read as JSON (Django's KeyTransform in values()).
        out.push({ name, node: jsonKeyNode(col, jsonPath(path.rest), 'json', path.field), field: path.field, convert: undefined });
        continue;
      }
      if (path.rest.length > 0) throw this.meta.unknownField(path.rest[0] as string, `values('${name}')`);
      out.push({ name, node: col, field: path.field, convert: undefined });
    }
    return out;
  }

  setValues(names: readonly string[], shape: 'object' | 'tuple' | 'flat'): void {
    const columns = this.valueColumns(names);
    if (shape === 'flat' && columns.length !== 1)
      throw new TypeError(`valuesList(..., { flat: true }) takes exactly one field, got ${columns.length}.`);
    this.select = { kind: 'values', columns, shape };
    // values() before an aggregate annotate() groups by these values (Django's semantics).
    if (!this.grouped) this.groupByValues = columns;
  }

  /** `selectRelated('author', 'author__publisher')`; `true` follows every non-null forward key one level. */
  addSelectRelated(paths: readonly string[] | true): void {
    const roots = this.related ? this.related.map(cloneSelection) : [];
    const list = paths === true ? this.meta.fields.filter((f) => f instanceof ForeignObject && !f.null).map((f) => f.name) : paths;
    for (const path of list) {
      if (typeof path !== 'string' || path === '')
        throw new FieldError(`${this.meta.name}: selectRelated() takes relation names, got ${describe(path)}.`, { model: this.meta.name });
      const names = path.split('__');
      const steps = namesToPath(this.meta, names, { trim: false }).steps;
      let alias = this.alias;
      let level = roots;
      let outer = false;
      for (let i = 0; i < names.length; i++) {
        // Only forward foreign keys, by their name: each path element must be one.
        const step = steps[i];
        const fk = step?.forward;
        if (!step || !fk || step.name !== fk.name)
          throw invalidSelectRelated(names[i] as string, path, step?.from ?? steps[i - 1]?.to ?? this.meta);
        outer = outer || fk.null;
        const j = this.join({ ...DEFAULT_CTX, forceOuter: outer }, step.joins[0] as JoinSpec, alias);
        let node = level.find((n) => n.field === fk);
        if (!node) {
          node = { field: fk, meta: step.to, alias: j.alias, children: [] };
          level.push(node);
        }
        level = node.children;
        alias = j.alias;
      }
    }
    this.related = roots;
  }

  // ---- ordering -----------------------------------------------------------------------------------

  /** Resolve ordering terms: `name`, `-name`, `author__name`, `?`, annotations, expressions. */
  setOrdering(terms: readonly (string | OrderBy | Expression)[]): void {
    const items: OrderItem[] = [];
    for (const t of terms) items.push(...this.orderItems(t));
    this.ordering = items;
    this.orderTerms = terms.map((t) => (typeof t === 'string' ? t : '<expr>'));
  }

  private orderItems(t: string | OrderBy | Expression): OrderItem[] {
    // A term that names a column of the base table (no join, no annotation to shadow it) resolves
    // the same every time: its items are kept on the model, by alias and term (as the default
    // ordering's are, `withDefaultOrdering`). Order items are never changed once made.
    const memoKey = typeof t === 'string' && this.annotations.length === 0 ? `order:${this.alias}:${t}` : undefined;
    if (memoKey !== undefined) {
      const memo = this.meta.cache.get(memoKey) as OrderItem[] | undefined;
      if (memo !== undefined) return memo;
    }
    if (t instanceof OrderBy) {
      const node = orderNode(this.resolveExpression(t.expression, { ...DEFAULT_CTX, forceOuter: true }));
      return [{ node, desc: t.descending, nulls: t.options.nullsFirst ? 'first' : t.options.nullsLast ? 'last' : undefined }];
    }
    if (Expression.is(t))
      return [{ node: orderNode(this.resolveExpression(t, { ...DEFAULT_CTX, forceOuter: true })), desc: false, nulls: undefined }];
    if (typeof t !== 'string' || t === '')
      throw new FieldError(`${this.meta.name}: orderBy() takes field names ('name', '-name'), got ${describe(t)}.`, {
        model: this.meta.name,
      });
    if (t === '?') return [{ node: RANDOM_NODE, desc: false, nulls: undefined }];
    const desc = t.startsWith('-');
    const name = desc ? t.slice(1) : t;
    const ann = this.annotations.find((a) => a.name === name);
    if (ann) return [{ node: ann.aggregate ? AnnotRefNode.create(ann.name, true) : orderNode(ann.node), desc, nulls: undefined }];
    const names = name.split('__');
    const path = this.resolvePath(names, { ...DEFAULT_CTX, forceOuter: true }, name);
    if (path.rest.length > 0 && path.field.lookupKind === 'json') {
      const col = ColNode.create(path.alias, path.field, path.column);
      return [{ node: jsonKeyNode(col, jsonPath(path.rest), 'sql', path.field), desc, nulls: undefined }];
    }
    if (path.rest.length > 0) throw this.meta.unknownField(path.rest[0] as string, `orderBy('${t}')`);
    if (
      path.relTarget &&
      path.relTarget.ordering.length > 0 &&
      path.field instanceof ForeignObject &&
      path.field.name === names[names.length - 1]
    ) {
      // Ordering by a relation follows the related model's default ordering (Django).
      return path.relTarget.ordering.flatMap((o) => {
        const d = o.startsWith('-');
        const items = this.orderItems(`${d !== desc ? '-' : ''}${name}__${d ? o.slice(1) : o}`);
        return items;
      });
    }
    const items: OrderItem[] = [{ node: ColNode.create(path.alias, path.field, path.column), desc, nulls: undefined }];
    if (memoKey !== undefined && path.lastJoin === undefined && path.alias === this.alias) this.meta.cache.set(memoKey, items);
    return items;
  }

  /** `distinct('author', 'published')`: DISTINCT ON these paths (or annotations). */
  setDistinctFields(names: readonly string[]): void {
    const nodes = (this.distinctFields ?? []).slice();
    for (const name of names) {
      if (typeof name !== 'string' || name === '' || name.startsWith('-') || name === '?')
        throw new FieldError(`${this.meta.name}: distinct() takes field names, got ${describe(name)}.`, { model: this.meta.name });
      // A relation is its key column here (Django), not the related model's ordering as in orderBy().
      const path = this.resolvePath(name.split('__'), { ...DEFAULT_CTX, forceOuter: true }, name);
      if (path.rest.length > 0) throw this.meta.unknownField(path.rest[0] as string, `distinct('${name}')`);
      nodes.push(ColNode.create(path.alias, path.field, path.column));
    }
    this.distinctFields = nodes;
  }

  // ---- slicing --------------------------------------------------------------------------------------

  get isSliced(): boolean {
    return this.low !== 0 || this.high !== undefined;
  }

  /** Apply `[start, end)` relative to the current slice (Django's `set_limits`). */
  setLimits(start: number, end: number | undefined): void {
    if (!Number.isInteger(start) || start < 0 || (end !== undefined && (!Number.isInteger(end) || end < 0))) {
      throw new RangeError(`Negative or non-integer slicing is not supported (got start ${start}, end ${String(end)}).`);
    }
    const low = this.low;
    if (end !== undefined) this.high = this.high !== undefined ? Math.min(this.high, low + end) : low + end;
    this.low = this.high !== undefined ? Math.min(this.high, low + start) : low + start;
    if (this.high !== undefined && this.low === this.high) this.empty = true;
  }

  // ---- params and keys ------------------------------------------------------------------------------

  /** Every Param in the order `compile()` expects them (where, having, select, order, limits). */
  collectParams(out: Param[]): void {
    for (const a of this.annotations) collectExpr(a.node, out);
    if (this.select.kind === 'values') for (const c of this.select.columns) collectExpr(c.node, out);
    collectWhere(this.where, out);
    collectWhere(this.having, out);
    if (this.ordering) for (const o of this.ordering) collectExpr(o.node, out);
  }

  /**
   * Which expressions binding values (ordering terms, grouped values, DISTINCT ON terms) are the same
   * as which selected ones, with their values: the compiler refers to those by their position in
   * the select list (GROUP BY 1, ORDER BY 1), so equal keys must have equal answers here.
   */
  private positionKey(): string {
    const targets: ExprNode[] = this.annotations.map((a) => a.node);
    if (this.select.kind === 'values') for (const c of this.select.columns) targets.push(c.node);
    const probes: ExprNode[] = [];
    for (const o of this.ordering ?? []) probes.push(o.node);
    for (const c of this.groupByValues ?? []) probes.push(c.node);
    for (const n of this.distinctFields ?? []) probes.push(n);
    let k = '';
    for (const p of probes) {
      if (!bindsValues(p)) continue;
      k += ':';
      for (const t of targets) k += sameExpr(p, t) ? '2' : sameExpr(p, t, true) ? '1' : '0';
    }
    return k;
  }

  /** The structural key: equal keys compile to equal SQL. */
  shapeKey(): string {
    let k = `${this.meta.dbTable}@${this.alias}`;
    for (const j of this.joins) k += `|${Join.key(j)}`;
    k += `|W${this.where.k}`;
    if (this.having.children.length > 0) k += `|H${this.having.k}`;
    for (const a of this.annotations) k += `|A${a.name}=${a.node.k}`;
    if (this.select.kind === 'values') {
      k += `|V${this.select.shape}:`;
      for (const c of this.select.columns) k += `${c.name}=${c.node.k},`;
    }
    if (this.groupByValues) k += '|G';
    if (this.related) k += `|R${relatedKey(this.related)}`;
    const ordering = this.ordering;
    if (ordering) {
      k += '|O';
      for (const o of ordering) k += `${o.desc ? '-' : '+'}${o.node.k}${o.nulls ?? ''},`;
    } else k += '|Odefault';
    if (this.distinct) k += '|D';
    if (this.distinctFields) k += `|DO${this.distinctFields.map((n) => n.k).join(',')}`;
    if (this.grouped || this.distinct || this.distinctFields) k += `|M${this.positionKey()}`;
    // A subquery's slice is written into its SQL (only the outermost query binds it).
    const literalSlice = this.prefix !== 'T';
    if (this.low !== 0) k += literalSlice ? `|o${this.low}` : '|o';
    if (this.high !== undefined) k += literalSlice ? `|l${this.high}` : '|l';
    if (this.forUpdate) k += `|F${this.forUpdate.nowait ? 'n' : ''}${this.forUpdate.skipLocked ? 's' : ''}${this.forUpdate.of.join(',')}`;
    return k;
  }
}

// ---- helpers --------------------------------------------------------------------------------------

function simplify(children: WhereChild[], connector: 'AND' | 'OR'): WhereChild[] {
  const out: WhereChild[] = [];
  for (const c of children) {
    if (c.kind === 'where' && c.children.length === 0 && !c.negated) continue;
    if (c.kind === 'where' && !c.negated && c.connector === connector) out.push(...c.children);
    else out.push(c);
  }
  // In an OR, an always-false branch can be dropped (unless it is the only one).
  if (connector === 'OR' && out.length > 1) {
    const kept = out.filter((c) => c.kind !== 'nothing');
    return kept.length > 0 ? kept : [NOTHING];
  }
  return out;
}

/** The children of an AND, with nested non-negated ANDs flattened into it. */
function flattenAnd(children: readonly WhereChild[]): WhereChild[] {
  return children.flatMap((c) => (c.kind === 'where' && c.connector === 'AND' && !c.negated ? c.children : [c]));
}

/** Lookups on a JSON key's value (Django's KeyTransform lookups), not on a whole document. */
const KEY_ONLY_LOOKUPS: ReadonlySet<string> = new Set([
  'gt',
  'gte',
  'lt',
  'lte',
  'in',
  'iexact',
  'icontains',
  'startswith',
  'istartswith',
  'endswith',
  'iendswith',
  'regex',
  'iregex',
]);

/**
 * The right-hand side of `gt`/`gte`/`lt`/`lte` on a key: JSON text where the database compares
 * JSON values (PostgreSQL), else the plain value (a boolean as 1/0), as Django binds it.
 */
const jsonComparePrep: Prep = (v, ops) => (ops.json.compareJsonText ? JSON.stringify(v) : typeof v === 'boolean' ? (v ? 1 : 0) : v);

/** JSON lookups by name (Django's, and their camelCase spellings), to the canonical name. */
const JSON_LOOKUPS: ReadonlyMap<string, string> = new Map([
  ['exact', 'exact'],
  ['isnull', 'isnull'],
  ['contains', 'contains'],
  ['contained_by', 'contained_by'],
  ['containedBy', 'contained_by'],
  ['has_key', 'has_key'],
  ['hasKey', 'has_key'],
  ['has_keys', 'has_keys'],
  ['hasKeys', 'has_keys'],
  ['has_any_keys', 'has_any_keys'],
  ['hasAnyKeys', 'has_any_keys'],
  ...[...KEY_ONLY_LOOKUPS].map((n) => [n, n] as [string, string]),
]);

/** Key names of a JSON path; integers (`tags__0`) are array indexes, as Django's `compile_json_path`. */
function jsonPath(names: readonly string[]): (string | number)[] {
  return names.map((n) => (/^-?\d+$/.test(n) ? Number(n) : n));
}

/** Bind a JSON path in the backend's form (`$."a"[0]`, a text[] on PostgreSQL). */
const jsonPathPrep: Prep = (v, ops) => ops.jsonPath(v as readonly (string | number)[]);

function jsonKeyNode(doc: ExprNode, keys: readonly (string | number)[], mode: JsonKeyMode, field: Field): ExprNode {
  return JsonKeyNode.create(doc, ParamNode.create(keys, jsonPathPrep), keys.length, mode, field);
}

/** An ORDER BY term: a JSON key selected as JSON orders by its SQL value (Django's KeyTransform: JSON_EXTRACT, jsonb). */
function orderNode(n: ExprNode): ExprNode {
  return n.kind === 'jsonkey' && n.mode === 'json' ? JsonKeyNode.create(n.arg, n.path, n.depth, 'sql', n.field) : n;
}

/** Does any expression of a condition (not looking into subqueries) match `test`? */
function whereHas(c: WhereChild, test: (n: ExprNode) => boolean): boolean {
  if (c.kind === 'where') return c.children.some((x) => whereHas(x, test));
  if (c.kind !== 'lookup') return false;
  const visit = (n: ExprNode): boolean => {
    if (test(n)) return true;
    switch (n.kind) {
      case 'combined':
        return visit(n.lhs) || visit(n.rhs);
      case 'wrap':
      case 'part':
      case 'date':
      case 'jsonkey':
        return visit(n.arg);
      case 'agg':
        return n.arg !== '*' && visit(n.arg);
      case 'winfn':
      case 'func':
        return n.args.some(visit);
      case 'case':
        return n.whens.some((w) => whereHas(w.cond, test) || visit(w.then)) || visit(n.otherwise);
      default:
        return false;
    }
  };
  if (visit(c.lhs)) return true;
  if (Array.isArray(c.rhs)) return (c.rhs as readonly ExprNode[]).some(visit);
  return c.rhs !== undefined && visit(c.rhs as ExprNode);
}

/** Does a condition refer to an aggregate (so it can only be evaluated in HAVING)? */
function whereHasAggregate(c: WhereChild): boolean {
  if (c.kind === 'where') return c.children.some(whereHasAggregate);
  if (c.kind !== 'lookup') return false;
  if (containsAggregate(c.lhs)) return true;
  if (Array.isArray(c.rhs)) return (c.rhs as readonly ExprNode[]).some(containsAggregate);
  return c.rhs !== undefined && containsAggregate(c.rhs as ExprNode);
}

/**
 * Split a condition into its WHERE part and its HAVING part (Django's `WhereNode.split_having`):
 * the children of an AND are sorted one by one, but an OR (or a negated AND, which is an OR of
 * negations) that refers to an aggregate anywhere goes to HAVING whole: splitting it would turn
 * `n >= 4 OR age < 25` into `age < 25 AND n >= 4`.
 */
function splitHaving(node: WhereNode, negated: boolean): [WhereNode | undefined, WhereNode | undefined] {
  if (!whereHasAggregate(node)) return [node, undefined];
  const inNegated = negated !== node.negated;
  const effectiveOr = inNegated ? node.connector === 'AND' : node.connector === 'OR';
  if (effectiveOr) return [undefined, node];
  const where: WhereChild[] = [];
  const having: WhereChild[] = [];
  for (const c of node.children) {
    if (c.kind === 'where') {
      const [w, h] = splitHaving(c, inNegated);
      if (w) where.push(w);
      if (h) having.push(h);
    } else if (whereHasAggregate(c)) having.push(c);
    else where.push(c);
  }
  return [
    where.length > 0 ? WhereNode.create(node.connector, node.negated, where) : undefined,
    having.length > 0 ? WhereNode.create(node.connector, node.negated, having) : undefined,
  ];
}

/** Does a path name a relation and stop there (`author`, `books`, `author__publisher`)? */
function endsOnRelation(path: ResolvedPath): boolean {
  return path.failed === undefined && path.relTarget !== undefined && path.rest.length === 0;
}

function invalidSelectRelated(name: string, path: string, meta: ModelMeta): FieldError {
  const choices = meta.fields.filter((x) => x instanceof ForeignObject).map((x) => x.name);
  return new FieldError(
    `Invalid field name given in selectRelated: '${name}' of '${path}'. Choices on ${meta.name} are: ${choices.join(', ') || '(none)'}. (Reverse and many-to-many relations need prefetchRelated.)`,
    { model: meta.name, field: name, choices },
  );
}

function relatedKey(r: readonly RelatedSelection[]): string {
  return r.map((n) => `${n.field.name}:${n.alias}(${relatedKey(n.children)})`).join(',');
}

function cloneSelection(n: RelatedSelection): RelatedSelection {
  return { ...n, children: n.children.map(cloneSelection) };
}

function isPlainObject(v: unknown): boolean {
  if (v === null || typeof v !== 'object') return false;
  const p = Object.getPrototypeOf(v);
  return p === Object.prototype || p === null;
}

function isIterable(v: unknown): boolean {
  return v !== null && typeof v === 'object' && typeof (v as Iterable<unknown>)[Symbol.iterator] === 'function';
}

export function isModelInstance(v: unknown): boolean {
  return v !== null && typeof v === 'object' && (v as Record<symbol, unknown>)[STATE] !== undefined && hasBrand(v.constructor, MODEL_BRAND);
}

export function instanceMeta(v: unknown): ModelMeta | undefined {
  return (v as { constructor: Record<symbol, ModelMeta> }).constructor?.[META];
}

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'object') return v.constructor?.name ? `a ${v.constructor.name}` : 'an object';
  return `${typeof v} ${String(v)}`;
}

/** The output field of an expression node (Django's `output_field`), when known. */
function fieldOfNode(n: ExprNode): Field | undefined {
  switch (n.kind) {
    case 'col':
    case 'combined':
    case 'agg':
    case 'wrap':
    case 'func':
    case 'case':
    case 'subquery':
    case 'winfn':
    case 'window':
    case 'jsonkey':
      return n.field;
    case 'param':
      return n.cast === undefined ? undefined : OUTPUT[n.cast];
    case 'part':
      return OUTPUT.integer;
    default:
      return undefined;
  }
}

function containsAggregate(n: ExprNode): boolean {
  if (n.kind === 'agg') return true;
  if (n.kind === 'annot') return n.aggregate;
  if (n.kind === 'combined') return containsAggregate(n.lhs) || containsAggregate(n.rhs);
  if (n.kind === 'wrap' || n.kind === 'part' || n.kind === 'date') return containsAggregate(n.arg);
  if (n.kind === 'func') return n.args.some(containsAggregate);
  if (n.kind === 'case')
    return n.whens.some((w) => whereHasAggregate(w.cond) || containsAggregate(w.then)) || containsAggregate(n.otherwise);
  return false;
}

/**
 * How an annotation's value comes back, the same on every database: computed values (arithmetic,
 * aggregates, declared types) through their output type (output-types.ts); a plain column through
 * its field's own converter (undefined here).
 */
function converterFor(n: ExprNode): ((v: unknown) => unknown) | undefined {
  // KeyTextTransform: text parsed as JSON where it parses (Django's JSONField.from_db_value).
  if (n.kind === 'jsonkey' && n.mode === 'text') return jsonFromText;
  if (n.kind === 'agg' && n.fn === 'COUNT') return toCount;
  if (n.kind === 'window') return n.expr.kind === 'agg' && n.expr.fn === 'COUNT' ? toCount : outputConverter(n.field);
  if (n.kind === 'agg' || n.kind === 'combined' || n.kind === 'wrap' || n.kind === 'func' || n.kind === 'case')
    return outputConverter(n.field);
  // Extract: an integer (MariaDB computes some parts as decimals).
  if (n.kind === 'part') return outputConverter(OUTPUT.integer);
  // Subquery(...): read as its selected expression is read (Django's Subquery output_field is the
  // inner one): an aggregate or a computed value keeps its converter (a SUM as a number on
  // PostgreSQL and MariaDB, an Avg of decimals with its digits on SQLite).
  if (n.kind === 'subquery' && n.form === 'scalar' && n.query.select.kind === 'values') return n.query.select.columns[0]?.convert;
  return undefined;
}

/** A boolean literal as the driver takes it (1/0 where booleans are integers). */
const booleanPrep: Prep = (v, ops) => ops.adaptBooleanValue(v);

const toCount = (v: unknown): unknown => (v === null || v === undefined ? 0 : typeof v === 'number' ? v : Number(v));
