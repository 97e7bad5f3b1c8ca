/**
 * The events a `ConnectionHandler` emits, with their payloads. Listeners run synchronously on
 * the thread that emits; payloads are built only when someone listens.
 *
 * ### Examples
 * ```ts
 * connections.on('query', (e) => log.debug({ sql: e.sql, ms: e.durationMs, alias: e.alias, scope: e.scopeId }));
 * connections.on('leak', (e) => log.warn(`scope ${e.scopeId} holds '${e.alias}' for ${e.heldMs} ms\n${e.stack}`));
 * ```
 */
import type { SpoolError } from './errors';

/** A statement ran (or failed). */
export interface QueryEvent {
  alias: string;
  sql: string;
  bindings: readonly unknown[];
  durationMs: number;
  scopeId: number | undefined;
  connectionId: number;
  /** PostgreSQL backend pid, MySQL thread id, SQLite: Spool's serial. */
  serverId: number;
  /** Inside an atomic block. */
  inTransaction: boolean;
  /** BEGIN / COMMIT / ROLLBACK / SAVEPOINT issued by atomic() itself. */
  transactionControl: boolean;
  error: SpoolError | undefined;
}

export interface ConnectionEvent {
  alias: string;
  connectionId: number;
  serverId: number;
}

export interface ConnectionClosedEvent extends ConnectionEvent {
  /** `maxAge`, `idle`, `unusable`, `shutdown`, `closeAll`, `budget pressure`, `health check failed`. */
  reason: string;
}

export interface LeaseEvent extends ConnectionEvent {
  scopeId: number;
  /** How long the scope waited for the budget. */
  waitedMs: number;
}

export interface ReleaseEvent extends ConnectionEvent {
  scopeId: number | undefined;
  heldMs: number;
}

export interface LeakEvent {
  alias: string;
  scopeId: number;
  scopeName: string | undefined;
  connectionId: number;
  heldMs: number;
  /** Where the connection was leased (or where its scope was opened). */
  stack: string | undefined;
}

/** A connection died, a robust hook or detached work failed. */
export interface ErrorEvent {
  error: unknown;
  alias?: string;
  scopeId?: number;
  connectionId?: number;
  serverId?: number;
  hook?: 'onCommit';
}

/** A worker prepared with `prepareWorker()` exited; what its parent cleaned up. */
export interface WorkerExitEvent {
  threadId: number;
  /** Connections the worker still had open on the server when it died. */
  leftOpen: number;
  /** Of those, killed server-side (MySQL/MariaDB). */
  killed: number;
  /** Process-wide budget units given back. */
  reclaimed: number;
}

export interface ConnectionHandlerEvents {
  query: QueryEvent;
  connectionCreated: ConnectionEvent;
  connectionClosed: ConnectionClosedEvent;
  lease: LeaseEvent;
  release: ReleaseEvent;
  leak: LeakEvent;
  error: ErrorEvent;
  workerExit: WorkerExitEvent;
}
