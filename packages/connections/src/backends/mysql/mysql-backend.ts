/**
 * MySQL and MariaDB through `mysql2` (callback API, text protocol, as knex uses it): opening and
 * closing sessions, running statements, transaction SQL. Errors are converted in
 * `mysql-errors.ts`; server administration is in `mysql-admin.ts`.
 */
import type { Backend, IsolationLevel, QueryOptions, QueryResult, RawConnection } from '../backend';
import { loadDriver } from '../load-driver';
import type { ResolvedDatabaseSettings } from '../../settings';
import { mysqlAdmin } from './mysql-admin';
import { convertMysqlError, isMysqlConnectionError } from './mysql-errors';

interface MysqlConnection {
  threadId: number | null;
  query(
    options: { sql: string; values?: unknown[]; rowsAsArray?: boolean; dateStrings?: boolean },
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
  if (base.typeCast === undefined) base.typeCast = exactDoubles;
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
      const raw: MysqlRaw = { driver: conn, serverId: 0, dead: false, inTransaction: false };
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
      const q: { sql: string; values: unknown[]; rowsAsArray?: boolean; dateStrings?: boolean } = { sql, values: bindings as unknown[] };
      if (options?.rowMode) q.rowsAsArray = true;
      // DATETIME(6) as its text: a Date would keep milliseconds only.
      if (options?.temporalAsText) q.dateStrings = true;
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
