/**
 * MySQL and MariaDB through `mysql2` (callback API, text protocol, as knex uses it). Errors are
 * converted on the server's errno, then on the SQLSTATE class; `fatal` errors and lost
 * connections make the connection unusable.
 */
import type { Backend, IsolationLevel, QueryOptions, QueryResult, RawConnection } from './backend';
import {
  DataError,
  DatabaseError,
  IntegrityError,
  InterfaceError,
  InternalError,
  NotSupportedError,
  OperationalError,
  ProgrammingError,
  type DatabaseErrorClass,
} from '../errors';
import { loadDriver } from './load-driver';
import type { ResolvedDatabaseSettings } from '../settings';

interface MysqlConnection {
  threadId: number | null;
  query(
    options: { sql: string; values?: unknown[]; rowsAsArray?: boolean },
    cb: (err: Error | null, results: unknown, fields?: unknown) => void,
  ): void;
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
interface MysqlModule {
  createConnection(config: Record<string, unknown>): MysqlConnection;
}

interface MysqlRaw extends RawConnection {
  readonly driver: MysqlConnection;
  dead: boolean;
  inTransaction: boolean;
  /** `SET autocommit = 0` was run: the next scope would silently run in a transaction. */
  autocommitOff?: boolean;
}

const SERVER_STATUS_IN_TRANS = 1;
const SERVER_STATUS_AUTOCOMMIT = 2;

/** errno → class, for the errors whose SQLSTATE class says too little (HY000 is used for many). */
const ERRNO: Record<number, DatabaseErrorClass> = {
  1022: IntegrityError, // duplicate key on write
  1048: IntegrityError, // column cannot be null
  1062: IntegrityError, // duplicate entry
  1169: IntegrityError, // unique constraint
  1216: IntegrityError, // FK: cannot add child row
  1217: IntegrityError, // FK: cannot delete parent row
  1364: IntegrityError, // field has no default value (strict mode)
  1451: IntegrityError, // FK: row is referenced
  1452: IntegrityError, // FK: cannot add or update child row
  1557: IntegrityError,
  1586: IntegrityError,
  3819: IntegrityError, // MySQL check constraint
  4025: IntegrityError, // MariaDB check constraint
  1264: DataError, // out of range
  1265: DataError, // data truncated
  1292: DataError, // incorrect datetime value
  1366: DataError, // incorrect value for column
  1367: DataError,
  1406: DataError, // data too long
  1416: DataError,
  1690: DataError, // value out of range
  3140: DataError, // invalid JSON
  4038: DataError,
  1040: OperationalError, // too many connections
  1044: OperationalError, // access denied to database
  1045: OperationalError, // access denied
  1049: OperationalError, // unknown database
  1053: OperationalError, // server shutdown
  1203: OperationalError, // max_user_connections
  1205: OperationalError, // lock wait timeout
  1213: OperationalError, // deadlock
  1226: OperationalError, // resource limit (max_user_connections)
  1317: OperationalError, // query interrupted
  1927: OperationalError, // connection killed (MariaDB)
  1969: OperationalError, // statement timeout (MariaDB)
  2006: OperationalError, // server has gone away
  2013: OperationalError, // lost connection during query
  3024: OperationalError, // max_execution_time
  1054: ProgrammingError, // unknown column
  1064: ProgrammingError, // syntax error
  1146: ProgrammingError, // no such table
  1050: ProgrammingError, // table exists
  1051: ProgrammingError, // unknown table
  1060: ProgrammingError, // duplicate column
  1061: ProgrammingError, // duplicate key name
  1091: ProgrammingError, // can't drop
  1149: ProgrammingError,
  1210: ProgrammingError, // wrong arguments
  1235: NotSupportedError, // not supported yet
  1178: NotSupportedError,
  1289: NotSupportedError,
};

const FATAL_CODES = new Set([
  'PROTOCOL_CONNECTION_LOST',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR',
  'PROTOCOL_ENQUEUE_AFTER_QUIT',
  'ER_CONNECTION_KILLED',
  'ER_SERVER_SHUTDOWN',
]);

function classFor(errno: number | undefined, sqlState: string | undefined): DatabaseErrorClass {
  if (errno !== undefined && ERRNO[errno]) return ERRNO[errno];
  switch (sqlState?.slice(0, 2)) {
    case '23':
      return IntegrityError;
    case '22':
      return DataError;
    case '42':
      return ProgrammingError;
    case '08':
    case '40':
    case '28':
      return OperationalError;
    case '0A':
      return NotSupportedError;
    case 'XA':
    case '25':
      return InternalError;
    default:
      return DatabaseError;
  }
}

/** Pull the constraint name out of MySQL's messages (the server does not report it separately). */
function constraintFrom(message: string): { constraint?: string; column?: string; table?: string } {
  let m = /CONSTRAINT [`"]([^`"]+)[`"]/.exec(message);
  if (m) {
    const t = /[`"][^`"]+[`"]\.[`"]([^`"]+)[`"]/.exec(message);
    return { constraint: m[1], ...(t ? { table: t[1] } : {}) };
  }
  m = /for key '(?:[^'.]+\.)?([^']+)'/.exec(message);
  if (m) return { constraint: m[1] };
  m = /Column '([^']+)' cannot be null|Field '([^']+)' doesn't have a default value/.exec(message);
  if (m) return { column: m[1] ?? m[2] };
  return {};
}

function toConnectionConfig(s: ResolvedDatabaseSettings): Record<string, unknown> {
  const base: Record<string, unknown> = typeof s.connection === 'string' ? { uri: s.connection } : { ...s.connection };
  if (base.connectTimeout === undefined) base.connectTimeout = s.connectTimeoutMs;
  // Interpret and write DATETIME values as UTC, whatever the machine's time zone (Django's USE_TZ on MySQL).
  if (base.timezone === undefined) base.timezone = 'Z';
  // BIGINT values beyond 2^53 come back as strings instead of losing digits.
  if (base.supportBigNumbers === undefined) base.supportBigNumbers = true;
  if (base.charset === undefined) base.charset = 'UTF8MB4_UNICODE_CI';
  return base;
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
  driverPackage: 'mysql2',
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
      const raw: MysqlRaw = { driver: conn, serverId: 0, dead: false, inTransaction: false };
      let connected = false;
      const lost = (err: unknown) => {
        if (raw.dead) return;
        raw.dead = true;
        if (connected) onDead(err instanceof Error ? err : new Error('Connection lost'));
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
      conn.on('end', () => lost(new Error('Connection lost: the server closed the connection.')));
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
      const q: { sql: string; values: unknown[]; rowsAsArray?: boolean } = { sql, values: bindings as unknown[] };
      if (options?.rowMode) q.rowsAsArray = true;
      r.driver.query(q, (err, results) => {
        if (err) {
          reject(err);
          return;
        }
        if (Array.isArray(results)) {
          resolve({ rows: results as Record<string, unknown>[], rowCount: results.length });
          return;
        }
        const h = results as { affectedRows?: number; insertId?: number; serverStatus?: number };
        if (typeof h.serverStatus === 'number') {
          r.inTransaction = (h.serverStatus & SERVER_STATUS_IN_TRANS) !== 0;
          r.autocommitOff = (h.serverStatus & SERVER_STATUS_AUTOCOMMIT) === 0;
        }
        resolve({ rows: [], rowCount: h.affectedRows ?? 0, insertId: h.insertId });
      });
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

  convertError(error, alias, sql) {
    const e = error as { errno?: number; sqlState?: string; code?: string; message?: string; sqlMessage?: string; fatal?: boolean };
    const message = e?.sqlMessage ?? e?.message ?? String(error);
    if (e?.code === 'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR' || e?.code === 'PROTOCOL_ENQUEUE_AFTER_QUIT') {
      return new InterfaceError(message, { cause: error, alias, code: 'E_INTERFACE' });
    }
    if (e?.errno === undefined && e?.code && FATAL_CODES.has(e.code)) {
      return new OperationalError(message, { cause: error, alias, sql, vendorCode: e.code });
    }
    const Cls = classFor(e?.errno, e?.sqlState);
    return new Cls(message, {
      cause: error,
      alias,
      sql,
      sqlState: e?.sqlState,
      vendorCode: e?.errno ?? e?.code,
      ...constraintFrom(message),
    });
  },

  isFatal(error, raw) {
    const r = raw as MysqlRaw;
    if (r.dead || r.driver._fatalError || r.driver._closing) return true;
    const e = error as { fatal?: boolean; code?: string; errno?: number };
    return (
      Boolean(e?.fatal) || (e?.code !== undefined && FATAL_CODES.has(e.code)) || e?.errno === 1927 || e?.errno === 2006 || e?.errno === 2013
    );
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
