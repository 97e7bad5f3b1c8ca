/**
 * The connection handler: Django's `ConnectionHandler`, rethought for Node. One per thread.
 * It holds the settings by alias, the pool of each alias, the scopes (carried by
 * `AsyncLocalStorage`), the root scope for unscoped work, and the one boundary where every
 * statement runs: guards, driver call, error conversion, events, counters.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { EventEmitter } from 'node:events';
import { isMainThread, threadId } from 'node:worker_threads';
import type { Knex } from 'knex';
import { AliasPool, type AliasStats, type PoolHost } from './alias-pool';
import { activeSavepoints, beginBlock, endBlock, type AtomicBlock, type AtomicOptions, type CommitHook } from './atomic';
import type { Backend, QueryOptions, QueryResult, RawConnection } from './backends/backend';
import { backendFor } from './backends';
import { createBoundKnex, createCompilerKnex, type BuilderHost } from './builder';
import { DatabaseConnection } from './connection';
import { blockFor, type Context } from './context';
import { ControlChannel } from './control-channel';
import type { ConnectionHandlerEvents, WorkerExitEvent } from './events';
import { ConfigError, InterfaceError, NoScopeError, OperationalError, SpoolError, TransactionManagementError } from './errors';
import { messages } from './messages';
import { ConnectionRouter } from './router';
import { Scope, type ScopeHost, type ScopeKind } from './scope';
import { resolveSettings, type ResolvedDatabaseSettings, type ResolvedSettings, type Settings } from './settings';
import { SharedBudget } from './shared-budget';
import {
  buildWorkerData,
  inheritedWorkerData,
  settingsFromWorkerData,
  WorkerRegistry,
  type PrepareWorkerOptions,
  type WorkerLike,
  type WorkerSpoolData,
} from './worker-link';
import { makeSqlTag, type SqlExecutor, type SqlFragment, type SqlTag } from './sql';

/** Options of `scope()`. */
export interface ScopeOptions {
  /** A name shown in leak reports, `PoolExhaustedError` and events. */
  name?: string;
}

/** What `scope(fn)` passes to `fn`, and what `currentScope()` returns. */
export interface ScopeInfo {
  readonly id: number;
  readonly name: string | undefined;
  readonly kind: ScopeKind;
  /** Aliases this scope holds a connection to, with the server-side id of each. */
  connections(): Array<{ alias: string; serverId: number }>;
}

/** A scope opened without a callback, for frameworks that cannot wrap a function. */
export interface ScopeHandle extends ScopeInfo {
  /** Run `fn` inside the scope. */
  run<T>(fn: () => T): T;
  /** Make the rest of the current synchronous execution and its continuations run in the scope (`enterWith`). */
  enter(): void;
  /** End the scope: release its connections. Idempotent. */
  end(): Promise<void>;
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

export interface StatsOptions {
  /** Gather the stats of every thread of the process (returns a promise). */
  everywhere?: boolean;
  /** How long to wait for other threads to answer. Default 500 ms. */
  timeoutMs?: number;
}

/** Stats of one thread. */
export interface ThreadStats {
  threadId: number;
  isMainThread: boolean;
  /** Has this thread been configured (a worker not started yet reports false)? */
  configured: boolean;
  /** Scopes running now, and started in all. */
  scopes: { active: number; started: number };
  aliases: Record<string, AliasStats>;
}

/** Stats of every thread, and their sum per alias. */
export interface ProcessStats {
  threads: ThreadStats[];
  totals: Record<string, AliasStats>;
}

export interface ShutdownReport {
  /** Connections closed in all. */
  closed: number;
  /** Connections still leased at the deadline, closed anyway (transactions rolled back). */
  forced: number;
  /** The scopes that held them. */
  forcedScopes: string[];
}

/** Options of `fanOut()`. */
export interface FanOutOptions {
  /** Items at a time. Default: this thread's `max` for `using`. */
  concurrency?: number;
  /** The alias whose budget bounds the default concurrency. Default `'default'`. */
  using?: string;
  /** Child scopes are named `name[i]`. */
  name?: string;
}

/** The outcome of detached work. */
export type DetachedResult<T> = { ok: true; value: T } | { ok: false; error: unknown };

const TX_CONTROL = /^\s*(BEGIN|COMMIT|ROLLBACK|START\s+TRANSACTION|END|SAVEPOINT|RELEASE|SET\s+AUTOCOMMIT)\b/i;

interface BuilderLease {
  conn: DatabaseConnection;
  ctx: Context;
  perUse: boolean;
}

type Listener<K extends keyof ConnectionHandlerEvents> = (event: ConnectionHandlerEvents[K]) => void;

/** Typed event methods (the class is a plain EventEmitter underneath). */
export interface ConnectionHandler {
  on<K extends keyof ConnectionHandlerEvents>(event: K, listener: Listener<K>): this;
  once<K extends keyof ConnectionHandlerEvents>(event: K, listener: Listener<K>): this;
  off<K extends keyof ConnectionHandlerEvents>(event: K, listener: Listener<K>): this;
  addListener<K extends keyof ConnectionHandlerEvents>(event: K, listener: Listener<K>): this;
  removeListener<K extends keyof ConnectionHandlerEvents>(event: K, listener: Listener<K>): this;
}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class ConnectionHandler extends EventEmitter implements PoolHost, ScopeHost, SqlExecutor, BuilderHost {
  private settings: ResolvedSettings | undefined;
  private readonly pools = new Map<string, AliasPool>();
  private readonly knexes = new Map<string, Knex>();
  private readonly compilers = new Map<string, Knex>();
  private readonly builderLeases = new Map<unknown, BuilderLease>();
  /** @internal */
  readonly als = new AsyncLocalStorage<Context>();
  private root: { scope: Scope; ctx: Context; timers: Map<string, NodeJS.Timeout> } | undefined;
  private shared: SharedBudget | undefined;
  private control: ControlChannel | undefined;
  private routerInstance: ConnectionRouter | undefined;
  private shuttingDown = false;
  private registry: WorkerRegistry | undefined;
  private exitHooked = false;
  private activeScopes = 0;
  private startedScopes = 0;
  /** The `sql` tag bound to this handler. */
  readonly sql: SqlTag = makeSqlTag(() => this);

  private readonly useControl: boolean;

  /**
   * `control: false` makes a private handler (e.g. a library's own connections for admin
   * queries) that does not join the process-wide channel: it neither answers
   * `stats({ everywhere })` / `closeAll({ everywhere })` nor reacts to budget pressure.
   */
  constructor(options: { control?: boolean } = {}) {
    super();
    this.useControl = options.control ?? true;
    // 'error' events are reports, not crashes: without a listener EventEmitter would throw.
    this.on('error', () => {});
  }

  // ---- configuration ---------------------------------------------------------------------------

  /** Configure this thread's databases. See `Settings`. */
  configure(input: Settings): void {
    if (this.settings && this.openConnections() > 0 && !this.shuttingDown) {
      throw new ConfigError(messages.alreadyConfigured());
    }
    const resolved = resolveSettings(input);
    const inherited = inheritedWorkerData();
    this.registry = inherited ? new WorkerRegistry(inherited.registry, inherited.aliases) : undefined;
    this.resetState();
    this.settings = resolved;
    this.shared = resolved.sharedBudget ? SharedBudget.from(resolved.sharedBudget) : undefined;
    this.routerInstance = new ConnectionRouter(resolved.routers);
    if (this.useControl) {
      this.control = new ControlChannel({
        stats: () => this.stats(),
        closeAll: () => this.closeAllLocal(),
        pressure: (alias) => this.onPressure(alias),
      });
    }
  }

  get configured(): boolean {
    return this.settings !== undefined && !this.shuttingDown;
  }

  /** The settings as given to `configure()` (for passing to worker threads). */
  rawSettings(): Settings {
    return this.requireSettings().raw;
  }

  /** Configured aliases. */
  aliases(): string[] {
    return [...this.requireSettings().databases.keys()];
  }

  /** Resolved settings of an alias. */
  settingsFor(alias: string): ResolvedDatabaseSettings {
    const s = this.requireSettings();
    const db = s.databases.get(alias);
    if (!db) throw new ConfigError(messages.unknownAlias(alias, [...s.databases.keys()]), { alias, option: `databases.${alias}` });
    return db;
  }

  /** The backend (vendor, features, quoting) of an alias. */
  backend(alias: string): Backend {
    return this.pool(alias).backend;
  }

  /**
   * The server version of `alias` (`'15.20 (Debian …)'`, `'10.11.19-MariaDB-…'`, `'3.53.2'`), once
   * this thread opened a connection to it; undefined before.
   */
  serverVersion(alias: string): string | undefined {
    return this.pool(alias).serverVersion;
  }

  /** The routers. */
  get router(): ConnectionRouter {
    this.requireSettings();
    return this.routerInstance as ConnectionRouter;
  }

  /** The process-wide budget this thread uses, if any. */
  get sharedBudget(): SharedBudget | undefined {
    return this.shared;
  }

  private requireSettings(): ResolvedSettings {
    if (!this.settings) {
      // A worker started by prepareWorker() or @spool/workers gets its parent's settings on first use.
      const inherited = inheritedWorkerData();
      if (inherited) this.configure(settingsFromWorkerData(inherited));
      else throw new ConfigError(messages.notConfigured());
    }
    return this.settings as ResolvedSettings;
  }

  /**
   * Prepare a worker thread: put `workerData` in its options (spread it into yours), then call
   * `attach(worker)`. The worker gets this thread's database settings (with the overrides given)
   * and, once it is gone, this thread gives back its budget units and kills its MySQL/MariaDB
   * connections still running a statement (PostgreSQL notices by itself within a second).
   */
  prepareWorker(options: PrepareWorkerOptions = {}): {
    workerData: { spool: WorkerSpoolData };
    /** Watch `worker`; resolves, after it exited, once the clean-up is done. */
    attach(worker: WorkerLike): Promise<WorkerExitEvent>;
  } {
    const data = buildWorkerData(this.requireSettings().raw, options);
    const budget = data.sharedBudget ? SharedBudget.from(data.sharedBudget) : undefined;
    return {
      workerData: { spool: data },
      attach: (worker) => {
        const tid = worker.threadId;
        return new Promise<WorkerExitEvent>((resolve) => {
          worker.once('exit', () => {
            void this.cleanUpAfterWorker(tid, data, budget).then(resolve);
          });
        });
      },
    };
  }

  /** After a worker is gone: reclaim its budget units, kill its connections the server still runs. */
  private async cleanUpAfterWorker(tid: number, data: WorkerSpoolData, budget: SharedBudget | undefined): Promise<WorkerExitEvent> {
    const registry = new WorkerRegistry(data.registry, data.aliases);
    const left = registry.entries(tid);
    registry.clear(tid);
    let killed = 0;
    const byAlias = new Map<string, number[]>();
    for (const [alias, id] of left) byAlias.set(alias, [...(byAlias.get(alias) ?? []), id]);
    for (const [alias, ids] of byAlias) {
      const db = this.settings?.databases.get(alias);
      if (!db) continue;
      killed += await killConnections(backendFor(db.driver), db, ids);
    }
    // Units go back only once the server no longer runs the dead worker's connections.
    const reclaimed = budget ? budget.reclaim(tid) : 0;
    const event: WorkerExitEvent = { threadId: tid, leftOpen: left.length, killed, reclaimed };
    this.emit('workerExit', event);
    return event;
  }

  /** @internal */
  pool(alias: string): AliasPool {
    const existing = this.pools.get(alias);
    if (existing !== undefined) return existing;
    const db = this.settingsFor(alias);
    const pool = new AliasPool(this, db, backendFor(db.driver), this.shared?.covers(alias) ? this.shared : undefined);
    if (this.shuttingDown) pool.closed = true;
    this.pools.set(alias, pool);
    return pool;
  }

  // ---- PoolHost / ScopeHost --------------------------------------------------------------------

  /** @internal */
  wants(event: string): boolean {
    return this.listenerCount(event) > 0;
  }

  /** @internal */
  warn(message: string): void {
    (this.settings?.logger ?? { warn: (m: string) => console.warn(`[spool] ${m}`) }).warn(message);
  }

  /** @internal */
  get captureStacks(): boolean {
    return this.settings?.captureStacks ?? true;
  }

  /** @internal */
  pressure(alias: string): void {
    this.control?.pressure(alias);
  }

  /** @internal */
  opened(conn: DatabaseConnection): void {
    this.registry?.add(threadId, conn.alias, conn.serverId);
    if (this.exitHooked) return;
    this.exitHooked = true;
    // When the thread exits, close every socket at once (a worker's sockets would otherwise only
    // close when its event loop is torn down, which terminate() does but an uncaught error may not).
    process.once('exit', () => this.destroyAll());
  }

  /** @internal */
  closed(conn: DatabaseConnection): void {
    this.registry?.remove(threadId, conn.alias, conn.serverId);
  }

  /** Another thread waits for the process-wide budget: give back idle connections of `alias`. */
  private onPressure(alias: string): void {
    this.pools.get(alias)?.yieldIdle();
  }

  /** @internal Release `conn` from `scope` at its end: roll back what was left open, then apply the rules. */
  async releaseFromScope(scope: Scope, conn: DatabaseConnection): Promise<void> {
    const pool = this.pools.get(conn.alias) as AliasPool;
    const wait = conn.enter(null);
    if (wait) await wait;
    try {
      conn.rejectWaiters(scope, messages.scopeEnded(scope.describe(), conn.alias));
      if (conn.blocks.length > 0) {
        for (const b of conn.blocks) b.aborted = true;
        conn.blocks.length = 0;
        conn.needsRollback = false;
        conn.runOnCommit = [];
        this.warn(messages.scopeEndedInTransaction(scope.describe(), conn.alias));
        await this.rollbackQuietly(conn);
      } else if (!conn.broken && conn.backend.inTransaction(conn.raw)) {
        this.warn(messages.forgottenTransaction(scope.describe(), conn.alias));
        await this.rollbackQuietly(conn);
      }
      // Autocommit left changed: the next scope must not inherit it (Django closes such connections).
      if (!conn.broken && conn.backend.sessionAltered?.(conn.raw)) {
        const message = messages.autocommitChanged(scope.describe(), conn.alias);
        this.warn(message);
        conn.markBroken(new InterfaceError(message, { alias: conn.alias }));
      }
    } finally {
      conn.busy = false;
    }
    await pool.release(conn);
  }

  private async rollbackQuietly(conn: DatabaseConnection): Promise<void> {
    if (conn.broken) return;
    try {
      conn.backend.setRef(conn.raw, true);
      await conn.backend.query(conn.raw, conn.backend.rollbackSql, []);
    } catch (err) {
      conn.markBroken(err as Error);
    } finally {
      conn.backend.setRef(conn.raw, false);
    }
  }

  /** @internal */
  scopeEnded(scope: Scope): void {
    if (scope.kind !== 'root') this.activeScopes -= 1;
  }

  // ---- scopes ----------------------------------------------------------------------------------

  /**
   * Run `fn` in a new scope: its queries lease at most one connection per alias, lazily, released
   * when `fn` settles. Nested calls open child scopes with their own connections.
   */
  async scope<T>(fn: (scope: ScopeInfo) => T | Promise<T>, options: ScopeOptions = {}): Promise<T> {
    const s = this.newScope(options.name, 'scope');
    try {
      // The async wrapper matters: `fn` may return a lazy thenable (sql`…`), which must be
      // awaited inside the scope's context, not in the caller's.
      return await this.als.run({ scope: s, block: undefined }, async () => fn(this.info(s)));
    } finally {
      await s.end();
    }
  }

  /** Open a scope without a callback (`run()` / `enter()` / `end()`), e.g. for web frameworks. */
  openScope(options: ScopeOptions = {}): ScopeHandle {
    const s = this.newScope(options.name, 'scope');
    const ctx: Context = { scope: s, block: undefined };
    return {
      ...this.info(s),
      run: <T>(fn: () => T): T => this.als.run(ctx, fn),
      enter: () => this.als.enterWith(ctx),
      end: () => s.end(),
    };
  }

  /**
   * Start fire-and-forget work in a fresh scope that inherits neither the caller's connection nor
   * its transaction. Never rejects: failures are reported (logger, `error` event) and returned.
   */
  detach<T>(fn: () => T | Promise<T>, options: ScopeOptions = {}): Promise<DetachedResult<T>> {
    const s = this.newScope(options.name ?? 'detached', 'detached');
    return this.als.run({ scope: s, block: undefined }, async (): Promise<DetachedResult<T>> => {
      try {
        return { ok: true, value: await fn() };
      } catch (error) {
        this.warn(messages.detachedFailed(s.describe(), (error as Error)?.stack ?? String(error)));
        this.emit('error', { scopeId: s.id, error });
        return { ok: false, error };
      } finally {
        await s.end();
      }
    });
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
    const list = [...items];
    const limit = options.concurrency ?? this.settingsFor(options.using ?? 'default').max;
    if (!Number.isInteger(limit) || limit < 1) {
      throw new ConfigError(messages.badOption('fanOut concurrency', 'an integer >= 1', limit), { option: 'concurrency' });
    }
    const outcomes = new Array<DetachedResult<R>>(list.length);
    let next = 0;
    let failed = false;
    const runner = async (): Promise<void> => {
      while (next < list.length && !(failed && !options.settled)) {
        const i = next++;
        try {
          const value = await this.scope(() => fn(list[i] as T, i), { name: options.name ? `${options.name}[${i}]` : undefined });
          outcomes[i] = { ok: true, value };
        } catch (error) {
          outcomes[i] = { ok: false, error };
          failed = true;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(limit, list.length) }, runner));
    if (options.settled) return outcomes;
    const firstFailure = outcomes.find((o) => o && !o.ok);
    if (firstFailure && !firstFailure.ok) throw firstFailure.error;
    return outcomes.map((o) => (o as { value: R }).value);
  }

  /** The scope the calling code runs in (the root scope outside any). */
  currentScope(): ScopeInfo | undefined {
    const ctx = this.als.getStore();
    return ctx ? this.info(ctx.scope) : undefined;
  }

  private newScope(name: string | undefined, kind: ScopeKind): Scope {
    this.requireSettings();
    const parent = kind === 'detached' ? undefined : this.als.getStore()?.scope;
    const s = new Scope(this, name, parent, kind, this.captureStacks);
    this.activeScopes += 1;
    this.startedScopes += 1;
    return s;
  }

  private info(s: Scope): ScopeInfo {
    return {
      id: s.id,
      name: s.name,
      kind: s.kind,
      connections: () => [...s.conns.values()].map((c) => ({ alias: c.alias, serverId: c.serverId })),
    };
  }

  /** The context of the calling code; outside any scope, the root scope's (or NoScopeError). */
  private context(alias: string): Context {
    const ctx = this.als.getStore();
    if (ctx !== undefined) return ctx;
    const settings = this.requireSettings();
    if (settings.strict) throw new NoScopeError(messages.noScope(alias), { alias });
    if (!this.root) {
      const scope = new Scope(this, undefined, undefined, 'root');
      this.root = { scope, ctx: { scope, block: undefined }, timers: new Map() };
    }
    return this.root.ctx;
  }

  /** Unscoped work: close the root scope's connection after `idleTimeoutMs` without use. */
  private touchRoot(conn: DatabaseConnection): void {
    const root = this.root;
    if (!root) return;
    const existing = root.timers.get(conn.alias);
    if (existing) {
      existing.refresh();
      return;
    }
    const ms = this.pool(conn.alias).settings.idleTimeoutMs;
    if (ms === null) return;
    const timer = setTimeout(() => {
      const held = root.scope.conns.get(conn.alias);
      if (held && (held.busy || held.inAtomicBlock || held.waiting > 0)) {
        timer.refresh();
        return;
      }
      root.timers.delete(conn.alias);
      void root.scope.releaseOne(conn.alias);
    }, ms);
    timer.unref();
    root.timers.set(conn.alias, timer);
  }

  // ---- running statements ----------------------------------------------------------------------

  /**
   * Run one statement (native placeholders) on the calling scope's connection for `alias`,
   * inside its `atomic()` block if the caller is in one. The ORM and `sql` both come here.
   */
  query(alias: string, sql: string, bindings: readonly unknown[], options?: QueryOptions): Promise<QueryResult> {
    try {
      const ctx = this.context(alias);
      const pool = this.pools.get(alias) ?? this.pool(alias);
      if (pool.settings.pin === 'transaction') return this.queryPerUse(ctx, pool, sql, bindings, options);
      const got = ctx.scope.connection(pool);
      if (got instanceof DatabaseConnection) return this.gated(got, ctx, sql, bindings, options);
      return got.then((conn) => this.gated(conn, ctx, sql, bindings, options));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** @internal Run a `sql` fragment on `alias`. */
  runRaw(alias: string, fragment: SqlFragment, options?: QueryOptions): Promise<QueryResult> {
    try {
      const backend = this.backend(alias);
      const { text, bindings } = fragment.compile(backend);
      const ctx = this.als.getStore();
      if (ctx !== undefined && blockFor(ctx, alias) !== undefined && TX_CONTROL.test(text)) {
        throw new TransactionManagementError(messages.forbiddenInAtomic(alias, (text.trim().split(/\s+/)[0] ?? '').toUpperCase()), {
          alias,
        });
      }
      return this.query(alias, text, bindings, options);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private gated(
    conn: DatabaseConnection,
    ctx: Context,
    sql: string,
    bindings: readonly unknown[],
    options: QueryOptions | undefined,
  ): Promise<QueryResult> {
    const wait = conn.enter(ctx);
    if (wait === undefined) return this.execute(conn, ctx, sql, bindings, options, true);
    return wait.then(() => this.execute(conn, ctx, sql, bindings, options, true));
  }

  /** pin: 'transaction': hold a connection only for this statement (or use the block's). */
  private async queryPerUse(
    ctx: Context,
    pool: AliasPool,
    sql: string,
    bindings: readonly unknown[],
    options: QueryOptions | undefined,
  ): Promise<QueryResult> {
    ctx.scope.assertActive(pool.alias);
    const block = blockFor(ctx, pool.alias);
    if (block) return this.gated(block.conn, ctx, sql, bindings, options);
    ctx.scope.usesPerUse(pool);
    const conn = await pool.lease(ctx.scope);
    conn.busy = true;
    try {
      return await this.execute(conn, ctx, sql, bindings, options, false);
    } finally {
      conn.busy = false;
      await pool.release(conn, true);
    }
  }

  /**
   * The one boundary every statement crosses: guards, the driver call, error conversion (the
   * driver's error kept as `cause`), the failed-block mark, counters and the `query` event.
   * The caller holds the connection's gate; with `leave`, it is given back when the statement
   * settles. Written with plain promise callbacks: this is the hot path of every query.
   */
  private execute(
    conn: DatabaseConnection,
    ctx: Context,
    sql: string,
    bindings: readonly unknown[],
    options: QueryOptions | undefined,
    leave: boolean,
  ): Promise<QueryResult> {
    const backend = conn.backend;
    const started = this.listenerCount('query') > 0 ? performance.now() : 0;
    let pending: Promise<QueryResult>;
    try {
      this.guard(conn, ctx);
      backend.setRef(conn.raw, true);
      if (backend.querySync !== undefined) {
        // A synchronous driver (SQLite): one promise for the whole statement.
        const result = backend.querySync(conn.raw, sql, bindings, options);
        if (result !== undefined) {
          this.settled(conn, ctx, leave, started, sql, bindings, undefined);
          return Promise.resolve(result);
        }
      }
      pending = backend.query(conn.raw, sql, bindings, options);
    } catch (err) {
      if (SpoolError.is(err)) {
        this.settled(conn, ctx, leave, 0, sql, bindings, undefined);
        return Promise.reject(err);
      }
      const error = this.failed(conn, err, sql);
      this.settled(conn, ctx, leave, started, sql, bindings, error);
      return Promise.reject(error);
    }
    return pending.then(
      (result) => {
        this.settled(conn, ctx, leave, started, sql, bindings, undefined);
        return result;
      },
      (err: unknown) => {
        const error = this.failed(conn, err, sql);
        this.settled(conn, ctx, leave, started, sql, bindings, error);
        throw error;
      },
    );
  }

  /** Refuse a statement in an ended scope, on a broken connection, or in a failed atomic block. */
  private guard(conn: DatabaseConnection, ctx: Context): void {
    if (ctx.scope.state !== 'active') ctx.scope.assertActive(conn.alias);
    if (conn.broken) throw this.unusable(conn, ctx);
    if (conn.needsRollback && conn.blocks.length > 0) {
      throw new TransactionManagementError(messages.brokenAtomic(conn.alias), { alias: conn.alias, cause: conn.rollbackCause });
    }
  }

  /** After a statement: unref the socket, count, report, give the gate back. */
  private settled(
    conn: DatabaseConnection,
    ctx: Context,
    leave: boolean,
    started: number,
    sql: string,
    bindings: readonly unknown[],
    error: SpoolError | undefined,
  ): void {
    conn.backend.setRef(conn.raw, false);
    (this.pools.get(conn.alias) as AliasPool).counters.queries += 1;
    if (started !== 0) {
      this.emit('query', {
        alias: conn.alias,
        sql,
        bindings,
        durationMs: performance.now() - started,
        scopeId: ctx.scope.id,
        connectionId: conn.id,
        serverId: conn.serverId,
        inTransaction: conn.blocks.length > 0,
        transactionControl: false,
        error,
      });
    }
    if (leave) {
      conn.leave();
      if (ctx.scope.kind === 'root') this.touchRoot(conn);
    }
  }

  private unusable(conn: DatabaseConnection, ctx: Context | undefined): InterfaceError {
    const broken = conn.broken as Error;
    return new InterfaceError(messages.connectionUnusable(conn.alias, broken.message, ctx ? ctx.scope.describe() : 'The scope'), {
      alias: conn.alias,
      cause: broken,
    });
  }

  /** Convert a driver error, mark the connection unusable or the atomic block failed. */
  private failed(conn: DatabaseConnection, err: unknown, sql: string): SpoolError {
    const pool = this.pools.get(conn.alias) as AliasPool;
    pool.counters.errors += 1;
    const converted = SpoolError.is(err) ? err : conn.backend.convertError(err, conn.alias, sql);
    if (conn.backend.isFatal(err, conn.raw)) conn.markBroken(converted);
    if (conn.blocks.length > 0) {
      conn.needsRollback = true;
      conn.rollbackCause = converted;
    }
    return converted;
  }

  /** Run transaction-control SQL on a connection whose gate the caller holds. */
  private readonly control_ = async (conn: DatabaseConnection, sql: string): Promise<void> => {
    if (conn.broken) throw this.unusable(conn, conn.holder ? { scope: conn.holder, block: undefined } : undefined);
    const started = this.listenerCount('query') > 0 ? performance.now() : 0;
    let error: SpoolError | undefined;
    conn.backend.setRef(conn.raw, true);
    try {
      await conn.backend.query(conn.raw, sql, []);
    } catch (err) {
      error = conn.backend.convertError(err, conn.alias, sql);
      if (conn.backend.isFatal(err, conn.raw)) conn.markBroken(error);
      throw error;
    } finally {
      conn.backend.setRef(conn.raw, false);
      if (started !== 0) {
        this.emit('query', {
          alias: conn.alias,
          sql,
          bindings: [],
          durationMs: performance.now() - started,
          scopeId: conn.holder?.id,
          connectionId: conn.id,
          serverId: conn.serverId,
          inTransaction: true,
          transactionControl: true,
          error,
        });
      }
    }
  };

  // ---- transactions ----------------------------------------------------------------------------

  /**
   * Run `fn` in a transaction on the calling scope's connection for `options.using` (default
   * `'default'`): commit when it resolves, roll back and rethrow when it throws. Nested blocks use
   * savepoints. Queries inside `fn` (models, `sql`, `builder()`) join the transaction without
   * being passed anything; `fn` also receives an explicit handle.
   */
  async atomic<T>(fn: (tx: Transaction) => T | Promise<T>, options: AtomicOptions = {}): Promise<T> {
    const alias = options.using ?? 'default';
    const ctx = this.context(alias);
    const pool = this.pool(alias);
    ctx.scope.assertActive(alias);
    const outer = blockFor(ctx, alias);
    let conn: DatabaseConnection;
    let ownsLease = false;
    if (outer) conn = outer.conn;
    else if (pool.settings.pin === 'transaction') {
      ctx.scope.usesPerUse(pool);
      conn = await pool.lease(ctx.scope);
      ownsLease = true;
    } else {
      const got = ctx.scope.connection(pool);
      conn = got instanceof DatabaseConnection ? got : await got;
    }
    let block: AtomicBlock;
    try {
      const wait = conn.enter(ctx);
      if (wait) await wait;
      try {
        block = await beginBlock(this.control_, conn, ctx.block, options, ownsLease);
      } finally {
        conn.leave();
      }
    } catch (err) {
      if (ownsLease) await pool.release(conn, true);
      throw err;
    }
    const inner: Context = { scope: ctx.scope, block };
    let result: T | undefined;
    let failure: { error: unknown } | undefined;
    try {
      result = await this.als.run(inner, async () => fn(this.transactionHandle(alias)));
    } catch (error) {
      failure = { error };
    }
    let hooks: CommitHook[] = [];
    try {
      if (block.aborted) {
        throw failure?.error ?? new TransactionManagementError(messages.scopeEndedInTransaction(ctx.scope.describe(), alias), { alias });
      }
      const wait = conn.enter(inner);
      if (wait) await wait;
      try {
        if (block.aborted) {
          throw failure?.error ?? new TransactionManagementError(messages.scopeEndedInTransaction(ctx.scope.describe(), alias), { alias });
        }
        hooks = await endBlock(this.control_, conn, block, failure !== undefined);
      } finally {
        conn.leave();
      }
    } finally {
      if (ownsLease) await pool.release(conn, true);
    }
    if (failure) throw failure.error;
    if (hooks.length > 0) await this.runHooks(alias, hooks);
    return result as T;
  }

  private async runHooks(alias: string, hooks: CommitHook[]): Promise<void> {
    while (hooks.length > 0) {
      const hook = hooks.shift() as CommitHook;
      if (hook.robust) {
        try {
          await hook.fn();
        } catch (error) {
          this.warn(`${messages.onCommitFailed(alias)} ${(error as Error)?.stack ?? String(error)}`);
          this.emit('error', { alias, error, hook: 'onCommit' });
        }
      } else {
        await hook.fn();
      }
    }
  }

  /**
   * Run `fn` after the current transaction on `using` commits (in registration order); drop it if
   * the transaction (or the savepoint it was registered in) rolls back. Outside a transaction it
   * runs at once. `robust: true` hooks that throw are logged and the rest still run.
   */
  onCommit(fn: () => unknown, options: { using?: string; robust?: boolean } = {}): Promise<void> {
    const alias = options.using ?? 'default';
    const ctx = this.als.getStore();
    const block = ctx ? blockFor(ctx, alias) : undefined;
    const robust = options.robust ?? false;
    if (block === undefined) {
      this.settingsFor(alias);
      return this.runHooks(alias, [{ sids: new Set(), fn, robust }]);
    }
    block.conn.runOnCommit.push({ sids: activeSavepoints(block, alias), fn, robust });
    return Promise.resolve();
  }

  /** Mark the innermost atomic block on `using` for rollback (or clear the mark). */
  setRollback(rollback: boolean, options: { using?: string } = {}): void {
    const alias = options.using ?? 'default';
    const ctx = this.als.getStore();
    const block = ctx ? blockFor(ctx, alias) : undefined;
    if (!block) throw new TransactionManagementError(messages.rollbackFlagOutside(alias), { alias });
    block.conn.needsRollback = rollback;
  }

  /** Is the innermost atomic block on `using` marked for rollback? */
  getRollback(options: { using?: string } = {}): boolean {
    const alias = options.using ?? 'default';
    const ctx = this.als.getStore();
    const block = ctx ? blockFor(ctx, alias) : undefined;
    if (!block) throw new TransactionManagementError(messages.rollbackFlagOutside(alias), { alias });
    return block.conn.needsRollback;
  }

  /** Is the calling code inside an atomic block on `using`? */
  inAtomicBlock(options: { using?: string } = {}): boolean {
    const ctx = this.als.getStore();
    return ctx !== undefined && blockFor(ctx, options.using ?? 'default') !== undefined;
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
    let k = this.knexes.get(alias);
    if (!k) {
      k = createBoundKnex(this, alias, this.backend(alias));
      this.knexes.set(alias, k);
    }
    return k;
  }

  /** A knex instance that only compiles SQL in the dialect of `alias` (never connects). @internal */
  compiler(alias = 'default'): Knex {
    let k = this.compilers.get(alias);
    if (!k) {
      k = createCompilerKnex(this.backend(alias));
      this.compilers.set(alias, k);
    }
    return k;
  }

  /** @internal */
  async acquireForBuilder(alias: string): Promise<unknown> {
    const ctx = this.context(alias);
    const pool = this.pool(alias);
    ctx.scope.assertActive(alias);
    let conn: DatabaseConnection;
    let perUse = false;
    const block = pool.settings.pin === 'transaction' ? blockFor(ctx, alias) : undefined;
    if (block) conn = block.conn;
    else if (pool.settings.pin === 'transaction') {
      ctx.scope.usesPerUse(pool);
      conn = await pool.lease(ctx.scope);
      perUse = true;
    } else {
      const got = ctx.scope.connection(pool);
      conn = got instanceof DatabaseConnection ? got : await got;
    }
    if (!perUse) {
      const wait = conn.enter(ctx);
      if (wait) await wait;
    } else conn.busy = true;
    this.builderLeases.set(conn.raw.driver, { conn, ctx, perUse });
    return conn.raw.driver;
  }

  /** @internal */
  releaseForBuilder(driver: unknown): void {
    const lease = this.builderLeases.get(driver);
    if (!lease) return;
    this.builderLeases.delete(driver);
    if (lease.perUse) {
      lease.conn.busy = false;
      void this.pool(lease.conn.alias).release(lease.conn, true);
    } else {
      lease.conn.leave();
      if (lease.ctx.scope.kind === 'root') this.touchRoot(lease.conn);
    }
  }

  /** @internal */
  async runForBuilder<T>(driver: unknown, sql: string, bindings: readonly unknown[], run: () => Promise<T>): Promise<T> {
    const lease = this.builderLeases.get(driver);
    if (!lease) return run();
    const { conn, ctx } = lease;
    this.guard(conn, ctx);
    const started = this.listenerCount('query') > 0 ? performance.now() : 0;
    conn.backend.setRef(conn.raw, true);
    try {
      const wrap = conn.backend.wrapForeign;
      const result = await (wrap ? wrap(conn.raw, sql, run) : run());
      this.settled(conn, ctx, false, started, sql, bindings, undefined);
      return result;
    } catch (err) {
      const error = this.failed(conn, err, sql);
      this.settled(conn, ctx, false, started, sql, bindings, error);
      throw error;
    }
  }

  // ---- observability and lifecycle -------------------------------------------------------------

  /** Counters and gauges of this thread, per alias; `{ everywhere: true }` gathers every thread. */
  stats(): ThreadStats;
  stats(options: StatsOptions & { everywhere: true }): Promise<ProcessStats>;
  stats(options?: StatsOptions): ThreadStats | Promise<ProcessStats>;
  stats(options: StatsOptions = {}): ThreadStats | Promise<ProcessStats> {
    const local: ThreadStats = {
      threadId,
      isMainThread,
      configured: this.configured,
      scopes: { active: this.activeScopes, started: this.startedScopes },
      aliases: Object.fromEntries([...this.pools.values()].map((p) => [p.alias, p.stats()])),
    };
    if (!options.everywhere) return local;
    return this.gather('stats', options.timeoutMs ?? 500).then((others) => {
      const threads = [local, ...(others as ThreadStats[])];
      return { threads, totals: sumStats(threads) };
    });
  }

  private async gather(op: 'stats' | 'closeAll', timeoutMs: number): Promise<unknown[]> {
    if (!this.control) return [];
    const answers = await this.control.request(op, timeoutMs);
    return [...answers.values()];
  }

  /**
   * Close this thread's idle connections (and the root scope's, when not in use). Connections
   * held by running scopes are left to them. `{ everywhere: true }` does it in every thread.
   * Resolves with the number closed.
   */
  async closeAll(options: { everywhere?: boolean; timeoutMs?: number } = {}): Promise<number> {
    const local = await this.closeAllLocal();
    if (!options.everywhere) return local;
    const others = (await this.gather('closeAll', options.timeoutMs ?? 1000)) as number[];
    return local + others.reduce((a, b) => a + (typeof b === 'number' ? b : 0), 0);
  }

  private async closeAllLocal(): Promise<number> {
    let closed = 0;
    if (this.root) {
      for (const [alias, conn] of [...this.root.scope.conns]) {
        if (conn.busy || conn.inAtomicBlock || conn.waiting > 0) continue;
        this.root.timers.get(alias)?.unref();
        clearTimeout(this.root.timers.get(alias));
        this.root.timers.delete(alias);
        await this.root.scope.releaseOne(alias);
      }
    }
    for (const pool of this.pools.values()) closed += await pool.closeIdle();
    return closed;
  }

  /**
   * Stop leasing, wait up to `deadlineMs` for scopes to release their connections, then close
   * everything (rolling back open transactions) and report what had to be forced.
   */
  async shutdown(options: { deadlineMs?: number } = {}): Promise<ShutdownReport> {
    const deadlineMs = options.deadlineMs ?? 5000;
    if (!this.settings) return { closed: 0, forced: 0, forcedScopes: [] };
    this.shuttingDown = true;
    let closed = 0;
    const before = this.totalCloses();
    for (const pool of this.pools.values()) await pool.shutdown();
    if (this.root) {
      for (const t of this.root.timers.values()) clearTimeout(t);
      const rootScope = this.root.scope;
      this.root = undefined;
      await rootScope.end();
    }
    const deadline = Date.now() + deadlineMs;
    while (Date.now() < deadline && [...this.pools.values()].some((p) => p.leased().length > 0)) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const forcedScopes: string[] = [];
    let forced = 0;
    for (const pool of this.pools.values()) {
      for (const conn of pool.leased()) {
        forced += 1;
        if (conn.holder) forcedScopes.push(conn.holder.describe());
        conn.markBroken(new OperationalError(messages.shuttingDown(conn.alias), { alias: conn.alias }));
        conn.blocks.forEach((b) => (b.aborted = true));
        await pool.close(conn, 'shutdown');
      }
    }
    closed = this.totalCloses() - before;
    if (forced > 0) this.warn(messages.shutdownForced(forced, deadlineMs));
    this.control?.close();
    this.control = undefined;
    this.shared?.releaseSlot();
    return { closed, forced, forcedScopes };
  }

  private totalCloses(): number {
    let n = 0;
    for (const p of this.pools.values()) n += p.counters.closes;
    return n;
  }

  private openConnections(): number {
    let n = 0;
    for (const p of this.pools.values()) n += p.stats().open;
    return n;
  }

  /** Close every connection synchronously (thread exit). @internal */
  destroyAll(): void {
    // In a worker whose parent cleans up after it (registry), busy connections are left to it.
    for (const pool of this.pools.values()) pool.destroyAll(this.registry !== undefined);
    this.control?.close();
    this.shared?.releaseSlot();
  }

  private resetState(): void {
    for (const pool of this.pools.values()) pool.destroyAll();
    this.pools.clear();
    for (const k of this.knexes.values()) void k.destroy().catch(() => {});
    this.knexes.clear();
    this.compilers.clear();
    this.builderLeases.clear();
    if (this.root) for (const t of this.root.timers.values()) clearTimeout(t);
    this.root = undefined;
    this.control?.close();
    this.control = undefined;
    this.shuttingDown = false;
  }
}

/**
 * End a dead worker's connections the server still runs, over a one-off connection with the same
 * settings (the same user, who may end its own sessions), through the backend's admin part.
 * Returns how many were ended.
 */
async function killConnections(backend: Backend, db: ResolvedDatabaseSettings, ids: number[]): Promise<number> {
  const admin = backend.admin;
  if (admin === undefined) return 0;
  let raw: RawConnection;
  try {
    raw = await backend.open(db, () => {});
  } catch {
    return 0;
  }
  try {
    return await admin.terminate((sql, bindings) => backend.query(raw, sql, bindings), ids);
  } catch {
    return 0; // the server went away meanwhile: nothing left to end
  } finally {
    await backend.close(raw);
  }
}

/** Sum per-alias stats over threads (counters and gauges alike). */
export function sumStats(threads: readonly ThreadStats[]): Record<string, AliasStats> {
  const totals: Record<string, AliasStats> = {};
  for (const t of threads) {
    for (const [alias, s] of Object.entries(t.aliases)) {
      const acc = totals[alias];
      if (!acc) {
        totals[alias] = { ...s };
        continue;
      }
      for (const key of Object.keys(s) as Array<keyof AliasStats>) {
        if (key === 'alias') continue;
        (acc[key] as number) += s[key] as number;
      }
    }
  }
  return totals;
}
