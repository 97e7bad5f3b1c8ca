/**
 * `builder(alias)`: a knex instance whose queries run on the current scope's connection for the
 * alias, inside its `atomic()` block if any. knex's own pool is replaced by an adapter (knex's
 * `connectionPool` option) that hands out the scope's connection and takes its gate; driver
 * errors are converted at the same boundary as every other query.
 * @internal
 */
import type { Knex } from 'knex';
import type { Backend } from './backends/backend';
import { TransactionManagementError } from './errors';
import { messages } from './messages';

/** What the adapter needs from the handler. */
export interface BuilderHost {
  /** Lease (if needed) the scope's connection for `alias`, take its gate, return the driver object. */
  acquireForBuilder(alias: string): Promise<unknown>;
  /** Give the gate back (and the connection, in pin: 'transaction' mode). */
  releaseForBuilder(driver: unknown): void;
  /** Run one knex statement on a driver object: guards, error conversion, events. */
  runForBuilder<T>(driver: unknown, sql: string, bindings: readonly unknown[], run: () => Promise<T>): Promise<T>;
}

type KnexFactory = (config: Knex.Config) => Knex;

let knexFactory: KnexFactory | undefined;

/** Load knex on first use (it is only needed for builders and the ORM's compiler). */
export function loadKnex(): KnexFactory {
  if (!knexFactory) {
    const mod = require('knex') as KnexFactory & { knex?: KnexFactory; default?: KnexFactory };
    knexFactory = mod.knex ?? mod.default ?? mod;
  }
  return knexFactory;
}

/** A knex instance for `alias` bound to Spool's scopes. */
export function createBoundKnex(host: BuilderHost, alias: string, backend: Backend): Knex {
  const adapter = {
    acquire: () => ({ promise: host.acquireForBuilder(alias) }),
    release: (driver: unknown) => {
      host.releaseForBuilder(driver);
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
    useNullAsDefault: backend.vendor === 'sqlite',
  } as Knex.Config);
  const client = knex.client as unknown as {
    _query(driver: unknown, obj: { sql: string; bindings?: unknown[] }): Promise<unknown>;
    _formatBindings?(bindings: unknown[] | undefined): unknown[];
  };
  const original = client._query.bind(client);
  client._query = (driver, obj) => host.runForBuilder(driver, obj.sql, obj.bindings ?? [], () => original(driver, obj));
  if (backend.vendor === 'sqlite') {
    // Bind dates and booleans as the sql tag does (ISO text, 0/1), not as knex does (epoch ms).
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
  return loadKnex()({ client: backend.knexClient, useNullAsDefault: backend.vendor === 'sqlite' } as Knex.Config);
}
