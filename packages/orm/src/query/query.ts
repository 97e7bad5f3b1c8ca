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
 * match different ones. Joins are INNER unless a NULL must survive them (a nullable or
 * multi-valued relation under OR, NOT, `isnull: true`, ordering, annotation, select_related),
 * then LEFT OUTER. A negated lookup across a multi-valued relation becomes a subquery
 * (`pk NOT IN (SELECT ...)`), and a negated lookup on a nullable column adds `IS NOT NULL`, as
 * Django's `split_exclude` and `build_filter` do. Paths are resolved by `namesToPath`
 * (names-to-path.ts), the tree is built from the factories of nodes.ts. Internal to the package (not exported from its index).
 */
import { FieldError } from '../errors';
import type { Field } from '../fields/field';
import { ForeignObject } from '../fields/foreign-key';
import { extraMicroseconds } from '../fields/precise-date';
import type { ModelMeta } from '../models/model-meta';
import { MODEL_BRAND, META, QUERYSET_BRAND, STATE, hasBrand } from '../brand';
import { Aggregate, CombinedExpression, Expression, FieldRef, OrderBy, Value, WrappedExpression } from './expressions';
import { CaseExpression, Func } from './functions';
import { resolveCase, resolveFunc, type FunctionResolver } from './resolve-functions';
import { ResolvedExpression, registeredFor } from './custom-lookups';
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
  collectExpr,
  collectWhere,
  type ExprNode,
  type Param,
  type Prep,
  type JoinSpec,
  type WhereChild,
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
  /** Under NOT (odd number of negations). */
  negated: boolean;
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

const DEFAULT_CTX: FilterContext = { call: 0, reuseAll: true, negated: false, inOr: false, allowJoins: true, forceOuter: true };

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
  relabeledClone(prefix: string): Query {
    if (prefix === this.prefix) return this.clone();
    const q = new Query(this.meta, prefix);
    const aliases = new Map<string, string>([[this.alias, q.alias]]);
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
    const t = new AliasRelabeler(aliases);
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
    q.low = this.low;
    q.high = this.high;
    q.empty = this.empty;
    return q;
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
    for (const j of this.joins) {
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
    const ctx: FilterContext = { call: this.calls, reuseAll: false, negated: false, inOr: false, allowJoins: true, forceOuter: false };
    const built = this.buildQ(negate ? q.not() : q, ctx);
    if (built.children.length === 0 && !built.negated) return;
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
    const ctx: FilterContext = {
      ...parent,
      negated: parent.negated !== q.negated,
      inOr: parent.inOr || (q.connector === 'OR' && q.children.length > 1),
    };
    const children: WhereChild[] = [];
    for (const child of q.children) {
      if (QNode.is(child)) {
        const w = this.buildQ(child, ctx);
        if (w.children.length > 0) children.push(w);
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

    if (ctx.negated && namesToPath(this.meta, names).multi) {
      // Django's split_exclude: NOT (pk IN (SELECT pk FROM ... WHERE <positive condition>)).
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
    // Negated comparisons on a nullable column: NOT (x = v AND x IS NOT NULL), so NULL rows stay excluded from the match.
    if (ctx.negated && cond.kind === 'lookup' && cond.lookup !== 'isnull' && value !== null && (path.nullable || path.lastJoin?.outer)) {
      return WhereNode.create('AND', false, [
        cond,
        LookupNode.create(
          'isnull',
          cond.lhs.kind === 'col' ? cond.lhs : ColNode.create(path.alias, path.field, path.column),
          undefined,
          false,
        ),
      ]);
    }
    return cond;
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
      if (hasBrand(value, QUERYSET_BRAND)) {
        const sub = (value as { toSubquery(prefix: string): Query }).toSubquery(nextPrefix(this.prefix));
        return LookupNode.create('in', lhs, SubqueryNode.create(sub));
      }
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
      if (path.rest.length > 0) throw this.meta.unknownField(path.rest[0] as string, `F('${name}')`);
      return ColNode.create(path.alias, path.field, path.column);
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
      const prep = val.outputField ? fieldPrep(val.outputField) : cast === 'boolean' ? booleanPrep : undefined;
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
      if (a.source === '*') arg = '*';
      else if (typeof a.source === 'string') {
        const names = a.source.split('__');
        const path = this.resolvePath(names, { ...ctx, reuseAll: true, forceOuter: true }, a.source);
        if (path.rest.length > 0) throw this.meta.unknownField(path.rest[0] as string, `${a.fn}('${a.source}')`);
        arg = ColNode.create(path.alias, path.field, path.column);
      } else arg = this.resolveExpression(a.source, { ...ctx, reuseAll: true, forceOuter: true });
      // A filter (Django's filter=Q(...)) reuses the aggregate's joins.
      const filter = a.filter === undefined ? undefined : this.buildQ(a.filter, { ...ctx, reuseAll: true, forceOuter: true });
      return AggNode.create(a.fn, a.distinct, arg, aggregateOutput(a.fn, arg === '*' ? undefined : this.outputOf(arg)), filter);
    }
    if (e instanceof Func || (e as Func).kind === 'func') return resolveFunc(e as Func, this.functionResolver(ctx, declared));
    if (e instanceof CaseExpression || (e as CaseExpression).kind === 'case')
      return resolveCase(e as CaseExpression, this.functionResolver(ctx, declared));
    throw new TypeError(`Unsupported expression ${String(e)}.`);
  }

  /** What functions and Case resolve their arguments and conditions with. */
  private functionResolver(ctx: FilterContext, declared: Field | undefined): FunctionResolver {
    return {
      model: this.meta.name,
      expr: (x) => this.resolveExpression(x, ctx, declared),
      outputOf: (n) => this.outputOf(n),
      condition: (q) => this.buildQ(q, { ...ctx, reuseAll: true }),
    };
  }

  /** The output field of a resolved expression (an annotation's for a reference to one). */
  private outputOf(n: ExprNode): Field | undefined {
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
      if (path.rest.length > 0) throw this.meta.unknownField(path.rest[0] as string, `values('${name}')`);
      out.push({ name, node: ColNode.create(path.alias, path.field, path.column), field: path.field, convert: undefined });
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
    if (t instanceof OrderBy) {
      const node = this.resolveExpression(t.expression, { ...DEFAULT_CTX, forceOuter: true });
      return [{ node, desc: t.descending, nulls: t.options.nullsFirst ? 'first' : t.options.nullsLast ? 'last' : undefined }];
    }
    if (Expression.is(t)) return [{ node: this.resolveExpression(t, { ...DEFAULT_CTX, forceOuter: true }), desc: false, nulls: undefined }];
    if (typeof t !== 'string' || t === '')
      throw new FieldError(`${this.meta.name}: orderBy() takes field names ('name', '-name'), got ${describe(t)}.`, {
        model: this.meta.name,
      });
    if (t === '?') return [{ node: RANDOM_NODE, desc: false, nulls: undefined }];
    const desc = t.startsWith('-');
    const name = desc ? t.slice(1) : t;
    const ann = this.annotations.find((a) => a.name === name);
    if (ann) return [{ node: ann.aggregate ? AnnotRefNode.create(ann.name, true) : ann.node, desc, nulls: undefined }];
    const names = name.split('__');
    const path = this.resolvePath(names, { ...DEFAULT_CTX, forceOuter: true }, name);
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
    return [{ node: ColNode.create(path.alias, path.field, path.column), desc, nulls: undefined }];
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

  /** The structural key: equal keys compile to equal SQL. */
  shapeKey(): string {
    let k = `${this.meta.dbTable}@${this.alias}`;
    for (const j of this.joins) k += `|${Join.key(j)}`;
    k += `|W${this.where.k}`;
    if (this.having.children.length > 0) k += `|H${this.having.k}`;
    for (const a of this.annotations) k += `|A${a.name}=${a.node.k}`;
    if (this.select.kind === 'values') {
      k += `|V${this.select.shape}:`;
      for (const c of this.select.columns) k += `${c.node.k},`;
    }
    if (this.groupByValues) k += '|G';
    if (this.related) k += `|R${relatedKey(this.related)}`;
    const ordering = this.ordering;
    if (ordering) {
      k += '|O';
      for (const o of ordering) k += `${o.desc ? '-' : '+'}${o.node.k}${o.nulls ?? ''},`;
    } else k += '|Odefault';
    if (this.distinct) k += '|D';
    if (this.low !== 0) k += '|o';
    if (this.high !== undefined) k += '|l';
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

function nextPrefix(prefix: string): string {
  return prefix === 'T' ? 'U' : String.fromCharCode(prefix.charCodeAt(0) + 1);
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
  if (n.kind === 'agg' && n.fn === 'COUNT') return toCount;
  if (n.kind === 'agg' || n.kind === 'combined' || n.kind === 'wrap' || n.kind === 'func' || n.kind === 'case')
    return outputConverter(n.field);
  // Extract: an integer (MariaDB computes some parts as decimals).
  if (n.kind === 'part') return outputConverter(OUTPUT.integer);
  return undefined;
}

/** A boolean literal as the driver takes it (1/0 where booleans are integers). */
const booleanPrep: Prep = (v, ops) => ops.adaptBooleanValue(v);

const toCount = (v: unknown): unknown => (v === null || v === undefined ? 0 : typeof v === 'number' ? v : Number(v));
