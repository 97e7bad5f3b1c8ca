/**
 * The one boundary every statement crosses, whoever sends it: `sql` and the ORM (`query()`),
 * knex builders, and the transaction control of `atomic()` blocks. As Django's
 * `CursorWrapper._execute` is the single door of its backends, this is where a statement is
 * refused (scope ended, connection unusable, atomic block failed), sent, its driver error
 * converted (the driver's error kept as `cause`), the connection marked unusable or the block
 * failed, counted, and reported as a `query` event.
 *
 * Written with plain promise callbacks: it is the hot path of every query. A statement on a
 * synchronous driver (SQLite) costs one promise; nothing here awaits.
 */
import type { EventEmitter } from 'node:events';
import type { QueryOptions, QueryResult } from './backends/backend';
import type { DatabaseConnection } from './connection';
import { assertBlocksOpen, type Context } from './context';
import { InterfaceError, NotSupportedError, SpoolError, TransactionManagementError } from './errors';
import type { QueryEvent } from './events';
import { release } from './lease';
import { statementWrites } from './statement-kind';
import { messages } from './messages';

/** How a statement crosses the boundary. */
export interface StatementMode {
  /** Transaction control (BEGIN, SAVEPOINT, COMMIT…): refused only on an unusable connection, not counted as a query. */
  readonly control: boolean;
  /** Give the gate (and a connection leased for one use) back when the statement settles (`lease.release`). */
  readonly release: boolean;
  /** Settle with the result's rows rather than the result (`sql` awaited: no promise to map it). */
  readonly rows: boolean;
}

/** A statement of `sql` or the ORM: the caller took the gate with `lease.acquire`; it is given back at the end. */
export const STATEMENT: StatementMode = Object.freeze({ control: false, release: true, rows: false });
/** `STATEMENT`, settling with the rows. */
export const ROWS: StatementMode = Object.freeze({ control: false, release: true, rows: true });
/** A statement another library sends on the driver object (knex): its adapter holds the gate. */
export const FOREIGN: StatementMode = Object.freeze({ control: false, release: false, rows: false });
/** Transaction control of an `atomic()` block, which holds the gate. */
export const CONTROL: StatementMode = Object.freeze({ control: true, release: false, rows: false });

const NO_BINDINGS: readonly unknown[] = Object.freeze([]);

/**
 * The callbacks of a `then()` the statement's caller would attach to its promise (an awaited
 * sql`…`), run by the statement itself: the promise it returns settles as that `then()`'s would.
 */
export interface Continuation<T> {
  readonly onfulfilled: ((value: T) => unknown) | null | undefined;
  readonly onrejected: ((reason: unknown) => unknown) | null | undefined;
}

/** The settling functions of a promise made elsewhere (a waiting statement's caller's). */
export interface Settle {
  readonly onfulfilled: (value: unknown) => void;
  readonly onrejected: (reason: unknown) => void;
}

export class StatementBoundary {
  /**
   * Remember in the scope the aliases its statements wrote to (read-your-writes routing): set
   * while routers are configured, so that raw `sql` and knex writes make a scope sticky to the
   * primary as the ORM's routed writes do.
   */
  tracksWrites = false;

  constructor(private readonly events: EventEmitter) {}

  /**
   * Run one statement on `conn` (native placeholders). `send` runs it instead of the backend,
   * for statements another library sends on the driver object. `ctx` is the context the
   * statement runs in (undefined for transaction control, which belongs to the holding scope).
   */
  run<T = QueryResult>(
    conn: DatabaseConnection,
    ctx: Context | undefined,
    sql: string,
    bindings: readonly unknown[],
    options: QueryOptions | undefined,
    mode: StatementMode,
    send?: () => Promise<T>,
    next?: Continuation<T>,
    /**
     * With `next`: settle this promise (a waiting statement's caller's) as the promise returned
     * would settle, from the statement's own callbacks (no wrapper functions per statement). The
     * promise returned then settles with undefined and never rejects.
     */
    to?: Settle,
  ): Promise<T> {
    const backend = conn.backend;
    const started = this.events.listenerCount('query') > 0 ? performance.now() : 0;
    let pending: Promise<T>;
    try {
      guard(conn, ctx, mode);
      if (!mode.control) {
        if (conn.pool.settings.pooler !== null) refuseSessionFeature(conn, sql);
        if (mode.release && conn.blocks.length === 0 && conn.pool.settings.pin === 'transaction') refuseRawTransaction(conn, sql);
        if (this.tracksWrites && ctx !== undefined && ctx.scope.kind !== 'root' && statementWrites(sql)) ctx.scope.written.add(conn.alias);
        conn.current = sql;
      }
      backend.setRef(conn.raw, true);
      if (send !== undefined) {
        pending = backend.wrapForeign !== undefined ? backend.wrapForeign(conn.raw, sql, send) : send();
      } else {
        if (backend.querySync !== undefined) {
          // A synchronous driver (SQLite): one promise for the whole statement.
          const sync = backend.querySync(conn.raw, sql, bindings, options) as T | undefined;
          if (sync !== undefined) {
            const result = mode.rows ? ((sync as QueryResult).rows as T) : sync;
            const released = this.settled(conn, ctx, mode, started, sql, bindings, undefined);
            const done = released === undefined ? Promise.resolve(result) : released.then(() => result);
            return next === undefined ? done : settleOrReturn(done.then(next.onfulfilled, next.onrejected) as Promise<T>, to);
          }
        }
        pending = backend.query(conn.raw, sql, bindings, options) as Promise<T>;
      }
    } catch (err) {
      // Refused by the guard (a SpoolError): it never reached the server, so no event.
      const refused = SpoolError.is(err);
      const error = refused ? err : this.failed(conn, err, sql, mode);
      const released = this.settled(conn, ctx, mode, refused ? 0 : started, sql, bindings, error);
      const done = released === undefined ? Promise.reject(error) : released.then(() => Promise.reject(error));
      return next === undefined ? done : settleOrReturn(done.then(next.onfulfilled, next.onrejected) as Promise<T>, to);
    }
    // The callbacks return the value itself when nothing is left to wait for: a promise returned
    // from them would cost two more turns of the microtask queue on every query.
    //
    // `next` (an awaited sql`…`: the callbacks given to its `then()`) runs from these callbacks too,
    // as the reaction of the promise returned would have: in a later microtask, in the context
    // this was called in, its value or throw settling the promise returned. One promise less per
    // statement (and, on Node 20, one AsyncLocalStorage promise hook less).
    // As `then()`, a callback that is not a function is ignored.
    const onfulfilled = typeof next?.onfulfilled === 'function' ? next.onfulfilled : undefined;
    const onrejected = typeof next?.onrejected === 'function' ? next.onrejected : undefined;
    // Whatever fails before `next` runs (the settling itself, the release) goes to its onrejected,
    // as it would have through the promise: an `await` whose reject function is never called
    // would wait for ever (it ignores the promise `then()` returns).
    if (next === undefined) {
      return pending.then(
        (value) => {
          const result = mode.rows ? ((value as QueryResult).rows as T) : value;
          const released = this.settled(conn, ctx, mode, started, sql, bindings, undefined);
          return released === undefined ? result : released.then(() => result);
        },
        (err: unknown) => {
          const error = this.failed(conn, err, sql, mode);
          const released = this.settled(conn, ctx, mode, started, sql, bindings, error);
          if (released === undefined) throw error;
          return released.then(() => Promise.reject(error));
        },
      );
    }
    if (to !== undefined) {
      // As below, each outcome going to `to` through `next`'s callbacks (`settleThrough`).
      return pending.then(
        (value) => {
          let result: T;
          let released: Promise<void> | undefined;
          try {
            result = mode.rows ? ((value as QueryResult).rows as T) : value;
            released = this.settled(conn, ctx, mode, started, sql, bindings, undefined);
          } catch (err) {
            settleThrough(to, onrejected, err, false);
            return undefined as T;
          }
          settleAfter(released, to, onfulfilled, result, true, onrejected);
          return undefined as T;
        },
        (err: unknown) => {
          let error: unknown;
          let released: Promise<void> | undefined;
          try {
            error = this.failed(conn, err, sql, mode);
            released = this.settled(conn, ctx, mode, started, sql, bindings, error as SpoolError);
          } catch (failure) {
            settleThrough(to, onrejected, failure, false);
            return undefined as T;
          }
          settleAfter(released, to, onrejected, error, false, onrejected);
          return undefined as T;
        },
      );
    }
    return pending.then(
      (value) => {
        let result: T;
        let released: Promise<void> | undefined;
        try {
          result = mode.rows ? ((value as QueryResult).rows as T) : value;
          released = this.settled(conn, ctx, mode, started, sql, bindings, undefined);
        } catch (err) {
          if (onrejected === undefined) throw err;
          return onrejected(err) as T;
        }
        if (released === undefined) return onfulfilled === undefined ? result : (onfulfilled(result) as T);
        return released.then(() => (onfulfilled === undefined ? result : (onfulfilled(result) as T)), onrejected) as Promise<T>;
      },
      (err: unknown) => {
        let error: unknown;
        let released: Promise<void> | undefined;
        try {
          error = this.failed(conn, err, sql, mode);
          released = this.settled(conn, ctx, mode, started, sql, bindings, error as SpoolError);
        } catch (failure) {
          if (onrejected === undefined) throw failure;
          return onrejected(failure) as T;
        }
        if (released === undefined) {
          if (onrejected === undefined) throw error;
          return onrejected(error) as T;
        }
        return released.then(() => (onrejected === undefined ? Promise.reject(error) : (onrejected(error) as T)), onrejected) as Promise<T>;
      },
    );
  }

  /** Transaction control for `atomic()` blocks, on a connection whose gate the block holds. */
  readonly control = (conn: DatabaseConnection, sql: string): Promise<QueryResult> =>
    this.run(conn, undefined, sql, NO_BINDINGS, undefined, CONTROL);

  /** After a statement: unref the socket, count, report, give the gate back. */
  private settled(
    conn: DatabaseConnection,
    ctx: Context | undefined,
    mode: StatementMode,
    started: number,
    sql: string,
    bindings: readonly unknown[],
    error: SpoolError | undefined,
  ): Promise<void> | undefined {
    conn.backend.setRef(conn.raw, false);
    if (!mode.control) {
      conn.current = undefined;
      conn.pool.counters.queries += 1;
    }
    if (started !== 0) {
      // The event is built before the gate is given back and emitted after: a listener that
      // throws fails this statement (as before) but no longer keeps the gate, which left the
      // scope's end waiting for it for ever.
      const event: QueryEvent = {
        alias: conn.alias,
        sql,
        bindings,
        durationMs: performance.now() - started,
        scopeId: ctx !== undefined ? ctx.scope.id : conn.holder?.id,
        connectionId: conn.id,
        serverId: conn.serverId,
        inTransaction: mode.control || conn.blocks.length > 0,
        transactionControl: mode.control,
        error,
      };
      const released = mode.release ? release(conn, ctx as Context) : undefined;
      this.events.emit('query', event);
      return released;
    }
    return mode.release ? release(conn, ctx as Context) : undefined;
  }

  /** Convert a driver error; mark the connection unusable, or the atomic block failed. */
  private failed(conn: DatabaseConnection, err: unknown, sql: string, mode: StatementMode): SpoolError {
    const converted = SpoolError.is(err) ? err : conn.backend.convertError(err, conn.alias, sql);
    if (conn.backend.isFatal(err, conn.raw)) conn.markBroken(converted);
    if (!mode.control) {
      conn.pool.counters.errors += 1;
      // A failed statement dooms the block it ran in (Django's needs_rollback); a failed COMMIT or
      // SAVEPOINT is handled by the block itself (atomic.ts).
      if (conn.blocks.length > 0) {
        conn.needsRollback = true;
        conn.rollbackCause = converted;
      }
    }
    return converted;
  }
}

/**
 * Settle `to` with what `callback` (a `then()` callback) returns or throws for `arg`, or with `arg`
 * itself (fulfilled if `ok`, else rejected) when there is no callback: as the promise returned by
 * `then()` would settle.
 */
function settleThrough(to: Settle, callback: ((arg: never) => unknown) | undefined, arg: unknown, ok: boolean): void {
  if (callback === undefined) {
    if (ok) to.onfulfilled(arg);
    else to.onrejected(arg);
    return;
  }
  let out: unknown;
  try {
    out = callback(arg as never);
  } catch (err) {
    to.onrejected(err);
    return;
  }
  to.onfulfilled(out);
}

/**
 * `settleThrough(to, callback, arg, ok)` once the statement's release (`released`, if it has one to
 * wait for) is done; a failed release goes to `onrejected` instead, as it would through a promise.
 */
function settleAfter(
  released: Promise<void> | undefined,
  to: Settle,
  callback: ((arg: never) => unknown) | undefined,
  arg: unknown,
  ok: boolean,
  onrejected: ((reason: never) => unknown) | undefined,
): void {
  if (released === undefined) settleThrough(to, callback, arg, ok);
  else
    released.then(
      () => settleThrough(to, callback, arg, ok),
      (err: unknown) => settleThrough(to, onrejected, err, false),
    );
}

/** `done`, or (with `to`) `to` settled as `done` settles and a promise of undefined (a rare path: adoption is fine). */
function settleOrReturn<T>(done: Promise<T>, to: Settle | undefined): Promise<T> {
  if (to === undefined) return done;
  to.onfulfilled(done);
  return Promise.resolve(undefined as T);
}

/**
 * Refuse a statement in an ended scope, from an atomic block that has ended (it waited at the gate
 * while its block committed or rolled back), on an unusable connection, or in a failed atomic block.
 */
function guard(conn: DatabaseConnection, ctx: Context | undefined, mode: StatementMode): void {
  if (ctx !== undefined) {
    // A scope that is 'ending' still runs what was issued from it before its end (the drain):
    // statements issued afterwards were refused where they were issued (`lease.acquire`).
    if (ctx.scope.state === 'ended') throw ctx.scope.endedError(conn.alias);
    if (ctx.block !== undefined) assertBlocksOpen(ctx, conn.alias);
  }
  if (conn.broken) throw unusable(conn, ctx);
  if (!mode.control && conn.needsRollback && conn.blocks.length > 0) {
    throw new TransactionManagementError(messages.brokenAtomic(conn.alias), { alias: conn.alias, cause: conn.rollbackCause });
  }
}

/**
 * Behind a pooler in transaction mode, refuse a statement whose effect would outlive its
 * transaction on a shared server connection (session SET, session advisory locks, LISTEN…).
 */
function refuseSessionFeature(conn: DatabaseConnection, sql: string): void {
  const found = conn.backend.sessionFeature?.(sql);
  if (found !== undefined) {
    throw new NotSupportedError(messages.poolerSessionFeature(conn.alias, found.feature, found.instead), { alias: conn.alias, sql });
  }
}

/** A statement that opens a transaction (not MariaDB's `BEGIN NOT ATOMIC` compound statement). */
const TRANSACTION_START = /^\s*(?:BEGIN(?!\s+NOT\s+ATOMIC\b)\b|START\s+TRANSACTION\b)/i;

/**
 * With `pin: 'transaction'`, a statement outside `atomic()` leases a connection for itself and
 * gives it back: a raw `BEGIN` would leave its transaction open on a pooled connection, for the
 * next scope that takes it to run in (and lose with it). Refused before it is sent.
 */
function refuseRawTransaction(conn: DatabaseConnection, sql: string): void {
  if (TRANSACTION_START.test(sql)) {
    const verb = (sql.trim().split(/\s+/)[0] ?? '').toUpperCase();
    throw new TransactionManagementError(messages.rawTransactionPerUse(conn.alias, verb), { alias: conn.alias, sql });
  }
}

function unusable(conn: DatabaseConnection, ctx: Context | undefined): InterfaceError {
  const broken = conn.broken as Error;
  const scope = ctx?.scope ?? conn.holder;
  return new InterfaceError(messages.connectionUnusable(conn.alias, broken.message, scope ? scope.describe() : 'The scope'), {
    alias: conn.alias,
    cause: broken,
  });
}
