/**
 * @spool/connections: database connections that follow the work. Every worker thread, request
 * and task gets its own connection, released when that work ends.
 *
 * ### Examples
 * ```ts
 * import { configure, scope, sql, atomic, onCommit } from '@spool/connections';
 *
 * configure({ databases: { default: { client: 'better-sqlite3', connection: { filename: 'app.db' } } } });
 * await scope(async () => {
 *   const rows = await sql`SELECT * FROM author WHERE id = ${id}`;
 *   await atomic(async () => {
 *     await sql`UPDATE author SET name = ${name} WHERE id = ${id}`;
 *     onCommit(() => notify(id));
 *   });
 * });
 * ```
 */
import type { Knex } from 'knex';
import type { AtomicOptions } from './atomic';
import type { FanOutOptions } from './fan-out';
import { ConnectionHandler, type Transaction } from './handler';
import type { DetachedResult, ScopeHandle, ScopeInfo, ScopeOptions } from './scopes';
import type { Settings } from './settings';
import type { ShutdownReport } from './shutdown';
import type { SqlTag } from './sql';
import type { PrepareWorkerOptions, WorkerLink } from './worker-link';

/**
 * This thread's connection handler. Each worker thread loads its own copy of this module, so
 * each has its own handler: connections are never shared between threads.
 */
export const connections: ConnectionHandler = new ConnectionHandler();

/** Configure this thread's databases (validated up front; unknown options are rejected). */
export function configure(settings: Settings): void {
  connections.configure(settings);
}

/**
 * Run `fn` in a scope: a unit of work (a request, a task, a test). Its queries lease at most one
 * connection per alias, on first use; the connections are released (closed, or kept per
 * `maxAge`) when `fn` settles, whether it resolves or throws.
 */
export function scope<T>(fn: (scope: ScopeInfo) => T | Promise<T>, options?: ScopeOptions): Promise<T> {
  return connections.scope(fn, options);
}

/** Open a scope without a callback: `handle.run(fn)` or `handle.enter()`, then `await handle.end()`. */
export function openScope(options?: ScopeOptions): ScopeHandle {
  return connections.openScope(options);
}

/** The scope the calling code runs in, or undefined outside any. */
export function currentScope(): ScopeInfo | undefined {
  return connections.currentScope();
}

/** Run `fn` in a transaction on the scope's connection (see `ConnectionHandler.atomic`). */
export function atomic<T>(fn: (tx: Transaction) => T | Promise<T>, options?: AtomicOptions): Promise<T> {
  return connections.atomic(fn, options);
}

/** Run `fn` after the current transaction commits; at once outside a transaction. */
export function onCommit(fn: () => unknown, options?: { using?: string; robust?: boolean }): Promise<void> {
  return connections.onCommit(fn, options);
}

/** Mark the innermost atomic block for rollback without raising. */
export function setRollback(rollback: boolean, options?: { using?: string }): void {
  connections.setRollback(rollback, options);
}

/** Is the innermost atomic block marked for rollback? */
export function getRollback(options?: { using?: string }): boolean {
  return connections.getRollback(options);
}

/** Raw SQL as a tagged template; values are bound parameters. ``sql.using('replica')`…` `` picks an alias. */
export const sql: SqlTag = connections.sql;

/** A knex instance bound to the calling scope's connection (and transaction) for `alias`. */
export function builder(alias = 'default'): Knex {
  return connections.builder(alias);
}

/** Start background work in a fresh scope that inherits neither connection nor transaction. */
export function detach<T>(fn: () => T | Promise<T>, options?: ScopeOptions): Promise<DetachedResult<T>> {
  return connections.detach(fn, options);
}

/**
 * Prepare a worker thread to share this thread's settings and be cleaned up after: spread
 * `workerData` into the Worker's options, then `attach(worker)`.
 */
export function prepareWorker(options?: PrepareWorkerOptions): WorkerLink {
  return connections.prepareWorker(options);
}

/**
 * In-thread fan-out: run `fn` for every item in its own child scope, at most `concurrency` at a
 * time (default: this thread's budget), releasing each item's connection when it ends. With
 * `settled: true`, never rejects and resolves with one `{ ok, value | error }` per item.
 */
export function fanOut<T, R>(
  items: Iterable<T>,
  fn: (item: T, index: number) => R | Promise<R>,
  options?: FanOutOptions & { settled?: false },
): Promise<R[]>;
export function fanOut<T, R>(
  items: Iterable<T>,
  fn: (item: T, index: number) => R | Promise<R>,
  options: FanOutOptions & { settled: true },
): Promise<Array<DetachedResult<R>>>;
export function fanOut<T, R>(
  items: Iterable<T>,
  fn: (item: T, index: number) => R | Promise<R>,
  options?: FanOutOptions & { settled?: boolean },
): Promise<R[] | Array<DetachedResult<R>>> {
  return connections.fanOut(items, fn, options as FanOutOptions & { settled?: false });
}

/** Stop leasing, wait for scopes up to `deadlineMs`, close everything, report what was forced. */
export function shutdown(options?: { deadlineMs?: number }): Promise<ShutdownReport> {
  return connections.shutdown(options);
}

export { ConnectionHandler } from './handler';
export type { Transaction } from './handler';
export type { DetachedResult, RunResult, ScopeHandle, ScopeInfo, ScopeOptions } from './scopes';
export type { FanOutOptions } from './fan-out';
export type { ShutdownReport } from './shutdown';
export { sumStats } from './stats';
export type { ProcessStats, StatsOptions, ThreadStats } from './stats';
export type { AliasStats } from './alias-pool';
export type {
  ConnectionClosedEvent,
  ConnectionEvent,
  ConnectionHandlerEvents,
  ErrorEvent,
  LeakEvent,
  LeaseEvent,
  QueryEvent,
  ReleaseEvent,
  WorkerExitEvent,
} from './events';
export type { AtomicOptions } from './atomic';
export type {
  AdminQuery,
  Backend,
  BackendAdmin,
  Features,
  IsolationLevel,
  QueryOptions,
  QueryResult,
  ServerLimits,
  TemporalParser,
  Vendor,
} from './backends';
export { ISOLATION_LEVELS } from './backends';
export {
  AtomicBlockEndedError,
  CommitOutcomeUnknownError,
  ConfigError,
  DataError,
  DatabaseError,
  IntegrityError,
  InterfaceError,
  InternalError,
  NoScopeError,
  NotSupportedError,
  OperationalError,
  PoolExhaustedError,
  ProgrammingError,
  ScopeEndedError,
  SpoolError,
  TransactionManagementError,
} from './errors';
export type { DatabaseErrorDetail, HolderInfo, SpoolErrorOptions } from './errors';
export { ConnectionRouter } from './router';
export type { RouteHints, RouteScope, Router } from './router';
export { PrimaryReplicaRouter, type PrimaryReplicaOptions } from './primary-replica-router';
export { CLIENTS, PIN_MODES } from './settings';
export type {
  ClientName,
  DatabaseSettings,
  Logger,
  PinMode,
  ResolvedDatabaseSettings,
  Settings,
  SharedBudgetHandle,
  SqliteConnectionSettings,
} from './settings';
export { SharedBudget } from './shared-budget';
export { inheritedWorkerData, isWorkerSpoolData, workerSettings, WorkerRegistry } from './worker-link';
export type { PrepareWorkerOptions, WorkerLike, WorkerLink, WorkerSpoolData } from './worker-link';
export type { SharedBudgetOptions } from './shared-budget';
export { SqlFragment, SqlIdentifier, SqlJoin, SqlQuery } from './sql';
export type { SqlTag } from './sql';
