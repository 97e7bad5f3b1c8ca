/**
 * Shared test helpers: the matrix loop, server-side connection ids, small utilities.
 */
import { connections, currentScope, shutdown, sql, type DatabaseSettings } from '@spool/connections';
import { testDatabases, type ConnectionCounter, type TestDatabase } from '@spool/testing';
import { pgBouncerAvailable, throughPgBouncer } from './pgbouncer';

export const DATABASES: TestDatabase[] = testDatabases();

/**
 * `describe` once per database of the matrix. With `{ pgbouncer: true }`, PostgreSQL is run a
 * second time through a private PgBouncer in transaction mode (the `postgres-pgbouncer` entry:
 * `pooler: 'transaction'`, hence `pin: 'transaction'` and no prepared statements), when PgBouncer
 * is installed (CI requires it) and `SPOOL_TEST_PGBOUNCER` is not `0`.
 */
export function eachDatabase(name: string, fn: (db: TestDatabase) => void): void;
export function eachDatabase(name: string, options: { pgbouncer?: boolean }, fn: (db: TestDatabase) => void): void;
export function eachDatabase(
  name: string,
  a: { pgbouncer?: boolean } | ((db: TestDatabase) => void),
  b?: (db: TestDatabase) => void,
): void {
  const [options, fn] = typeof a === 'function' ? [{}, a] : [a, b as (db: TestDatabase) => void];
  if (DATABASES.length === 0) {
    test.skip(`${name}: no database in the matrix`, () => {});
    return;
  }
  for (const db of DATABASES) {
    describe(`${db.name}: ${name}`, () => fn(db));
    if (db.name === 'postgres' && options.pgbouncer && process.env.SPOOL_TEST_PGBOUNCER !== '0' && pgBouncerAvailable()) {
      // PgBouncer starts before the suite's own hooks and stops after them (outer describe).
      describe(`postgres-pgbouncer: ${name}`, () => {
        const through = throughPgBouncer(db);
        describe('through PgBouncer (pool_mode = transaction)', () => fn(through));
      });
    }
  }
}

/** The server-side id of this scope's connection to `alias` (SQLite: Spool's connection serial). */
export async function backendId(db: TestDatabase, alias = 'default'): Promise<number> {
  const admin = connections.backend(alias).admin;
  if (admin !== undefined) return Number((await connections.query(alias, admin.connectionIdSql, [])).rows[0]?.id);
  await sql.using(alias)`SELECT 1`;
  const c = currentScope()
    ?.connections()
    .find((x) => x.alias === alias);
  if (!c) throw new Error('no connection in scope');
  return c.serverId;
}

/** Pause: for scenarios that hold something for a while, never to wait for a condition (see `eventually`). */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Wait until `check()` holds, polling every `intervalMs`, for at most `timeoutMs`; resolves with
 * whether it held. The way to wait for something in these tests: a condition with a deadline.
 */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 5000, intervalMs = 10): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(intervalMs);
  }
}

/** A one-shot signal between a scenario's parties: `fire()` resolves `fired`. */
export function latch(): { fired: Promise<void>; fire: () => void } {
  let fire!: () => void;
  const fired = new Promise<void>((r) => (fire = r));
  return { fired, fire };
}

/** Configure the default handler with the worker's database under `default` (plus extra aliases). */
export function configureFor(
  db: TestDatabase,
  overrides: Partial<DatabaseSettings> = {},
  extra: Record<string, DatabaseSettings> = {},
  rest: Record<string, unknown> = {},
): void {
  connections.configure({ databases: { default: db.settings(overrides), ...extra }, ...rest });
}

/** A barrier for N parties. */
export function barrier(n: number): () => Promise<void> {
  let arrived = 0;
  let release!: () => void;
  const all = new Promise<void>((r) => (release = r));
  return () => {
    arrived += 1;
    if (arrived === n) release();
    return all;
  };
}

/** Capture warnings sent to the logger. */
export function captureWarnings(): { logger: { warn(m: string): void }; messages: string[] } {
  const messages: string[] = [];
  return { logger: { warn: (m: string) => void messages.push(m) }, messages };
}

/**
 * The usual lifecycle of a suite on one database: provision it, count its connections from a
 * monitoring connection, shut Spool down after each test, close the monitor at the end.
 * Returns the counter (usable from beforeAll on).
 */
export function useDatabase(db: TestDatabase): ConnectionCounter {
  let counter: ConnectionCounter | undefined;
  beforeAll(async () => {
    await db.setup();
    counter = db.counter();
  });
  afterEach(() => shutdown());
  afterAll(() => counter?.close());
  return new Proxy({} as ConnectionCounter, {
    get(_target, prop) {
      if (!counter) throw new Error('useDatabase(): the counter exists once beforeAll ran');
      const value = (counter as unknown as Record<PropertyKey, unknown>)[prop];
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(counter) : value;
    },
  });
}
