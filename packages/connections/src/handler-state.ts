/**
 * What one connection handler holds in one thread: its settings, the pool of each alias (opened
 * on first use, as Django's handler opens connections by alias), the `AsyncLocalStorage` that
 * carries scopes, the root scope of unscoped work, the process-wide budget and the worker
 * registry. The lifecycle modules (`lease`, `statement`, `atomic`, `scopes`, `shutdown`,
 * `worker-link`) work on it; `ConnectionHandler` is its public face. The pools report to it
 * (`PoolHost`).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { EventEmitter } from 'node:events';
import { isMainThread, threadId } from 'node:worker_threads';
import type { Knex } from 'knex';
import { AliasPool, type PoolHost } from './alias-pool';
import { backendFor } from './backends';
import { ChildThreads, targetOf, type ConnectionTarget } from './child-threads';
import type { DatabaseConnection } from './connection';
import { blockFor, type Context } from './context';
import { ControlChannel } from './control-channel';
import { ConfigError, NoScopeError } from './errors';
import { messages } from './messages';
import { RootScope } from './root-scope';
import { ConnectionRouter } from './router';
import { Scope, type ScopeCounts, type ScopeHost, type ScopeKind } from './scope';
import { DEFAULT_DRAIN_MS, resolveSettings, type ResolvedDatabaseSettings, type ResolvedSettings, type Settings } from './settings';
import { SharedBudget } from './shared-budget';
import { closeIdle, destroyAll, openConnections } from './shutdown';
import { StatementBoundary } from './statement';
import { threadStats } from './stats';
import { inheritedWorkerData, settingsFromWorkerData, WorkerRegistry } from './worker-link';

/** `initSql` behind a pooler in transaction mode must not set session state (it would stay on a shared server connection). */
function checkPoolerInitSql(resolved: ResolvedSettings): void {
  for (const db of resolved.databases.values()) {
    if (db.pooler === null) continue;
    const backend = backendFor(db.driver);
    for (const sql of db.initSql) {
      const found = backend.sessionFeature?.(sql);
      if (found !== undefined) {
        throw new ConfigError(messages.poolerInitSql(db.alias, found.feature), { option: `databases.${db.alias}.initSql` });
      }
    }
  }
}

/** How long scope sites are recorded after a scope gave up waiting for a connection. */
const STARVED_SITES_MS = 60_000;

/** Record every scope's site in this thread (`recordScopeSites`, e.g. under @spool/testing). */
let recordAllSites = false;

/**
 * Record where every scope is opened in this thread, whatever `captureStacks` (unless false) says:
 * for test suites, whose teardown check names the scopes still holding connections and where they
 * were opened (`@spool/testing` turns it on). Not for production: about 5 µs a scope on Node 20.
 */
export function recordScopeSites(on: boolean): void {
  recordAllSites = on;
}

export class HandlerState implements PoolHost, ScopeHost {
  settings: ResolvedSettings | undefined;
  readonly pools = new Map<string, AliasPool>();
  readonly als = new AsyncLocalStorage<Context>();
  /** The scope of unscoped work, created on its first query. */
  root: RootScope | undefined;
  shared: SharedBudget | undefined;
  control: ControlChannel | undefined;
  router: ConnectionRouter | undefined;
  /** Where this worker records its connections for its parent (a worker prepared by `prepareWorker`). */
  registry: WorkerRegistry | undefined;
  shuttingDown = false;
  readonly scopeCounts: ScopeCounts = { active: 0, started: 0 };
  readonly statements: StatementBoundary;
  /** knex instances by alias: bound to scopes (`builder()`), and compile-only (`compiler()`). */
  readonly builders = new Map<string, Knex>();
  readonly compilers = new Map<string, Knex>();
  /** This handler's `exit` listener on `process`, while it has connections open. */
  private exitHook: (() => void) | undefined;
  /** Connections open now (all aliases): the exit listener is there exactly while this is above 0. */
  private openCount = 0;
  /** The worker threads created in this thread, cleaned up after when they vanish (`child-threads.ts`). */
  children: ChildThreads | undefined;
  /** Some alias has `leakThresholdMs` set: leak reports will want scope sites. */
  private leakDetection = false;
  /** Until when scope sites are recorded after a scope gave up waiting (0: not now). */
  private sitesUntil = 0;
  /** Connection targets announced to the parent, per alias settings (cloned once). */
  private readonly targets = new WeakMap<ResolvedDatabaseSettings, ConnectionTarget | null>();

  constructor(
    /** The handler: events are emitted on it. */
    readonly events: EventEmitter,
    /** Join the process-wide control channel (`stats`/`closeAll` everywhere, budget pressure). */
    private readonly useControl: boolean,
  ) {
    this.statements = new StatementBoundary(events);
  }

  // ---- settings --------------------------------------------------------------------------------

  /** Apply new settings: the old pools, builders and root scope are dropped. */
  configure(input: Settings): void {
    if (this.settings && openConnections(this) > 0 && !this.shuttingDown) {
      throw new ConfigError(messages.alreadyConfigured());
    }
    const resolved = resolveSettings(input);
    checkPoolerInitSql(resolved);
    const inherited = inheritedWorkerData();
    this.registry = inherited ? new WorkerRegistry(inherited.registry, inherited.aliases) : undefined;
    this.reset();
    this.settings = resolved;
    this.leakDetection = [...resolved.databases.values()].some((d) => d.leakThresholdMs !== null);
    this.sitesUntil = 0;
    this.shared = resolved.sharedBudget ? SharedBudget.from(resolved.sharedBudget) : undefined;
    this.statements.tracksWrites = resolved.routers.length > 0;
    this.router = new ConnectionRouter(resolved.routers, () => {
      const ctx = this.als.getStore();
      if (ctx === undefined) return undefined;
      const written = ctx.scope.written;
      return { written, scope: { id: ctx.scope.id, written, inAtomicBlock: (alias) => blockFor(ctx, alias) !== undefined } };
    });
    if (this.useControl) {
      if (!this.children)
        this.children = new ChildThreads(
          (alias) => this.settings?.databases.get(alias),
          (m) => this.warn(m),
          () => this.shared,
        );
      const children = this.children;
      children.start();
      this.control = new ControlChannel({
        stats: () => threadStats(this),
        closeAll: () => closeIdle(this),
        // Another thread waits for the process-wide budget: give back idle connections of `alias`.
        pressure: (alias) => this.pools.get(alias)?.yieldIdle(),
        announced: (a) => children.announced(a),
      });
    }
  }

  get configured(): boolean {
    return this.settings !== undefined && !this.shuttingDown;
  }

  requireSettings(): ResolvedSettings {
    if (!this.settings) {
      // A worker started by prepareWorker() or @spool/workers gets its parent's settings on first use.
      const inherited = inheritedWorkerData();
      if (inherited) this.configure(settingsFromWorkerData(inherited));
      else throw new ConfigError(messages.notConfigured());
    }
    return this.settings as ResolvedSettings;
  }

  settingsFor(alias: string): ResolvedDatabaseSettings {
    const s = this.requireSettings();
    const db = s.databases.get(alias);
    if (!db) throw new ConfigError(messages.unknownAlias(alias, [...s.databases.keys()]), { alias, option: `databases.${alias}` });
    return db;
  }

  /** The pool of `alias`, created on first use. */
  pool(alias: string): AliasPool {
    const existing = this.pools.get(alias);
    if (existing !== undefined) return existing;
    const db = this.settingsFor(alias);
    const pool = new AliasPool(this, db, backendFor(db.driver), this.shared?.covers(alias) ? this.shared : undefined);
    if (this.shuttingDown) pool.closed = true;
    this.pools.set(alias, pool);
    return pool;
  }

  private reset(): void {
    for (const pool of this.pools.values()) pool.destroyAll();
    this.pools.clear();
    for (const k of this.builders.values()) void k.destroy().catch(() => {});
    this.builders.clear();
    this.compilers.clear();
    this.root?.stopTimers();
    this.root = undefined;
    this.control?.close();
    this.control = undefined;
    this.children?.stop();
    this.openCount = 0;
    this.unhookExit();
    this.shuttingDown = false;
  }

  // ---- contexts --------------------------------------------------------------------------------

  /** The context of the calling code; outside any scope, the root scope's (or NoScopeError when strict). */
  context(alias: string): Context {
    const ctx = this.als.getStore();
    if (ctx !== undefined) return ctx;
    if (this.requireSettings().strict) throw new NoScopeError(messages.noScope(alias), { alias });
    if (!this.root) this.root = new RootScope();
    return this.root.ctx;
  }

  /** A new scope: a child of the calling code's scope, or (detached) of none. */
  newScope(name: string | undefined, kind: ScopeKind): Scope {
    const settings = this.requireSettings();
    const parent = kind === 'detached' ? undefined : this.als.getStore()?.scope;
    return new Scope(name, parent, kind, this.recordSites(settings), this);
  }

  /**
   * Record where the next scope is opened? Capturing a stack costs about 5 µs on Node 20 (the walk,
   * not the formatting, which V8 defers until a report reads it), more than the rest of a scope: by
   * default it is taken only when a report can use it (`Settings.captureStacks`).
   */
  private recordSites(settings: ResolvedSettings): boolean {
    const mode = settings.captureStacks;
    if (mode === false) return false;
    if (mode === 'always' || this.leakDetection || recordAllSites) return true;
    if (this.sitesUntil === 0) return false;
    if (Date.now() < this.sitesUntil) return true;
    this.sitesUntil = 0;
    return false;
  }

  /** A scope gave up waiting for a connection: record scope sites for a while (`recordSites`). */
  starved(): void {
    this.sitesUntil = Date.now() + STARVED_SITES_MS;
  }

  // ---- PoolHost --------------------------------------------------------------------------------

  emit(event: string, payload: unknown): boolean {
    return this.events.emit(event, payload);
  }

  wants(event: string): boolean {
    return this.events.listenerCount(event) > 0;
  }

  warn(message: string): void {
    (this.settings?.logger ?? { warn: (m: string) => console.warn(`[spool] ${m}`) }).warn(message);
  }

  /** How long a scope's end waits for statements already issued from it (`drainMs`). */
  get drainMs(): number {
    return this.settings?.drainMs ?? DEFAULT_DRAIN_MS;
  }

  get captureStacks(): boolean {
    return this.settings?.captureStacks !== false;
  }

  pressure(alias: string): void {
    this.control?.pressure(alias);
  }

  opened(conn: DatabaseConnection): void {
    this.registry?.add(threadId, conn.alias, conn.serverId);
    this.announce('open', conn);
    this.openCount += 1;
    if (this.exitHook !== undefined) return;
    // When the thread exits, close every socket at once (a worker's sockets would otherwise only
    // close when its event loop is torn down, which terminate() does but an uncaught error may not).
    // The listener is there only while connections are open: a listener on `process` keeps its
    // handler reachable, and a service that creates handlers (or pools) per job must stay flat.
    this.exitHook = () => destroyAll(this);
    process.once('exit', this.exitHook);
  }

  closed(conn: DatabaseConnection): void {
    this.registry?.remove(threadId, conn.alias, conn.serverId);
    this.announce('close', conn);
    this.openCount = Math.max(0, this.openCount - 1);
    if (this.openCount === 0) this.unhookExit();
  }

  /**
   * In a worker nobody linked (no registry: a plain piscina pool, a plain `Worker`), tell the
   * thread that created it about each server connection, so that it can end them on the server
   * if this worker vanishes mid-query (`child-threads.ts`).
   */
  private announce(op: 'open' | 'close', conn: DatabaseConnection): void {
    if (isMainThread || this.registry !== undefined || this.control === undefined || conn.backend.admin === undefined) return;
    const settings = conn.pool.settings;
    let target = this.targets.get(settings);
    if (target === undefined) {
      target = targetOf(settings) ?? null;
      this.targets.set(settings, target);
    }
    this.control.announce({ op, alias: conn.alias, serverId: conn.serverId, target: target ?? undefined });
  }

  /** Remove the `exit` listener (no connection left open, or the handler shut down). */
  unhookExit(): void {
    if (this.exitHook === undefined) return;
    process.removeListener('exit', this.exitHook);
    this.exitHook = undefined;
  }
}
