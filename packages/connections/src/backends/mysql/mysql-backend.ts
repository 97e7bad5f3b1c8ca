/**
 * MySQL and MariaDB through `mysql2` (callback API): opening and closing sessions, running
 * statements (text protocol, then server-side prepared statements through `execute()` past
 * `prepareThreshold` runs of a text, as the PostgreSQL backend does), transaction SQL. Errors are
 * converted in `mysql-errors.ts`; server administration is in `mysql-admin.ts`.
 */
import { channel } from 'node:diagnostics_channel';
import type { Backend, IsolationLevel, QueryOptions, QueryResult, RawConnection, TemporalParser } from '../backend';
import { loadDriver } from '../load-driver';
import type { ResolvedDatabaseSettings } from '../../settings';
import { mysqlAdmin } from './mysql-admin';
import { convertMysqlError, isMysqlConnectionError } from './mysql-errors';

interface MysqlConnection {
  threadId: number | null;
  query(options: MysqlQueryOptions | MysqlCommand, cb?: MysqlCallback): MysqlCommand | undefined;
  execute(options: MysqlQueryOptions, cb: MysqlCallback): MysqlCommand;
  addCommand(command: MysqlCommand): unknown;
  config?: { infileStreamFactory?: unknown; rowsAsArray?: boolean; dateStrings?: unknown; typeCast?: unknown };
  unprepare(options: MysqlQueryOptions): unknown;
  ping(cb: (err: Error | null) => void): void;
  end(cb?: (err?: Error | null) => void): void;
  destroy(): void;
  on(event: string, listener: (...args: unknown[]) => void): void;
  once(event: string, listener: (...args: unknown[]) => void): void;
  removeListener(event: string, listener: (...args: unknown[]) => void): void;
  stream?: { ref?(): void; unref?(): void; destroyed?: boolean };
  _fatalError?: unknown;
  _closing?: boolean;
  _handshakePacket?: { serverVersion?: string } | null;
}
type MysqlCallback = (err: Error | null, results: unknown, fields?: unknown) => void;
/** A statement mysql2 prepared (its PreparedStatementInfo): `close()` when mysql2 drops it. */
interface MysqlStatement {
  close(): unknown;
}
/** mysql2's Execute command, as `execute()` returns it: its statement is set once prepared. */
interface MysqlCommand {
  statement?: MysqlStatement;
}
type MysqlExecuteCommand = new (
  options: {
    statement: MysqlStatement;
    values: readonly unknown[];
    rowsAsArray?: boolean;
    dateStrings?: boolean;
    infileStreamFactory?: unknown;
  },
  cb: MysqlCallback,
) => MysqlCommand;
/** mysql2's Query command, as `query()` returns it. */
type MysqlQueryCommand = new (
  options: {
    rowsAsArray: boolean | undefined;
    infileStreamFactory: unknown;
    sql: string;
    values: unknown[] | undefined;
    dateStrings: unknown;
    typeCast: unknown;
  },
  cb: MysqlCallback,
) => MysqlCommand;
interface MysqlQueryOptions {
  sql: string;
  values?: unknown[];
  rowsAsArray?: boolean;
  dateStrings?: boolean;
  typeCast?: unknown;
}
interface MysqlModule {
  createConnection(config: Record<string, unknown>): MysqlConnection;
}

interface MysqlRaw extends RawConnection {
  readonly driver: MysqlConnection;
  dead: boolean;
  inTransaction: boolean;
  /** `SET autocommit = 0` was run: the next scope would silently run in a transaction. */
  autocommitOff?: boolean;
  /** Run a text as a prepared statement (`execute()`) after this many runs; null never. */
  readonly prepareThreshold: number | null;
  /** The text protocol's type cast (exact doubles), or the one given in the settings. */
  readonly typeCast: unknown;
  /** Runs of texts not prepared yet; -1: never prepare (the server refused to). */
  readonly seen: Map<string, number>;
  /** Texts run as prepared statements (mysql2 keeps the statements, an LRU of `maxPreparedStatements`). */
  readonly prepared: Set<string>;
  /**
   * The statements mysql2 holds for prepared texts, by text, for array rows and for object rows
   * (mysql2 keys them by row mode and text), run by its Execute command directly
   * (`executePrepared`). An entry goes when mysql2 closes the statement (its LRU dropped it,
   * `unprepare`). Two maps keyed by the text itself, not one by a key built per run: the compiled
   * text is the same string every run, its hash computed once, where a new key string (`a` + text)
   * was copied and hashed on every statement (8 KB for an INSERT of 1,000 rows).
   */
  readonly arrayStatements: Map<string, MysqlStatement>;
  readonly objectStatements: Map<string, MysqlStatement>;
  /** mysql2's Execute command class, taken from the first `execute()`. */
  executeCommand?: MysqlExecuteCommand;
  /** mysql2's Query command class, taken from the first `query()`. */
  queryCommand?: MysqlQueryCommand;
}

/** mysql2's tracing channel of `execute()`: with a subscriber, statements go through `execute()`. */
const executeTraced = channel('tracing:mysql2:execute:start');

/**
 * Run a text mysql2 has prepared on this connection by its Execute command, as mysql2's own
 * `PreparedStatementInfo.execute()` does, with the row mode and date options of `q`. mysql2's
 * `execute()` front door copies its options with two object spreads into a slow object and
 * looks the statement up through a second (Prepare) command on every run: about 8 µs of client
 * CPU per statement, a tenth of a get by key on MariaDB. Returns false (nothing sent) when the
 * statement is not known here, `execute()` is traced, or a value is one `execute()` refuses
 * (a function), so that `execute()` runs it (and says so).
 */
function executePrepared(r: MysqlRaw, q: MysqlQueryOptions, bindings: readonly unknown[], cb: MysqlCallback): boolean {
  const Execute = r.executeCommand;
  if (Execute === undefined || executeTraced.hasSubscribers) return false;
  const statement = statementsFor(r, q).get(q.sql);
  if (statement === undefined) return false;
  for (let i = 0; i < bindings.length; i++) if (typeof bindings[i] === 'function') return false;
  r.driver.addCommand(
    new Execute(
      {
        statement,
        values: bindings,
        rowsAsArray: q.rowsAsArray,
        dateStrings: q.dateStrings,
        infileStreamFactory: r.driver.config?.infileStreamFactory,
      },
      cb,
    ),
  );
  return true;
}

/**
 * Run `q` on the text protocol. mysql2's `query(options)` front door copies the options with two
 * object spreads (`{ ...defaults, ...options }`) into a new object per statement: the Query
 * command is made here instead from one object literal of a fixed shape, with the values that
 * copy would hold (an option `q` does not set takes the connection's, as there), and given to
 * `query()`, which takes a Query command as it is (formatting, tracing and queueing unchanged).
 * About 46,000 instructions less per statement of 200 rows (an `IN` list of a prefetch). The first
 * statement goes through the front door, which hands back the class.
 */
function queryText(r: MysqlRaw, q: MysqlQueryOptions, cb: MysqlCallback): void {
  const Query = r.queryCommand;
  const config = r.driver.config;
  if (Query === undefined || config === undefined) {
    const command = r.driver.query(q, cb);
    // Only mysql2's own Query class: `query()` takes an instance of it as the command itself.
    const Cls = (command as { constructor?: { name?: string } } | undefined)?.constructor;
    if (config !== undefined && Cls?.name === 'Query') r.queryCommand = Cls as MysqlQueryCommand;
    return;
  }
  r.driver.query(
    new Query(
      {
        rowsAsArray: 'rowsAsArray' in q ? q.rowsAsArray : config.rowsAsArray,
        infileStreamFactory: config.infileStreamFactory,
        sql: q.sql,
        values: q.values,
        dateStrings: 'dateStrings' in q ? q.dateStrings : config.dateStrings,
        typeCast: 'typeCast' in q ? q.typeCast : config.typeCast,
      },
      cb,
    ),
  );
}

/** The prepared statements of `q`'s row mode. */
function statementsFor(r: MysqlRaw, q: MysqlQueryOptions): Map<string, MysqlStatement> {
  return q.rowsAsArray === true ? r.arrayStatements : r.objectStatements;
}

/** After `execute()` ran a text: keep its statement and its command class for `executePrepared`. */
function remember(r: MysqlRaw, q: MysqlQueryOptions, command: MysqlCommand | undefined): void {
  const statement = command?.statement;
  if (statement === undefined || typeof statement.close !== 'function') return;
  r.executeCommand ??= command?.constructor as MysqlExecuteCommand;
  const statements = statementsFor(r, q);
  const key = q.sql;
  if (statements.get(key) === statement) return;
  const close = statement.close;
  // mysql2 closes a statement it drops (LRU eviction, unprepare): forget it with it.
  statement.close = function (this: MysqlStatement) {
    if (statements.get(key) === statement) statements.delete(key);
    return close.call(this);
  };
  statements.set(key, statement);
}

/**
 * At most this many prepared statements per connection (mysql2 closes the least recently used
 * one past it; the server's `max_prepared_stmt_count` is shared by every session) and texts tracked.
 */
const MAX_PREPARED = 256;
const MAX_SEEN = 4096;

/**
 * Whether to run `sql` with `execute()`: a text is prepared once it ran `prepareThreshold` times.
 * Statements whose bindings the binary protocol would read differently stay on the text protocol:
 * a list (the text protocol expands it into `IN (1, 2, 3)`, a prepared statement would bind its
 * JSON) and a bigint (sent as a string, compared as a double).
 */
function usePrepared(r: MysqlRaw, sql: string, bindings: readonly unknown[]): boolean {
  if (r.prepareThreshold === null) return false;
  for (let i = 0; i < bindings.length; i++) {
    const v = bindings[i];
    if (v === undefined || typeof v === 'bigint' || Array.isArray(v)) return false;
  }
  if (r.prepared.has(sql)) return true;
  const before = r.seen.get(sql) ?? 0;
  if (before < 0) return false;
  const runs = before + 1;
  if (runs >= r.prepareThreshold && r.prepared.size < MAX_SEEN) {
    // `??` is the text protocol's identifier placeholder, which a prepared statement does not know.
    if (sql.includes('??')) {
      r.seen.set(sql, -1);
      return false;
    }
    r.seen.delete(sql);
    r.prepared.add(sql);
    return true;
  }
  if (r.seen.size >= MAX_SEEN) r.seen.clear();
  r.seen.set(sql, runs);
  return false;
}

/** A column of a result as mysql2 describes it. */
interface MysqlField {
  name: string;
  columnType: number;
  decimals: number;
}
const FLOAT = 4;
const TIMESTAMP = 7;
const DATE = 10;
const TIME = 11;
const DATETIME = 12;
const NEWDATE = 14;
/** The decimals of a column whose fractional digits are not fixed (an expression's FLOAT). */
const NOT_FIXED_DECIMALS = 31;

type Fixup = (v: unknown) => unknown;
/** FLOAT: the text protocol's form, 6 significant digits (or the column's fixed places). */
const floatAsText =
  (decimals: number): Fixup =>
  (v) =>
    typeof v === 'number' ? Number(decimals === NOT_FIXED_DECIMALS ? v.toPrecision(6) : v.toFixed(decimals)) : v;
/** TIME(n) and, as text, DATETIME(n): every fractional digit, as the text protocol writes them. */
const allPlaces =
  (decimals: number): Fixup =>
  (v) => {
    if (typeof v !== 'string') return v;
    const dot = v.indexOf('.');
    const have = dot < 0 ? 0 : v.length - dot - 1;
    return have >= decimals ? v : `${dot < 0 ? `${v}.` : v}${'0'.repeat(decimals - have)}`;
  };

/**
 * What the binary protocol reads differently from the text protocol, per column: a FLOAT as its
 * single-precision value (0.10000000149011612, where the text says 0.1), and TIME(n) and DATETIME(n)
 * text without the fractional digits when they are zero. Undefined when every column reads alike.
 */
function binaryFixups(fields: readonly MysqlField[] | undefined, dateStrings: boolean): Map<number, Fixup> | undefined {
  if (fields === undefined) return undefined;
  let out: Map<number, Fixup> | undefined;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i] as MysqlField;
    if (f.columnType === FLOAT) (out ??= new Map()).set(i, floatAsText(f.decimals));
    else if (
      (f.columnType === TIME || (dateStrings && (f.columnType === DATETIME || f.columnType === TIMESTAMP))) &&
      f.decimals > 0 &&
      f.decimals <= 6
    )
      (out ??= new Map()).set(i, allPlaces(f.decimals));
  }
  return out;
}

/** `parseTemporal`: each DATE, DATETIME and TIMESTAMP value (read as text) through `parse`. */
function parseTemporals(rows: unknown[], fields: readonly MysqlField[] | undefined, parse: TemporalParser, asArray: boolean): void {
  if (fields === undefined) return;
  const fixups = new Map<number, Fixup>();
  for (let i = 0; i < fields.length; i++) {
    const t = (fields[i] as MysqlField).columnType;
    if (t === DATE || t === NEWDATE) fixups.set(i, (v) => (typeof v === 'string' ? parse(v, 'date') : v));
    else if (t === DATETIME || t === TIMESTAMP) fixups.set(i, (v) => (typeof v === 'string' ? parse(v, 'instant') : v));
  }
  if (fixups.size > 0) applyFixups(rows, fields, fixups, asArray);
}

function applyFixups(rows: unknown[], fields: readonly MysqlField[], fixups: Map<number, Fixup>, asArray: boolean): void {
  for (const row of rows) {
    for (const [i, fix] of fixups) {
      if (asArray) (row as unknown[])[i] = fix((row as unknown[])[i]);
      else {
        const name = (fields[i] as MysqlField).name;
        (row as Record<string, unknown>)[name] = fix((row as Record<string, unknown>)[name]);
      }
    }
  }
}

/** ER_UNKNOWN_STMT_HANDLER, ER_NEED_REPREPARE: the server no longer has (or accepts) the statement. */
const STALE_PREPARED = new Set([1243, 1615]);
/** ER_UNSUPPORTED_PS, ER_MAX_PREPARED_STMT_COUNT_REACHED: the server will not prepare it (now). */
const NOT_PREPARABLE = new Set([1295, 1461]);

/** The driver's lost-connection error, for a loss it reports only as an event (`end`). */
function connectionLost(message: string): Error {
  return Object.assign(new Error(message), { code: 'PROTOCOL_CONNECTION_LOST', fatal: true });
}

const SERVER_STATUS_IN_TRANS = 1;
const SERVER_STATUS_AUTOCOMMIT = 2;

function toConnectionConfig(s: ResolvedDatabaseSettings): Record<string, unknown> {
  const base: Record<string, unknown> = typeof s.connection === 'string' ? { uri: s.connection } : { ...s.connection };
  if (base.connectTimeout === undefined) base.connectTimeout = s.connectTimeoutMs;
  // Interpret and write DATETIME values as UTC, whatever the machine's time zone (Django's USE_TZ on MySQL).
  if (base.timezone === undefined) base.timezone = 'Z';
  // BIGINT values beyond 2^53 come back as strings instead of losing digits.
  if (base.supportBigNumbers === undefined) base.supportBigNumbers = true;
  if (base.charset === undefined) base.charset = 'UTF8MB4_UNICODE_CI';
  // JSON columns as their text, as the other drivers' text columns: mysql2 otherwise decodes a
  // column MariaDB marks as JSON, and a reader that decodes JSON text (the ORM's JSONField) would
  // decode a JSON string whose text is itself JSON ('"123"', '"null"') a second time.
  if (base.jsonStrings === undefined) base.jsonStrings = true;
  // The type cast is given per text query (see `exactDoubles`): prepared statements read doubles
  // exactly from their binary form, and a type cast there would read them as text.
  delete base.typeCast;
  if (base.maxPreparedStatements === undefined) base.maxPreparedStatements = MAX_PREPARED;
  return base;
}

/**
 * mysql2 parses DOUBLE and FLOAT text with its own digit loop, which can be a few units off in the
 * last place (`287 / 3e0` reads as 95.66666666666669; sidorares/node-mysql2#2928): read them with
 * `Number()` from the text the server sent, which is exact. Every other type takes mysql2's parser.
 */
function exactDoubles(field: { type: string; string(): string | null }, next: () => unknown): unknown {
  if (field.type !== 'DOUBLE' && field.type !== 'FLOAT') return next();
  const text = field.string();
  return text === null ? null : Number(text);
}

const ISOLATION_SQL: Record<IsolationLevel, string> = {
  'read uncommitted': 'READ UNCOMMITTED',
  'read committed': 'READ COMMITTED',
  'repeatable read': 'REPEATABLE READ',
  serializable: 'SERIALIZABLE',
};

export const mysqlBackend: Backend = {
  vendor: 'mysql',
  knexClient: 'mysql2',
  knexOptions: { useNullAsDefault: false, prepareBindings: false },
  driverPackage: 'mysql2',
  admin: mysqlAdmin,
  features: {
    canReturnRowsFromBulkInsert: false,
    usesSavepoints: true,
    isolationLevels: ['read uncommitted', 'read committed', 'repeatable read', 'serializable'],
    errorAbortsTransaction: false,
    hasServerConnections: true,
    hasSelectForUpdate: true,
    supportsRegex: true,
  },

  open(settings, onDead) {
    const mysql = loadDriver<MysqlModule>('mysql2', settings.client);
    return new Promise((resolve, reject) => {
      let conn: MysqlConnection;
      try {
        conn = mysql.createConnection(toConnectionConfig(settings));
      } catch (err) {
        reject(err);
        return;
      }
      const given = typeof settings.connection === 'object' ? (settings.connection as { typeCast?: unknown }).typeCast : undefined;
      const raw: MysqlRaw = {
        driver: conn,
        serverId: 0,
        dead: false,
        inTransaction: false,
        // A type cast of the settings' own applies to text results only, and several statements
        // in one text cannot be prepared: then no prepared statements.
        prepareThreshold:
          given === undefined && !(settings.connection as { multipleStatements?: boolean }).multipleStatements
            ? settings.prepareThreshold
            : null,
        typeCast: given ?? exactDoubles,
        seen: new Map(),
        prepared: new Set(),
        arrayStatements: new Map(),
        objectStatements: new Map(),
      };
      let connected = false;
      const lost = (err: unknown) => {
        if (raw.dead) return;
        raw.dead = true;
        if (connected) onDead(err instanceof Error ? err : connectionLost('Connection lost.'));
      };
      conn.on('error', (err) => {
        if (!connected) {
          raw.dead = true;
          conn.destroy();
          reject(err);
          return;
        }
        lost(err);
      });
      conn.on('end', () => lost(connectionLost('Connection lost: the server closed the connection.')));
      conn.once('connect', () => {
        connected = true;
        (raw as { serverId: number }).serverId = conn.threadId ?? 0;
        (raw as { serverVersion?: string }).serverVersion = conn._handshakePacket?.serverVersion;
        resolve(raw);
      });
    });
  },

  close(raw) {
    const r = raw as MysqlRaw;
    r.dead = true;
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        r.driver.destroy();
        resolve();
      }, 2000);
      timer.unref();
      // Resolve when the server has closed its side (after COM_QUIT), so that a closed connection
      // is gone from the processlist, not merely asked to go.
      const stream = r.driver.stream as { once?(e: string, l: () => void): void; destroyed?: boolean } | undefined;
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      if (stream?.once && !stream.destroyed) stream.once('close', done);
      try {
        r.driver.end(() => {
          if (!stream?.once || stream.destroyed) done();
        });
      } catch {
        clearTimeout(timer);
        r.driver.destroy();
        resolve();
      }
    });
  },

  destroy(raw) {
    const r = raw as MysqlRaw;
    r.dead = true;
    try {
      r.driver.destroy();
    } catch {
      /* already gone */
    }
  },

  query(raw, sql, bindings, options?: QueryOptions): Promise<QueryResult> {
    const r = raw as MysqlRaw;
    return new Promise((resolve, reject) => {
      const q: MysqlQueryOptions = { sql, values: bindings as unknown[] };
      if (options?.rowMode) q.rowsAsArray = true;
      // DATETIME(6) as its text: a Date would keep milliseconds only.
      if (options?.temporalAsText || options?.parseTemporal) q.dateStrings = true;
      let prepared = usePrepared(r, sql, bindings);
      let command: MysqlCommand | undefined;
      const onResult = (err: Error | null, results: unknown, fields?: unknown) => {
        if (err) {
          const code = (err as { errno?: number }).errno ?? 0;
          if (prepared && (STALE_PREPARED.has(code) || NOT_PREPARABLE.has(code))) {
            prepared = false;
            // Nothing ran: forget the statement (the next runs count again, or never prepare a
            // text the server refuses to), and run it as text now.
            r.driver.unprepare({ sql, rowsAsArray: q.rowsAsArray });
            statementsFor(r, q).delete(sql);
            r.prepared.delete(sql);
            if (NOT_PREPARABLE.has(code) && code !== 1461) r.seen.set(sql, -1);
            if (options?.noFloatColumns !== true || r.typeCast !== exactDoubles) q.typeCast = r.typeCast;
            queryText(r, q, onResult);
            return;
          }
          reject(err);
          return;
        }
        if (command !== undefined) remember(r, q, command);
        if (Array.isArray(results)) {
          if (prepared && results.length > 0) {
            const fixups = binaryFixups(fields as MysqlField[] | undefined, q.dateStrings === true);
            if (fixups !== undefined) applyFixups(results, fields as MysqlField[], fixups, q.rowsAsArray === true);
          }
          if (options?.parseTemporal && results.length > 0)
            parseTemporals(results, fields as MysqlField[] | undefined, options.parseTemporal, q.rowsAsArray === true);
          resolve({ rows: results as Record<string, unknown>[], rowCount: results.length });
          return;
        }
        const h = results as { affectedRows?: number; insertId?: number; serverStatus?: number };
        if (typeof h.serverStatus === 'number') {
          r.inTransaction = (h.serverStatus & SERVER_STATUS_IN_TRANS) !== 0;
          r.autocommitOff = (h.serverStatus & SERVER_STATUS_AUTOCOMMIT) === 0;
        }
        resolve({ rows: [], rowCount: h.affectedRows ?? 0, insertId: h.insertId });
      };
      if (prepared) {
        if (!executePrepared(r, q, bindings, onResult)) command = r.driver.execute(q, onResult);
      } else {
        // No DOUBLE or FLOAT to read exactly: mysql2's own readers, no call per value.
        if (options?.noFloatColumns !== true || r.typeCast !== exactDoubles) q.typeCast = r.typeCast;
        queryText(r, q, onResult);
      }
    });
  },

  ping(raw) {
    return new Promise((resolve, reject) => {
      (raw as MysqlRaw).driver.ping((err) => (err ? reject(err) : resolve()));
    });
  },

  inTransaction(raw) {
    return (raw as MysqlRaw).inTransaction;
  },

  sessionAltered(raw) {
    return (raw as MysqlRaw).autocommitOff === true;
  },

  setRef(raw, ref) {
    const s = (raw as MysqlRaw).driver.stream;
    if (ref) s?.ref?.();
    else s?.unref?.();
  },

  convertError: convertMysqlError,

  isFatal(error, raw) {
    const r = raw as MysqlRaw;
    return r.dead || Boolean(r.driver._fatalError) || Boolean(r.driver._closing) || isMysqlConnectionError(error);
  },

  placeholder: () => '?',
  quoteIdentifier: (name) => `\`${name.replace(/`/g, '``')}\``,
  prepareValue(v) {
    // mysql2 would expand a plain object into `key` = value pairs: store it as JSON instead.
    if (v !== null && typeof v === 'object' && !(v instanceof Date) && !Buffer.isBuffer(v) && !Array.isArray(v)) {
      return JSON.stringify(v);
    }
    return v;
  },

  beginSql: (isolation) =>
    isolation ? [`SET TRANSACTION ISOLATION LEVEL ${ISOLATION_SQL[isolation]}`, 'START TRANSACTION'] : ['START TRANSACTION'],
  commitSql: 'COMMIT',
  rollbackSql: 'ROLLBACK',
  savepointSql: (n) => `SAVEPOINT \`${n}\``,
  releaseSavepointSql: (n) => `RELEASE SAVEPOINT \`${n}\``,
  rollbackToSavepointSql: (n) => `ROLLBACK TO SAVEPOINT \`${n}\``,
};
