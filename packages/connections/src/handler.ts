/**
 * The connection handler: Django's `ConnectionHandler`, rethought for Node. One per thread (and
 * private ones for libraries). A thin facade: every method hands over to the module that owns
 * its part of the lifecycle (see the README, "Layout"):
 *
 *   configure → handler-state.ts     scope / openScope / detach → scopes.ts    fanOut → fan-out.ts
 *   query / sql → lease.ts + statement.ts     atomic / onCommit → atomic.ts    builder → builder.ts
 *   scope end → release-rules.ts + alias-pool.ts     stats → stats.ts     closeAll / shutdown → shutdown.ts
 *   prepareWorker → worker-link.ts     vendor differences → backends/
 */
import { EventEmitter } from 'node:events';
import type { Knex } from 'knex';
import { inAtomicBlock, onCommit, requireBlock, runAtomic, type AtomicOptions } from './atomic';
import type { Backend, QueryOptions, QueryResult } from './backends/backend';
import { createBoundKnex, createCompilerKnex } from './builder';
import { DatabaseConnection } from './connection';
import type { ConnectionHandlerEvents } from './events';
import { fanOut, type FanOutOptions } from './fan-out';
import { HandlerState } from './handler-state';
import { connectionFor, issued } from './lease';
import type { ConnectionRouter } from './router';
import {
  currentScope,
  detach,
  openScope,
  runScope,
  type DetachedResult,
  type ScopeHandle,
  type ScopeInfo,
  type ScopeOptions,
} from './scopes';
import type { ResolvedDatabaseSettings, Settings } from './settings';
import type { SharedBudget } from './shared-budget';
import { closeIdle, shutdown, type ShutdownReport } from './shutdown';
import { makeSqlTag, type SqlTag } from './sql';
import { ROWS, STATEMENT, type Continuation, type StatementMode } from './statement';
import { StatementWaiter } from './statement-waiter';
import { gather, processStats, threadStats, type ProcessStats, type StatsOptions, type ThreadStats } from './stats';
import { prepareWorker, type PrepareWorkerOptions, type WorkerLink } from './worker-link';

/** `promise.then(next.onfulfilled, next.onrejected)`, or `promise` when there is no `next`. */
function then<T>(promise: Promise<T>, next: Continuation<T> | undefined): Promise<T> {
  return next === undefined ? promise : (promise.then(next.onfulfilled, next.onrejected) as Promise<T>);
}

/** The handle `atomic(fn)` passes to `fn`, for those who prefer an explicit transaction object. */
export interface Transaction {
  readonly alias: string;
  /** The `sql` tag on this alias (the same transaction, as plain `sql` inside the block). */
  readonly sql: SqlTag;
  /** A knex builder on this alias, bound to the same transaction. */
  builder(): Knex;
  onCommit(fn: () => unknown, options?: { robust?: boolean }): void;
  setRollback(rollback: boolean): void;
  getRollback(): boolean;
}

type Listener<K extends keyof ConnectionHandlerEvents> = (event: ConnectionHandlerEvents[K]) => void;

/** Typed event methods (the class is a plain EventEmitter underneath). */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- types the inherited EventEmitter methods
export interface ConnectionHandler {
  on<K extends keyof ConnectionHandlerEvents>(event: K, listener: Listener<K>): this;
  once<K extends keyof ConnectionHandlerEvents>(event: K, listener: Listener<K>): this;
  off<K extends keyof ConnectionHandlerEvents>(event: K, listener: Listener<K>): this;
  addListener<K extends keyof ConnectionHandlerEvents>(event: K, listener: Listener<K>): this;
  removeListener<K extends keyof ConnectionHandlerEvents>(event: K, listener: Listener<K>): this;
}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- see the interface above
export class ConnectionHandler extends EventEmitter {
  /** @internal The thread's connection state, which the lifecycle modules work on. */
  readonly state: HandlerState;
  /** The `sql` tag bound to this handler. */
  readonly sql: SqlTag = makeSqlTag(() => this);

  /**
   * `control: false` makes a private handler (e.g. a library's own connections for admin
   * queries) that does not join the process-wide channel: it neither answers
   * `stats({ everywhere })` / `closeAll({ everywhere })` nor reacts to budget pressure.
   */
  constructor(options: { control?: boolean } = {}) {
    super();
    this.state = new HandlerState(this, options.control ?? true);
    // 'error' events are reports, not crashes: without a listener EventEmitter would throw.
    this.on('error', () => {});
  }

  // ---- configuration ---------------------------------------------------------------------------

  /** Configure this thread's databases (validated up front; unknown options are rejected). See `Settings`. */
  configure(input: Settings): void {
    this.state.configure(input);
  }

  /** Is this thread configured (and not shut down)? */
  get configured(): boolean {
    return this.state.configured;
  }

  /** The settings as given to `configure()` (for passing to worker threads). */
  rawSettings(): Settings {
    return this.state.requireSettings().raw;
  }

  /** Configured aliases. */
  aliases(): string[] {
    return [...this.state.requireSettings().databases.keys()];
  }

  /** Resolved settings of an alias. */
  settingsFor(alias: string): ResolvedDatabaseSettings {
    return this.state.settingsFor(alias);
  }

  /** The backend (vendor, features, quoting, server admin) of an alias. */
  backend(alias: string): Backend {
    return this.state.pool(alias).backend;
  }

  /**
   * The server version of `alias` (`'15.20 (Debian …)'`, `'10.11.19-MariaDB-…'`, `'3.53.2'`), once
   * this thread opened a connection to it; undefined before.
   */
  serverVersion(alias: string): string | undefined {
    return this.state.pool(alias).serverVersion;
  }

  /** The routers. */
  get router(): ConnectionRouter {
    this.state.requireSettings();
    return this.state.router as ConnectionRouter;
  }

  /** Report a warning through the configured logger (`Settings.logger`; default: `console.warn`). */
  warn(message: string): void {
    this.state.warn(message);
  }

  /** The process-wide budget this thread uses, if any. */
  get sharedBudget(): SharedBudget | undefined {
    return this.state.shared;
  }

  /**
   * Prepare a worker thread: put `workerData` in its options (spread it into yours), then call
   * `attach(worker)`. The worker gets this thread's database settings (with the overrides given)
   * and, once it is gone, this thread gives back its budget units and ends its server
   * connections still alive (MariaDB/MySQL would run a statement in flight to its end).
   */
  prepareWorker(options: PrepareWorkerOptions = {}): WorkerLink {
    return prepareWorker(this.state, options);
  }

  // ---- scopes ----------------------------------------------------------------------------------

  /**
   * Run `fn` in a new scope: its queries lease at most one connection per alias, lazily, released
   * when `fn` settles. Nested calls open child scopes with their own connections.
   */
  scope<T>(fn: (scope: ScopeInfo) => T | Promise<T>, options: ScopeOptions = {}): Promise<T> {
    return runScope(this.state, fn, options);
  }

  /** Open a scope without a callback (`run()` / `enter()` / `end()`), e.g. for web frameworks. */
  openScope(options: ScopeOptions = {}): ScopeHandle {
    return openScope(this.state, options);
  }

  /**
   * Start fire-and-forget work in a fresh scope that inherits neither the caller's connection nor
   * its transaction. Never rejects: failures are reported (logger, `error` event) and returned.
   */
  detach<T>(fn: () => T | Promise<T>, options: ScopeOptions = {}): Promise<DetachedResult<T>> {
    return detach(this.state, fn, options);
  }

  /**
   * In-thread fan-out (the analogue of `executor.map` inside a Django view): run `fn` for every
   * item, each in its own child scope with its own connection, at most `concurrency` at a time
   * (default: this thread's budget for `using`), releasing each item's connection when that item
   * ends. Resolves with the results in input order; the first failure rejects once the items
   * already started have settled (no new ones start). With `settled: true` it never rejects and
   * resolves with `{ ok, value | error }` per item.
   *
   * ### Examples
   * ```ts
   * const totals = await fanOut(accounts, (a) => sql`SELECT sum(amount) AS s FROM entry WHERE account = ${a.id}`);
   * ```
   */
  fanOut<T, R>(
    items: Iterable<T>,
    fn: (item: T, index: number) => R | Promise<R>,
    options?: FanOutOptions & { settled?: false },
  ): Promise<R[]>;
  fanOut<T, R>(
    items: Iterable<T>,
    fn: (item: T, index: number) => R | Promise<R>,
    options: FanOutOptions & { settled: true },
  ): Promise<Array<DetachedResult<R>>>;
  async fanOut<T, R>(
    items: Iterable<T>,
    fn: (item: T, index: number) => R | Promise<R>,
    options: FanOutOptions & { settled?: boolean } = {},
  ): Promise<R[] | Array<DetachedResult<R>>> {
    const limit = options.concurrency ?? this.state.settingsFor(options.using ?? 'default').max;
    return fanOut(items, fn, options, limit, (run, o) => this.scope(run, o));
  }

  /** The scope the calling code runs in, or undefined outside any. */
  currentScope(): ScopeInfo | undefined {
    return currentScope(this.state);
  }

  // ---- statements ------------------------------------------------------------------------------

  /**
   * Run one statement (native placeholders) on the calling scope's connection for `alias`,
   * inside its `atomic()` block if the caller is in one. The ORM and `sql` both come here.
   */
  query(alias: string, sql: string, bindings: readonly unknown[], options?: QueryOptions): Promise<QueryResult> {
    return this.send(alias, sql, bindings, options, STATEMENT);
  }

  /** @internal `query()` settling with the rows (an awaited sql`…`: no promise to map the result). */
  queryRows(alias: string, sql: string, bindings: readonly unknown[], options?: QueryOptions): Promise<unknown[]> {
    return this.send(alias, sql, bindings, options, ROWS) as unknown as Promise<unknown[]>;
  }

  /**
   * @internal `queryRows(…).then(onfulfilled, onrejected)`, the callbacks run by the statement
   * itself when it runs at once (one promise less: an awaited sql`…`, `SqlQuery.then`).
   */
  queryRowsThen<A, B>(
    alias: string,
    sql: string,
    bindings: readonly unknown[],
    options: QueryOptions | undefined,
    onfulfilled: ((rows: unknown[]) => A | PromiseLike<A>) | null | undefined,
    onrejected: ((reason: unknown) => B | PromiseLike<B>) | null | undefined,
  ): Promise<A | B> {
    const next: Continuation<unknown[]> = { onfulfilled, onrejected };
    return this.send(alias, sql, bindings, options, ROWS, next as unknown as Continuation<QueryResult>) as unknown as Promise<A | B>;
  }

  private send(
    alias: string,
    sql: string,
    bindings: readonly unknown[],
    options: QueryOptions | undefined,
    mode: StatementMode,
    next?: Continuation<QueryResult>,
  ): Promise<QueryResult> {
    // The hot path: with the connection held and its gate free, one promise and nothing awaited.
    const state = this.state;
    try {
      const ctx = state.context(alias);
      const pool = state.pools.get(alias) ?? state.pool(alias);
      // `acquire()` inlined, so that the slow path runs the statement from the callback that has
      // the connection (no promise of its own).
      const got = connectionFor(ctx, pool, true);
      if (got === undefined) {
        // The scope's first connection must wait in the pool's queue: the statement is the queue's
        // entry (`StatementWaiter`), and its caller's promise the only one (`next` runs from the
        // statement's settle callbacks, as below). Queued once that promise exists, outside its
        // executor: a throw while queuing reaches `next` (catch below), as on every other path.
        const waiter = new StatementWaiter(pool, ctx, sql, bindings, options, state.statements, mode, next, state.als);
        const promise = waiter.callerPromise() as Promise<QueryResult>;
        ctx.scope.waitWith(pool, waiter);
        return promise;
      }
      let wait: Promise<void> | undefined;
      if (got instanceof DatabaseConnection) {
        wait = got.enter(ctx);
        if (wait === undefined) return state.statements.run(got, ctx, sql, bindings, options, mode, undefined, next);
      }
      const run = (conn: DatabaseConnection): Promise<QueryResult> => state.statements.run(conn, ctx, sql, bindings, options, mode);
      if (wait !== undefined) return then(issued(ctx, alias, sql, 'statement', got as DatabaseConnection, wait, run), next);
      return then(issued(ctx, alias, sql, 'statement', undefined, got as Promise<DatabaseConnection>, run), next);
    } catch (err) {
      return then(Promise.reject(err), next);
    }
  }

  // ---- transactions ----------------------------------------------------------------------------

  /**
   * Run `fn` in a transaction on the calling scope's connection for `options.using` (default
   * `'default'`): commit when it resolves, roll back and rethrow when it throws. Nested blocks use
   * savepoints. Queries inside `fn` (models, `sql`, `builder()`) join the transaction without
   * being passed anything; `fn` also receives an explicit handle.
   */
  atomic<T>(fn: (tx: Transaction) => T | Promise<T>, options: AtomicOptions = {}): Promise<T> {
    return runAtomic(this.state, fn, options, (alias) => this.transactionHandle(alias));
  }

  /**
   * Run `fn` after the current transaction on `using` commits (in registration order); drop it if
   * the transaction (or the savepoint it was registered in) rolls back. Outside a transaction it
   * runs at once. `robust: true` hooks that throw are logged and the rest still run.
   */
  onCommit(fn: () => unknown, options: { using?: string; robust?: boolean } = {}): Promise<void> {
    return onCommit(this.state, options.using ?? 'default', fn, options.robust ?? false);
  }

  /** Mark the innermost atomic block on `using` for rollback (or clear the mark). */
  setRollback(rollback: boolean, options: { using?: string } = {}): void {
    requireBlock(this.state, options.using ?? 'default').conn.needsRollback = rollback;
  }

  /** Is the innermost atomic block on `using` marked for rollback? */
  getRollback(options: { using?: string } = {}): boolean {
    return requireBlock(this.state, options.using ?? 'default').conn.needsRollback;
  }

  /** Is the calling code inside an atomic block on `using`? */
  inAtomicBlock(options: { using?: string } = {}): boolean {
    return inAtomicBlock(this.state, options.using ?? 'default');
  }

  private transactionHandle(alias: string): Transaction {
    return {
      alias,
      sql: this.sql.using(alias),
      builder: () => this.builder(alias),
      onCommit: (fn, o) => void this.onCommit(fn, { using: alias, robust: o?.robust ?? false }),
      setRollback: (flag) => this.setRollback(flag, { using: alias }),
      getRollback: () => this.getRollback({ using: alias }),
    };
  }

  // ---- knex ------------------------------------------------------------------------------------

  /** A knex instance whose queries run on the calling scope's connection (and transaction) for `alias`. */
  builder(alias = 'default'): Knex {
    let k = this.state.builders.get(alias);
    if (!k) {
      k = createBoundKnex(this.state, alias, this.backend(alias));
      this.state.builders.set(alias, k);
    }
    return k;
  }

  /**
   * A knex instance that only compiles SQL in the dialect of `alias` and never connects (the
   * ORM's query compiler uses it). Run what it compiles with `query()`.
   */
  compiler(alias = 'default'): Knex {
    let k = this.state.compilers.get(alias);
    if (!k) {
      k = createCompilerKnex(this.backend(alias));
      this.state.compilers.set(alias, k);
    }
    return k;
  }

  // ---- observability and lifecycle -------------------------------------------------------------

  /** Counters and gauges of this thread, per alias; `{ everywhere: true }` gathers every thread. */
  stats(): ThreadStats;
  stats(options: StatsOptions & { everywhere: true }): Promise<ProcessStats>;
  stats(options?: StatsOptions): ThreadStats | Promise<ProcessStats>;
  stats(options: StatsOptions = {}): ThreadStats | Promise<ProcessStats> {
    if (!options.everywhere) return threadStats(this.state);
    return processStats(this.state, options.timeoutMs ?? 500);
  }

  /**
   * Close this thread's idle connections (and the root scope's, when not in use). Connections
   * held by running scopes are left to them. `{ everywhere: true }` does it in every thread.
   * Resolves with the number closed.
   */
  async closeAll(options: { everywhere?: boolean; timeoutMs?: number } = {}): Promise<number> {
    const local = await closeIdle(this.state);
    if (!options.everywhere) return local;
    const others = await gather(this.state, 'closeAll', options.timeoutMs ?? 1000);
    return local + others.reduce<number>((a, b) => a + (typeof b === 'number' ? b : 0), 0);
  }

  /**
   * Stop leasing, wait up to `deadlineMs` (default 5 s) for scopes to release their connections,
   * then close everything (rolling back open transactions) and report what had to be forced.
   */
  shutdown(options: { deadlineMs?: number } = {}): Promise<ShutdownReport> {
    return shutdown(this.state, options.deadlineMs ?? 5000);
  }
}
