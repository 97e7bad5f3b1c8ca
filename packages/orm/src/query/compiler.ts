/**
 * The query compiler: the only code that talks to knex builders. It turns a `Query` into a knex
 * builder, lets knex produce the SQL (`toSQL().toNative()`), and caches the result by the query's
 * *shape* (its structural key and the backend), together with the order in which the query's
 * parameters appear. A repeated shape never runs knex again: the cached SQL is reused and only
 * the parameters are bound, so the SQL is exactly what knex produced.
 *
 * Values never enter the SQL text: every value is a `Param` (a bound parameter), identifiers come
 * from model metadata (validated when the model is defined) and are quoted by knex. What differs
 * between databases comes from the backend's operations (`ops`). Internal to the package (not exported from its index).
 */
import type { Knex } from 'knex';
import { connections, NotSupportedError, type QueryOptions, type TemporalParser } from '@spool/connections';
import type { Field } from '../fields/field';
import { dateTimeFromDb } from '../fields/date-time-field';
import type { BaseOperations } from '../backends/base-operations';
import type { ModelMeta } from '../models/model-meta';
import { ModelState, FROM_DB } from '../models/model-state';
import { STATE } from '../brand';
import {
  ColNode,
  JsonKeyNode,
  Param,
  bindsValues,
  collectExpr,
  sameExpr,
  type ExprNode,
  type LookupNode,
  type WhereChild,
  type WhereNode,
} from './nodes';
import type { Query, RelatedSelection } from './query';
import { arithmeticKind } from './output-types';
import { customLookupSql } from './custom-lookups';

/** A compiled statement: SQL plus how to bind a query's parameters into it. */
export interface Compiled {
  readonly sql: string;
  /** For each binding: index of the Param (≥ 0), -1 limit, -2 offset, -3 a constant from `consts`. */
  readonly slots: Int32Array;
  readonly consts: readonly unknown[];
  /** Number of Params the query collects (a sanity check). */
  readonly paramCount: number;
  /** Builds result objects from array rows, when the statement returns rows. */
  readonly map: ((rows: unknown[][], db: string) => unknown[]) | undefined;
  /** The statement options of a read (array rows, temporal values as text, bigints where a column needs them). */
  readonly readOptions?: QueryOptions;
}

/**
 * How the ORM reads rows: as arrays, with dates and instants as the server's text (a driver's Date
 * keeps milliseconds only; `DateTimeField` parses the text into a PreciseDate).
 */
export const READ_OPTIONS: QueryOptions = Object.freeze({ rowMode: 'array', temporalAsText: true });
const READ_NO_FLOATS: QueryOptions = Object.freeze({ rowMode: 'array', temporalAsText: true, noFloatColumns: true });
const READ_SAFE_INTEGERS: QueryOptions = Object.freeze({ rowMode: 'array', temporalAsText: true, safeIntegers: true });

/**
 * Where the driver rounds integers beyond 2^53 unless a statement asks for bigints (SQLite), a
 * statement that selects a bigint field (`fields[i]?.bigint`) asks for them, and every other
 * integer of its rows is turned back into a number before `map` sees it.
 */
function withSafeIntegers(compiled: Compiled, fields: ReadonlyArray<Field | undefined>, ops: BaseOperations): Compiled {
  const map = compiled.map;
  if (map === undefined || !ops.features.safeIntegersPerStatement || !fields.some((f) => f?.bigint === true)) return compiled;
  const keep = fields.map((f) => f?.bigint === true);
  const normalise = (rows: unknown[][], db: string) => {
    for (const row of rows) {
      for (let i = 0; i < row.length; i++) {
        const v = row[i];
        if (typeof v === 'bigint' && keep[i] !== true) row[i] = Number(v);
      }
    }
    return map(rows, db);
  };
  return { ...compiled, map: normalise, readOptions: READ_SAFE_INTEGERS };
}

const LIMIT_MAGIC = 1_999_999_937;
const OFFSET_MAGIC = 1_999_999_939;
const MAX_CACHE = 5000;
const cache = new Map<string, Compiled>();
let hits = 0;
let misses = 0;

/** Cache statistics (for tests and the bench). */
export function compilerStats(): { size: number; hits: number; misses: number } {
  return { size: cache.size, hits, misses };
}
/** Empty the cache (tests). */
export function clearCompiledCache(): void {
  cache.clear();
}

/** The knex instance that only compiles for `alias`'s dialect. */
function knexFor(alias: string): Knex {
  return connections.compiler(alias);
}

// ---- rendering expressions -------------------------------------------------------------------------

interface Ctx {
  readonly k: Knex;
  readonly ops: BaseOperations;
  readonly q: Query;
  readonly forUpdateOrDelete: boolean;
  /** In HAVING, outside aggregates: the grouped columns read as `MIN(col)` (see `havingFindsGroupedColumnsByName`). */
  readonly havingMin?: ReadonlySet<string>;
}

type Fragment = [string, unknown[]];

function renderExpr(n: ExprNode, c: Ctx): Fragment {
  switch (n.kind) {
    case 'col':
      return c.havingMin?.has(n.k) ? ['MIN(??)', [n.k]] : ['??', [n.k]];
    case 'param':
      return n.cast === undefined ? ['?', [n.p]] : [c.ops.castParam(n.cast), [n.p]];
    case 'part': {
      const [s, b] = renderExpr(n.arg, c);
      const pieces = c.ops.datePart(n.part, n.datetime).split('%lhs');
      return [pieces.join(s), repeat(b, pieces.length - 1)];
    }
    case 'date': {
      const [s, b] = renderExpr(n.arg, c);
      return [c.ops.dateOfDatetime.replace('%lhs', s), b];
    }
    case 'combined': {
      const [l, lb] = renderExpr(n.lhs, c);
      const [r, rb] = renderExpr(n.rhs, c);
      // The backend writes the operation for its output type (integer division, float division).
      return [c.ops.combineExpression(n.op, arithmeticKind(n.field), l, r), [...lb, ...rb]];
    }
    case 'wrap':
      return renderExpr(n.arg, c);
    case 'agg': {
      if (n.arg === '*') return [`${n.fn}(*)`, []];
      if (c.havingMin !== undefined) c = { ...c, havingMin: undefined };
      const [s, b] = renderExpr(n.arg, c);
      if (n.filter === undefined) return [`${n.fn}(${n.distinct ? 'DISTINCT ' : ''}${s})`, b];
      // A conditional aggregate: FILTER (WHERE ...) where the database has it, else CASE WHEN (as Django).
      const [w, wb] = renderCondition(n.filter, c);
      if (c.ops.features.supportsAggregateFilterClause)
        return [`${n.fn}(${n.distinct ? 'DISTINCT ' : ''}${s}) FILTER (WHERE ${w})`, [...b, ...wb]];
      return [`${n.fn}(${n.distinct ? 'DISTINCT ' : ''}CASE WHEN ${w} THEN ${s} ELSE NULL END)`, [...wb, ...b]];
    }
    case 'func':
      return fillTemplate(c.ops.functionTemplate(n), n.args, c);
    case 'case': {
      let sql = 'CASE';
      const bind: unknown[] = [];
      for (const w of n.whens) {
        const [cs, cb] = renderCondition(w.cond, c);
        const [ts, tb] = renderExpr(w.then, c);
        sql += ` WHEN ${cs} THEN ${ts}`;
        bind.push(...cb, ...tb);
      }
      const [es, eb] = renderExpr(n.otherwise, c);
      return [`${sql} ELSE ${es} END`, [...bind, ...eb]];
    }
    case 'annot': {
      const a = c.q.annotations.find((x) => x.name === n.name);
      if (!a) throw new Error(`internal: unknown annotation ${n.name}`);
      return renderExpr(a.node, c);
    }
    case 'raw':
      return [n.sql.replace('%random', c.ops.random), [...n.bindings]];
    case 'subquery': {
      const sub = buildSelect(n.query, c.k, c.ops, false, c.forUpdateOrDelete);
      if (n.form === 'exists') return ['EXISTS ?', [sub]];
      if (n.form === 'notExists') return ['NOT EXISTS ?', [sub]];
      return ['?', [sub]];
    }
    case 'jsonkey': {
      const j = c.ops.json;
      const t =
        n.mode === 'json'
          ? j.key
          : n.mode === 'sql'
            ? j.keySql
            : n.mode === 'text'
              ? j.keyText
              : n.mode === 'lookup'
                ? j.keyTextLookup
                : j.keyCompare;
      return fill(t, { doc: renderExpr(n.arg, c), path: renderExpr(n.path, c) });
    }
    case 'outer':
      throw new TypeError(
        `This query set contains a reference to an outer query (OuterRef('${n.name}')) and may only be used in a subquery (Subquery(...), Exists(...), __in).`,
      );
    case 'winfn': {
      if ((n.fn === 'LAG' || n.fn === 'LEAD') && n.args.length > 1 && !c.ops.features.supportsLagLeadDefault)
        throw new NotSupportedError(
          `${n.fn === 'LAG' ? 'Lag' : 'Lead'}() with a default value is not supported on ${c.ops.displayName} (its ${n.fn} takes an expression and an offset only).`,
        );
      const parts: string[] = [];
      const bind: unknown[] = [];
      const args = n.args.map((a) => renderExpr(a, c));
      const first = args[0];
      if (first) {
        parts.push(first[0]);
        bind.push(...first[1]);
      }
      // Integer arguments (validated integers) follow the expression: LAG(x, 1, default), NTH_VALUE(x, 2), NTILE(4).
      for (const l of n.literals) parts.push(String(l));
      for (const [sql, b] of args.slice(1)) {
        parts.push(sql);
        bind.push(...b);
      }
      return [`${n.fn}(${parts.join(', ')})`, bind];
    }
    case 'window': {
      const [e, eb] = renderExpr(n.expr, c);
      const bind = [...eb];
      const clauses: string[] = [];
      if (n.partition.length > 0) {
        const ps = n.partition.map((p) => renderExpr(p, c));
        clauses.push(`PARTITION BY ${ps.map(([sql]) => sql).join(', ')}`);
        for (const [, b] of ps) bind.push(...b);
      }
      if (n.order.length > 0) {
        const os = n.order.map((o) => [renderExpr(o.node, c), o.desc] as const);
        clauses.push(`ORDER BY ${os.map(([[sql], desc]) => `${sql}${desc ? ' DESC' : ''}`).join(', ')}`);
        for (const [[, b]] of os) bind.push(...b);
      }
      if (n.frame !== undefined) {
        const [type, start, end] = n.frame.split(':') as [string, string, string];
        clauses.push(c.ops.windowFrame(type as 'ROWS' | 'RANGE', start === '' ? null : Number(start), end === '' ? null : Number(end)));
      }
      return [`${e} OVER (${clauses.join(' ')})`, bind];
    }
  }
}

/**
 * Fill a backend's SQL template: `%doc`, `%path`, `%lhs` and `%rhs` are replaced by fragments
 * (each may appear more than once), bindings in the order they appear.
 */
function fill(template: string, parts: Partial<Record<'doc' | 'path' | 'lhs' | 'rhs', Fragment>>): Fragment {
  let sql = '';
  const bind: unknown[] = [];
  const re = /%(doc|path|lhs|rhs)/g;
  let last = 0;
  for (let m = re.exec(template); m !== null; m = re.exec(template)) {
    const part = parts[m[1] as 'doc' | 'path' | 'lhs' | 'rhs'];
    if (!part) throw new Error(`internal: template part %${m[1]} missing`);
    sql += template.slice(last, m.index) + part[0];
    bind.push(...part[1]);
    last = m.index + m[0].length;
  }
  return [sql + template.slice(last), bind];
}

/** A lookup on a JSON document or a key of it (see `BaseOperations.json`). */
function renderJsonLookup(n: LookupNode, c: Ctx): Fragment {
  const j = c.ops.json;
  const onKey = n.lhs.kind === 'jsonkey';
  const key = n.lhs.kind === 'jsonkey' ? n.lhs : undefined;
  const parts = () => {
    const lhs = renderExpr(n.lhs, c);
    return key ? { lhs, doc: renderExpr(key.arg, c), path: renderExpr(key.path, c) } : { lhs, doc: lhs };
  };
  switch (n.lookup) {
    case 'json_null':
      return fill(onKey ? j.keyIsJsonNull : j.docIsJsonNull, parts());
    case 'json_exact':
      return fill(j.keyExact, { ...parts(), rhs: renderExpr(n.rhs as ExprNode, c) });
    case 'json_isnull':
      return fill(n.isnull ? j.keyMissing : j.keyPresent, parts());
    case 'json_contains':
    case 'json_contained_by': {
      const t = n.lookup === 'json_contains' ? j.contains : j.containedBy;
      const name = n.lookup === 'json_contains' ? 'contains' : 'contained_by';
      if (t === undefined)
        throw new NotSupportedError(`The JSON '${name}' lookup is not supported on ${c.ops.displayName} (as in Django).`);
      return fill(t, { ...parts(), rhs: renderExpr(n.rhs as ExprNode, c) });
    }
    case 'json_gt':
    case 'json_gte':
    case 'json_lt':
    case 'json_lte': {
      // Django's KeyTransformLt/Lte/Gt/Gte: JSON values compared as jsonb on PostgreSQL, the plain
      // value against the key's SQL value elsewhere (json.loads of the JSON parameter).
      const rhsNode = n.rhs as ExprNode;
      if (rhsNode.kind !== 'param' && !j.compareJsonText)
        throw new NotSupportedError(
          `Comparing a JSON key with an expression ('${n.lookup.slice(5)}') is not supported on ${c.ops.displayName} (Django 3.2 fails there too: its numeric key lookups decode the right-hand side as a JSON parameter).`,
        );
      const [lhs, lb] = renderExpr(n.lhs, c);
      const [rhs, rb] = fill(j.compareRhs, { rhs: renderExpr(rhsNode, c) });
      return [`${lhs} ${CMP[n.lookup.slice(5)] as string} ${rhs}`, [...lb, ...rb]];
    }
    case 'json_in': {
      // Django's KeyTransformIn: each item a JSON value, in the backend's form.
      const [lhs, lb] = renderExpr(n.lhs, c);
      const items = (n.rhs as readonly ExprNode[]).map((p) => fill(j.inItem, { rhs: renderExpr(p, c) }));
      return [`${lhs} IN (${items.map(([sql]) => sql).join(', ')})`, [...lb, ...items.flatMap(([, b]) => b)]];
    }
    default: {
      // has_key / has_keys (AND) / has_any_keys (OR): one test per path.
      const doc = renderExpr(n.lhs, c);
      const tests = (n.rhs as readonly ExprNode[]).map((p) => fill(j.hasPath, { doc, rhs: renderExpr(p, c) }));
      if (tests.length === 1) return tests[0] as Fragment;
      const op = n.lookup === 'json_has_any_keys' ? ' OR ' : ' AND ';
      return [`(${tests.map(([sql]) => sql).join(op)})`, tests.flatMap(([, b]) => b)];
    }
  }
}

/**
 * A function's SQL from its template: `%(0)s`, `%(1)s`, ... are its arguments, `%(expressions)s`
 * all of them (comma-separated); the bindings follow the order the arguments appear in.
 */
function fillTemplate(template: string, args: readonly ExprNode[], c: Ctx): Fragment {
  const frags = args.map((a) => renderExpr(a, c));
  const bind: unknown[] = [];
  const sql = template.replace(/%\((\w+)\)s/g, (_, name: string) => {
    if (name === 'expressions') {
      for (const f of frags) bind.push(...f[1]);
      return frags.map((f) => f[0]).join(', ');
    }
    const f = frags[Number(name)];
    if (!/^\d+$/.test(name) || f === undefined)
      throw new TypeError(`The function template ${JSON.stringify(template)} has no argument %(${name})s.`);
    bind.push(...f[1]);
    return f[0];
  });
  return [sql, bind];
}

/** A condition as SQL (in CASE WHEN, an aggregate's FILTER). */
function renderCondition(w: WhereChild, c: Ctx): Fragment {
  if (w.kind === 'lookup') return renderLookup(w, c);
  if (w.kind === 'nothing') return ['1 = 0', []];
  if (w.children.length === 0) return [w.negated ? '1 = 0' : '1 = 1', []];
  const parts: string[] = [];
  const bind: unknown[] = [];
  for (const child of w.children) {
    const [s, b] = renderCondition(child, c);
    parts.push(child.kind === 'where' ? `(${s})` : s);
    bind.push(...b);
  }
  const sql = parts.join(w.connector === 'AND' ? ' AND ' : ' OR ');
  return [w.negated ? `NOT (${sql})` : parts.length > 1 ? `(${sql})` : sql, bind];
}

function repeat(b: unknown[], times: number): unknown[] {
  if (times <= 1) return b;
  const out: unknown[] = [];
  for (let i = 0; i < times; i++) out.push(...b);
  return out;
}

const CMP: Record<string, string> = { exact: '=', gt: '>', gte: '>=', lt: '<', lte: '<=' };

function renderLookup(n: LookupNode, c: Ctx): Fragment {
  if (n.lookup.startsWith('custom:')) return renderCustomLookup(n, c);
  const [lhs, lb] = renderExpr(n.lhs, c);
  // A condition expression on its own (Exists(...)).
  if (n.lookup === 'expr') return [lhs, lb];
  if (n.lookup.startsWith('json_')) return renderJsonLookup(n, c);
  const op = CMP[n.lookup];
  if (op) {
    const [rhs, rb] = renderExpr(n.rhs as ExprNode, c);
    return [`${lhs} ${op} ${rhs}`, [...lb, ...rb]];
  }
  switch (n.lookup) {
    case 'isnull':
      return [`${lhs} IS ${n.isnull ? '' : 'NOT '}NULL`, lb];
    case 'in': {
      if (!Array.isArray(n.rhs)) {
        const [rhs, rb] = renderExpr(n.rhs as ExprNode, c);
        if ((n.rhs as ExprNode).kind === 'param') {
          // The whole list as one parameter, in the backend's form (`= ANY(?)`, `json_each(?)`, ...).
          const pieces = c.ops.inListSql.replace('?', '\u0001').split('%lhs');
          return [pieces.join(lhs).replace('\u0001', rhs), [...repeat(lb, pieces.length - 1), ...rb]];
        }
        // Where an UPDATE/DELETE cannot read the table it writes in a subquery (MariaDB): materialise it.
        if (c.forUpdateOrDelete && !c.ops.features.updateCanSelfSelect)
          return [`${lhs} IN (SELECT * FROM ${rhs} AS ??)`, [...lb, ...rb, 'subquery']];
        return [`${lhs} IN ${rhs}`, [...lb, ...rb]];
      }
      const parts: string[] = [];
      const bind = [...lb];
      for (const item of n.rhs as ExprNode[]) {
        const [s, b] = renderExpr(item, c);
        parts.push(s);
        bind.push(...b);
      }
      return [`${lhs} IN (${parts.join(', ')})`, bind];
    }
    case 'range': {
      const [a, ab] = renderExpr((n.rhs as ExprNode[])[0] as ExprNode, c);
      const [b, bb] = renderExpr((n.rhs as ExprNode[])[1] as ExprNode, c);
      return [`${lhs} BETWEEN ${a} AND ${b}`, [...lb, ...ab, ...bb]];
    }
    default: {
      const template = c.ops.operators[n.lookup];
      if (!template) {
        const where = n.lhs.kind === 'col' ? `${n.lhs.field.model?.name}.${n.lhs.field.name}__${n.lookup}` : n.lookup;
        throw new NotSupportedError(`The '${n.lookup}' lookup (${where}) is not supported on ${c.ops.displayName}.`);
      }
      const kind = n.lhs.kind === 'col' ? n.lhs.field.lookupKind : 'text';
      let l = c.ops.lookupCast(lhs, kind, template);
      const [rhsSql, rb] = renderExpr(n.rhs as ExprNode, c);
      let rhs = rhsSql;
      // A case-insensitive lookup on a JSON key: LOWER() on both sides where JSON text compares
      // binary (Django's CaseInsensitiveMixin, MariaDB).
      if (n.lhs.kind === 'jsonkey' && c.ops.json.lowerCaseInsensitive && n.lookup.startsWith('i')) {
        l = `LOWER(${l})`;
        rhs = `LOWER(${rhs})`;
      }
      // Put the rhs in before the lhs: the lhs SQL (`??`) contains question marks.
      const pieces = template.replace('?', '\u0001').split('%lhs');
      const sql = pieces.join(l).replace('\u0001', rhs);
      return [sql, [...repeat(lb, pieces.length - 1), ...rb]];
    }
  }
}

/** A lookup registered on a field class (`registerLookup`): its SQL with `%(lhs)s` and `%(rhs)s`. */
function renderCustomLookup(n: LookupNode, c: Ctx): Fragment {
  const custom = customLookupSql(n.lookup, c.ops.vendor);
  if (custom === undefined) throw new Error(`internal: unknown lookup ${n.lookup}`);
  if (custom.sql === undefined) throw new NotSupportedError(`The '${custom.name}' lookup has no SQL for ${c.ops.displayName}.`);
  const frags: Record<string, Fragment> = { lhs: renderExpr(n.lhs, c), rhs: renderExpr(n.rhs as ExprNode, c) };
  const bind: unknown[] = [];
  const sql = custom.sql.replace(/%\((lhs|rhs)\)s/g, (_, side: string) => {
    const f = frags[side] as Fragment;
    bind.push(...f[1]);
    return f[0];
  });
  return [sql, bind];
}

function applyWhere(b: QB, node: WhereNode, c: Ctx): void {
  const or = node.connector === 'OR';
  for (const child of node.children) {
    if (child.kind === 'where') {
      const fn = function (this: QB) {
        applyWhere(this, child, c);
      };
      if (child.negated) {
        if (or) b.orWhereNot(fn);
        else b.whereNot(fn);
      } else if (or) b.orWhere(fn);
      else b.where(fn);
    } else if (child.kind === 'nothing') {
      if (or) b.orWhereRaw('1 = 0');
      else b.whereRaw('1 = 0');
    } else {
      const [sql, bind] = renderLookup(child, c);
      if (or) b.orWhereRaw(sql, bind as never);
      else b.whereRaw(sql, bind as never);
    }
  }
}

/** The plain columns a HAVING condition compares outside its aggregates (they must be in GROUP BY). */
function havingColumns(w: WhereChild, out: ExprNode[]): void {
  if (w.kind === 'where') for (const c of w.children) havingColumns(c, out);
  else if (w.kind === 'lookup') {
    const visit = (n: ExprNode): void => {
      if (n.kind === 'col') out.push(n);
      else if (n.kind === 'combined') {
        visit(n.lhs);
        visit(n.rhs);
      } else if (n.kind === 'part' || n.kind === 'date' || n.kind === 'wrap') visit(n.arg);
      else if (n.kind === 'func') n.args.forEach(visit);
      else if (n.kind === 'case') {
        for (const w of n.whens) {
          havingColumns(w.cond, out);
          visit(w.then);
        }
        visit(n.otherwise);
      }
    };
    visit(w.lhs);
    if (Array.isArray(w.rhs)) for (const r of w.rhs as readonly ExprNode[]) visit(r);
    else if (w.rhs !== undefined) visit(w.rhs as ExprNode);
  }
}

/**
 * The context HAVING is rendered in. Where the database finds a grouped column by its name only
 * (MariaDB), a column of the condition that shares its name with another table's grouped column is
 * read as `MIN(col)`: it is grouped, so that is its value (NULL included).
 */
function havingCtx(c: Ctx, groupBy: readonly Fragment[]): Ctx {
  if (!c.ops.features.havingFindsGroupedColumnsByName) return c;
  const cols: ExprNode[] = [];
  havingColumns(c.q.having, cols);
  if (cols.length === 0) return c;
  const grouped = new Map<string, Set<string>>();
  for (const [sql, bind] of groupBy) {
    if (sql !== '??' || typeof bind[0] !== 'string') continue;
    const key = bind[0];
    const dot = key.lastIndexOf('.');
    const name = key.slice(dot + 1);
    let tables = grouped.get(name);
    if (tables === undefined) grouped.set(name, (tables = new Set()));
    tables.add(key.slice(0, dot));
  }
  const wrap = new Set<string>();
  for (const n of cols) if (n.kind === 'col' && (grouped.get(n.column)?.size ?? 0) > 1) wrap.add(n.k);
  return wrap.size === 0 ? c : { ...c, havingMin: wrap };
}

function tableRef(alias: string, table: string): string | Record<string, string> {
  return alias === table ? table : { [alias]: table };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type QB = Knex.QueryBuilder<any, any>;

function from(k: Knex, alias: string, table: string): QB {
  return k.from(tableRef(alias, table) as never) as unknown as QB;
}

function applyJoins(b: QB, q: Query): void {
  for (const j of q.joins) {
    const t = tableRef(j.alias, j.table);
    if (j.outer) b.leftOuterJoin(t as never, `${j.alias}.${j.column}`, `${j.parentAlias}.${j.parentColumn}`);
    else b.join(t as never, `${j.alias}.${j.column}`, `${j.parentAlias}.${j.parentColumn}`);
  }
}

/** The columns of the query's own model (no select_related). */
function ownColumns(q: Query): ExprNode[] {
  return q.meta.fields.map((f) => ColNode.create(q.alias, f));
}

/** The selected expressions of a model query: base fields, select_related fields, annotations. */
function modelColumns(q: Query): ExprNode[] {
  const out = ownColumns(q);
  const walk = (nodes: readonly RelatedSelection[]) => {
    for (const n of nodes) {
      for (const f of n.meta.fields) out.push(ColNode.create(n.alias, f));
      walk(n.children);
    }
  };
  if (q.related) walk(q.related);
  return out;
}

/** Build the knex SELECT for a query. */
function buildSelect(q: Query, k: Knex, ops: BaseOperations, topLevel: boolean, forUpdateOrDelete = false): QB {
  const c: Ctx = { k, ops, q, forUpdateOrDelete };
  const b = from(k, q.alias, q.meta.dbTable);
  const selected: Knex.Raw[] = [];
  const plain: string[] = [];
  const groupBy: Fragment[] = [];
  // The selected expressions by position (1-based): an expression that binds values is grouped and
  // ordered by its position (GROUP BY 2, ORDER BY 2) where it is selected, since PostgreSQL does
  // not see `substr(x, $1, $2)` and `substr(x, $5, $6)` as one expression (Django's psycopg2
  // writes the values into the SQL; Spool binds them).
  const selNodes: ExprNode[] = [];
  const resolve = (n: ExprNode): ExprNode => (n.kind === 'annot' ? (q.annotations.find((a) => a.name === n.name)?.node ?? n) : n);
  const positionOf = (n: ExprNode, anyJsonMode = false): number | undefined => {
    const r = resolve(n);
    if (!bindsValues(r)) return undefined;
    const i = selNodes.findIndex((x) => sameExpr(resolve(x), r, anyJsonMode));
    return i < 0 ? undefined : i + 1;
  };
  // A JSON key is grouped by the database's scalar (Django's KeyTransform: JSON_EXTRACT on SQLite,
  // where a JSON null and a missing key are one group, and MariaDB, where it compares as JSON), one
  // group per key whether it is selected (read as JSON) or ordered by; by its position where the
  // two are one SQL (PostgreSQL).
  const jsonOrdersAsSelected = ops.json.key === ops.json.keySql;
  const groupFrag = (n: ExprNode, anyJsonMode = false): Fragment => {
    const r = resolve(n);
    if (r.kind === 'jsonkey' && !jsonOrdersAsSelected)
      return renderExpr(r.mode === 'sql' ? r : JsonKeyNode.create(r.arg, r.path, r.depth, 'sql', r.field), c);
    const p = positionOf(r, anyJsonMode);
    return p === undefined ? renderExpr(n, c) : [String(p), []];
  };
  const pushCol = (n: ExprNode, as?: string) => {
    selNodes.push(n);
    if (n.kind === 'col' && as === undefined) {
      plain.push(n.k);
      selected.push(k.raw('??', [n.k]));
      return;
    }
    const [s, bind] = renderExpr(n, c);
    selected.push(as === undefined ? k.raw(s, bind as never) : k.raw(`${s} as ??`, [...bind, as] as never));
  };
  if (q.select.kind === 'model') {
    for (const n of modelColumns(q)) {
      pushCol(n);
      if (q.grouped) groupBy.push(renderExpr(n, c));
    }
  } else {
    // values() after an aggregate annotate(): the rows are still one per object, so the model's
    // own columns are grouped first, then the selected ones (Django's set_values()/set_group_by()).
    // Grouping by the selected columns alone would merge distinct objects with equal values.
    if (q.grouped && !q.groupByValues) for (const n of ownColumns(q)) groupBy.push(renderExpr(n, c));
    for (const col of q.select.columns) {
      const isAnn = q.annotations.some((a) => a.name === col.name);
      // Columns an enclosing query reads by name (`__col1` of aggregate()) keep it.
      pushCol(col.node, isAnn || col.node.kind !== 'col' || col.name.startsWith('__col') ? col.name : undefined);
      if (q.grouped && !(col.node.kind === 'annot' || col.node.kind === 'agg')) groupBy.push(groupFrag(col.node));
    }
  }
  const annotationsSelected = q.select.kind === 'model' ? q.annotations : [];
  for (const a of annotationsSelected) pushCol(a.node, a.name);
  if (q.distinct && q.distinctFields === undefined && q.ordering) {
    // SELECT DISTINCT with ORDER BY a term that is not selected: the term joins the select list
    // (after the columns the mappers read), as Django does. PostgreSQL refuses the query otherwise,
    // and SQLite and MariaDB would order the distinct rows by an arbitrary one of their values.
    // (Not for DISTINCT ON, which may order by what it does not select: as a subquery it must
    // keep its one column.)
    const present = new Set<string>(
      q.select.kind === 'values' ? q.select.columns.map((col) => col.node.k) : modelColumns(q).map((n) => n.k),
    );
    for (const a of annotationsSelected) present.add(a.node.k);
    q.ordering.forEach((o, i) => {
      if (o.node.kind === 'raw' || positionOf(o.node) !== undefined || (present.has(o.node.k) && !bindsValues(resolve(o.node)))) return;
      present.add(o.node.k);
      pushCol(o.node, `__orderbycol${i + 1}`);
    });
  }
  if (q.grouped && q.select.kind === 'values' && q.groupByValues) {
    groupBy.length = 0;
    for (const col of q.groupByValues) groupBy.push(groupFrag(col.node));
  }
  if (q.grouped && groupBy.length > 0) {
    // Ordering terms and the columns HAVING compares must be grouped too (Django adds them to GROUP BY).
    const keyOf = ([sql, bind]: Fragment) => `${sql}|${bind.map((x) => (typeof x === 'string' ? x : '?')).join(',')}`;
    const candidates = [...groupBy];
    groupBy.length = 0;
    const extra: ExprNode[] = [];
    havingColumns(q.having, extra);
    for (const o of q.ordering ?? [])
      if (!(o.node.kind === 'annot' || o.node.kind === 'agg' || o.node.kind === 'raw')) candidates.push(groupFrag(o.node, true));
    for (const node of extra)
      if (!(node.kind === 'annot' || node.kind === 'agg' || node.kind === 'raw')) candidates.push(renderExpr(node, c));
    const seen = new Set<string>();
    for (const frag of candidates) {
      const key = keyOf(frag);
      if (!seen.has(key)) {
        seen.add(key);
        groupBy.push(frag);
      }
    }
  }
  if (q.distinctFields !== undefined) {
    // DISTINCT ON (...) written before the first selected column (knex's distinctOn takes column names only).
    if (!ops.features.canDistinctOnFields)
      throw new NotSupportedError(`DISTINCT ON fields is not supported by this database backend (${ops.displayName}).`);
    const on = q.distinctFields.map((n) => renderExpr(n, c));
    const first = selected[0]?.toSQL();
    selected[0] = k.raw(`DISTINCT ON (${on.map(([sql]) => sql).join(', ')}) ${first?.sql ?? '1'}`, [
      ...on.flatMap(([, bind]) => bind),
      ...(first?.bindings ?? []),
    ] as never);
    b.select(selected);
  } else if (plain.length === selected.length) b.select(plain);
  else b.select(selected);
  if (q.distinct && q.distinctFields === undefined) b.distinct();
  applyJoins(b, q);
  applyWhere(b, q.where, c);
  for (const [s, bind] of groupBy) b.groupByRaw(s, bind as never);
  if (q.having.children.length > 0) {
    const hc = havingCtx(c, groupBy);
    b.having(function (this: QB) {
      applyWhere(this, q.having, hc);
    } as never);
  }
  const ordering = q.ordering ?? [];
  const byPosition = q.grouped || q.distinct;
  for (const o of ordering) {
    const position = byPosition ? positionOf(o.node, jsonOrdersAsSelected) : undefined;
    const nullsTemplate = o.nulls === undefined ? undefined : ops.orderByTemplate(o.desc, o.nulls);
    if (position !== undefined && (nullsTemplate === undefined || nullsTemplate.split('%lhs').length === 2)) {
      b.orderByRaw(nullsTemplate === undefined ? `${position}${o.desc ? ' DESC' : ''}` : nullsTemplate.replace('%lhs', String(position)));
    } else if (o.node.kind === 'col' && o.nulls === undefined) b.orderBy(o.node.k, o.desc ? 'desc' : 'asc');
    else if (o.nulls === undefined) {
      const [s, bind] = renderExpr(o.node, c);
      b.orderByRaw(`${s}${o.desc ? ' DESC' : ''}`, bind as never);
    } else {
      // The placement of NULLs is the backend's SQL (NULLS LAST, or `x IS NULL, x` on MariaDB).
      const [s, bind] = renderExpr(o.node, c);
      const pieces = ops.orderByTemplate(o.desc, o.nulls).split('%lhs');
      b.orderByRaw(pieces.join(s), repeat(bind, pieces.length - 1) as never);
    }
  }
  if (q.high !== undefined) b.limit(topLevel ? LIMIT_MAGIC : q.high - q.low);
  if (q.low !== 0) b.offset(topLevel ? OFFSET_MAGIC : q.low);
  if (q.forUpdate) {
    if (q.forUpdate.of.length > 0) b.forUpdate(...q.forUpdate.of);
    else b.forUpdate();
    if (q.forUpdate.nowait) b.noWait();
    if (q.forUpdate.skipLocked) b.skipLocked();
  }
  return b;
}

/** Turn a finished knex builder into a Compiled entry, mapping bindings back to Params. */
function finish(
  builder: { toSQL(): { toNative(): { sql: string; bindings: readonly unknown[] } } },
  params: Param[],
  map: Compiled['map'],
): Compiled {
  const native = builder.toSQL().toNative();
  const slots = new Int32Array(native.bindings.length);
  const consts: unknown[] = new Array(native.bindings.length);
  native.bindings.forEach((b, i) => {
    if (b instanceof Param) {
      const idx = params.indexOf(b);
      if (idx < 0) throw new Error('internal: a bound parameter was not collected');
      slots[i] = idx;
    } else if (b === LIMIT_MAGIC) slots[i] = -1;
    else if (b === OFFSET_MAGIC) slots[i] = -2;
    else {
      slots[i] = -3;
      consts[i] = b;
    }
  });
  return { sql: native.sql, slots, consts, paramCount: params.length, map };
}

/** Bind a query's parameters into a compiled statement. */
export function bind(c: Compiled, params: readonly Param[], ops: BaseOperations, limit?: number, offset?: number): unknown[] {
  const slots = c.slots;
  const out = new Array(slots.length);
  for (let i = 0; i < slots.length; i++) {
    const s = slots[i] as number;
    if (s >= 0) out[i] = (params[s] as Param).bind(ops);
    else if (s === -1) out[i] = limit;
    else if (s === -2) out[i] = offset;
    else out[i] = c.consts[i];
  }
  return out;
}

function cached(key: string, build: () => Compiled): Compiled {
  let entry = cache.get(key);
  if (entry !== undefined) {
    hits += 1;
    return entry;
  }
  misses += 1;
  entry = build();
  if (cache.size >= MAX_CACHE) cache.clear();
  cache.set(key, entry);
  return entry;
}

/** Prepare the query's default ordering (may add joins, so on a clone). */
export function withDefaultOrdering(q: Query): Query {
  if (q.ordering !== undefined || q.meta.ordering.length === 0 || q.grouped) return q;
  const memo = q.meta.cache.get(`ordering:${q.alias}`) as Query['ordering'] | null | undefined;
  if (memo !== undefined && memo !== null) {
    const c = q.clone();
    c.ordering = memo;
    return c;
  }
  const c = q.clone();
  const before = c.joins.length;
  c.setOrdering(q.meta.ordering);
  if (memo === undefined) q.meta.cache.set(`ordering:${q.alias}`, c.joins.length === before ? c.ordering : null);
  return c;
}

// ---- SELECT returning model instances or values ---------------------------------------------------

/** Compile a SELECT (instances or values). */
export function compileSelect(q: Query, ops: BaseOperations, alias: string): Compiled {
  return cached(`${ops.vendor}|S|${q.shapeKey()}`, () => {
    const params: Param[] = [];
    q.collectParams(params);
    const builder = buildSelect(q, knexFor(alias), ops, true);
    const compiled = finish(builder, params, q.select.kind === 'model' ? modelMapper(q, ops) : valuesMapper(q, ops));
    const fields =
      q.select.kind === 'model'
        ? [...modelColumns(q).map((n) => (n.kind === 'col' ? n.field : undefined)), ...q.annotations.map((a) => a.field)]
        : q.select.columns.map((col) => col.field);
    const nodes =
      q.select.kind === 'model' ? [...modelColumns(q), ...q.annotations.map((a) => a.node)] : q.select.columns.map((col) => col.node);
    return withNoFloats(withSafeIntegers(compiled, fields, ops), nodes, ops);
  });
}

/**
 * Every selected expression is a model column whose declared type is not floating-point: say so
 * to the connection (`noFloatColumns`), so that MariaDB reads the text protocol's values without
 * its exact-doubles type cast (a call per value). An expression's SQL type is the database's to
 * decide, so any other expression keeps the type cast.
 */
function withNoFloats(compiled: Compiled, nodes: readonly ExprNode[], ops: BaseOperations): Compiled {
  if (compiled.readOptions !== undefined || compiled.map === undefined) return compiled;
  for (const n of nodes) {
    if (n.kind !== 'col') return compiled;
    const t = (n as ColNode).field.dbType(ops);
    if (t === undefined || /double|float|real/i.test(t)) return compiled;
  }
  return { ...compiled, readOptions: READ_NO_FLOATS };
}

/** COUNT(*) of a query (over a subquery when sliced, distinct or grouped). */
export function compileCount(q: Query, ops: BaseOperations, alias: string): Compiled {
  return cached(`${ops.vendor}|C|${q.shapeKey()}`, () => {
    const params: Param[] = [];
    q.collectParams(params);
    const k = knexFor(alias);
    let builder: QB;
    if (q.isSliced || q.distinct || q.grouped) {
      const inner = buildSelect(q, k, ops, true);
      builder = k.count({ __count: '*' }).from(inner.as('subquery')) as unknown as QB;
    } else {
      const c: Ctx = { k, ops, q, forUpdateOrDelete: false };
      builder = from(k, q.alias, q.meta.dbTable).count({ __count: '*' }) as unknown as QB;
      applyJoins(builder, q);
      applyWhere(builder, q.where, c);
    }
    return finish(builder, params, (rows) => rows.map((r) => Number(r[0])));
  });
}

/** `SELECT 1 AS a ... LIMIT 1`. */
export function compileExists(q: Query, ops: BaseOperations, alias: string): Compiled {
  return cached(`${ops.vendor}|E|${q.shapeKey()}`, () => {
    const params: Param[] = [];
    q.collectParams(params);
    const k = knexFor(alias);
    let builder: QB;
    if (q.isSliced || q.grouped || q.distinct) {
      builder = k
        .select(k.raw('1 as ??', ['a']))
        .from(buildSelect(q, k, ops, true).as('subquery'))
        .limit(1) as unknown as QB;
    } else {
      const c: Ctx = { k, ops, q, forUpdateOrDelete: false };
      builder = from(k, q.alias, q.meta.dbTable).select(k.raw('1 as ??', ['a'])) as unknown as QB;
      applyJoins(builder, q);
      applyWhere(builder, q.where, c);
      builder.limit(1);
    }
    return finish(builder, params, undefined);
  });
}

/** `SELECT SUM(...) AS total, ...` over the query's rows. */
export function compileAggregate(q: Query, names: readonly string[], ops: BaseOperations, alias: string): Compiled {
  return cached(`${ops.vendor}|A|${names.join(',')}|${q.shapeKey()}`, () => {
    const params: Param[] = [];
    q.collectParams(params);
    const k = knexFor(alias);
    const c: Ctx = { k, ops, q, forUpdateOrDelete: false };
    const builder = from(k, q.alias, q.meta.dbTable);
    const selects = names.map((name) => {
      const a = q.annotations.find((x) => x.name === name);
      if (!a) throw new Error(`internal: aggregate ${name}`);
      const [s, bind] = renderExpr(a.node, c);
      return k.raw(`${s} as ??`, [...bind, name] as never);
    });
    builder.select(selects);
    applyJoins(builder, q);
    applyWhere(builder, q.where, c);
    const convs = names.map((name) => {
      const a = q.annotations.find((x) => x.name === name) as Query['annotations'][number];
      return outputConverter(a, ops, q);
    });
    const fields = names.map((name) => q.annotations.find((x) => x.name === name)?.field);
    const compiled = finish(builder, params, (rows) =>
      rows.map((r) => {
        const o: Record<string, unknown> = {};
        names.forEach((n, i) => {
          const v = r[i];
          const conv = convs[i];
          o[n] = conv === undefined || v === null || v === undefined ? (v === undefined ? null : v) : conv(v);
        });
        return o;
      }),
    );
    return withSafeIntegers(compiled, fields, ops);
  });
}

/** The parameters of `compileAggregateOver`'s statement, in a fixed order. */
export function aggregateOverParams(inner: Query, outer: readonly Query['annotations'][number][]): Param[] {
  const params: Param[] = [];
  inner.collectParams(params);
  for (const a of outer) collectExpr(a.node, params);
  return params;
}

/** `SELECT SUM("subquery"."__col1") AS total FROM (<inner>) subquery` (see `Query.aggregateOver`). */
export function compileAggregateOver(
  inner: Query,
  outer: readonly Query['annotations'][number][],
  ops: BaseOperations,
  alias: string,
): Compiled {
  return cached(`${ops.vendor}|AO|${outer.map((a) => `${a.name}=${a.node.k}`).join(',')}|${inner.shapeKey()}`, () => {
    const params = aggregateOverParams(inner, outer);
    const k = knexFor(alias);
    const c: Ctx = { k, ops, q: inner, forUpdateOrDelete: false };
    const builder = k.from(buildSelect(inner, k, ops, true).as('subquery')) as unknown as QB;
    builder.select(
      outer.map((a) => {
        const [s, bind] = renderExpr(a.node, c);
        return k.raw(`${s} as ??`, [...bind, a.name] as never);
      }),
    );
    const convs = outer.map((a) => outputConverter(a, ops));
    const compiled = finish(builder, params, (rows) =>
      rows.map((r) => {
        const o: Record<string, unknown> = {};
        outer.forEach((a, i) => {
          const v = r[i];
          const conv = convs[i];
          o[a.name] = conv === undefined || v === null || v === undefined ? (v === undefined ? null : v) : conv(v);
        });
        return o;
      }),
    );
    return withSafeIntegers(
      compiled,
      outer.map((a) => a.field),
      ops,
    );
  });
}

/** UPDATE ... SET ... WHERE (pk IN a subquery when the filter joins). */
export function compileUpdate(q: Query, sets: ReadonlyArray<[Field, ExprNode]>, ops: BaseOperations, alias: string): Compiled {
  const key = `${ops.vendor}|U|${sets.map(([f, n]) => `${f.column}=${n.k}`).join(',')}|${q.shapeKey()}`;
  return cached(key, () => {
    const params: Param[] = [];
    for (const [, n] of sets) collectExpr(n, params);
    q.collectParams(params);
    const k = knexFor(alias);
    const c: Ctx = { k, ops, q, forUpdateOrDelete: true };
    const values: Record<string, unknown> = {};
    for (const [f, n] of sets) {
      const [s, bind] = renderExpr(n, c);
      values[f.column] = k.raw(s, bind as never);
    }
    const builder = k(q.meta.dbTable).update(values) as unknown as QB;
    restrictTo(builder, q, c);
    return finish(builder, params, undefined);
  });
}

/** DELETE FROM ... WHERE (pk IN a subquery when the filter joins). */
export function compileDelete(q: Query, ops: BaseOperations, alias: string): Compiled {
  return cached(`${ops.vendor}|D|${q.shapeKey()}`, () => {
    const params: Param[] = [];
    q.collectParams(params);
    const k = knexFor(alias);
    const c: Ctx = { k, ops, q, forUpdateOrDelete: true };
    const builder = k(q.meta.dbTable).del() as unknown as QB;
    restrictTo(builder, q, c);
    return finish(builder, params, undefined);
  });
}

function restrictTo(builder: QB, q: Query, c: Ctx): void {
  if (q.joins.length === 0 && !q.isSliced) {
    applyWhere(builder, q.where, c);
    return;
  }
  // The filter needs joins (or a slice): restrict to the primary keys it selects.
  const inner = q.clone();
  inner.select = {
    kind: 'values',
    columns: [
      {
        name: 'pk',
        node: ColNode.create(q.alias, q.meta.pk),
        field: q.meta.pk,
        convert: undefined,
      },
    ],
    shape: 'flat',
  };
  inner.ordering = inner.isSliced ? inner.ordering : [];
  const sub = buildSelect(inner, c.k, c.ops, false, true);
  const pkCol = `${q.meta.dbTable}.${q.meta.pk.column}`;
  if (!c.ops.features.updateCanSelfSelect) builder.whereRaw('?? IN (SELECT * FROM ? AS ??)', [pkCol, sub, 'subquery'] as never);
  else builder.whereIn(pkCol, sub);
}

/** INSERT of `rows` (columns in order), returning the primary key where the database can. */
export function compileInsert(
  meta: ModelMeta,
  columns: readonly Field[],
  rowCount: number,
  returning: boolean,
  ops: BaseOperations,
  alias: string,
): Compiled {
  const key = `${ops.vendor}|I|${meta.dbTable}|${columns.map((f) => f.column).join(',')}|${rowCount}|${returning ? 'R' : ''}`;
  return cached(key, () => {
    const k = knexFor(alias);
    if (rowCount > 1 && columns.length > 0 && !ops.multiRowValuesByBuilder) return valuesInsert(k, meta, columns, rowCount, returning);
    const params: Param[] = [];
    const rows: Record<string, unknown>[] = [];
    for (let r = 0; r < rowCount; r++) {
      const row: Record<string, unknown> = {};
      for (const f of columns) {
        const p = new Param(null, undefined);
        params.push(p);
        row[f.column] = p;
      }
      rows.push(row);
    }
    let builder: QB;
    if (columns.length === 0) {
      builder = k(meta.dbTable).insert(ops.defaultRowsInsert(rowCount)) as unknown as QB;
    } else builder = k(meta.dbTable).insert(rowCount === 1 ? (rows[0] as Record<string, unknown>) : rows) as unknown as QB;
    if (returning && ops.insertReturningByBuilder) builder.returning([meta.pk.column]);
    const compiled = finish(builder, params, undefined);
    if (!returning || ops.insertReturningByBuilder) return compiled;
    return { ...compiled, sql: `${compiled.sql} RETURNING ${k.raw('??', [meta.pk.column]).toQuery()}` };
  });
}

/**
 * A multi-row INSERT written as one `VALUES` list with `?` placeholders (SQLite), bound row-major as
 * `bindValues()` does: binding i is value i.
 */
function valuesInsert(k: Knex, meta: ModelMeta, columns: readonly Field[], rowCount: number, returning: boolean): Compiled {
  const id = (name: string): string => k.raw('??', [name]).toQuery();
  const tuple = `(${columns.map(() => '?').join(', ')})`;
  let sql = `insert into ${id(meta.dbTable)} (${columns.map((f) => id(f.column)).join(', ')}) values ${new Array<string>(rowCount).fill(tuple).join(', ')}`;
  if (returning) sql += ` returning ${id(meta.pk.column)}`;
  const n = rowCount * columns.length;
  const slots = new Int32Array(n);
  for (let i = 0; i < n; i++) slots[i] = i;
  return { sql, slots, consts: new Array(n), paramCount: n, map: undefined };
}

// ---- hydration ------------------------------------------------------------------------------------

/**
 * How a selected expression's value is converted, per backend: COUNT and SUM of integers need
 * nothing on SQLite (the driver returns numbers), while PostgreSQL returns them as text and
 * MariaDB returns SUM as DECIMAL text (`ops.aggregateNeedsConversion`).
 */
function outputConverter(
  c: { node: ExprNode; field: Field | undefined; convert: ((v: unknown) => unknown) | undefined },
  ops: BaseOperations,
  q?: Query,
): ((v: unknown) => unknown) | undefined {
  let n = c.node;
  if (n.kind === 'annot' && q) {
    const name = n.name;
    const a = q.annotations.find((x) => x.name === name);
    if (a) n = a.node;
  }
  if (n.kind === 'agg' && !ops.aggregateNeedsConversion(n.fn, n.field?.lookupKind)) return undefined;
  return c.convert ?? (c.field ? c.field.fromDb(ops) : undefined);
}

type RowMapper = (row: unknown[], offset: number, db: string) => unknown;
type Fill = (o: Record<string | symbol, unknown>, row: unknown[], offset: number, db: string) => void;

/**
 * The hydrator of one model and backend: a function written for its fields, which assigns each
 * column to its attribute in the fields' order with named stores (so every instance of a shape has
 * one hidden class and V8 keeps the stores monomorphic), converting only the columns whose field
 * has a converter, and the instance's state last. No closure or property definition per row.
 * Field names are identifiers (checked when the model is defined), written as JSON string keys.
 */
function fillerFor(meta: ModelMeta, convs: ReadonlyArray<((v: unknown) => unknown) | undefined>): Fill {
  const lines: string[] = [];
  meta.fields.forEach((f, i) => {
    const key = JSON.stringify(f.attname);
    if (convs[i] === undefined) lines.push(`o[${key}] = row[offset + ${i}];`);
    else lines.push(`v = row[offset + ${i}]; o[${key}] = v === null || v === undefined ? v : c${i}(v);`);
  });
  // The alias alone: \`stateOf\` makes the state on first use (most loaded instances never need one).
  lines.push("o[STATE] = typeof db === 'string' ? db : new ModelState(false, db);");
  const names = convs.map((_, i) => `c${i}`);
  const body = `return function fill(o, row, offset, db) { let v; ${lines.join(' ')} };`;
  return new Function('STATE', 'ModelState', ...names, body)(STATE, ModelState, ...convs) as Fill;
}

/** A mapper from array rows to instances, built once per query shape and backend. */
function instanceMapper(
  meta: ModelMeta,
  ops: BaseOperations,
  related: readonly RelatedSelection[] | undefined,
): { map: RowMapper; width: number } {
  meta.ensureReverseAccessors();
  const fields = meta.fields;
  const n = fields.length;
  const convs = fields.map((f) => f.fromDb(ops));
  const fill = fillerFor(meta, convs);
  const pkIndex = fields.indexOf(meta.pk);
  const Cls = meta.modelClass as unknown as new (v: typeof FROM_DB) => Record<string | symbol, unknown>;
  const children = (related ?? []).map((r) => ({ name: r.field.name, ...instanceMapper(r.meta, ops, r.children) }));
  let width = n;
  const offsets: number[] = [];
  for (const ch of children) {
    offsets.push(width);
    width += ch.width;
  }
  const map: RowMapper =
    children.length === 0
      ? (row, offset, db) => {
          if (row[offset + pkIndex] === null) return null;
          const o = new Cls(FROM_DB);
          fill(o, row, offset, db);
          return o;
        }
      : (row, offset, db) => {
          if (row[offset + pkIndex] === null) return null;
          const o = new Cls(FROM_DB);
          fill(o, row, offset, db);
          const state = new ModelState(false, db);
          for (let c = 0; c < children.length; c++) {
            const ch = children[c] as (typeof children)[number];
            state.setCached(ch.name, ch.map(row, offset + (offsets[c] as number), db));
          }
          o[STATE] = state;
          return o;
        };
  return { map, width };
}

function modelMapper(q: Query, ops: BaseOperations): Compiled['map'] {
  const { map, width } = instanceMapper(q.meta, ops, q.related);
  const anns = q.annotations.map((a) => ({ name: a.name, conv: outputConverter(a, ops, q) }));
  if (anns.length === 0) {
    return (rows, db) => {
      const out = new Array(rows.length);
      for (let i = 0; i < rows.length; i++) out[i] = map(rows[i] as unknown[], 0, db);
      return out;
    };
  }
  const na = anns.length;
  return (rows, db) => {
    const out = new Array(rows.length);
    for (let r = 0; r < rows.length; r++) {
      const row = rows[r] as unknown[];
      const o = map(row, 0, db) as Record<string, unknown>;
      for (let i = 0; i < na; i++) {
        const a = anns[i] as (typeof anns)[number];
        const v = row[width + i];
        o[a.name] = a.conv === undefined || v === null ? v : a.conv(v);
      }
      out[r] = o;
    }
    return out;
  };
}

function valuesMapper(q: Query, ops: BaseOperations): Compiled['map'] {
  if (q.select.kind !== 'values') return undefined;
  const cols = q.select.columns;
  const names = cols.map((c) => c.name);
  const convs = cols.map((c) => outputConverter(c, ops, q));
  const shape = q.select.shape;
  const n = cols.length;
  if (shape === 'flat') {
    const conv = convs[0];
    return (rows) => (conv === undefined ? rows.map((r) => r[0]) : rows.map((r) => (r[0] === null ? null : conv(r[0]))));
  }
  if (shape === 'tuple') {
    return (rows) =>
      rows.map((r) => {
        const t = new Array(n);
        for (let i = 0; i < n; i++) {
          const v = r[i];
          const conv = convs[i];
          t[i] = conv === undefined || v === null ? v : conv(v);
        }
        return t;
      });
  }
  const row = valuesRowFor(names, convs);
  return (rows) => {
    const out = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) out[i] = row(rows[i] as unknown[]);
    return out;
  };
}

/**
 * One `values()` row as an object: a function written for its names, returning an object literal
 * (one hidden class of the right size, its stores monomorphic), the values converted in the
 * columns' order, as the loop of keyed stores it replaces (which grew each object from an empty
 * one: about 30 KB more per grouped aggregate of 300 rows than the driver's own objects).
 * Names are written as JSON string keys; `__proto__` keeps the loop (a literal would set the
 * prototype), as does a very wide row.
 */
function valuesRowFor(
  names: readonly string[],
  convs: ReadonlyArray<((v: unknown) => unknown) | undefined>,
): (r: unknown[]) => Record<string, unknown> {
  const n = names.length;
  if (n > 64 || names.includes('__proto__'))
    return (r) => {
      const o: Record<string, unknown> = {};
      for (let i = 0; i < n; i++) {
        const v = r[i];
        const conv = convs[i];
        o[names[i] as string] = conv === undefined || v === null ? v : conv(v);
      }
      return o;
    };
  const props = names.map((name, i) =>
    convs[i] === undefined ? `${JSON.stringify(name)}: r[${i}]` : `${JSON.stringify(name)}: (v = r[${i}]) === null ? v : c${i}(v)`,
  );
  const params = convs.map((_, i) => `c${i}`);
  const body = `return function valuesRow(r) { let v; return { ${props.join(', ')} }; };`;
  return new Function(...params, body)(...convs) as (r: unknown[]) => Record<string, unknown>;
}

/** A mapper for raw SQL rows (objects): columns named like fields (column or attname) fill them; others become attributes. */
/**
 * How `raw()` reads: dates and instants as the ORM reads them whatever column they come from (an
 * instant as a PreciseDate with the server's microseconds, a date as its `YYYY-MM-DD` text).
 */
const rawTemporal: TemporalParser = (text, kind) =>
  kind === 'date' ? text.slice(0, 10) : (dateTimeFromDb as (v: unknown) => unknown)(text);
export const RAW_READ_OPTIONS: QueryOptions = Object.freeze({ temporalAsText: true, parseTemporal: rawTemporal });
export const RAW_READ_SAFE_INTEGERS: QueryOptions = Object.freeze({ temporalAsText: true, parseTemporal: rawTemporal, safeIntegers: true });

/**
 * The row mapper of `raw()`: columns named like a field's column or attribute fill that field
 * (through its converter), others become plain attributes. Under `safeIntegers` (SQLite, a model
 * with bigint fields) every integer arrives as a bigint: fields that are not bigint fields, and
 * other columns within 2^53, get numbers back.
 */
export function rawMapper(meta: ModelMeta, ops: BaseOperations): (row: Record<string, unknown>, db: string) => unknown {
  meta.ensureReverseAccessors();
  const byColumn = new Map<string, Field>();
  for (const f of meta.fields) {
    byColumn.set(f.column, f);
    byColumn.set(f.attname, f);
  }
  const Cls = meta.modelClass as unknown as new (v: typeof FROM_DB) => Record<string | symbol, unknown>;
  return (row, db) => {
    const o = new Cls(FROM_DB);
    for (const [k, raw] of Object.entries(row)) {
      const f = byColumn.get(k);
      let v = raw;
      if (typeof v === 'bigint' && f?.bigint !== true && (f !== undefined || Number.isSafeInteger(Number(v)))) v = Number(v);
      if (f) {
        const conv = f.fromDb(ops);
        o[f.attname] = conv === undefined || v === null ? v : conv(v);
      } else o[k] = v;
    }
    for (const f of meta.fields) if (!(f.attname in o)) o[f.attname] = undefined;
    o[STATE] = new ModelState(false, db);
    return o;
  };
}
