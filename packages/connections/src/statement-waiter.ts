/**
 * A statement that waits in the pool's queue for its scope's first connection to an alias is its
 * own queue entry: plain data (the statement, its context, the settling functions of the one
 * promise its caller holds) and prototype methods the pool calls. No closure, no promise of a
 * connection: in a burst, thousands of these wait, and a waiter's size is the burst's memory.
 * Once granted, it takes the connection's gate and sends the statement from the pool's call.
 * Not part of the public API.
 */
import { LeaseWaiter, type AliasPool } from './alias-pool';
import type { QueryOptions, QueryResult } from './backends/backend';
import type { DatabaseConnection } from './connection';
import type { Context } from './context';
import type { PendingLease } from './scope';
import type { StatementBoundary, StatementMode } from './statement';

/** The connection promise other statements of the scope wait on (`PendingLease.promise`), made on demand. */
interface Followers {
  readonly promise: Promise<DatabaseConnection>;
  resolve(conn: DatabaseConnection): void;
  reject(err: Error): void;
}

export class StatementWaiter extends LeaseWaiter implements PendingLease {
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
    private readonly resolve: (result: QueryResult | Promise<QueryResult>) => void,
    private readonly reject: (err: unknown) => void,
  ) {
    super(ctx.scope, true, pool.leaseSite(), pool.dueFrom(pool.clock()));
    this.alias = pool.alias;
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
    this.reject(err);
  }

  private run(conn: DatabaseConnection): void {
    this.ctx.scope.started(this);
    this.resolve(this.statements.run(conn, this.ctx, this.sql, this.bindings, this.options, this.mode));
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
