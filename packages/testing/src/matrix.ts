/**
 * The database matrix the suites loop over, chosen by one environment variable:
 *
 *   SPOOL_TEST_DATABASES=sqlite,postgres,mysql   run exactly these; an unreachable one fails the run
 *   (unset)                                      run what is reachable; say out loud what is skipped
 *
 * Each jest worker gets its own role and database on the servers (`spool_t<worker>`), so that
 * suites may run in parallel and connection counts are per worker. Servers are found through
 * `SPOOL_TEST_PG_URL` (default `postgres://root@127.0.0.1:5432/test`) and `SPOOL_TEST_MYSQL_URL`
 * (default `mysql://root@127.0.0.1:3306/test`), both admin URLs.
 */
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseSettings } from '@spool/connections';
import { ConnectionCounter } from './connection-counter';
import { loadSqliteDriver, mysqlDriver, pgDriver } from './drivers';
import { mysqlAdminUrl, pgAdminUrl } from './servers';

export const TEST_DATABASES = ['sqlite', 'postgres', 'mysql'] as const;
export type TestDatabaseName = (typeof TEST_DATABASES)[number];

const ALIASES: Record<string, TestDatabaseName> = {
  sqlite: 'sqlite',
  'better-sqlite3': 'sqlite',
  postgres: 'postgres',
  postgresql: 'postgres',
  pg: 'postgres',
  mysql: 'mysql',
  mariadb: 'mysql',
  mysql2: 'mysql',
};

/** Parse `SPOOL_TEST_DATABASES`; throws on an unknown name. Undefined when the variable is unset. */
export function requestedDatabases(value = process.env.SPOOL_TEST_DATABASES): TestDatabaseName[] | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const out: TestDatabaseName[] = [];
  for (const raw of value.split(',')) {
    const name = raw.trim().toLowerCase();
    if (!name) continue;
    const db = ALIASES[name];
    if (!db) {
      throw new Error(
        `SPOOL_TEST_DATABASES: unknown database '${raw.trim()}'. Use a comma-separated list of ${TEST_DATABASES.join(', ')}.`,
      );
    }
    if (!out.includes(db)) out.push(db);
  }
  return out;
}

/** Can the server be reached with the admin URL? */
export async function probe(name: TestDatabaseName): Promise<{ ok: true } | { ok: false; reason: string }> {
  if (name === 'sqlite') {
    try {
      loadSqliteDriver();
      return { ok: true };
    } catch (err) {
      return { ok: false, reason: `better-sqlite3 cannot be loaded: ${(err as Error).message}` };
    }
  }
  try {
    if (name === 'postgres') {
      const pg = pgDriver();
      const c = new pg.Client({ connectionString: pgAdminUrl(), connectionTimeoutMillis: 3000 });
      await c.connect();
      await c.query('SELECT 1');
      await c.end();
    } else {
      const mysql = mysqlDriver();
      const c = await mysql.createConnection({ uri: mysqlAdminUrl(), connectTimeout: 3000 });
      await c.query('SELECT 1');
      await c.end();
    }
    return { ok: true };
  } catch (err) {
    return { ok: false, reason: (err as Error).message || String(err) };
  }
}

/**
 * Decide the matrix: the requested databases (each must be reachable), or every reachable one.
 * Returns the list and a human sentence of what runs and what was skipped.
 */
export async function resolveMatrix(): Promise<{ databases: TestDatabaseName[]; report: string }> {
  const requested = requestedDatabases();
  const candidates = requested ?? [...TEST_DATABASES];
  const results = await Promise.all(candidates.map(async (n) => [n, await probe(n)] as const));
  const failed = results.filter(([, r]) => !r.ok) as Array<readonly [TestDatabaseName, { ok: false; reason: string }]>;
  if (requested && failed.length > 0) {
    throw new Error(
      `SPOOL_TEST_DATABASES asks for ${requested.join(', ')}, but ${failed
        .map(([n, r]) => `${n} is unreachable (${r.reason})`)
        .join('; ')}. Start the server or change SPOOL_TEST_DATABASES.`,
    );
  }
  const databases = results.filter(([, r]) => r.ok).map(([n]) => n);
  let report = `Spool test databases: ${databases.join(', ') || 'none'}`;
  if (failed.length > 0) {
    report += `\nSKIPPED (unreachable): ${failed.map(([n, r]) => `${n} (${r.reason})`).join('; ')}`;
    report += `\nSet SPOOL_TEST_DATABASES=sqlite,postgres,mysql to require them.`;
  }
  return { databases, report };
}

/** The matrix decided by the global setup (in `SPOOL_TEST_MATRIX`), or the request, or SQLite. */
export function matrix(): TestDatabaseName[] {
  const decided = process.env.SPOOL_TEST_MATRIX;
  if (decided !== undefined) return decided.split(',').filter(Boolean) as TestDatabaseName[];
  return requestedDatabases() ?? ['sqlite'];
}

/** A role (user) on a test server, with the settings to connect as it and a counter of its connections. */
export interface TestRole {
  readonly user: string;
  settings(overrides?: Partial<DatabaseSettings>): DatabaseSettings;
  counter(): ConnectionCounter;
}

/** One database of the matrix, private to this jest worker. */
export interface TestDatabase {
  readonly name: TestDatabaseName;
  readonly client: 'better-sqlite3' | 'pg' | 'mysql2';
  /** Does the server have connections to count (false for SQLite, which counts open file handles)? */
  readonly hasServer: boolean;
  /** Settings for this worker's database (PostgreSQL/MariaDB: its own role; SQLite: its own file). */
  settings(overrides?: Partial<DatabaseSettings>): DatabaseSettings;
  /** Count this worker's connections from a separate monitoring connection. */
  counter(): ConnectionCounter;
  /** Another role on this worker's database, e.g. with a connection limit (`CONNECTION LIMIT` / `MAX_USER_CONNECTIONS`). */
  role(suffix: string, options?: { connectionLimit?: number }): Promise<TestRole>;
  /** Create the role and database if missing (idempotent). */
  setup(): Promise<void>;
}

/**
 * The name of this worker's role and database: `spool_t<worker>`, or `spool_<run>_<worker>` when
 * the run has an id (`SPOOL_TEST_RUN`, set by `beginTestRun()`), so that two test runs on one
 * machine never share roles, databases or connection counts.
 */
function workerTag(): string {
  const run = process.env.SPOOL_TEST_RUN;
  const worker = process.env.JEST_WORKER_ID ?? '0';
  return run ? `spool_${run}_${worker}` : `spool_t${worker}`;
}

const RUN_TAG = /^spool_(\d+)_\d+(_[a-z0-9_]+)?$/;

/** Is the process that created a run-tagged role still alive? */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Give this test run an id (the calling process's pid) and drop what earlier runs left behind
 * (roles and databases of runs whose process is gone). Call from jest's globalSetup.
 */
export async function beginTestRun(databases: readonly TestDatabaseName[]): Promise<void> {
  process.env.SPOOL_TEST_RUN = String(process.pid);
  for (const name of databases) if (name !== 'sqlite') await dropRunObjects(name, (pid) => !alive(pid));
}

/** Drop this run's roles and databases. Call from jest's globalTeardown. */
export async function endTestRun(databases: readonly TestDatabaseName[]): Promise<void> {
  const run = Number(process.env.SPOOL_TEST_RUN);
  if (!run) return;
  for (const name of databases) if (name !== 'sqlite') await dropRunObjects(name, (pid) => pid === run);
}

async function dropRunObjects(name: 'postgres' | 'mysql', which: (pid: number) => boolean): Promise<void> {
  await withAdmin(name, async (q) => {
    if (name === 'postgres') {
      const dbs = (await q(`SELECT datname AS n FROM pg_database WHERE datname LIKE 'spool\\_%'`)) as Array<{ n: string }>;
      for (const { n } of dbs) {
        const m = RUN_TAG.exec(n);
        if (m && which(Number(m[1]))) await q(`DROP DATABASE IF EXISTS "${n}" WITH (FORCE)`);
      }
      const roles = (await q(`SELECT rolname AS n FROM pg_roles WHERE rolname LIKE 'spool\\_%'`)) as Array<{ n: string }>;
      // Member roles first (spool_<run>_<w>_<suffix>), then the owners.
      for (const { n } of roles.sort((a, b) => b.n.length - a.n.length)) {
        const m = RUN_TAG.exec(n);
        if (m && which(Number(m[1]))) await q(`DROP ROLE IF EXISTS "${n}"`);
      }
    } else {
      const dbs = (await q(`SELECT SCHEMA_NAME AS n FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'spool\\_%'`)) as Array<{
        n: string;
      }>;
      for (const { n } of dbs) {
        const m = RUN_TAG.exec(n);
        if (m && which(Number(m[1]))) await q(`DROP DATABASE IF EXISTS \`${n}\``);
      }
      const users = (await q(`SELECT User AS n FROM mysql.user WHERE User LIKE 'spool\\_%'`)) as Array<{ n: string }>;
      for (const { n } of users) {
        const m = RUN_TAG.exec(n);
        if (m && which(Number(m[1]))) await q(`DROP USER IF EXISTS '${n}'@'%'`);
      }
    }
  });
}

/** The databases of the matrix, as objects the suites loop over. */
export function testDatabases(names: readonly TestDatabaseName[] = matrix()): TestDatabase[] {
  return names.map((n) => testDatabase(n));
}

export function testDatabase(name: TestDatabaseName): TestDatabase {
  if (name === 'sqlite') return sqliteDatabase();
  return serverDatabase(name);
}

function sqliteDatabase(): TestDatabase {
  const dir = join(tmpdir(), `spool-test-${process.pid}`);
  const file = join(dir, `${workerTag()}.db`);
  const settings = (overrides: Partial<DatabaseSettings> = {}): DatabaseSettings => {
    mkdirSync(dir, { recursive: true });
    return { client: 'better-sqlite3', connection: { filename: file }, ...overrides };
  };
  return {
    name: 'sqlite',
    client: 'better-sqlite3',
    hasServer: false,
    settings,
    counter: () => new ConnectionCounter({ kind: 'sqlite', file }),
    role: async () => ({ user: 'sqlite', settings, counter: () => new ConnectionCounter({ kind: 'sqlite', file }) }),
    setup: async () => {
      mkdirSync(dir, { recursive: true });
    },
  };
}

function serverDatabase(name: 'postgres' | 'mysql'): TestDatabase {
  const db = workerTag();
  const client = name === 'postgres' ? 'pg' : 'mysql2';
  const settingsFor =
    (user: string) =>
    (overrides: Partial<DatabaseSettings> = {}): DatabaseSettings => {
      const admin = new URL(name === 'postgres' ? pgAdminUrl() : mysqlAdminUrl());
      const connection = { host: admin.hostname, port: Number(admin.port || (name === 'postgres' ? 5432 : 3306)), user, database: db };
      return { client, connection, ...overrides };
    };
  const counterFor = (user: string) => () => new ConnectionCounter({ kind: name, user });
  const ensure = async (user: string, limit: number | undefined) => {
    await withAdmin(name, async (q) => {
      if (name === 'postgres') {
        const exists = await q(`SELECT 1 FROM pg_roles WHERE rolname = '${user}'`);
        if (exists.length === 0) await q(`CREATE ROLE "${user}" LOGIN`);
        await q(`ALTER ROLE "${user}" CONNECTION LIMIT ${limit ?? -1}`);
        const hasDb = await q(`SELECT 1 FROM pg_database WHERE datname = '${db}'`);
        if (hasDb.length === 0) await q(`CREATE DATABASE "${db}" OWNER "${workerTag()}"`);
        await q(`GRANT ALL ON DATABASE "${db}" TO "${user}"`);
      } else {
        await q(`CREATE DATABASE IF NOT EXISTS \`${db}\``);
        await q(`CREATE USER IF NOT EXISTS '${user}'@'%'`);
        await q(`ALTER USER '${user}'@'%' WITH MAX_USER_CONNECTIONS ${limit ?? 0}`);
        await q(`GRANT ALL ON \`${db}\`.* TO '${user}'@'%'`);
      }
    });
  };
  return {
    name,
    client,
    hasServer: true,
    settings: settingsFor(db),
    counter: counterFor(db),
    setup: () => ensure(db, undefined),
    role: async (suffix, options = {}) => {
      if (!/^[a-z0-9_]{1,20}$/.test(suffix)) throw new Error(`role suffix '${suffix}' must match [a-z0-9_]{1,20}`);
      const user = `${db}_${suffix}`;
      await ensure(db, undefined);
      await ensure(user, options.connectionLimit);
      if (name === 'postgres') {
        // Let the extra role use the worker's tables.
        await withAdmin(name, async (q) => {
          await q(`GRANT "${db}" TO "${user}"`);
        });
      }
      return { user, settings: settingsFor(user), counter: counterFor(user) };
    },
  };
}

type AdminQuery = (sql: string) => Promise<unknown[]>;

/** Run statements as the admin user (trusted SQL: names come from this module, not from input). */
export async function withAdmin<T>(name: 'postgres' | 'mysql', fn: (q: AdminQuery) => Promise<T>): Promise<T> {
  if (name === 'postgres') {
    const pg = pgDriver();
    const c = new pg.Client({ connectionString: pgAdminUrl() });
    await c.connect();
    try {
      return await fn(async (sql) => (await c.query(sql)).rows);
    } finally {
      await c.end();
    }
  }
  const mysql = mysqlDriver();
  const c = await mysql.createConnection({ uri: mysqlAdminUrl() });
  try {
    return await fn(async (sql) => {
      const [rows] = await c.query(sql);
      return Array.isArray(rows) ? rows : [];
    });
  } finally {
    await c.end();
  }
}
