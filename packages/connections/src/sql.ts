/**
 * The raw SQL escape hatch: a tagged template whose values are always bound as parameters.
 * Identifiers go through `sql.id()`, which validates and quotes them; lists through `sql.join()`.
 *
 * ### Examples
 * ```ts
 * const rows = await sql`SELECT * FROM author WHERE id = ${id}`;
 * await sql.using('replica')`SELECT 1`;
 * const cols = sql.join([sql.id('id'), sql.id('name')]);
 * await sql`SELECT ${cols} FROM ${sql.id('author')} WHERE id IN (${sql.join(ids)})`;
 * ```
 * The generated SQL (PostgreSQL): `SELECT "id", "name" FROM "author" WHERE id IN ($1, $2)`.
 */
import type { Backend, QueryOptions, QueryResult } from './backends/backend';
import { ProgrammingError, TransactionManagementError } from './errors';
import { messages } from './messages';

const FRAGMENT = Symbol.for('spool.sql.fragment');
const IDENT = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;

/** A validated identifier (table, column, schema.table). */
export class SqlIdentifier {
  readonly parts: readonly string[];
  constructor(name: string) {
    if (typeof name !== 'string') throw new ProgrammingError(messages.badIdentifier(name));
    const parts = name.split('.');
    if (parts.length > 2 || parts.some((p) => !IDENT.test(p))) throw new ProgrammingError(messages.badIdentifier(name));
    this.parts = parts;
  }
}

/** A list of values or fragments joined by a separator fragment. */
export class SqlJoin {
  constructor(
    readonly items: readonly unknown[],
    readonly separator: SqlFragment,
  ) {}
}

/** A piece of SQL with its values, not yet bound to a dialect. */
export class SqlFragment {
  declare readonly [FRAGMENT]: true;
  constructor(
    readonly strings: readonly string[],
    readonly values: readonly unknown[],
  ) {}

  static is(v: unknown): v is SqlFragment {
    return v instanceof SqlFragment || (typeof v === 'object' && v !== null && (v as { [FRAGMENT]?: true })[FRAGMENT] === true);
  }

  /**
   * The SQL text with the backend's placeholders, and the values to bind. `shareEmpty`: no values
   * give one shared frozen array (the statement path, which never changes its bindings).
   */
  compile(backend: Backend, shareEmpty = false): { text: string; bindings: unknown[] } {
    const values = this.values;
    let plain = true;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (typeof v === 'object' && v !== null && (SqlFragment.is(v) || v instanceof SqlIdentifier || v instanceof SqlJoin)) {
        plain = false;
        break;
      }
    }
    if (!plain) {
      const bindings: unknown[] = [];
      return { text: appendFragment(this, backend, bindings), bindings };
    }
    // Only bound values: the text depends on the call site's strings and the dialect alone, so it
    // is built once per template literal and backend.
    let perBackend = textCache.get(this.strings);
    if (perBackend === undefined) {
      perBackend = new Map();
      textCache.set(this.strings, perBackend);
    }
    let text = perBackend.get(backend);
    const bindings = values.length === 0 && shareEmpty ? NO_BINDINGS : new Array<unknown>(values.length);
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v === undefined || typeof v === 'function' || typeof v === 'symbol') {
        throw new ProgrammingError(messages.badTemplateValue(i, v));
      }
      bindings[i] = backend.prepareValue(v);
    }
    if (text === undefined) {
      text = this.strings[0] ?? '';
      for (let i = 0; i < values.length; i++) text += backend.placeholder(i) + (this.strings[i + 1] ?? '');
      perBackend.set(backend, text);
    }
    return { text, bindings };
  }
}

/** The bindings of a query without values (frozen: shared by every such query). */
const NO_BINDINGS: unknown[] = Object.freeze([]) as unknown as unknown[];

/** Compiled text per template literal (its strings array is the same object at every call). */
const textCache = new WeakMap<readonly string[], Map<Backend, string>>();

// The brand lives on the prototype: recognised across copies of the package, free per instance.
Object.defineProperty(SqlFragment.prototype, FRAGMENT, { value: true });

function appendFragment(f: SqlFragment, backend: Backend, bindings: unknown[]): string {
  let text = f.strings[0] ?? '';
  for (let i = 0; i < f.values.length; i++) {
    text += appendValue(f.values[i], i, backend, bindings) + (f.strings[i + 1] ?? '');
  }
  return text;
}

function appendValue(v: unknown, index: number, backend: Backend, bindings: unknown[]): string {
  if (v instanceof SqlFragment || SqlFragment.is(v)) return appendFragment(v, backend, bindings);
  if (v instanceof SqlIdentifier) return v.parts.map((p) => backend.quoteIdentifier(p)).join('.');
  if (v instanceof SqlJoin) {
    const sep = appendFragment(v.separator, backend, bindings);
    return v.items.map((item, j) => appendValue(item, j, backend, bindings)).join(sep);
  }
  if (v === undefined || typeof v === 'function' || typeof v === 'symbol') {
    throw new ProgrammingError(messages.badTemplateValue(index, v));
  }
  bindings.push(backend.prepareValue(v));
  return backend.placeholder(bindings.length - 1);
}

/** What a raw query runs through: the public side of a `ConnectionHandler`. */
export interface SqlExecutor {
  query(alias: string, sql: string, bindings: readonly unknown[], options?: QueryOptions): Promise<QueryResult>;
  /** `query()` settling with the rows. */
  queryRows(alias: string, sql: string, bindings: readonly unknown[], options?: QueryOptions): Promise<unknown[]>;
  /** `queryRows(…).then(onfulfilled, onrejected)` (the statement runs the callbacks: one promise less). */
  queryRowsThen<A, B>(
    alias: string,
    sql: string,
    bindings: readonly unknown[],
    options: QueryOptions | undefined,
    onfulfilled: ((rows: unknown[]) => A | PromiseLike<A>) | null | undefined,
    onrejected: ((reason: unknown) => B | PromiseLike<B>) | null | undefined,
  ): Promise<A | B>;
  backend(alias: string): Backend;
  inAtomicBlock(options?: { using?: string }): boolean;
}

/** Statements that would end or change the transaction of an `atomic()` block from inside it. */
const TX_CONTROL = /^\s*(BEGIN|COMMIT|ROLLBACK|START\s+TRANSACTION|END|SAVEPOINT|RELEASE|SET\s+AUTOCOMMIT)\b/i;

/**
 * Compile `fragment` for `alias` and run it. Transaction control inside an `atomic()` block is
 * refused: the block owns the transaction. Never throws; failures reject.
 */
function runFragment(executor: SqlExecutor, alias: string, fragment: SqlFragment, options?: QueryOptions): Promise<QueryResult>;
function runFragment(
  executor: SqlExecutor,
  alias: string,
  fragment: SqlFragment,
  options: QueryOptions | undefined,
  rows: true,
): Promise<unknown[]>;
function runFragment(
  executor: SqlExecutor,
  alias: string,
  fragment: SqlFragment,
  options?: QueryOptions,
  rows = false,
): Promise<QueryResult | unknown[]> {
  try {
    const { text, bindings } = checkedText(executor, alias, fragment);
    return rows ? executor.queryRows(alias, text, bindings, options) : executor.query(alias, text, bindings, options);
  } catch (err) {
    return Promise.reject(err);
  }
}

/** Compile `fragment` for `alias`; transaction control inside an `atomic()` block is refused (throws). */
function checkedText(executor: SqlExecutor, alias: string, fragment: SqlFragment): { text: string; bindings: unknown[] } {
  const compiled = fragment.compile(executor.backend(alias), true);
  const text = compiled.text;
  if (TX_CONTROL.test(text) && executor.inAtomicBlock({ using: alias })) {
    const verb = (text.trim().split(/\s+/)[0] ?? '').toUpperCase();
    throw new TransactionManagementError(messages.forbiddenInAtomic(alias, verb), { alias });
  }
  return compiled;
}

/**
 * A raw query: a fragment bound to an alias. Awaiting it runs it on the current scope's
 * connection (inside the scope's `atomic()` block, if any) and yields the rows.
 */
export class SqlQuery<Row = Record<string, unknown>> extends SqlFragment implements PromiseLike<Row[]> {
  constructor(
    strings: readonly string[],
    values: readonly unknown[],
    private readonly executor: SqlExecutor,
    readonly alias: string,
  ) {
    super(strings, values);
  }

  /** Run and return the rows. */
  rows(): Promise<Row[]> {
    return runFragment(this.executor, this.alias, this).then(rowsOf) as Promise<Row[]>;
  }

  /** Run and return rows, `rowCount` and `insertId`. */
  result(): Promise<QueryResult<Row>> {
    return runFragment(this.executor, this.alias, this) as Promise<QueryResult<Row>>;
  }

  /** Run and return the first row, or undefined. */
  first(): Promise<Row | undefined> {
    return this.rows().then((r) => r[0]);
  }

  /** The SQL and bindings this query sends to its alias's database. */
  toSQL(): { text: string; bindings: unknown[] } {
    return this.compile(this.executor.backend(this.alias));
  }

  then<A = Row[], B = never>(
    onfulfilled?: ((value: Row[]) => A | PromiseLike<A>) | null,
    onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    // The statement settles with the rows and runs the caller's callbacks itself: one promise
    // (awaiting a query is the hot path).
    let text: string;
    let bindings: unknown[];
    try {
      ({ text, bindings } = checkedText(this.executor, this.alias, this));
    } catch (err) {
      return Promise.reject(err).then(onfulfilled, onrejected);
    }
    return this.executor.queryRowsThen(
      this.alias,
      text,
      bindings,
      undefined,
      onfulfilled as ((rows: unknown[]) => A | PromiseLike<A>) | null | undefined,
      onrejected,
    );
  }

  catch<B = never>(onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<Row[] | B> {
    return this.rows().catch(onrejected);
  }

  finally(onfinally?: (() => void) | null): Promise<Row[]> {
    return this.rows().finally(onfinally);
  }
}

const rowsOf = (r: QueryResult): unknown[] => r.rows;

/** The `sql` tag, bound to an alias. */
export interface SqlTag {
  <Row = Record<string, unknown>>(strings: TemplateStringsArray, ...values: unknown[]): SqlQuery<Row>;
  /** The same tag on another alias: ``sql.using('replica')`SELECT 1` ``. */
  using(alias: string): SqlTag;
  /** A validated, quoted identifier: `sql.id('author')`, `sql.id('public.author')`. */
  id(name: string): SqlIdentifier;
  /** Values (bound) or fragments joined by `separator` (default `, `): ``sql.join(ids)``. */
  join(items: readonly unknown[], separator?: SqlFragment): SqlJoin;
}

const COMMA = new SqlFragment([', '], []);
/** The values of a query without any (shared: one array less per query). */
const NO_VALUES: readonly unknown[] = Object.freeze([]);

export function makeSqlTag(executor: () => SqlExecutor, alias = 'default'): SqlTag {
  const tag = function sqlTag<Row>(strings: TemplateStringsArray, ...values: unknown[]): SqlQuery<Row> {
    if (!Array.isArray(strings) || !Array.isArray((strings as TemplateStringsArray).raw)) {
      throw new ProgrammingError(messages.sqlNotTemplate());
    }
    return new SqlQuery<Row>(strings, values.length === 0 ? NO_VALUES : values, executor(), alias);
  } as SqlTag;
  tag.using = (other: string) => makeSqlTag(executor, other);
  tag.id = (name: string) => new SqlIdentifier(name);
  tag.join = (items: readonly unknown[], separator: SqlFragment = COMMA) => new SqlJoin(items, separator);
  return tag;
}
