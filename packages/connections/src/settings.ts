/**
 * Settings: one annotated object, validated up front. Unknown keys are rejected and every
 * message names the option (`databases.default.maxAge`).
 */
import { isMainThread } from 'node:worker_threads';
import { ConfigError } from './errors';
import { messages } from './messages';
import type { Router } from './router';
import type { SharedBudget } from './shared-budget';

/** Client names accepted in `client`, and the driver each uses. */
export const CLIENTS = {
  pg: 'pg',
  postgres: 'pg',
  postgresql: 'pg',
  mysql2: 'mysql2',
  mysql: 'mysql2',
  mariadb: 'mysql2',
  'better-sqlite3': 'better-sqlite3',
  sqlite: 'better-sqlite3',
  sqlite3: 'better-sqlite3',
} as const;
export type ClientName = keyof typeof CLIENTS;
export type DriverName = (typeof CLIENTS)[ClientName];

export const PIN_MODES = ['scope', 'transaction'] as const;
export type PinMode = (typeof PIN_MODES)[number];

/** What sits between Spool and the server: nothing (`null`), or a pooler in transaction mode (PgBouncer). */
export const POOLER_MODES = ['transaction'] as const;
export type PoolerMode = (typeof POOLER_MODES)[number];

/** SQLite connection settings. */
export interface SqliteConnectionSettings {
  /** Path of the database file, or `':memory:'`. */
  filename: string;
  /** Open read-only. */
  readonly?: boolean;
  /** Fail if the file does not exist instead of creating it. */
  fileMustExist?: boolean;
  /** How long a statement waits for a lock held by another thread or process (ms). Default 5000. */
  busyTimeoutMs?: number;
  /** `journal_mode` for file databases. Default `'WAL'`. */
  journalMode?: 'WAL' | 'DELETE' | 'TRUNCATE' | 'PERSIST' | 'MEMORY' | 'OFF';
  /** Enforce foreign keys (`PRAGMA foreign_keys`). Default true. */
  foreignKeys?: boolean;
}

/** Settings of one database alias. */
export interface DatabaseSettings {
  /** `'pg'`, `'mysql2'` or `'better-sqlite3'` (also `postgres`, `mysql`, `mariadb`, `sqlite`). */
  client: ClientName;
  /**
   * A URL string or the driver's connection object: `pg.ClientConfig`, mysql2's `ConnectionOptions`,
   * or `{ filename }` for SQLite (a string is a filename for SQLite).
   */
  connection: string | Record<string, unknown>;
  /** Seconds a connection may live, checked when a scope releases it: `0` closes at every scope end (default), `null` never by age. */
  maxAge?: number | null;
  /** Connections per alias in this thread. Default 10 in the main thread, 1 in a worker thread. */
  max?: number;
  /** How long a scope waits for a connection when the budget is used up, in ms. Default 10000. */
  acquireTimeoutMs?: number;
  /**
   * How many scopes may wait for a connection of this alias in this thread (load shedding): a scope
   * that arrives when this many already wait fails at once with `PoolExhaustedError` (queue full)
   * instead of holding its request's memory in the queue. Default `100 × max` (1000 in the main
   * thread, 100 in a worker thread); `null` for no bound.
   */
  maxWaiting?: number | null;
  /** How long opening a connection may take, in ms. Default 10000. */
  connectTimeoutMs?: number;
  /** Check a reused idle connection (`SELECT 1` / ping) before its first use in a scope. Default false. */
  healthChecks?: boolean;
  /** Close an idle connection (or the root scope's) unused for this long, in ms; `null` never. Default 30000. */
  idleTimeoutMs?: number | null;
  /** Emit `leak` when a scope holds a connection longer than this, in ms; `null` off. Default null. */
  leakThresholdMs?: number | null;
  /** `'scope'` (default): a scope keeps its connection until it ends. `'transaction'`: only for each query or atomic block. */
  pin?: PinMode;
  /** SQL run once on every new connection (session settings), e.g. `["SET TIME ZONE 'UTC'"]`. */
  initSql?: string[];
  /**
   * PostgreSQL and MariaDB: run a statement text as a server-side prepared statement once it has
   * run this many times on a connection, as psycopg 3 does (MariaDB: through mysql2's `execute()`);
   * `null` never (e.g. behind PgBouncer in transaction mode). Default 5, except null behind a
   * `pooler` and with `pin: 'transaction'` on PostgreSQL.
   */
  prepareThreshold?: number | null;
  /**
   * `'transaction'`: the alias reaches PostgreSQL through a pooler in transaction mode (PgBouncer's
   * `pool_mode = transaction`), where each transaction (or statement outside one) may run on
   * another server connection. Spool then defaults `pin` to `'transaction'`, never prepares named
   * statements (`prepareThreshold` must stay null), sends no startup `options`, knows no server
   * ids, and refuses statements whose effect would outlive their transaction on a server
   * connection other clients share (session `SET`/`RESET`, session advisory locks, `LISTEN`,
   * SQL `PREPARE`, `WITH HOLD` cursors, temporary tables…) with a `NotSupportedError` saying
   * what to use instead. Default `null` (a direct connection).
   */
  pooler?: PoolerMode | null;
  /** Test settings: `mirror` makes this alias read the named alias's test database over its own connection. */
  test?: { mirror?: string };
}

/** What `configure()` takes. */
export interface Settings {
  /** Databases by alias; `default` is required. */
  databases: Record<string, DatabaseSettings>;
  /** Routers, tried in order; the first non-null answer wins. */
  routers?: Router[];
  /** Throw `NoScopeError` for a query outside any scope instead of running it in the root scope. Default false. */
  strict?: boolean;
  /**
   * Remember where scopes were opened (and, with `leakThresholdMs`, where connections were leased),
   * for leak reports and `PoolExhaustedError`. Default true: recorded when a report can use it,
   * i.e. while any alias has `leakThresholdMs` set, and for a minute after a scope gave up waiting
   * for a connection (so that the next `PoolExhaustedError` names the holders' sites). `'always'`
   * records it for every scope (about 5 µs per scope on Node 20); false never.
   */
  captureStacks?: boolean | 'always';
  /** Where warnings go. Default `console.warn` (via `process.emitWarning`-free plain output). */
  logger?: Logger;
  /** A process-wide budget shared with other threads (see `SharedBudget`). Usually passed by `@spool/workers`. */
  sharedBudget?: SharedBudget | SharedBudgetHandle;
  /**
   * How long a scope's end waits, in ms, for statements already issued from it that have not
   * finished (a forgotten `await`), with a warning naming the scope and the SQL; statements issued
   * after the end fail with `ScopeEndedError`, as do those still waiting when this runs out.
   * Default 5000.
   */
  drainMs?: number;
}

/**
 * The default of `maxWaiting` is this many waiting scopes per connection of `max`. The policy: a
 * waiter at the back of a queue of `100 × max` waits about 100 hold times, so with the default
 * `acquireTimeoutMs` of 10 s it would be served while scopes hold a connection for up to ~100 ms
 * (the usual web request or job); a longer queue mostly holds scopes that would time out anyway,
 * each with its request's memory. PgBouncer's defaults (`max_client_conn` 100 for a pool of 20)
 * shed much earlier; a pool that never sheds (pg.Pool, mysql2) grows until the process falls over.
 */
export const DEFAULT_WAITING_PER_CONNECTION = 100;

/** The default of `drainMs`. */
export const DEFAULT_DRAIN_MS = 5000;

/** The serialisable form of a SharedBudget, for `workerData`. */
export interface SharedBudgetHandle {
  readonly kind: 'spool.shared-budget';
  readonly buffer: SharedArrayBuffer;
  readonly aliases: readonly string[];
  readonly limits: readonly number[];
  readonly threads: number;
}

export interface Logger {
  warn(message: string): void;
}

/** Settings of one alias after validation, with defaults applied. */
export interface ResolvedDatabaseSettings {
  alias: string;
  client: ClientName;
  driver: DriverName;
  connection: string | Record<string, unknown>;
  maxAge: number | null;
  max: number;
  acquireTimeoutMs: number;
  /** Bound of the wait queue (`null`: unbounded). */
  maxWaiting: number | null;
  connectTimeoutMs: number;
  healthChecks: boolean;
  idleTimeoutMs: number | null;
  leakThresholdMs: number | null;
  pin: PinMode;
  initSql: string[];
  prepareThreshold: number | null;
  /** The pooler between Spool and the server (`null`: none). */
  pooler: PoolerMode | null;
  test: { mirror?: string };
  /** For SQLite: true for an in-memory database (never closed at scope end). */
  inMemory: boolean;
}

export interface ResolvedSettings {
  databases: Map<string, ResolvedDatabaseSettings>;
  routers: Router[];
  strict: boolean;
  captureStacks: boolean | 'always';
  logger: Logger;
  sharedBudget: SharedBudget | SharedBudgetHandle | undefined;
  drainMs: number;
  /** The settings as given, for passing to worker threads. */
  raw: Settings;
}

const TOP_KEYS = ['databases', 'routers', 'strict', 'captureStacks', 'logger', 'sharedBudget', 'drainMs'] as const;
const DB_KEYS = [
  'client',
  'connection',
  'maxAge',
  'max',
  'acquireTimeoutMs',
  'maxWaiting',
  'connectTimeoutMs',
  'healthChecks',
  'idleTimeoutMs',
  'leakThresholdMs',
  'pin',
  'initSql',
  'prepareThreshold',
  'pooler',
  'test',
] as const;
const SQLITE_KEYS = ['filename', 'readonly', 'fileMustExist', 'busyTimeoutMs', 'journalMode', 'foreignKeys'] as const;
const ALIAS_RE = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;

export const defaultLogger: Logger = {
  warn(message) {
    console.warn(`[spool] ${message}`);
  },
};

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function checkKeys(obj: Record<string, unknown>, allowed: readonly string[], path: string): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) {
      throw new ConfigError(messages.unknownOption(path, key, allowed), { option: `${path}${key}` });
    }
  }
}

function num(
  obj: Record<string, unknown>,
  key: string,
  path: string,
  opts: { def: number | null; nullable: boolean; integer?: boolean; min?: number },
): number | null {
  const v = obj[key];
  if (v === undefined) return opts.def;
  if (v === null && opts.nullable) return null;
  const min = opts.min ?? 0;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || (opts.integer && !Number.isInteger(v))) {
    const what = `${opts.integer ? 'an integer' : 'a number'} >= ${min}${opts.nullable ? ' or null' : ''}`;
    throw new ConfigError(messages.badOption(`${path}${key}`, what, v), { option: `${path}${key}` });
  }
  return v;
}

function bool(obj: Record<string, unknown>, key: string, path: string, def: boolean): boolean {
  const v = obj[key];
  if (v === undefined) return def;
  if (typeof v !== 'boolean') {
    throw new ConfigError(messages.badOption(`${path}${key}`, 'a boolean', v), { option: `${path}${key}` });
  }
  return v;
}

function captureStacks(v: unknown): boolean | 'always' {
  if (v === undefined) return true;
  if (typeof v !== 'boolean' && v !== 'always') {
    throw new ConfigError(messages.badOption('captureStacks', "a boolean or 'always'", v), { option: 'captureStacks' });
  }
  return v;
}

/** Validate `configure()`'s argument and apply defaults. Throws `ConfigError` naming the option. */
export function resolveSettings(input: unknown, opts: { inWorker?: boolean } = {}): ResolvedSettings {
  if (!isPlainObject(input)) throw new ConfigError(messages.notAnObject('configure() settings', input));
  checkKeys(input, TOP_KEYS, '');
  const dbs = input.databases;
  if (!isPlainObject(dbs)) {
    throw new ConfigError(messages.badOption('databases', 'an object of aliases', dbs), { option: 'databases' });
  }
  const aliases = Object.keys(dbs);
  if (!aliases.includes('default')) {
    throw new ConfigError(messages.missingDefault(aliases), { option: 'databases.default' });
  }
  const inWorker = opts.inWorker ?? !isMainThread;
  const databases = new Map<string, ResolvedDatabaseSettings>();
  for (const alias of aliases) {
    if (!ALIAS_RE.test(alias)) throw new ConfigError(messages.badAliasName(alias), { option: `databases.${alias}` });
    databases.set(alias, resolveDatabase(alias, dbs[alias], inWorker));
  }
  for (const db of databases.values()) {
    if (db.test.mirror !== undefined && !databases.has(db.test.mirror)) {
      throw new ConfigError(messages.mirrorUnknown(db.alias, db.test.mirror), { option: `databases.${db.alias}.test.mirror` });
    }
  }
  const routers = input.routers ?? [];
  if (!Array.isArray(routers)) throw new ConfigError(messages.badOption('routers', 'an array', routers), { option: 'routers' });
  routers.forEach((r, i) => {
    if (r === null || typeof r !== 'object') {
      throw new ConfigError(messages.badOption(`routers[${i}]`, 'an object with dbForRead/dbForWrite/allowRelation/allowMigrate', r), {
        option: `routers[${i}]`,
      });
    }
  });
  const logger = input.logger ?? defaultLogger;
  if (typeof (logger as Logger).warn !== 'function') {
    throw new ConfigError(messages.badOption('logger', 'an object with a warn(message) method', logger), { option: 'logger' });
  }
  return {
    databases,
    routers: routers as Router[],
    strict: bool(input, 'strict', '', false),
    captureStacks: captureStacks(input.captureStacks),
    logger: logger as Logger,
    sharedBudget: input.sharedBudget as SharedBudget | SharedBudgetHandle | undefined,
    drainMs: num(input, 'drainMs', '', { def: DEFAULT_DRAIN_MS, nullable: false }) as number,
    raw: input as unknown as Settings,
  };
}

function resolveDatabase(alias: string, value: unknown, inWorker: boolean): ResolvedDatabaseSettings {
  const path = `databases.${alias}.`;
  if (!isPlainObject(value)) {
    throw new ConfigError(messages.badOption(`databases.${alias}`, 'an object', value), { option: `databases.${alias}` });
  }
  checkKeys(value, DB_KEYS, path);
  const client = value.client;
  if (typeof client !== 'string' || !Object.hasOwn(CLIENTS, client)) {
    throw new ConfigError(messages.unknownClient(alias, client, ['pg', 'mysql2', 'better-sqlite3']), { option: `${path}client` });
  }
  const driver = CLIENTS[client as ClientName];
  let connection = value.connection;
  if (connection === undefined || connection === null || connection === '') {
    throw new ConfigError(messages.missingConnection(alias), { option: `${path}connection` });
  }
  if (typeof connection !== 'string' && !isPlainObject(connection)) {
    throw new ConfigError(messages.badOption(`${path}connection`, 'a URL string or an object', connection), {
      option: `${path}connection`,
    });
  }
  let inMemory = false;
  if (driver === 'better-sqlite3') {
    if (typeof connection === 'string') connection = { filename: connection };
    const c = connection as Record<string, unknown>;
    checkKeys(c, SQLITE_KEYS, `${path}connection.`);
    if (typeof c.filename !== 'string' || c.filename === '') {
      throw new ConfigError(messages.badOption(`${path}connection.filename`, "a file path or ':memory:'", c.filename), {
        option: `${path}connection.filename`,
      });
    }
    inMemory = c.filename === ':memory:';
  }
  const maxDefault = inMemory ? 1 : inWorker ? 1 : 10;
  const max = num(value, 'max', path, { def: maxDefault, nullable: false, integer: true, min: 1 }) as number;
  if (inMemory && max !== 1) throw new ConfigError(messages.memoryMax(alias, max), { option: `${path}max` });
  const pooler = value.pooler ?? null;
  if (pooler !== null && !POOLER_MODES.includes(pooler as PoolerMode)) {
    throw new ConfigError(messages.badOption(`${path}pooler`, "'transaction' or null", pooler), { option: `${path}pooler` });
  }
  if (pooler !== null && driver !== 'pg') {
    throw new ConfigError(messages.poolerNotPostgres(alias, String(client)), { option: `${path}pooler` });
  }
  if (pooler !== null && value.prepareThreshold !== undefined && value.prepareThreshold !== null) {
    throw new ConfigError(messages.poolerPrepared(alias, value.prepareThreshold), { option: `${path}prepareThreshold` });
  }
  const pin = value.pin ?? (pooler === 'transaction' ? 'transaction' : 'scope');
  if (!PIN_MODES.includes(pin as PinMode)) {
    throw new ConfigError(messages.badOption(`${path}pin`, "'scope' or 'transaction'", pin), { option: `${path}pin` });
  }
  const initSql = value.initSql ?? [];
  if (!Array.isArray(initSql) || initSql.some((s) => typeof s !== 'string')) {
    throw new ConfigError(messages.badOption(`${path}initSql`, 'an array of SQL strings', initSql), { option: `${path}initSql` });
  }
  const test = value.test ?? {};
  if (!isPlainObject(test)) throw new ConfigError(messages.badOption(`${path}test`, 'an object', test), { option: `${path}test` });
  checkKeys(test, ['mirror'], `${path}test.`);
  if (test.mirror !== undefined && typeof test.mirror !== 'string') {
    throw new ConfigError(messages.badOption(`${path}test.mirror`, 'an alias name', test.mirror), { option: `${path}test.mirror` });
  }
  return {
    alias,
    client: client as ClientName,
    driver,
    connection: connection as string | Record<string, unknown>,
    maxAge: num(value, 'maxAge', path, { def: 0, nullable: true }),
    max,
    acquireTimeoutMs: num(value, 'acquireTimeoutMs', path, { def: 10_000, nullable: false, min: 1 }) as number,
    maxWaiting: num(value, 'maxWaiting', path, { def: DEFAULT_WAITING_PER_CONNECTION * max, nullable: true, integer: true, min: 0 }),
    connectTimeoutMs: num(value, 'connectTimeoutMs', path, { def: 10_000, nullable: false, min: 1 }) as number,
    healthChecks: bool(value, 'healthChecks', path, false),
    idleTimeoutMs: num(value, 'idleTimeoutMs', path, { def: 30_000, nullable: true, min: 1 }),
    leakThresholdMs: num(value, 'leakThresholdMs', path, { def: null, nullable: true, min: 1 }),
    pin: pin as PinMode,
    initSql: initSql as string[],
    prepareThreshold: num(value, 'prepareThreshold', path, {
      // pin 'transaction' on PostgreSQL usually means a pooler not declared as one: no named
      // statements there. mysql2's prepared statements belong to the connection that runs them.
      def: (pin === 'transaction' && driver === 'pg') || pooler !== null ? null : 5,
      nullable: true,
      integer: true,
      min: 1,
    }),
    pooler: pooler as PoolerMode | null,
    test: test as { mirror?: string },
    inMemory,
  };
}
