/**
 * The query tree: SQL expression nodes, lookups and where trees, joins (Django's expressions and
 * `WhereNode`; Kysely's operation nodes). Every node is a plain object tagged with `kind` and
 * carrying `k`, its structural key: everything that shapes the SQL, nothing of the values. Two
 * queries with equal keys compile to the same SQL, so the compiled SQL is cached by key and only
 * the parameters change.
 *
 * This module owns the tree: each kind has a frozen factory (`ColNode.create(...)`,
 * `ColNode.is(node)`, as Kysely's `operation-node/*.ts`), the only place its key is computed, and
 * `NodeTransformer` rebuilds trees generically (Kysely's `OperationNodeTransformer`). Nodes are
 * not frozen themselves: they are built on every `filter()` call, and freezing costs on that path.
 *
 * Internal to the package (not exported from its index).
 */
import type { BaseOperations } from '../backends/base-operations';
import type { Field } from '../fields/field';
import type { Query } from './query';

/** Prepare a parameter's value for binding on a backend (the field's `toDb`, LIKE escaping, ...). */
export type Prep = (value: unknown, ops: BaseOperations) => unknown;

/** A bound value. Its identity links it to its position in the compiled SQL. */
export class Param {
  constructor(
    readonly value: unknown,
    readonly prep: Prep | undefined,
  ) {}
  bind(ops: BaseOperations): unknown {
    const v = this.value;
    if (v === null || v === undefined) return null;
    return this.prep === undefined ? v : this.prep(v, ops);
  }
}

/** What every node has: its kind and its structural key. */
interface Node {
  readonly kind: string;
  readonly k: string;
}

// ---- expressions ------------------------------------------------------------------------------------

/** A column of a table alias: `"book"."title"`. */
export interface ColNode extends Node {
  readonly kind: 'col';
  readonly alias: string;
  readonly column: string;
  readonly field: Field;
}
export const ColNode = Object.freeze({
  create(alias: string, field: Field, column: string = field.column): ColNode {
    return { kind: 'col', k: `${alias}.${column}`, alias, column, field };
  },
  is(n: Node): n is ColNode {
    return n.kind === 'col';
  },
});

/**
 * A bound parameter (`?`): values never shape the SQL, so every parameter has the same key, except
 * that a literal of an expression (`Value`) is cast to its numeric type (`cast`), so that the
 * database computes with that type whatever the driver binds (SQLite binds every number as a
 * double, PostgreSQL text of unknown type).
 */
export interface ParamNode extends Node {
  readonly kind: 'param';
  readonly p: Param;
  readonly cast?: 'integer' | 'float' | 'decimal' | 'boolean';
}
export const ParamNode = Object.freeze({
  create(value: unknown, prep: Prep | undefined, cast?: 'integer' | 'float' | 'decimal' | 'boolean'): ParamNode {
    return cast === undefined
      ? { kind: 'param', k: '?', p: new Param(value, prep) }
      : { kind: 'param', k: `?${cast[0]}`, p: new Param(value, prep), cast };
  },
  is(n: Node): n is ParamNode {
    return n.kind === 'param';
  },
});

/** A date part of a date or datetime (`year`, `week_day`, `hour`, ...), as an integer. */
export interface PartNode extends Node {
  readonly kind: 'part';
  readonly part: string;
  readonly datetime: boolean;
  readonly arg: ExprNode;
}
export const PartNode = Object.freeze({
  create(part: string, datetime: boolean, arg: ExprNode): PartNode {
    return { kind: 'part', k: `${part}(${arg.k})`, part, datetime, arg };
  },
  is(n: Node): n is PartNode {
    return n.kind === 'part';
  },
});

/** The date (in UTC) of a datetime. */
export interface DateNode extends Node {
  readonly kind: 'date';
  readonly arg: ExprNode;
}
export const DateNode = Object.freeze({
  create(arg: ExprNode): DateNode {
    return { kind: 'date', k: `date(${arg.k})`, arg };
  },
  is(n: Node): n is DateNode {
    return n.kind === 'date';
  },
});

/**
 * Arithmetic: `lhs op rhs`. `field` is its output type (Django's `output_field`: it converts the
 * result, when known); the SQL follows it (integer division where both sides are integers).
 */
export interface CombinedNode extends Node {
  readonly kind: 'combined';
  readonly op: string;
  readonly lhs: ExprNode;
  readonly rhs: ExprNode;
  readonly field: Field | undefined;
}
export const CombinedNode = Object.freeze({
  create(op: string, lhs: ExprNode, rhs: ExprNode, field: Field | undefined): CombinedNode {
    return { kind: 'combined', k: `(${lhs.k}${op}${field?.lookupKind ?? ''}${rhs.k})`, op, lhs, rhs, field };
  },
  is(n: Node): n is CombinedNode {
    return n.kind === 'combined';
  },
});

/** An expression with a declared output type (`ExpressionWrapper`): the SQL of `arg`, read as `field`. */
export interface WrapNode extends Node {
  readonly kind: 'wrap';
  readonly arg: ExprNode;
  readonly field: Field;
}
export const WrapNode = Object.freeze({
  create(arg: ExprNode, field: Field): WrapNode {
    return { kind: 'wrap', k: `w:${field.lookupKind}(${arg.k})`, arg, field };
  },
  is(n: Node): n is WrapNode {
    return n.kind === 'wrap';
  },
});

/** An aggregate: `COUNT(DISTINCT x)`, `SUM(x)`, `COUNT(*)`; `filter` counts only the rows matching it (Django's `filter=`). */
export interface AggNode extends Node {
  readonly kind: 'agg';
  readonly fn: string;
  readonly distinct: boolean;
  readonly arg: ExprNode | '*';
  readonly field: Field | undefined;
  readonly filter?: WhereChild;
}
export const AggNode = Object.freeze({
  create(fn: string, distinct: boolean, arg: ExprNode | '*', field: Field | undefined, filter?: WhereChild): AggNode {
    const k = `${fn}${distinct ? 'D' : ''}(${arg === '*' ? '*' : arg.k})`;
    return filter === undefined
      ? { kind: 'agg', k, fn, distinct, arg, field }
      : { kind: 'agg', k: `${k}F[${filter.k}]`, fn, distinct, arg, field, filter };
  },
  is(n: Node): n is AggNode {
    return n.kind === 'agg';
  },
});

/**
 * A database function (Lower, Coalesce, Trunc, a user's `Func`, ...): its SQL is a template the
 * backend's operations give for `fn` (`ops.functionTemplate`), or the user's own `template`, with
 * `%(0)s`, `%(1)s`, ... standing for the arguments and `%(expressions)s` for all of them.
 * `option` is what else shapes the SQL (the unit of a Trunc, the type of a Cast).
 */
export interface FuncNode extends Node {
  readonly kind: 'func';
  readonly fn: string;
  readonly args: readonly ExprNode[];
  readonly field: Field | undefined;
  readonly option: string;
  /** A user-defined function's template (one, or one per vendor). */
  readonly template?: string | Readonly<Record<string, string>>;
}
export const FuncNode = Object.freeze({
  create(
    fn: string,
    args: readonly ExprNode[],
    field: Field | undefined,
    option = '',
    template?: string | Readonly<Record<string, string>>,
  ): FuncNode {
    let k = `${fn}${option === '' ? '' : `:${option}`}`;
    if (template !== undefined) k += `{${typeof template === 'string' ? template : JSON.stringify(template)}}`;
    k += `(${args.map((a) => a.k).join(',')})`;
    k += field === undefined ? '' : `:${field.internalType}`;
    return template === undefined ? { kind: 'func', k, fn, args, field, option } : { kind: 'func', k, fn, args, field, option, template };
  },
  is(n: Node): n is FuncNode {
    return n.kind === 'func';
  },
});

/** `CASE WHEN cond THEN x ... ELSE d END` (Django's `Case`/`When`). */
export interface CaseNode extends Node {
  readonly kind: 'case';
  readonly whens: ReadonlyArray<{ readonly cond: WhereChild; readonly then: ExprNode }>;
  readonly otherwise: ExprNode;
  readonly field: Field | undefined;
}
export const CaseNode = Object.freeze({
  create(whens: CaseNode['whens'], otherwise: ExprNode, field: Field | undefined): CaseNode {
    let k = 'CASE(';
    for (const w of whens) k += `W${w.cond.k}T${w.then.k};`;
    k += `E${otherwise.k})${field === undefined ? '' : `:${field.internalType}`}`;
    return { kind: 'case', k, whens, otherwise, field };
  },
  is(n: Node): n is CaseNode {
    return n.kind === 'case';
  },
});

/** A reference to an aggregate annotation of the query, by name (rendered as its expression). */
export interface AnnotRefNode extends Node {
  readonly kind: 'annot';
  readonly name: string;
  readonly aggregate: boolean;
}
export const AnnotRefNode = Object.freeze({
  create(name: string, aggregate: boolean): AnnotRefNode {
    return { kind: 'annot', k: `@${name}`, name, aggregate };
  },
  is(n: Node): n is AnnotRefNode {
    return n.kind === 'annot';
  },
});

/** SQL written by Spool itself (never by the user): `NULL`, the random ordering. */
export interface RawNode extends Node {
  readonly kind: 'raw';
  /** knex raw SQL, with `??` identifiers and `?` params listed in `bindings`; `%random` is the backend's random function. */
  readonly sql: string;
  readonly bindings: readonly (string | Param)[];
}
export const RawNode = Object.freeze({
  create(sql: string, bindings: readonly (string | Param)[] = []): RawNode {
    let k = `raw(${sql}`;
    for (const b of bindings) k += typeof b === 'string' ? `,${b}` : ',?';
    return { kind: 'raw', k: `${k})`, sql, bindings };
  },
  is(n: Node): n is RawNode {
    return n.kind === 'raw';
  },
});

/**
 * A query used as a value; it has its own alias prefix. `in`: the rows of `x IN (SELECT ...)`;
 * `scalar`: its one value (`Subquery`); `exists` / `notExists`: `EXISTS (SELECT 1 ...)`.
 * `field` is the output type of a scalar subquery (its one column's) or boolean for EXISTS.
 */
export interface SubqueryNode extends Node {
  readonly kind: 'subquery';
  readonly query: Query;
  readonly form: 'in' | 'scalar' | 'exists' | 'notExists';
  readonly field: Field | undefined;
}
export const SubqueryNode = Object.freeze({
  create(query: Query, form: SubqueryNode['form'] = 'in', field?: Field): SubqueryNode {
    return { kind: 'subquery', k: `${form === 'in' ? '' : form}(${query.shapeKey()})`, query, form, field };
  },
  is(n: Node): n is SubqueryNode {
    return n.kind === 'subquery';
  },
});

/**
 * A reference to a column of an enclosing query (`OuterRef('pk')`), `depth` queries out, not yet
 * resolved: the enclosing query resolves it when it embeds this one (`Query.embed`).
 */
export interface OuterRefNode extends Node {
  readonly kind: 'outer';
  readonly name: string;
  readonly depth: number;
}
export const OuterRefNode = Object.freeze({
  create(name: string, depth: number): OuterRefNode {
    return { kind: 'outer', k: `^${depth}:${name}`, name, depth };
  },
  is(n: Node): n is OuterRefNode {
    return n.kind === 'outer';
  },
});

/** A window function's own call (`ROW_NUMBER()`, `LAG(x, 1)`): only valid under a WindowNode. */
export interface WinFnNode extends Node {
  readonly kind: 'winfn';
  readonly fn: string;
  readonly args: readonly ExprNode[];
  /** Integer arguments written into the SQL (offsets, `n` of NTH_VALUE/NTILE): validated integers. */
  readonly literals: readonly number[];
  readonly field: Field | undefined;
}
export const WinFnNode = Object.freeze({
  create(fn: string, args: readonly ExprNode[], literals: readonly number[], field: Field | undefined): WinFnNode {
    return { kind: 'winfn', k: `${fn}(${args.map((a) => a.k).join(',')};${literals.join(',')})`, fn, args, literals, field };
  },
  is(n: Node): n is WinFnNode {
    return n.kind === 'winfn';
  },
});

/** One ORDER BY term of a window. */
export interface WindowOrder {
  readonly node: ExprNode;
  readonly desc: boolean;
}

/**
 * `expr OVER (PARTITION BY ... ORDER BY ... frame)`. `frame` is SQL written by Spool from
 * validated integers (`ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW`).
 */
export interface WindowNode extends Node {
  readonly kind: 'window';
  readonly expr: ExprNode;
  readonly partition: readonly ExprNode[];
  readonly order: readonly WindowOrder[];
  readonly frame: string | undefined;
  readonly field: Field | undefined;
}
export const WindowNode = Object.freeze({
  create(
    expr: ExprNode,
    partition: readonly ExprNode[],
    order: readonly WindowOrder[],
    frame: string | undefined,
    field: Field | undefined,
  ): WindowNode {
    const k = `over(${expr.k};${partition.map((p) => p.k).join(',')};${order.map((o) => (o.desc ? '-' : '+') + o.node.k).join(',')};${frame ?? ''})`;
    return { kind: 'window', k, expr, partition, order, frame, field };
  },
  is(n: Node): n is WindowNode {
    return n.kind === 'window';
  },
});

/**
 * A key or index path into a JSON document (Django's `KeyTransform`): `path` is one parameter
 * holding the path's elements (keys as strings, indexes as numbers), which the backend writes as
 * its path form (`$."owner"."name"`, a text[] on PostgreSQL). `json`: the value as a JSON document
 * (selected, compared as JSON); `sql`: as an SQL scalar where the backend has one (ordering);
 * `text`: as text (Django's `KeyTextTransform`, selected); `lookup`: the left-hand side of a text
 * lookup; `cmp`: the left-hand side of `gt`/`lt`/`in` (see `JsonSql`).
 */
export type JsonKeyMode = 'json' | 'sql' | 'text' | 'lookup' | 'cmp';
export interface JsonKeyNode extends Node {
  readonly kind: 'jsonkey';
  readonly arg: ExprNode;
  readonly path: ParamNode;
  readonly depth: number;
  readonly mode: JsonKeyMode;
  readonly field: Field | undefined;
}
export const JsonKeyNode = Object.freeze({
  create(arg: ExprNode, path: ParamNode, depth: number, mode: JsonKeyMode, field: Field | undefined): JsonKeyNode {
    return { kind: 'jsonkey', k: `${mode}key${depth}(${arg.k})`, arg, path, depth, mode, field };
  },
  is(n: Node): n is JsonKeyNode {
    return n.kind === 'jsonkey';
  },
});

export type ExprNode =
  | ColNode
  | ParamNode
  | PartNode
  | DateNode
  | CombinedNode
  | WrapNode
  | AggNode
  | AnnotRefNode
  | RawNode
  | SubqueryNode
  | FuncNode
  | CaseNode
  | OuterRefNode
  | WinFnNode
  | WindowNode
  | JsonKeyNode;

/** `NULL` as a value (in SET lists and `Value(null)`). */
export const NULL_NODE: RawNode = RawNode.create('NULL');
/** The constant 1 (`SELECT 1 AS a` of EXISTS). */
export const ONE_NODE: RawNode = RawNode.create('1');
/** The random ordering (`orderBy('?')`). */
export const RANDOM_NODE: RawNode = RawNode.create('%random');

// ---- conditions ---------------------------------------------------------------------------------------

/** One comparison: `lhs <lookup> rhs`. */
export interface LookupNode extends Node {
  readonly kind: 'lookup';
  readonly lookup: string;
  readonly lhs: ExprNode;
  /**
   * exact/gt/...: one node; range: a list of two; in: one parameter holding the whole list (an
   * array value: one shape whatever its length) or a subquery; isnull: undefined.
   */
  readonly rhs: ExprNode | readonly ExprNode[] | undefined;
  /** isnull's value. */
  readonly isnull?: boolean;
}
export const LookupNode = Object.freeze({
  create(lookup: string, lhs: ExprNode, rhs: ExprNode | readonly ExprNode[] | undefined, isnull?: boolean): LookupNode {
    let k = `${lhs.k} ${lookup}`;
    if (isnull !== undefined) k += isnull ? ' T' : ' F';
    else if (Array.isArray(rhs)) k += `[${(rhs as ExprNode[]).map((n) => n.k).join(',')}]`;
    else if (rhs) k += ` ${(rhs as ExprNode).k}`;
    return isnull === undefined ? { kind: 'lookup', k, lookup, lhs, rhs } : { kind: 'lookup', k, lookup, lhs, rhs, isnull };
  },
  is(n: Node): n is LookupNode {
    return n.kind === 'lookup';
  },
});

/** A condition nothing matches (an empty `__in`): `1 = 0`. */
export interface NothingNode extends Node {
  readonly kind: 'nothing';
  readonly k: '0';
}
/** The one NothingNode. */
export const NOTHING: NothingNode = Object.freeze({ kind: 'nothing', k: '0' });
export const NothingNode = Object.freeze({
  create(): NothingNode {
    return NOTHING;
  },
  is(n: Node): n is NothingNode {
    return n.kind === 'nothing';
  },
});

/** AND / OR of conditions, possibly negated. */
export interface WhereNode extends Node {
  readonly kind: 'where';
  readonly connector: 'AND' | 'OR';
  readonly negated: boolean;
  readonly children: readonly WhereChild[];
}
export const WhereNode = Object.freeze({
  create(connector: 'AND' | 'OR', negated: boolean, children: readonly WhereChild[]): WhereNode {
    let k = connector === 'AND' ? (negated ? '!&(' : '&(') : negated ? '!|(' : '|(';
    for (let i = 0; i < children.length; i++) k += (i > 0 ? ',' : '') + (children[i] as WhereChild).k;
    return { kind: 'where', k: k + ')', connector, negated, children };
  },
  is(n: Node): n is WhereNode {
    return n.kind === 'where';
  },
});

export type WhereChild = WhereNode | LookupNode | NothingNode;

/** The empty condition (matches everything). */
export const EMPTY_WHERE: WhereNode = WhereNode.create('AND', false, []);

// ---- joins ------------------------------------------------------------------------------------------------

/**
 * A join: `<joinType> <table> as <alias> on <alias>.<column> = <parentAlias>.<parentColumn>`.
 * Joins belong to one query and change while it is built (promoted to LEFT OUTER): each query
 * copies its joins when cloned.
 */
export interface Join {
  alias: string;
  readonly table: string;
  parentAlias: string;
  readonly parentColumn: string;
  readonly column: string;
  /** LEFT OUTER (true) or INNER (false). */
  outer: boolean;
  /** Does this hop make the path multi-valued (reverse FK, many-to-many)? */
  readonly multi: boolean;
  /** The relation crossed (`fk:Book.author`, ...): with `parentAlias`, the hop's identity, for reuse. */
  readonly rel: string;
  /** The filter() call that created it (multi-valued joins are reused only within that call). */
  readonly call: number;
}

/** What a path step asks to join (the relation crossed), before it has an alias. */
export interface JoinSpec {
  readonly table: string;
  readonly parentColumn: string;
  readonly column: string;
  readonly multi: boolean;
  /** Can the hop lose rows (nullable foreign key, reverse relation, many-to-many)? */
  readonly nullableHop: boolean;
  /** The relation's identity: `fk:Book.author`, `rev:Book.author`, `m2m:Book.tags:f`. */
  readonly rel: string;
}

export const Join = Object.freeze({
  create(spec: JoinSpec, alias: string, parentAlias: string, outer: boolean, call: number): Join {
    return {
      alias,
      table: spec.table,
      parentAlias,
      parentColumn: spec.parentColumn,
      column: spec.column,
      outer,
      multi: spec.multi,
      rel: spec.rel,
      call,
    };
  },
  /** The join's part of the query's structural key. */
  key(j: Join): string {
    return `${j.outer ? 'L' : 'I'}:${j.table}:${j.alias}:${j.parentAlias}.${j.parentColumn}=${j.column}`;
  },
});

// ---- walking and rebuilding -----------------------------------------------------------------------------

/** Visit every Param of an expression in a fixed order (the order the compiler binds them in). */
export function collectExpr(n: ExprNode | readonly ExprNode[] | undefined, out: Param[]): void {
  if (n === undefined) return;
  if (Array.isArray(n)) {
    for (const x of n as ExprNode[]) collectExpr(x, out);
    return;
  }
  const e = n as ExprNode;
  switch (e.kind) {
    case 'param':
      out.push(e.p);
      return;
    case 'part':
    case 'date':
    case 'wrap':
      collectExpr(e.arg, out);
      return;
    case 'combined':
      collectExpr(e.lhs, out);
      collectExpr(e.rhs, out);
      return;
    case 'agg':
      if (e.arg !== '*') collectExpr(e.arg, out);
      if (e.filter !== undefined) collectWhere(e.filter, out);
      return;
    case 'func':
      for (const a of e.args) collectExpr(a, out);
      return;
    case 'case':
      for (const w of e.whens) {
        collectWhere(w.cond, out);
        collectExpr(w.then, out);
      }
      collectExpr(e.otherwise, out);
      return;
    case 'raw':
      for (const b of e.bindings) if (b instanceof Param) out.push(b);
      return;
    case 'subquery':
      e.query.collectParams(out);
      return;
    case 'winfn':
      collectExpr(e.args, out);
      return;
    case 'window':
      collectExpr(e.expr, out);
      collectExpr(e.partition, out);
      for (const o of e.order) collectExpr(o.node, out);
      return;
    case 'jsonkey':
      collectExpr(e.arg, out);
      out.push(e.path.p);
      return;
    default:
      return;
  }
}

/** Are two bound values equal (a JSON path's array, a Date, a plain value)? */
function sameValue(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  return false;
}

/**
 * Are two expressions the same SQL with the same values (Django's expression equality)? Used where
 * the compiler refers to a selected expression by its position (GROUP BY 1, ORDER BY 1), since the
 * same expression bound twice (`substr(x, $1, $2)`, `substr(x, $5, $6)`) is not the same
 * expression to PostgreSQL. `anyJsonMode`: a JSON key read as JSON and as a scalar count as one
 * (Django's KeyTransform is one expression in values() and order_by()).
 */
export function sameExpr(a: ExprNode, b: ExprNode, anyJsonMode = false): boolean {
  if (a === b) return true;
  if (a.kind === 'jsonkey' && b.kind === 'jsonkey')
    return a.depth === b.depth && (anyJsonMode || a.mode === b.mode) && sameExpr(a.arg, b.arg) && sameExpr(a.path, b.path);
  if (a.k !== b.k) return false;
  const pa: Param[] = [];
  const pb: Param[] = [];
  collectExpr(a, pa);
  collectExpr(b, pb);
  return pa.length === pb.length && pa.every((p, i) => p === pb[i] || sameValue(p.value, (pb[i] as Param).value));
}

/** Does the expression bind values (so that a second copy of it is not the same SQL to PostgreSQL)? */
export function bindsValues(n: ExprNode): boolean {
  if (n.kind === 'col') return false;
  if (n.kind === 'subquery' || n.kind === 'jsonkey') return true;
  const out: Param[] = [];
  collectExpr(n, out);
  return out.length > 0;
}

/** Visit every Param of a where tree in a fixed order. */
export function collectWhere(w: WhereChild, out: Param[]): void {
  if (w.kind === 'where') {
    for (const c of w.children) collectWhere(c, out);
  } else if (w.kind === 'lookup') {
    collectExpr(w.lhs, out);
    collectExpr(w.rhs, out);
  }
}

/**
 * Rebuilds a tree bottom-up (Kysely's `OperationNodeTransformer`). Subclasses override the kinds
 * they change; every other node is rebuilt through its factory when a child changed (so its key
 * stays right) and kept as it is otherwise. Subqueries are left alone: they have their own aliases.
 */
export class NodeTransformer {
  transformExpr(n: ExprNode): ExprNode {
    switch (n.kind) {
      case 'col':
        return this.transformCol(n);
      case 'param':
        return this.transformParam(n);
      case 'part':
        return this.transformPart(n);
      case 'date':
        return this.transformDate(n);
      case 'combined':
        return this.transformCombined(n);
      case 'wrap':
        return this.transformWrap(n);
      case 'agg':
        return this.transformAgg(n);
      case 'annot':
        return this.transformAnnotRef(n);
      case 'raw':
        return this.transformRaw(n);
      case 'subquery':
        return this.transformSubquery(n);
      case 'func':
        return this.transformFunc(n);
      case 'case':
        return this.transformCase(n);
      case 'outer':
        return this.transformOuterRef(n);
      case 'winfn': {
        const args = n.args.map((a) => this.transformExpr(a));
        return args.every((a, i) => a === n.args[i]) ? n : WinFnNode.create(n.fn, args, n.literals, n.field);
      }
      case 'window': {
        const expr = this.transformExpr(n.expr);
        const partition = n.partition.map((p) => this.transformExpr(p));
        const order = n.order.map((o) => {
          const node = this.transformExpr(o.node);
          return node === o.node ? o : { node, desc: o.desc };
        });
        const same = expr === n.expr && partition.every((p, i) => p === n.partition[i]) && order.every((o, i) => o === n.order[i]);
        return same ? n : WindowNode.create(expr, partition, order, n.frame, n.field);
      }
      case 'jsonkey': {
        const arg = this.transformExpr(n.arg);
        return arg === n.arg ? n : JsonKeyNode.create(arg, n.path, n.depth, n.mode, n.field);
      }
    }
  }

  transformWhere(n: WhereNode): WhereNode {
    let changed = false;
    const children = n.children.map((c) => {
      const t = this.transformWhereChild(c);
      if (t !== c) changed = true;
      return t;
    });
    return changed ? WhereNode.create(n.connector, n.negated, children) : n;
  }

  transformWhereChild(n: WhereChild): WhereChild {
    switch (n.kind) {
      case 'where':
        return this.transformWhere(n);
      case 'lookup':
        return this.transformLookup(n);
      case 'nothing':
        return n;
    }
  }

  protected transformLookup(n: LookupNode): LookupNode {
    const lhs = this.transformExpr(n.lhs);
    let rhs = n.rhs;
    let changed = lhs !== n.lhs;
    if (Array.isArray(rhs)) {
      const list = (rhs as readonly ExprNode[]).map((r) => this.transformExpr(r));
      if (list.some((r, i) => r !== (rhs as readonly ExprNode[])[i])) {
        rhs = list;
        changed = true;
      }
    } else if (rhs !== undefined) {
      const r = this.transformExpr(rhs as ExprNode);
      if (r !== rhs) {
        rhs = r;
        changed = true;
      }
    }
    return changed ? LookupNode.create(n.lookup, lhs, rhs, n.isnull) : n;
  }

  protected transformCol(n: ColNode): ExprNode {
    return n;
  }

  protected transformParam(n: ParamNode): ExprNode {
    return n;
  }

  protected transformPart(n: PartNode): ExprNode {
    const arg = this.transformExpr(n.arg);
    return arg === n.arg ? n : PartNode.create(n.part, n.datetime, arg);
  }

  protected transformDate(n: DateNode): ExprNode {
    const arg = this.transformExpr(n.arg);
    return arg === n.arg ? n : DateNode.create(arg);
  }

  protected transformCombined(n: CombinedNode): ExprNode {
    const lhs = this.transformExpr(n.lhs);
    const rhs = this.transformExpr(n.rhs);
    return lhs === n.lhs && rhs === n.rhs ? n : CombinedNode.create(n.op, lhs, rhs, n.field);
  }

  protected transformWrap(n: WrapNode): ExprNode {
    const arg = this.transformExpr(n.arg);
    return arg === n.arg ? n : WrapNode.create(arg, n.field);
  }

  protected transformAgg(n: AggNode): ExprNode {
    const arg = n.arg === '*' ? n.arg : this.transformExpr(n.arg);
    const filter = n.filter === undefined ? undefined : this.transformWhereChild(n.filter);
    return arg === n.arg && filter === n.filter ? n : AggNode.create(n.fn, n.distinct, arg, n.field, filter);
  }

  protected transformFunc(n: FuncNode): ExprNode {
    const args = n.args.map((a) => this.transformExpr(a));
    return args.every((a, i) => a === n.args[i]) ? n : FuncNode.create(n.fn, args, n.field, n.option, n.template);
  }

  protected transformCase(n: CaseNode): ExprNode {
    let changed = false;
    const whens = n.whens.map((w) => {
      const cond = this.transformWhereChild(w.cond);
      const then = this.transformExpr(w.then);
      if (cond !== w.cond || then !== w.then) changed = true;
      return { cond, then };
    });
    const otherwise = this.transformExpr(n.otherwise);
    return changed || otherwise !== n.otherwise ? CaseNode.create(whens, otherwise, n.field) : n;
  }

  protected transformAnnotRef(n: AnnotRefNode): ExprNode {
    return n;
  }

  protected transformRaw(n: RawNode): ExprNode {
    return n;
  }

  protected transformSubquery(n: SubqueryNode): ExprNode {
    return n;
  }

  protected transformOuterRef(n: OuterRefNode): ExprNode {
    return n;
  }
}

/**
 * The walk of `findAggregateOrWindow`: one class for the module, not a class made per call (a class
 * made on every `update()` with an expression cost a new hidden class and unoptimized code each time).
 */
class AggregateOrWindowFinder extends NodeTransformer {
  found: AggNode | WindowNode | undefined = undefined;

  override transformExpr(x: ExprNode): ExprNode {
    if (this.found) return x;
    if (x.kind === 'agg' || x.kind === 'window') {
      this.found = x;
      return x;
    }
    return super.transformExpr(x);
  }
}

/**
 * The first aggregate or window call in an expression (not inside a subquery, which is a query of
 * its own, nor behind an annotation reference), or undefined.
 */
export function findAggregateOrWindow(n: ExprNode): AggNode | WindowNode | undefined {
  const finder = new AggregateOrWindowFinder();
  finder.transformExpr(n);
  return finder.found;
}

/** Renames table aliases (Django's `change_aliases` / `relabeled_clone` of expressions). */
export class AliasRelabeler extends NodeTransformer {
  /**
   * `prefix` is the prefix of the query being relabeled: its subqueries are relabeled to the next
   * one, and their references to this query's aliases (correlated columns) follow the renaming.
   */
  constructor(
    private readonly aliases: ReadonlyMap<string, string>,
    private readonly prefix?: string,
  ) {
    super();
  }

  protected override transformSubquery(n: SubqueryNode): ExprNode {
    if (this.prefix === undefined) return n;
    return SubqueryNode.create(n.query.relabeledClone(nextPrefix(this.prefix), this.aliases), n.form, n.field);
  }

  protected override transformCol(n: ColNode): ExprNode {
    const alias = this.aliases.get(n.alias);
    return alias === undefined ? n : ColNode.create(alias, n.field, n.column);
  }
}

/** The alias prefix of a subquery of a query with `prefix` ('T' → 'U' → 'V' ...). */
export function nextPrefix(prefix: string): string {
  return prefix === 'T' ? 'U' : String.fromCharCode(prefix.charCodeAt(0) + 1);
}

/**
 * Resolves the outer references of an embedded query (Django's `ResolvedOuterRef`): those one
 * level out become `resolve(name)`, deeper ones move one level closer, inside nested subqueries too.
 */
export class OuterRefResolver extends NodeTransformer {
  constructor(private readonly resolve: (name: string) => ExprNode) {
    super();
  }

  protected override transformOuterRef(n: OuterRefNode): ExprNode {
    return n.depth === 1 ? this.resolve(n.name) : OuterRefNode.create(n.name, n.depth - 1);
  }

  protected override transformSubquery(n: SubqueryNode): ExprNode {
    const q = n.query.transformed(this);
    return q === n.query ? n : SubqueryNode.create(q, n.form, n.field);
  }
}
