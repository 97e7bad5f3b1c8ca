/**
 * A statement that waits in the pool's queue for its scope's first connection to an alias is its
 * own queue entry: plain data (the statement, its context, the settling functions of the one
 * promise its caller holds) and prototype methods the pool calls. No closure, no promise of a
 * connection: in a burst, thousands of these wait, and a waiter's size is the burst's memory.
 * Once granted, it takes the connection's gate and sends the statement from the pool's call.
 *
 * Its caller's promise is the only one while it waits, and it settles as the statement's own
 * would have: with the value (not a promise of it: adopting a promise costs a job, a `then()` and,
 * with Node 20's promise hooks on, a throwaway promise), and an awaited sql`…`'s `then()`
 * callbacks (`after`) run from the statement's settle callbacks, in the statement's context, as on
 * the path that does not wait (`StatementBoundary.run`): no second promise to run them from.
 * Not part of the public API.
 */
import { LeaseWaiter, type AliasPool } from './alias-pool';
import type { QueryOptions, QueryResult } from './backends/backend';
import type { DatabaseConnection } from './connection';
import type { Context } from './context';
import type { PendingLease } from './scope';
import type { Continuation, StatementBoundary, StatementMode } from './statement';
import type { AsyncLocalStorage } from 'node:async_hooks';

/** The connection promise other statements of the scope wait on (`PendingLease.promise`), made on demand. */
interface Followers {
  readonly promise: Promise<DatabaseConnection>;
  resolve(conn: DatabaseConnection): void;
  reject(err: Error): void;
}

export class StatementWaiter extends LeaseWaiter implements PendingLease, Continuation<QueryResult> {
  readonly alias: string;
  private followers: Followers | undefined = undefined;

  constructor(
    pool: AliasPool,
    private readonly ctx: Context,
    readonly sql: string,
    private readonly bindings: readonly unknown[],
    private readonly options: QueryOptions | undefined,
    private readonly statements: StatementBoundary,
    /** `STATEMENT`, or `ROWS` for an awaited sql`…`. */
    private readonly mode: StatementMode,
    /** The callbacks of the `then()` its caller called (an awaited sql`…`), run as `then()` runs them. */
    private readonly after: Continuation<QueryResult> | undefined,
    /** The handler's context storage: the statement is sent, and `after` runs, in `ctx`. */
    private readonly als: AsyncLocalStorage<Context>,
  ) {
    super(ctx.scope, true, pool.leaseSite(), pool.dueFrom(pool.clock()));
    this.alias = pool.alias;
  }

  /**
   * The settling functions of its caller's promise (`callerPromise`), named as a `Continuation`'s
   * callbacks: a statement without `after` is sent with the waiter itself as its continuation.
   */
  onfulfilled: (result: unknown) => void = settleLater;
  onrejected: (err: unknown) => void = settleLater;

  /**
   * The promise its caller holds, once (before the waiter is queued). Its executor is one shared
   * function, not a closure per waiting statement: it hands the settling functions to the waiter
   * being made (`capturing`; the executor runs synchronously, inside the constructor).
   */
  callerPromise(): Promise<unknown> {
    return promiseSettledBy(this);
  }

  /** The scope holds `conn` now: take its gate and send the statement. */
  granted(conn: DatabaseConnection): void {
    const wait = conn.enter(this.ctx);
    if (wait === undefined) this.run(conn);
    else
      wait.then(
        () => this.run(conn),
        (err: Error) => this.failed(err),
      );
    const followers = this.followers;
    if (followers !== undefined) {
      this.followers = undefined;
      followers.resolve(conn);
    }
  }

  failed(err: Error): void {
    this.ctx.scope.started(this);
    const followers = this.followers;
    if (followers !== undefined) {
      this.followers = undefined;
      followers.reject(err);
    }
    const next = this.after;
    if (next === undefined) this.onrejected(err);
    // As then() would: `next` runs in a later microtask, in the statement's context (a rare path:
    // a timeout, a shutdown, the scope refusing the lease).
    else this.onfulfilled(this.als.run(this.ctx, rejectedThen, err, next));
  }

  private run(conn: DatabaseConnection): void {
    this.ctx.scope.started(this);
    // In the statement's context (the pool calls from the scope that gave the connection back):
    // its settle callbacks, and so `after`, run there. The statement's own promise settles with
    // undefined and never rejects: the continuation settles the caller's.
    this.als.run(this.ctx, sendWaiting, this, conn);
  }

  /**
   * @internal Send the statement (`run`), in its context. Without `after`, the waiter is the
   * statement's continuation (its settling functions); with it, the statement runs `after`'s
   * callbacks and settles the caller's promise with their outcome (`to`), as `then()` would: no
   * wrapper functions. The statement's own promise settles with undefined and never rejects.
   */
  send(conn: DatabaseConnection): void {
    const after = this.after;
    void this.statements.run(
      conn,
      this.ctx,
      this.sql,
      this.bindings,
      this.options,
      this.mode,
      undefined,
      after ?? this,
      after === undefined ? undefined : this,
    );
  }

  /** The lease, for another statement of the scope on the same alias. */
  promise(): Promise<DatabaseConnection> {
    if (this.followers === undefined) {
      let resolve!: (conn: DatabaseConnection) => void;
      let reject!: (err: Error) => void;
      const promise = new Promise<DatabaseConnection>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      // Its rejection is also the waiting statement's, which its caller handles: none unhandled here.
      promise.catch(() => undefined);
      this.followers = { promise, resolve, reject };
    }
    return this.followers.promise;
  }
}

/** The waiter whose caller's promise is being constructed (`callerPromise`). */
let capturing: StatementWaiter | undefined;

/** A new promise whose settling functions `w` holds. */
function promiseSettledBy(w: StatementWaiter): Promise<unknown> {
  capturing = w;
  const promise = new Promise(captureSettlers);
  capturing = undefined;
  return promise;
}

/** The executor of every waiter's caller promise. */
function captureSettlers(resolve: (result: unknown) => void, reject: (err: unknown) => void): void {
  const w = capturing as StatementWaiter;
  w.onfulfilled = resolve;
  w.onrejected = reject;
}

/** What a waiter's settling functions are until its caller's promise is made: never called. */
function settleLater(): void {
  throw new Error('StatementWaiter settled before callerPromise()');
}

function sendWaiting(w: StatementWaiter, conn: DatabaseConnection): void {
  w.send(conn);
}

/** `Promise.reject(err).then(next's callbacks)`, made in the context it is called in. */
function rejectedThen(err: Error, next: Continuation<QueryResult>): Promise<unknown> {
  return Promise.reject(err).then(next.onfulfilled, next.onrejected);
}
