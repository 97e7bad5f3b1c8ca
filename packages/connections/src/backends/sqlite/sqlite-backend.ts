/**
 * SQLite through `better-sqlite3`, which is synchronous and per thread.
 *
 * File databases use WAL, a busy timeout and foreign keys. Statements are prepared once per
 * connection and cached. Because a statement blocks the thread while it waits for a lock, two
 * connections of the same thread must never wait on each other inside SQLite (the holder could
 * never run again): writes are serialised per file and thread by an asynchronous lock, held from
 * the first write of a transaction to its end. Other threads and processes wait in SQLite's busy
 * handler as usual. Errors are converted in `sqlite-errors.ts`. There is no server, hence no admin
 * part: connection ids are per-process serials and connections are counted as open file handles.
 */
import { resolve as resolvePath } from 'node:path';
import { threadId } from 'node:worker_threads';
import type { Backend, QueryOptions, QueryResult, RawConnection } from '../backend';
import { loadDriver } from '../load-driver';
import { messages } from '../../messages';
import type { SqliteConnectionSettings } from '../../settings';
import type { RE2JS } from 're2js';
import { convertSqliteError, INVALID_REGEX, isSqliteFatal } from './sqlite-errors';

interface Statement {
  reader: boolean;
  readonly: boolean;
  all(...params: unknown[]): unknown[];
  get(...params: unknown[]): unknown;
  run(...params: unknown[]): { changes: number; lastInsertRowid: number | bigint };
  raw(toggle: boolean): Statement;
  safeIntegers(toggle: boolean): Statement;
}
interface SqliteDatabase {
  open: boolean;
  inTransaction: boolean;
  prepare(sql: string): Statement;
  pragma(source: string, options?: { simple?: boolean }): unknown;
  function(name: string, options: { deterministic?: boolean; varargs?: boolean }, fn: (...args: unknown[]) => unknown): void;
  aggregate<A>(name: string, options: { start: () => A; step: (acc: A, ...args: unknown[]) => A; result: (acc: A) => unknown }): void;
  close(): void;
}
type SqliteModule = new (filename: string, options: Record<string, unknown>) => SqliteDatabase;

/** A prepared statement with what the hot path needs to know about it, read once. */
interface CachedStatement {
  readonly stmt: Statement;
  readonly reader: boolean;
  /** Takes the per-thread write lock: writes (RETURNING included) and transaction control. */
  readonly locks: boolean;
  /** The mode last set with `stmt.raw()`, so it is toggled only when it changes. */
  rawMode: boolean;
  /** The mode last set with `stmt.safeIntegers()`, likewise. */
  safeIntegers: boolean;
}

interface SqliteRaw extends RawConnection {
  readonly driver: SqliteDatabase;
  readonly file: string | null;
  readonly busyTimeoutMs: number;
  readonly statements: Map<string, CachedStatement>;
}

const STATEMENT_CACHE_SIZE = 256;
let serial = 0;

/** Per-thread write locks, one per database file. */
interface WriteLock {
  holder: SqliteRaw | null;
  queue: Array<{ raw: SqliteRaw; grant: () => void }>;
}
const writeLocks = new Map<string, WriteLock>();

function lockFor(file: string): WriteLock {
  let l = writeLocks.get(file);
  if (!l) {
    l = { holder: null, queue: [] };
    writeLocks.set(file, l);
  }
  return l;
}

function releaseLock(raw: SqliteRaw): void {
  if (!raw.file) return;
  const l = writeLocks.get(raw.file);
  if (!l || l.holder !== raw) return;
  const next = l.queue.shift();
  l.holder = next ? next.raw : null;
  next?.grant();
}

/** Take the write lock of `raw`'s file now, unless another connection of this thread holds it. */
function tryLock(raw: SqliteRaw): boolean {
  const l = lockFor(raw.file as string);
  if (l.holder !== null && l.holder !== raw) return false;
  l.holder = raw;
  return true;
}

/** Take the write lock of `raw`'s file: at once (undefined), or once the holder releases it. */
function acquireLock(raw: SqliteRaw): Promise<void> | undefined {
  if (tryLock(raw)) return undefined;
  const l = lockFor(raw.file as string);
  return new Promise<void>((resolve, reject) => {
    const entry = {
      raw,
      grant: () => {
        clearTimeout(timer);
        resolve();
      },
    };
    const timer = setTimeout(() => {
      const i = l.queue.indexOf(entry);
      if (i >= 0) l.queue.splice(i, 1);
      const err = Object.assign(new Error('database is locked (another connection of this thread holds the write lock)'), {
        code: 'SQLITE_BUSY',
      });
      reject(err);
    }, raw.busyTimeoutMs);
    l.queue.push(entry);
  });
}

function settingsOf(connection: unknown): SqliteConnectionSettings {
  return (typeof connection === 'string' ? { filename: connection } : connection) as SqliteConnectionSettings;
}

function statement(raw: SqliteRaw, sql: string): CachedStatement {
  let cached = raw.statements.get(sql);
  if (cached === undefined) {
    const stmt = raw.driver.prepare(sql);
    // better-sqlite3 calls INSERT … RETURNING a reader; `readonly` tells the truth about writes,
    // and BEGIN/COMMIT/SAVEPOINT (readonly, not readers) must take the lock too.
    cached = { stmt, reader: stmt.reader, locks: !stmt.reader || !stmt.readonly, rawMode: false, safeIntegers: false };
    if (raw.statements.size >= STATEMENT_CACHE_SIZE) {
      const oldest = raw.statements.keys().next().value;
      if (oldest !== undefined) raw.statements.delete(oldest);
    }
    raw.statements.set(sql, cached);
  }
  return cached;
}

function run(raw: SqliteRaw, cached: CachedStatement, bindings: readonly unknown[], options?: QueryOptions): QueryResult {
  try {
    const safe = options?.safeIntegers === true;
    if (cached.safeIntegers !== safe) {
      cached.stmt.safeIntegers(safe);
      cached.safeIntegers = safe;
    }
    if (cached.reader) {
      const rawMode = options?.rowMode === 'array';
      if (cached.rawMode !== rawMode) {
        cached.stmt.raw(rawMode);
        cached.rawMode = rawMode;
      }
      const rows = cached.stmt.all(...bindings) as Record<string, unknown>[];
      return { rows, rowCount: rows.length };
    }
    const info = cached.stmt.run(...bindings);
    return { rows: [], rowCount: info.changes, insertId: info.lastInsertRowid };
  } finally {
    if (cached.locks && raw.file && !raw.driver.inTransaction) releaseLock(raw);
  }
}

/**
 * `x REGEXP p` on SQLite, which has no regular expressions of its own. The patterns are users'
 * (the ORM's `regex` lookups), so they run on RE2 (`re2js`, a JavaScript port of Google's RE2),
 * whose matching time is linear in the input whatever the pattern: a JavaScript `RegExp` would
 * backtrack, and a 25-character pattern such as `(a+)+$` could then hold the thread for seconds
 * with no way to interrupt it. The dialect is RE2's: the usual classes, quantifiers, groups,
 * anchors and inline flags (`(?i)`, `(?s)`, `(?m)`), but no backreferences and no lookaround;
 * such a pattern fails with a `DataError` saying so. See the README, "Backends".
 */
/** The statistical aggregates registered on SQLite connections: name, sample (n - 1), square root. */
const STATISTICS: ReadonlyArray<readonly [string, boolean, boolean]> = [
  ['STDDEV_POP', false, true],
  ['STDDEV_SAMP', true, true],
  ['VAR_POP', false, false],
  ['VAR_SAMP', true, false],
];

const patterns = new Map<string, RE2JS>();
/** re2js, loaded on the first REGEXP (it is a third of this package's load time). */
let re2: typeof RE2JS | undefined;
function regexp(pattern: unknown, value: unknown, flags: unknown): 0 | 1 | null {
  if (pattern === null || pattern === undefined || value === null || value === undefined) return null;
  let source = String(pattern);
  let f = typeof flags === 'string' ? flags : '';
  // Django's SQLite backend writes iregex as REGEXP '(?i)' || pattern; RE2 reads that prefix
  // itself, but as a flag it keeps the cache key the same for both spellings.
  if (source.startsWith('(?i)')) {
    source = source.slice(4);
    if (!f.includes('i')) f += 'i';
  }
  const key = `${f}/${source}`;
  let re = patterns.get(key);
  if (re === undefined) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const RE2 = (re2 ??= (require('re2js') as typeof import('re2js')).RE2JS);
    let bits = 0;
    if (f.includes('i')) bits |= RE2.CASE_INSENSITIVE;
    if (f.includes('m')) bits |= RE2.MULTILINE;
    if (f.includes('s')) bits |= RE2.DOTALL;
    try {
      re = RE2.compile(source, bits);
    } catch (err) {
      const reason = ((err as Error)?.message ?? String(err)).replace(/^error parsing regexp: /, '');
      throw Object.assign(new Error(messages.invalidRegex(source, reason)), { code: INVALID_REGEX });
    }
    if (patterns.size >= 256) patterns.delete(patterns.keys().next().value as string);
    patterns.set(key, re);
  }
  return re.matcher(String(value)).find() ? 1 : 0;
}

export const sqliteBackend: Backend = {
  vendor: 'sqlite',
  knexClient: 'better-sqlite3',
  knexOptions: { useNullAsDefault: true, prepareBindings: true },
  driverPackage: 'better-sqlite3',
  admin: undefined,
  features: {
    canReturnRowsFromBulkInsert: true,
    usesSavepoints: true,
    isolationLevels: ['serializable'],
    errorAbortsTransaction: false,
    hasServerConnections: false,
    hasSelectForUpdate: false,
    supportsRegex: false,
  },

  async open(settings) {
    const Database = loadDriver<SqliteModule>('better-sqlite3', settings.client);
    const s = settingsOf(settings.connection);
    const inMemory = s.filename === ':memory:';
    const busyTimeoutMs = s.busyTimeoutMs ?? 5000;
    const db = new Database(s.filename, {
      readonly: s.readonly ?? false,
      fileMustExist: s.fileMustExist ?? false,
      timeout: busyTimeoutMs,
    });
    try {
      if (!inMemory && !s.readonly) {
        db.pragma(`journal_mode = ${s.journalMode ?? 'WAL'}`);
        if ((s.journalMode ?? 'WAL') === 'WAL') db.pragma('synchronous = NORMAL');
      }
      db.pragma(`foreign_keys = ${s.foreignKeys === false ? 'OFF' : 'ON'}`);
      // `x REGEXP p` calls regexp(p, x) (SQLite has no built-in one); spool_regexp(p, x, flags)
      // takes flags 'i' (case-insensitive), 'm' (multi-line), 's' (dot matches newline). NULL
      // in, NULL out. Both run on RE2: linear time, whatever the pattern.
      db.function('regexp', { deterministic: true }, (p, v) => regexp(p, v, ''));
      db.function('spool_regexp', { deterministic: true }, (p, v, f) => regexp(p, v, f));
      // The ORM's StdDev and Variance: SQLite has no such aggregates (Django registers them too).
      for (const [name, sample, root] of STATISTICS) {
        db.aggregate(name, {
          start: () => [0, 0, 0] as [number, number, number],
          step: (acc: [number, number, number], v: unknown): [number, number, number] => {
            if (v === null || v === undefined) return acc;
            // Welford's online algorithm: count, mean, sum of squared deviations.
            const x = Number(v);
            const n = acc[0] + 1;
            const delta = x - acc[1];
            const mean = acc[1] + delta / n;
            return [n, mean, acc[2] + delta * (x - mean)];
          },
          result: (acc: [number, number, number]) => {
            const n = acc[0] - (sample ? 1 : 0);
            if (acc[0] === 0 || n <= 0) return null;
            const variance = acc[2] / n;
            return root ? Math.sqrt(variance) : variance;
          },
        });
      }
    } catch (err) {
      db.close();
      throw err;
    }
    serial += 1;
    const raw: SqliteRaw = {
      driver: db,
      serverId: threadId * 1_000_000 + serial,
      serverVersion: (db.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v,
      file: inMemory ? null : resolvePath(s.filename),
      busyTimeoutMs,
      statements: new Map(),
    };
    return raw;
  },

  async close(raw) {
    this.destroy(raw);
  },

  destroy(raw) {
    const r = raw as SqliteRaw;
    releaseLock(r);
    r.statements.clear();
    try {
      if (r.driver.open) r.driver.close();
    } catch {
      /* already closed */
    }
  },

  querySync(raw, sql, bindings, options?: QueryOptions): QueryResult | undefined {
    const r = raw as SqliteRaw;
    const cached = statement(r, sql);
    // Another connection of this thread holds the write lock: wait for it asynchronously (query()).
    if (cached.locks && r.file && !tryLock(r)) return undefined;
    return run(r, cached, bindings, options);
  },

  query(raw, sql, bindings, options?: QueryOptions): Promise<QueryResult> {
    const r = raw as SqliteRaw;
    try {
      const cached = statement(r, sql);
      if (cached.locks && r.file) {
        const wait = acquireLock(r);
        if (wait) return wait.then(() => run(r, cached, bindings, options));
      }
      return Promise.resolve(run(r, cached, bindings, options));
    } catch (err) {
      return Promise.reject(err);
    }
  },

  async wrapForeign<T>(raw: RawConnection, sql: string, run: () => Promise<T>): Promise<T> {
    const r = raw as SqliteRaw;
    if (!r.file || !statement(r, sql).locks) return run();
    const wait = acquireLock(r);
    if (wait) await wait;
    try {
      return await run();
    } finally {
      if (!r.driver.inTransaction) releaseLock(r);
    }
  },

  async ping(raw) {
    if (!(raw as SqliteRaw).driver.open) throw new TypeError('The database connection is not open');
  },

  inTransaction(raw) {
    const d = (raw as SqliteRaw).driver;
    return d.open ? d.inTransaction : false;
  },

  setRef() {
    /* no socket */
  },

  convertError: convertSqliteError,

  isFatal(error, raw) {
    return !(raw as SqliteRaw).driver.open || isSqliteFatal(error);
  },

  placeholder: () => '?',
  quoteIdentifier: (name) => `"${name.replace(/"/g, '""')}"`,
  prepareValue(v) {
    if (typeof v === 'boolean') return v ? 1 : 0;
    if (v instanceof Date) return v.toISOString();
    if (v !== null && typeof v === 'object' && !Buffer.isBuffer(v) && !ArrayBuffer.isView(v)) return JSON.stringify(v);
    return v;
  },

  // IMMEDIATE takes the write lock at BEGIN, so that two transactions never deadlock upgrading
  // from read to write (Django's `transaction_mode`); the per-thread lock above keeps the order.
  beginSql: () => ['BEGIN IMMEDIATE'],
  commitSql: 'COMMIT',
  rollbackSql: 'ROLLBACK',
  savepointSql: (n) => `SAVEPOINT "${n}"`,
  releaseSavepointSql: (n) => `RELEASE SAVEPOINT "${n}"`,
  rollbackToSavepointSql: (n) => `ROLLBACK TO SAVEPOINT "${n}"`,
};
