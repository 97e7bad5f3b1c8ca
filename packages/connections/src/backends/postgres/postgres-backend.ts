/**
 * PostgreSQL through `pg` (node-postgres): opening and closing sessions, running statements
 * (named prepared statements past `prepareThreshold` runs), transaction SQL. Errors are converted
 * in `postgres-errors.ts`; server administration is in `postgres-admin.ts`.
 */
import { parseJsonExactly } from '../json-integers';
import type { Backend, IsolationLevel, QueryOptions, QueryResult, RawConnection, TemporalParser } from '../backend';
import { loadDriver } from '../load-driver';
import type { ResolvedDatabaseSettings } from '../../settings';
import { postgresAdmin } from './postgres-admin';
import { convertPostgresError, isPostgresConnectionError } from './postgres-errors';
import { postgresSessionFeature } from './postgres-session';

/** The part of `pg.Client` Spool uses. */
interface PgClient {
  processID: number | null;
  connect(): Promise<void>;
  query(config: PgQueryConfig): Promise<{ rows: unknown[]; rowCount: number | null }>;
  query(query: InstanceType<PgQueryClass>): unknown;
  end(): Promise<void>;
  on(event: 'error' | 'end', listener: (err?: Error) => void): void;
  ref(): void;
  unref(): void;
  getTransactionStatus?(): string | null;
  connection: { stream: { destroy(): void; destroyed?: boolean }; on?(event: string, listener: (msg: never) => void): void };
  _ending?: boolean;
  _queryable?: boolean;
}
/** pg's type parsers: from a column's type oid to a function of its text. */
interface PgTypes {
  getTypeParser(oid: number, format?: string): (value: string) => unknown;
}
interface PgQueryConfig {
  text: string;
  values: unknown[];
  rowMode?: 'array';
  name?: string;
  types?: PgTypes;
}
/** A result as pg's query callback gives it (an array of them for several statements in one text). */
type PgResult = { rows?: unknown[]; rowCount?: number | null };
type PgCallback = (err: Error | null, res: PgResult) => void;
/** pg's `Query`: built here and handed to `client.query()`, which then neither copies a config nor makes a promise. */
type PgQueryClass = new (config: string | PgQueryConfig, values: unknown[] | undefined, callback: PgCallback) => { name?: string };
interface PgModule {
  Client: new (config: Record<string, unknown>) => PgClient;
  Query: PgQueryClass;
  types: PgTypes;
}

/** `date`, `timestamp` and `timestamptz`: read as the server's text when asked (`temporalAsText`). */
const TEMPORAL_OIDS = new Set([1082, 1114, 1184]);
const asText = (value: string): string => value;
/** `json` and `jsonb`: parsed, refusing integers JSON.parse would round (`parseJsonExactly`). */
const JSON_OIDS = new Set([114, 3802]);
/** pg's parsers, except that dates and instants stay text, per driver module (one per `client`). */
const temporalTextTypes = new WeakMap<PgTypes, PgTypes>();
function textTemporals(types: PgTypes): PgTypes {
  let t = temporalTextTypes.get(types);
  if (t === undefined) {
    t = {
      getTypeParser: (oid, format) =>
        TEMPORAL_OIDS.has(oid) ? asText : JSON_OIDS.has(oid) && format !== 'binary' ? parseJsonExactly : types.getTypeParser(oid, format),
    };
    temporalTextTypes.set(types, t);
  }
  return t;
}

/** pg's parsers with dates and instants through `parse` (`parseTemporal`), per driver module and parser. */
const parsingTypes = new WeakMap<PgTypes, WeakMap<TemporalParser, PgTypes>>();
function parsedTemporals(types: PgTypes, parse: TemporalParser): PgTypes {
  let byParser = parsingTypes.get(types);
  if (byParser === undefined) parsingTypes.set(types, (byParser = new WeakMap()));
  let t = byParser.get(parse);
  if (t === undefined) {
    const date = (v: string): unknown => parse(v, 'date');
    const instant = (v: string): unknown => parse(v, 'instant');
    // Other types as `temporalAsText` reads them (JSON through parseJsonExactly).
    const base = textTemporals(types);
    t = { getTypeParser: (oid, format) => (oid === 1082 ? date : TEMPORAL_OIDS.has(oid) ? instant : base.getTypeParser(oid, format)) };
    byParser.set(parse, t);
  }
  return t;
}

interface PgRaw extends RawConnection {
  readonly driver: PgClient;
  readonly Query: PgQueryClass;
  /** The driver's type parsers with dates and instants as text (`temporalAsText`). */
  readonly temporalText: PgTypes;
  /** The driver's own type parsers (`parseTemporal` builds on them). */
  readonly pgTypes: PgTypes;
  dead: boolean;
  /** Run a text as a named statement after this many runs; null never. */
  readonly prepareThreshold: number | null;
  /** Runs of texts not prepared yet. */
  readonly seen: Map<string, number>;
  /** Statement names of the prepared texts. */
  readonly names: Map<string, string>;
  nextName: number;
}

/** At most this many prepared statements per connection (server memory), and texts tracked. */
const MAX_PREPARED = 500;
const MAX_SEEN = 4096;

/** The name to run `sql` under (preparing it on the server), or undefined for an unnamed statement. */
function statementName(r: PgRaw, sql: string): string | undefined {
  if (r.prepareThreshold === null) return undefined;
  const name = r.names.get(sql);
  if (name !== undefined) return name;
  const runs = (r.seen.get(sql) ?? 0) + 1;
  if (runs >= r.prepareThreshold && r.names.size < MAX_PREPARED) {
    r.seen.delete(sql);
    r.nextName += 1;
    const fresh = `spool_${r.nextName}`;
    r.names.set(sql, fresh);
    return fresh;
  }
  if (r.seen.size >= MAX_SEEN) r.seen.clear();
  r.seen.set(sql, runs);
  return undefined;
}

/**
 * Run one statement through a `Query` built here: given a string and a callback, pg neither copies
 * a config object (`cloneQueryConfig`) nor makes a promise of its own (with its `catch`). A
 * prepared statement the server no longer accepts is forgotten and run again unnamed, unless the
 * error aborted a transaction, where nothing more can run until its end.
 */
function send(
  r: PgRaw,
  sql: string,
  values: unknown[],
  options: QueryOptions | undefined,
  name: string | undefined,
  resolve: (result: QueryResult) => void,
  reject: (err: unknown) => void,
): void {
  const done: PgCallback = (err, res) => {
    if (err === null || err === undefined) {
      const rows = (res.rows ?? []) as Record<string, unknown>[];
      resolve({ rows, rowCount: res.rowCount ?? rows.length });
      return;
    }
    if (name === undefined || !stalePrepared(err)) return reject(err);
    r.names.delete(sql);
    if (r.driver.getTransactionStatus?.() === 'E') return reject(err);
    send(r, sql, values, options, undefined, resolve, reject);
  };
  let query;
  if (options?.rowMode || options?.temporalAsText || options?.parseTemporal) {
    const config: PgQueryConfig = { text: sql, values };
    if (options.rowMode) config.rowMode = 'array';
    if (options.parseTemporal) config.types = parsedTemporals(r.pgTypes, options.parseTemporal);
    else if (options.temporalAsText) config.types = r.temporalText;
    if (name !== undefined) config.name = name;
    query = new r.Query(config, undefined, done);
  } else {
    query = new r.Query(sql, values, done);
    if (name !== undefined) query.name = name;
  }
  r.driver.query(query);
}

/**
 * pg's `Query`, except that a run of a statement this connection has prepared, without parameters,
 * is written as one buffer of the same bytes every time (Bind, Describe portal, Execute, Sync),
 * built once per statement name: pg writes each message on its own (four `write()`s between
 * `cork()` and `uncork()`, then one `writev`), which cost about 50,000 instructions per statement,
 * more than the rest of a Spool scope (bench/web-instructions.mjs, `scope` against `scope-noprep`
 * on PostgreSQL). Everything else (the first run, which parses; parameters; rows, portals, binary
 * results) is pg's own `prepare()`. Per driver module; pg's own class when its shape is not the
 * one this relies on.
 */
const preparedRunClasses = new WeakMap<PgQueryClass, PgQueryClass>();
function preparedRunQuery(Base: PgQueryClass): PgQueryClass {
  let fast = preparedRunClasses.get(Base);
  if (fast !== undefined) return fast;
  const proto = Base.prototype as Partial<PgQueryInternals>;
  if (typeof proto.prepare !== 'function' || typeof proto.hasBeenParsed !== 'function') {
    fast = Base;
  } else {
    const Pg = Base as unknown as new (...args: ConstructorParameters<PgQueryClass>) => PgQueryInternals;
    fast = class PreparedRun extends Pg {
      override prepare(connection: PgConnectionInternals): void {
        const values = this.values;
        const name = this.name;
        if (
          name &&
          (values === undefined || values.length === 0) &&
          !this.rows &&
          !this.portal &&
          !this.binary &&
          this.hasBeenParsed(connection) &&
          typeof connection.stream?.write === 'function'
        ) {
          if (connection.stream.writable) connection.stream.write(runBytes(name));
          return;
        }
        super.prepare(connection);
      }
    } as unknown as PgQueryClass;
  }
  preparedRunClasses.set(Base, fast);
  return fast;
}

/** The part of pg's `Query` that `PreparedRun` relies on. */
interface PgQueryInternals {
  name?: string;
  values?: unknown[];
  rows?: number;
  portal?: string;
  binary?: boolean;
  hasBeenParsed(connection: PgConnectionInternals): boolean;
  prepare(connection: PgConnectionInternals): void;
}
interface PgConnectionInternals {
  stream: { writable: boolean; write(chunk: Buffer): boolean };
}

/** Bind (unnamed portal, statement `name`, no parameters, text results), Describe portal, Execute, Sync. */
const runBytesByName = new Map<string, Buffer>();
function runBytes(name: string): Buffer {
  let bytes = runBytesByName.get(name);
  if (bytes !== undefined) return bytes;
  const nameBytes = Buffer.from(name, 'utf8');
  // Bind: portal '' \0, name \0, 0 parameter formats, 0 parameters, 1 result format: text (0).
  const bindLength = 4 + 1 + nameBytes.length + 1 + 2 + 2 + 2 + 2;
  bytes = Buffer.alloc(1 + bindLength + 7 + 10 + 5);
  let at = 0;
  bytes[at++] = 0x42; // 'B'
  bytes.writeInt32BE(bindLength, at);
  at += 4;
  bytes[at++] = 0; // portal ''
  nameBytes.copy(bytes, at);
  at += nameBytes.length;
  bytes[at++] = 0;
  bytes.writeInt16BE(0, at); // parameter format codes
  bytes.writeInt16BE(0, at + 2); // parameters
  bytes.writeInt16BE(1, at + 4); // result format codes
  bytes.writeInt16BE(0, at + 6); // text
  at += 8;
  // Describe the unnamed portal: 'D', length 6, 'P', ''.
  bytes[at++] = 0x44;
  bytes.writeInt32BE(6, at);
  at += 4;
  bytes[at++] = 0x50;
  bytes[at++] = 0;
  // Execute the unnamed portal, all rows: 'E', length 9, '', 0.
  bytes[at++] = 0x45;
  bytes.writeInt32BE(9, at);
  at += 4;
  bytes[at++] = 0;
  bytes.writeInt32BE(0, at);
  at += 4;
  // Sync: 'S', length 4.
  bytes[at++] = 0x53;
  bytes.writeInt32BE(4, at);
  // Statement names are spool_1 … spool_<MAX_PREPARED> on every connection: a bounded map.
  if (runBytesByName.size < MAX_PREPARED * 2) runBytesByName.set(name, bytes);
  return bytes;
}

/** A prepared statement the server no longer accepts (DDL changed its result type, DISCARD ALL). */
function stalePrepared(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e?.code === '26000' || (e?.code === '0A000' && /cached plan must not change result type/.test(e.message ?? ''));
}

function toConnectionConfig(s: ResolvedDatabaseSettings): Record<string, unknown> {
  const base: Record<string, unknown> = typeof s.connection === 'string' ? { connectionString: s.connection } : { ...s.connection };
  if (base.connectionTimeoutMillis === undefined) base.connectionTimeoutMillis = s.connectTimeoutMs;
  if (base.application_name === undefined) base.application_name = 'spool';
  // A backend whose client vanished mid-query (a terminated worker) otherwise runs the query to
  // its end before noticing; this makes the server check the socket every second (PostgreSQL 14+).
  // A pooler (PgBouncer) refuses startup parameters it does not know, and would pass them to one
  // server connection only: none are sent through it.
  if (base.options === undefined && checkIntervalSupported && s.pooler === null) base.options = '-c client_connection_check_interval=1000';
  return base;
}

/** Cleared when a server rejects the setting (PostgreSQL < 14), for the rest of the thread. */
let checkIntervalSupported = true;

const ISOLATION_SQL: Record<IsolationLevel, string> = {
  'read uncommitted': 'READ UNCOMMITTED',
  'read committed': 'READ COMMITTED',
  'repeatable read': 'REPEATABLE READ',
  serializable: 'SERIALIZABLE',
};

export const postgresBackend: Backend = {
  vendor: 'postgresql',
  knexClient: 'pg',
  knexOptions: { useNullAsDefault: false, prepareBindings: false },
  driverPackage: 'pg',
  admin: postgresAdmin,
  features: {
    canReturnRowsFromBulkInsert: true,
    usesSavepoints: true,
    isolationLevels: ['read uncommitted', 'read committed', 'repeatable read', 'serializable'],
    errorAbortsTransaction: true,
    hasServerConnections: true,
    hasSelectForUpdate: true,
    supportsRegex: true,
  },

  async open(settings, onDead) {
    const pg = loadDriver<PgModule>('pg', settings.client);
    const client = new pg.Client(toConnectionConfig(settings));
    const raw: PgRaw = {
      driver: client,
      Query: preparedRunQuery(pg.Query),
      temporalText: textTemporals(pg.types),
      pgTypes: pg.types,
      serverId: 0,
      dead: false,
      prepareThreshold: settings.prepareThreshold,
      seen: new Map(),
      names: new Map(),
      nextName: 0,
    };
    // The server reports its version at start-up (ParameterStatus), no query needed.
    client.connection.on?.('parameterStatus', (msg: { parameterName?: string; parameterValue?: string }) => {
      if (msg.parameterName === 'server_version') (raw as { serverVersion?: string }).serverVersion = msg.parameterValue;
    });
    // pg emits 'error' on an idle client whose server went away; without a listener the process crashes.
    client.on('error', (err) => {
      raw.dead = true;
      onDead(err ?? new Error('connection error'));
    });
    client.on('end', () => {
      if (!raw.dead) {
        raw.dead = true;
        onDead(new Error('Connection terminated'));
      }
    });
    try {
      await client.connect();
    } catch (err) {
      raw.dead = true;
      try {
        client.connection.stream.destroy();
      } catch {
        /* already gone */
      }
      if (checkIntervalSupported && /client_connection_check_interval/.test((err as Error)?.message ?? '')) {
        checkIntervalSupported = false;
        return this.open(settings, onDead);
      }
      throw err;
    }
    // Behind a pooler the process id is the pooler's token, not a server backend: Spool knows no
    // server id then (0), so nothing ever signals or terminates a backend by it.
    (raw as { serverId: number }).serverId = settings.pooler === null ? (client.processID ?? 0) : 0;
    return raw;
  },

  async close(raw) {
    const r = raw as PgRaw;
    r.dead = true;
    const client = r.driver;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        client.end(),
        new Promise<void>((resolve) => {
          timer = setTimeout(() => {
            client.connection.stream.destroy();
            resolve();
          }, 2000);
          timer.unref();
        }),
      ]);
    } catch {
      client.connection.stream.destroy();
    } finally {
      if (timer) clearTimeout(timer);
    }
  },

  destroy(raw) {
    const r = raw as PgRaw;
    r.dead = true;
    try {
      r.driver.connection.stream.destroy();
    } catch {
      /* already gone */
    }
  },

  query(raw, sql, bindings, options?: QueryOptions): Promise<QueryResult> {
    const r = raw as PgRaw;
    return new Promise((resolve, reject) => send(r, sql, bindings as unknown[], options, statementName(r, sql), resolve, reject));
  },

  async ping(raw) {
    await (raw as PgRaw).driver.query({ text: 'SELECT 1', values: [] });
  },

  inTransaction(raw) {
    const status = (raw as PgRaw).driver.getTransactionStatus?.();
    if (status === undefined || status === null) return undefined;
    return status !== 'I';
  },

  setRef(raw, ref) {
    const c = (raw as PgRaw).driver;
    if (ref) c.ref();
    else c.unref();
  },

  convertError: convertPostgresError,

  isFatal(error, raw) {
    const r = raw as PgRaw;
    return r.dead || r.driver._queryable === false || Boolean(r.driver._ending) || isPostgresConnectionError(error);
  },

  sessionFeature: postgresSessionFeature,

  placeholder: (i) => `$${i + 1}`,
  quoteIdentifier: (name) => `"${name.replace(/"/g, '""')}"`,
  prepareValue: (v) => v,

  beginSql: (isolation) => [isolation ? `BEGIN ISOLATION LEVEL ${ISOLATION_SQL[isolation]}` : 'BEGIN'],
  commitSql: 'COMMIT',
  rollbackSql: 'ROLLBACK',
  savepointSql: (n) => `SAVEPOINT "${n}"`,
  releaseSavepointSql: (n) => `RELEASE SAVEPOINT "${n}"`,
  rollbackToSavepointSql: (n) => `ROLLBACK TO SAVEPOINT "${n}"`,
};
