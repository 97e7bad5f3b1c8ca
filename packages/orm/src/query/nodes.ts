/**
 * The query AST: SQL expression nodes, lookups and where trees, joins. Plain objects tagged with
 * `t`, each carrying `k`, its structural key (everything that shapes the SQL, nothing of the
 * values): two queries with equal keys compile to the same SQL, so the compiled SQL is cached
 * by key and only the parameters change. @internal
 */
import type { Vendor } from '@spool/connections';
import type { Field } from '../fields/field';
import type { Query } from './query';

/** Prepare a parameter's value for binding on a vendor (the field's `toDb`, LIKE escaping, ...). */
export type Prep = (value: unknown, vendor: Vendor) => unknown;

/** A bound value. Its identity links it to its position in the compiled SQL. */
export class Param {
  constructor(
    readonly value: unknown,
    readonly prep: Prep | undefined,
  ) {}
  bind(vendor: Vendor): unknown {
    const v = this.value;
    if (v === null || v === undefined) return null;
    return this.prep === undefined ? v : this.prep(v, vendor);
  }
}

export interface ColNode {
  readonly kind: 'col';
  readonly k: string;
  readonly alias: string;
  readonly column: string;
  readonly field: Field;
}
export interface ParamNode {
  readonly kind: 'param';
  readonly k: '?';
  readonly p: Param;
}
export interface PartNode {
  readonly kind: 'part';
  readonly k: string;
  readonly part: string;
  readonly datetime: boolean;
  readonly arg: ExprNode;
}
export interface DateNode {
  readonly kind: 'date';
  readonly k: string;
  readonly arg: ExprNode;
}
export interface CombinedNode {
  readonly kind: 'combined';
  readonly k: string;
  readonly op: string;
  readonly lhs: ExprNode;
  readonly rhs: ExprNode;
  readonly field: Field | undefined;
}
export interface AggNode {
  readonly kind: 'agg';
  readonly k: string;
  readonly fn: string;
  readonly distinct: boolean;
  readonly arg: ExprNode | '*';
  readonly field: Field | undefined;
}
export interface AnnotRefNode {
  readonly kind: 'annot';
  readonly k: string;
  readonly name: string;
  readonly aggregate: boolean;
}
export interface RawNode {
  readonly kind: 'raw';
  readonly k: string;
  /** knex raw SQL, with `??` identifiers and `?` params listed in `bindings`. */
  readonly sql: string;
  readonly bindings: readonly (string | Param)[];
}
export interface SubqueryNode {
  readonly kind: 'subquery';
  readonly k: string;
  readonly query: Query;
}

export type ExprNode = ColNode | ParamNode | PartNode | DateNode | CombinedNode | AggNode | AnnotRefNode | RawNode | SubqueryNode;

export interface LookupNode {
  readonly kind: 'lookup';
  readonly k: string;
  readonly lookup: string;
  readonly lhs: ExprNode;
  /** exact/gt/...: one node; in/range: a list; isnull: undefined. */
  readonly rhs: ExprNode | readonly ExprNode[] | undefined;
  /** isnull's value. */
  readonly isnull?: boolean;
}

export interface NothingNode {
  readonly kind: 'nothing';
  readonly k: '0';
}

export interface WhereNode {
  readonly kind: 'where';
  readonly k: string;
  readonly connector: 'AND' | 'OR';
  readonly negated: boolean;
  readonly children: readonly WhereChild[];
}

export type WhereChild = WhereNode | LookupNode | NothingNode;

export const NOTHING: NothingNode = { kind: 'nothing', k: '0' };
export const EMPTY_WHERE: WhereNode = { kind: 'where', k: '', connector: 'AND', negated: false, children: [] };

export function col(alias: string, field: Field, column = field.column): ColNode {
  return { kind: 'col', k: `${alias}.${column}`, alias, column, field };
}

export function param(value: unknown, prep: Prep | undefined): ParamNode {
  return { kind: 'param', k: '?', p: new Param(value, prep) };
}

export function where(connector: 'AND' | 'OR', negated: boolean, children: readonly WhereChild[]): WhereNode {
  let k = connector === 'AND' ? (negated ? '!&(' : '&(') : negated ? '!|(' : '|(';
  for (let i = 0; i < children.length; i++) k += (i > 0 ? ',' : '') + (children[i] as WhereChild).k;
  return { kind: 'where', k: k + ')', connector, negated, children };
}

export function lookupNode(lookup: string, lhs: ExprNode, rhs: ExprNode | readonly ExprNode[] | undefined, isnull?: boolean): LookupNode {
  let k = `${lhs.k} ${lookup}`;
  if (isnull !== undefined) k += isnull ? ' T' : ' F';
  else if (Array.isArray(rhs)) k += `[${(rhs as ExprNode[]).map((n) => n.k).join(',')}]`;
  else if (rhs) k += ` ${(rhs as ExprNode).k}`;
  const node: LookupNode = isnull === undefined ? { kind: 'lookup', k, lookup, lhs, rhs } : { kind: 'lookup', k, lookup, lhs, rhs, isnull };
  return node;
}

/** A join: `<joinType> <table> as <alias> on <alias>.<column> = <parentAlias>.<parentColumn>`. */
export interface Join {
  alias: string;
  readonly table: string;
  readonly parentAlias: string;
  readonly parentColumn: string;
  readonly column: string;
  /** LEFT OUTER (true) or INNER (false). */
  outer: boolean;
  /** Does this hop make the path multi-valued (reverse FK, many-to-many)? */
  readonly multi: boolean;
  /** Identity of the relation hop, for reuse: `<parentAlias>|<relation id>`. */
  readonly relKey: string;
  /** The filter() call that created it (multi-valued joins are reused only within that call). */
  readonly call: number;
}

export function joinKey(j: Join): string {
  return `${j.outer ? 'L' : 'I'}:${j.table}:${j.alias}:${j.parentAlias}.${j.parentColumn}=${j.column}`;
}

/** Visit every Param of an expression in a fixed order. */
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
      collectExpr(e.arg, out);
      return;
    case 'combined':
      collectExpr(e.lhs, out);
      collectExpr(e.rhs, out);
      return;
    case 'agg':
      if (e.arg !== '*') collectExpr(e.arg, out);
      return;
    case 'raw':
      for (const b of e.bindings) if (b instanceof Param) out.push(b);
      return;
    case 'subquery':
      e.query.collectParams(out);
      return;
    default:
      return;
  }
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
