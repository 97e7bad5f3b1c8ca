/**
 * What Spool needs from a database backend. One folder per vendor with the same file names:
 * `<vendor>-backend.ts` (the driver: open, close, ref/unref, statements, transaction SQL),
 * `<vendor>-errors.ts` (the driver's errors into Spool's tree, used at the one statement
 * boundary) and `<vendor>-admin.ts` (the server: connection ids, live connections, terminate,
 * limits, version). Vendor differences live here and nowhere else in the connection layer.
 */
import type { DatabaseError, InterfaceError } from '../errors';
import type { ResolvedDatabaseSettings } from '../settings';

export const ISOLATION_LEVELS = ['read uncommitted', 'read committed', 'repeatable read', 'serializable'] as const;
export type IsolationLevel = (typeof ISOLATION_LEVELS)[number];

export type Vendor = 'postgresql' | 'mysql' | 'sqlite';

/** The result of one statement, the same shape on every backend. */
export interface QueryResult<Row = Record<string, unknown>> {
  /** Rows returned (SELECT, RETURNING); empty for other statements. */
  rows: Row[];
  /** Rows returned, or rows affected for INSERT/UPDATE/DELETE. */
  rowCount: number;
  /** MySQL `insertId` / SQLite `lastInsertRowid` of the last INSERT; undefined on PostgreSQL (use RETURNING). */
  insertId?: number | bigint | undefined;
}

/** Options of one statement. */
export interface QueryOptions {
  /** Return rows as arrays of column values instead of objects. */
  rowMode?: 'array';
  /**
   * Return the statement's integers as `bigint`s, so that none beyond 2^53 loses digits (SQLite,
   * whose driver otherwise rounds them to numbers; also the `insertId` of an INSERT). PostgreSQL
   * (int8 as text) and MariaDB (BIGINT beyond 2^53 as text) never round and ignore it.
   */
  safeIntegers?: boolean;
  /**
   * Return dates and instants as the server's text instead of JavaScript Dates, which keep
   * milliseconds only: PostgreSQL `date`, `timestamp` and `timestamptz`, MariaDB `DATE`,
   * `DATETIME` and `TIMESTAMP`. SQLite has no such types (its values are text already).
   */
  temporalAsText?: boolean;
  /**
   * The caller knows every column of the result and none is floating-point (an ORM reading its
   * models' own columns). MariaDB then reads a text-protocol result without the per-field type
   * cast that reads DOUBLE and FLOAT exactly (a function call and a closure for every value of
   * every row); other backends ignore it. Wrong only if a column is in fact a DOUBLE or FLOAT.
   */
  noFloatColumns?: boolean;
  /**
   * Convert each date and instant from the server's text (implies `temporalAsText`): `kind` is
   * `'date'` for PostgreSQL `date` and MariaDB `DATE`, `'instant'` for `timestamp`,
   * `timestamptz`, `DATETIME` and `TIMESTAMP`. For reads whose columns are not known in advance
   * (the ORM's `raw()`), so that an instant keeps the server's microseconds. SQLite has no such
   * types and ignores it.
   */
  parseTemporal?: TemporalParser;
}

/** Converts a date or instant from the server's text (`QueryOptions.parseTemporal`). */
export type TemporalParser = (text: string, kind: 'date' | 'instant') => unknown;

/** Capabilities, as questions (Django's `features`). */
export interface Features {
  /** Can INSERT/UPDATE/DELETE return columns (`RETURNING`)? */
  canReturnRowsFromBulkInsert: boolean;
  /** Does the backend support savepoints inside transactions? */
  usesSavepoints: boolean;
  /** Which isolation levels can `atomic({ isolationLevel })` request? */
  isolationLevels: readonly IsolationLevel[];
  /** Does a database error inside a transaction abort it until rollback (PostgreSQL)? */
  errorAbortsTransaction: boolean;
  /** Does the server have processes whose connections can be counted (not SQLite)? */
  hasServerConnections: boolean;
  /** Does the backend support `SELECT … FOR UPDATE`? */
  hasSelectForUpdate: boolean;
  /** Does the backend support `regex` lookups natively? */
  supportsRegex: boolean;
}

/**
 * Runs one statement with the backend's own placeholders and resolves with its rows. The admin
 * part works through one, so that its caller picks the connection: a scope's (inside a budget),
 * a one-off raw connection, or a test suite's monitoring connection.
 */
export type AdminQuery = (sql: string, bindings: readonly unknown[]) => Promise<{ readonly rows: ReadonlyArray<Record<string, unknown>> }>;

/** The connection limit of a server that binds first for the connecting user. */
export interface ServerLimits {
  /** `'PostgreSQL'` or `'MariaDB/MySQL'`, for messages. */
  vendor: string;
  /** The most connections the server accepts, for this user, all clients together. */
  limit: number;
  /** What sets `limit`, in words (`max_connections 100`, `the role's CONNECTION LIMIT 10`, ...). */
  limitSource: string;
  /** Connections that count against `limit` open now, the querying one excluded. */
  inUse: number;
}

/**
 * Administration of a database server, as SQL of its vendor: the one place that knows how to
 * find, count and end server connections. SQLite has no server, hence no admin part.
 */
export interface BackendAdmin {
  /** A statement that returns the server-side id of the connection it runs on, as column `id`. */
  readonly connectionIdSql: string;
  /** The server's version string (`15.20 (Debian …)`, `10.11.19-MariaDB-…`). */
  serverVersion(query: AdminQuery): Promise<string>;
  /**
   * Server-side ids of the live client connections of `user` (default: the connecting user),
   * ascending, the connection running the query excluded.
   */
  connections(query: AdminQuery, user?: string): Promise<number[]>;
  /** Is server connection `id` running a statement now (not idle, not gone)? */
  busy(query: AdminQuery, id: number): Promise<boolean>;
  /**
   * End the server connections `ids` that are still live and belong to `user` (default: the
   * connecting user); other ids are left alone. PostgreSQL waits up to 1 s for each backend to
   * exit; MariaDB/MySQL `KILL CONNECTION` also stops a statement in flight, which would
   * otherwise outlive its vanished client. Resolves with how many were ended; rejects only when
   * `query` itself fails.
   */
  terminate(query: AdminQuery, ids: readonly number[], user?: string): Promise<number>;
  /** The tightest connection limit for the connecting user, and how much of it is in use. */
  limits(query: AdminQuery): Promise<ServerLimits>;
}

/** Driver-specific connection plus the hooks the wrapper needs. */
export interface RawConnection {
  /** The driver object: `pg.Client`, a mysql2 `Connection`, a better-sqlite3 `Database`. */
  readonly driver: unknown;
  /** The server-side id of this connection: PostgreSQL backend pid, MySQL thread id, SQLite: a per-process serial. */
  readonly serverId: number;
  /** The server's version string (`15.20 (Debian …)`, `10.11.19-MariaDB-…`, SQLite `3.53.2`). */
  readonly serverVersion?: string | undefined;
}

export interface Backend {
  readonly vendor: Vendor;
  /** knex's client name for this backend. */
  readonly knexClient: 'pg' | 'mysql2' | 'better-sqlite3';
  /**
   * How knex is set up for this backend: `useNullAsDefault` (SQLite has no DEFAULT in a
   * multi-row insert), and whether knex's bindings go through `prepareValue` as the `sql` tag's
   * do (SQLite: knex would bind dates as epoch ms, booleans as true/false).
   */
  readonly knexOptions: { readonly useNullAsDefault: boolean; readonly prepareBindings: boolean };
  readonly features: Features;
  /** The driver's package name (for error messages). */
  readonly driverPackage: string;
  /** Server administration; undefined when there is no server (SQLite). */
  readonly admin: BackendAdmin | undefined;

  /** Open a connection. `onDead` is called once when the driver reports the connection lost. */
  open(settings: ResolvedDatabaseSettings, onDead: (error: Error) => void): Promise<RawConnection>;
  /** Close politely (Terminate / COM_QUIT), falling back to destroying the socket. Never rejects. */
  close(raw: RawConnection): Promise<void>;
  /** Close at once, synchronously (thread exit). */
  destroy(raw: RawConnection): void;
  /**
   * Run one statement synchronously when the driver can (SQLite): returns the result, throws the
   * driver's error, or returns `undefined` when the statement must wait (then use `query`).
   */
  querySync?(raw: RawConnection, sql: string, bindings: readonly unknown[], options?: QueryOptions): QueryResult | undefined;
  /** Run one statement with bound parameters (native placeholders). Rejects with the driver's error. */
  query(raw: RawConnection, sql: string, bindings: readonly unknown[], options?: QueryOptions): Promise<QueryResult>;
  /** A cheap round trip to check the connection (`SELECT 1`, COM_PING). */
  ping(raw: RawConnection): Promise<void>;
  /** Is a transaction open on the connection, as far as the driver knows? `undefined` when it cannot tell. */
  inTransaction(raw: RawConnection): boolean | undefined;
  /** Was session state changed in a way the next scope must not inherit (MySQL `autocommit` off)? */
  sessionAltered?(raw: RawConnection): boolean;
  /** Let the connection's socket keep (true) or not keep (false) the event loop alive. */
  setRef(raw: RawConnection, ref: boolean): void;

  /** Convert a driver error into Spool's tree, keeping it as `cause`. */
  convertError(error: unknown, alias: string, sql: string | undefined): DatabaseError | InterfaceError;
  /** Does this error mean the connection cannot be used again? */
  isFatal(error: unknown, raw: RawConnection): boolean;

  /**
   * Wrap a statement that another library (knex) runs on the driver object directly, for
   * backends that must coordinate such statements (SQLite's per-thread write lock).
   */
  wrapForeign?<T>(raw: RawConnection, sql: string, run: () => Promise<T>): Promise<T>;

  /**
   * The session feature a statement uses (state that outlives its transaction on the server
   * connection: session `SET`, session advisory locks, `LISTEN`…), for aliases behind a pooler in
   * transaction mode (`pooler: 'transaction'`); undefined when the statement is safe there.
   * Backends that support no pooler leave it out.
   */
  sessionFeature?(sql: string): { readonly feature: string; readonly instead: string } | undefined;

  /** Placeholder for the n-th (0-based) bound value. */
  placeholder(index: number): string;
  /** Quote an identifier that has already been validated. */
  quoteIdentifier(name: string): string;
  /** Prepare a value for binding (SQLite cannot bind booleans or dates). */
  prepareValue(value: unknown): unknown;

  /** SQL to start a transaction, at an optional isolation level (one or more statements). */
  beginSql(isolation: IsolationLevel | undefined): string[];
  readonly commitSql: string;
  readonly rollbackSql: string;
  savepointSql(name: string): string;
  releaseSavepointSql(name: string): string;
  rollbackToSavepointSql(name: string): string;
}
