/**
 * A test database per jest worker, created before the file's tests and dropped after them
 * (Django's test runner creates `test_<name>`; jest runs files in parallel workers, so each worker
 * gets its own): `useTestDatabase({ settings, setup })` at the top of a test file.
 *
 * ### Examples
 * ```ts
 * import { SchemaEditor } from '@spool/orm';
 * import { useTestDatabase, transactionalTest as test } from '@spool/testing';
 *
 * useTestDatabase({
 *   settings: { databases: { default: { client: 'pg', connection: process.env.DATABASE_URL! } } },
 *   setup: () => new SchemaEditor().createModels([Author, Book]),
 * });
 * test('…', async () => { … }); // runs in a transaction rolled back afterwards
 * ```
 */
import { basename, dirname, resolve } from 'node:path';
import { rmSync } from 'node:fs';
import { ConnectionHandler, connections as defaultHandler, type DatabaseSettings, type Settings } from '@spool/connections';
import { assertNoLeakedConnections } from './teardown';
import { forTests } from './test-settings';

export interface TestDatabaseOptions {
  /** The application's settings, as given to `configure()`: each alias gets a test database of its own. */
  settings: Settings;
  /** Create the schema (tables, or run migrations) once the databases exist. Runs in a scope. */
  setup?: () => unknown;
  /**
   * The test database's name for an alias whose database is `base`. Default:
   * `${base}_test_${JEST_WORKER_ID}`. SQLite: `base` is the file's name without extension and the
   * result a file name beside it (default `<base>.test-<worker>.sqlite3`); `:memory:` stays in memory.
   */
  name?: (base: string, alias: string, worker: string) => string;
  /** Keep the databases after the tests (Django's `--keepdb`). Default false: dropped. */
  keep?: boolean;
  /** Fail the file when a scope still holds a connection after its tests, naming it. Default true. */
  checkLeaks?: boolean;
  /** The handler to configure. Default: this thread's. */
  handler?: ConnectionHandler;
}

export interface TestDatabases {
  /** The settings in force during the tests (after `beforeAll`). */
  readonly settings: Settings | undefined;
  /** The test database (or file) of each alias. */
  readonly names: Readonly<Record<string, string>>;
}

type Hook = (fn: () => Promise<void>, timeout?: number) => void;

/** Register `beforeAll` / `afterAll` hooks (jest's, or vitest's globals) that create and drop the databases. */
export function useTestDatabase(options: TestDatabaseOptions): TestDatabases {
  const g = globalThis as unknown as { beforeAll?: Hook; afterAll?: Hook };
  if (typeof g.beforeAll !== 'function' || typeof g.afterAll !== 'function') {
    throw new Error('useTestDatabase() registers beforeAll/afterAll hooks: call it at the top of a test file (jest or vitest globals).');
  }
  const state: { settings: Settings | undefined; names: Record<string, string> } = { settings: undefined, names: {} };
  const handler = options.handler ?? defaultHandler;
  const plans: Array<{ alias: string; create(): Promise<void>; drop(): Promise<void> }> = [];
  g.beforeAll(async () => {
    const worker = process.env.JEST_WORKER_ID ?? process.env.VITEST_POOL_ID ?? '1';
    const databases: Record<string, DatabaseSettings> = {};
    for (const [alias, db] of Object.entries(options.settings.databases)) {
      if (db.test?.mirror !== undefined) {
        databases[alias] = db; // a mirror reads its target's test database (forTests)
        continue;
      }
      const plan = planFor(alias, db, worker, options.name);
      databases[alias] = plan.settings;
      state.names[alias] = plan.name;
      plans.push(plan);
    }
    for (const plan of plans) await plan.create();
    state.settings = forTests({ ...options.settings, databases });
    handler.configure(state.settings);
    if (options.setup) await handler.scope(async () => void (await options.setup?.()), { name: 'test database setup' });
  }, 120_000);
  g.afterAll(async () => {
    let leak: unknown;
    if (options.checkLeaks ?? true) await assertNoLeakedConnections({ handler }).catch((err: unknown) => (leak = err));
    await handler.shutdown({ deadlineMs: 1_000 });
    if (!options.keep) for (const plan of plans) await plan.drop();
    if (leak) throw leak;
  }, 120_000);
  return {
    get settings() {
      return state.settings;
    },
    names: state.names,
  };
}

interface Plan {
  alias: string;
  name: string;
  settings: DatabaseSettings;
  create(): Promise<void>;
  drop(): Promise<void>;
}

function planFor(alias: string, db: DatabaseSettings, worker: string, naming: TestDatabaseOptions['name']): Plan {
  const client = String(db.client);
  if (client === 'better-sqlite3' || client === 'sqlite' || client === 'sqlite3') {
    const conn = db.connection as { filename?: string } | string;
    const filename = typeof conn === 'string' ? conn : (conn.filename ?? ':memory:');
    if (filename === ':memory:') return { alias, name: ':memory:', settings: db, create: async () => {}, drop: async () => {} };
    const stem = basename(filename).replace(/\.[^.]*$/, '');
    // Beside the application's file (a name given as an absolute path stays as it is).
    const name = resolve(dirname(filename), naming ? naming(stem, alias, worker) : `${stem}.test-${worker}.sqlite3`);
    const remove = async (): Promise<void> => {
      for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(`${name}${suffix}`, { force: true });
    };
    const connection = typeof conn === 'string' ? { filename: name } : { ...conn, filename: name };
    return { alias, name, settings: { ...db, connection }, create: remove, drop: remove };
  }
  const postgres = client === 'pg' || client === 'postgres' || client === 'postgresql';
  const base = databaseOf(db.connection);
  if (!base) throw new Error(`useTestDatabase(): the settings of '${alias}' name no database to derive the test database from.`);
  const name = naming ? naming(base, alias, worker) : `${base}_test_${worker}`;
  if (!/^[A-Za-z0-9_]+$/.test(name)) {
    throw new Error(`useTestDatabase(): test database name '${name}' for '${alias}': use letters, digits and underscores only.`);
  }
  // Created and dropped from a private handler on the server's maintenance database.
  const run = async (statements: Array<(h: ConnectionHandler) => PromiseLike<unknown>>): Promise<void> => {
    const h = new ConnectionHandler({ control: false });
    h.configure({
      databases: { default: { ...db, connection: withDatabase(db.connection, postgres ? 'postgres' : undefined), maxAge: 0 } },
    });
    try {
      await h.scope(async () => {
        for (const s of statements) await s(h);
      });
    } finally {
      await h.shutdown({ deadlineMs: 1_000 });
    }
  };
  const drop = (h: ConnectionHandler): PromiseLike<unknown> =>
    postgres ? h.sql`DROP DATABASE IF EXISTS ${h.sql.id(name)} WITH (FORCE)` : h.sql`DROP DATABASE IF EXISTS ${h.sql.id(name)}`;
  return {
    alias,
    name,
    settings: { ...db, connection: withDatabase(db.connection, name) },
    create: () => run([drop, (h) => h.sql`CREATE DATABASE ${h.sql.id(name)}`]),
    drop: () => run([drop]),
  };
}

/** The database named by a URL (`…/name`) or an options object (`database`). */
function databaseOf(connection: DatabaseSettings['connection']): string | undefined {
  if (typeof connection === 'string') {
    const path = new URL(connection).pathname.replace(/^\//, '');
    return path ? decodeURIComponent(path) : undefined;
  }
  const database = (connection as { database?: unknown }).database;
  return typeof database === 'string' ? database : undefined;
}

/** The same connection on another database (`undefined`: none, for MySQL's server-level statements). */
function withDatabase(connection: DatabaseSettings['connection'], database: string | undefined): DatabaseSettings['connection'] {
  if (typeof connection === 'string') {
    const url = new URL(connection);
    url.pathname = database ? `/${encodeURIComponent(database)}` : '/';
    return url.toString();
  }
  const copy = { ...(connection as Record<string, unknown>) };
  if (database) copy.database = database;
  else delete copy.database;
  return copy as DatabaseSettings['connection'];
}
