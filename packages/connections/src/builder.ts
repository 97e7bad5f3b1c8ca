/**
 * `builder(alias)`: a knex instance whose queries run on the current scope's connection for the
 * alias, inside its `atomic()` block if any. knex's own pool is replaced by an adapter (knex's
 * `connectionPool` option) that takes the connection by the one lease path (`lease.ts`); each
 * statement knex sends crosses the one statement boundary (`statement.ts`), where its errors are
 * converted and it is counted and reported like every other.
 */
import type { Knex } from 'knex';
import type { Backend } from './backends/backend';
import type { DatabaseConnection } from './connection';
import type { Context } from './context';
import { TransactionManagementError } from './errors';
import type { HandlerState } from './handler-state';
import { acquire, release } from './lease';
import { messages } from './messages';
import { FOREIGN } from './statement';

/** A connection knex holds, with the context that acquired it. */
interface BuilderLease {
  conn: DatabaseConnection;
  ctx: Context;
}

type KnexFactory = (config: Knex.Config) => Knex;

let knexFactory: KnexFactory | undefined;

type KnexModule = KnexFactory & { knex?: KnexFactory; default?: KnexFactory };

/**
 * Load knex on first use: it takes a few hundred ms to load and only builders and the ORM's
 * compiler need it, not code that uses `sql` alone. (A startup cost, not an import cycle.)
 * The package's build packs the installed knex into one file next to Spool's bundle
 * (scripts/bundle-dist.mjs): the same code, loaded in about half the time (no 330 module files).
 * It is taken only when the knex installed here is the version it was built from; else knex is
 * required as usual.
 */
export function loadKnex(): KnexFactory {
  if (!knexFactory) {
    /* eslint-disable @typescript-eslint/no-require-imports -- deferred load, see above */
    let mod: KnexModule | undefined;
    try {
      const built = require('./knex-bundle.json') as { version: string };
      if (built.version === (require('knex/package.json') as { version: string }).version) {
        // Through its V8 code cache when it applies (scripts/cached-require.cjs).
        mod = (require('./cached-require.js') as (file: string) => unknown)('knex-bundle.js') as KnexModule;
      }
    } catch {
      // Not running from the bundle (dist/bundle/): plain knex below.
    }
    mod ??= require('knex') as KnexModule;
    /* eslint-enable @typescript-eslint/no-require-imports */
    knexFactory = mod.knex ?? mod.default ?? mod;
  }
  return knexFactory;
}

/** A knex instance for `alias` bound to Spool's scopes. */
export function createBoundKnex(state: HandlerState, alias: string, backend: Backend): Knex {
  // The driver object knex was handed → the lease it came from (one per statement or per query chain).
  const leases = new Map<unknown, BuilderLease>();
  const adapter = {
    acquire: () => ({
      promise: (async () => {
        const ctx = state.context(alias);
        const conn = await acquire(ctx, state.pool(alias), 'a query of builder()');
        leases.set(conn.raw.driver, { conn, ctx });
        return conn.raw.driver;
      })(),
    }),
    release: (driver: unknown) => {
      const lease = leases.get(driver);
      if (lease) {
        leases.delete(driver);
        void release(lease.conn, lease.ctx);
      }
      return true;
    },
    destroy: async () => undefined,
    numFree: () => 0,
    numUsed: () => 0,
    numPendingAcquires: () => 0,
    numPendingCreates: () => 0,
  };
  const knex = loadKnex()({
    client: backend.knexClient,
    connectionPool: adapter,
    useNullAsDefault: backend.knexOptions.useNullAsDefault,
  } as Knex.Config);
  const client = knex.client as unknown as {
    _query(driver: unknown, obj: { sql: string; bindings?: unknown[] }): Promise<unknown>;
    _formatBindings?(bindings: unknown[] | undefined): unknown[];
  };
  const original = client._query.bind(client);
  client._query = (driver, obj) => {
    const lease = leases.get(driver);
    if (!lease) return original(driver, obj);
    return state.statements.run(lease.conn, lease.ctx, obj.sql, obj.bindings ?? [], undefined, FOREIGN, () => original(driver, obj));
  };
  if (backend.knexOptions.prepareBindings) {
    // Bind values as the sql tag does (SQLite: dates as ISO text, booleans as 0/1), not as knex does.
    client._formatBindings = (bindings) => (bindings ?? []).map((b) => backend.prepareValue(b));
  }
  const refuse = (): never => {
    throw new TransactionManagementError(messages.transactionInBuilder(), { alias });
  };
  Object.defineProperty(knex, 'transaction', { value: refuse });
  Object.defineProperty(knex, 'transactionProvider', { value: refuse });
  return knex;
}

/** A knex instance that only compiles (the ORM's query compiler). Never connects. */
export function createCompilerKnex(backend: Backend): Knex {
  return loadKnex()({ client: backend.knexClient, useNullAsDefault: backend.knexOptions.useNullAsDefault } as Knex.Config);
}
