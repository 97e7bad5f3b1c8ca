/**
 * The connections of one alias in one thread: lease to scopes within the budget (a finite wait,
 * optionally a process-wide budget), release by the rules (close when unusable or obsolete, else
 * hand on or keep idle: the README, "Release rules" and "Budgets"), idle expiry, leak detection,
 * counters.
 *
 * Why not tarn (knex's pool)? Spool's rules are per scope: a connection is closed *at scope end*
 * when `maxAge` says so, a specific connection is discarded when it broke, idle connections must
 * not keep the event loop alive, and the budget may be shared across threads. tarn can only
 * destroy a resource lazily at its next validation and reaps with a timer that holds the process.
 * Not part of the public API.
 */
import type { Backend } from './backends/backend';
import { DatabaseConnection } from './connection';
import { DatabaseError, InterfaceError, OperationalError, PoolExhaustedError, SpoolError, type HolderInfo } from './errors';
import { messages } from './messages';
import type { Scope } from './scope';
import type { ResolvedDatabaseSettings } from './settings';
import type { SharedBudget } from './shared-budget';
import { threadId } from 'node:worker_threads';

/** Counters and gauges of one alias in one thread. */
export interface AliasStats {
  alias: string;
  /** Open connections (leased + idle). */
  open: number;
  /** Connections held by scopes. */
  leased: number;
  /** Open connections no scope holds. */
  idle: number;
  /** Connections being opened. */
  opening: number;
  /** Scopes waiting for a connection. */
  waiting: number;
  /** This thread's budget (`max`). */
  max: number;
  opens: number;
  closes: number;
  leases: number;
  releases: number;
  /** Leases that had to wait for the budget. */
  waits: number;
  /** Leases that gave up after `acquireTimeoutMs`. */
  timeouts: number;
  /** Leases refused at once because `maxWaiting` scopes were already waiting (load shedding). */
  shed: number;
  leaks: number;
  healthChecks: number;
  healthCheckFailures: number;
  queries: number;
  errors: number;
}

/** What a pool needs from its handler. */
export interface PoolHost {
  emit(event: string, payload: unknown): boolean;
  /** Does anyone listen to `event`? (Payloads are built only then.) */
  wants(event: string): boolean;
  warn(message: string): void;
  readonly captureStacks: boolean;
  /** Ask other threads to close idle connections of `alias` (process-wide budget pressure). */
  pressure(alias: string): void;
  /** Called when a connection opened (after `connectionCreated`'s bookkeeping). */
  opened(conn: DatabaseConnection): void;
  /** Called when a connection closed or was destroyed. */
  closed(conn: DatabaseConnection): void;
  /** A scope gave up waiting (`PoolExhaustedError`): record scope-open sites for the next reports. */
  starved(): void;
}

/** The pool's clock: ms since the module loaded, a small integer (a deadline stored as a Smi, not a boxed double). */
const EPOCH = Date.now();
export function poolClock(): number {
  return Date.now() - EPOCH;
}

/**
 * A scope waiting for a connection: a node of the pool's FIFO queue (a doubly linked list: O(1) at
 * both ends and for a withdrawal). No timer of its own: the pool keeps one timer for the queue's
 * earliest deadline (`checkDeadlines`), and no closure: the pool settles it through `granted` /
 * `failed` (prototype methods). Plain data, as small as it can be: a burst's memory is made of
 * these. `PromiseWaiter` settles a promise of the connection; a statement that waits for its
 * scope's first connection is its own waiter (`StatementWaiter`, lease.ts).
 */
export abstract class LeaseWaiter {
  prev: LeaseWaiter | undefined = undefined;
  next: LeaseWaiter | undefined = undefined;
  constructor(
    readonly scope: Scope,
    /** For the scope to hold (pin: 'scope'): the pool tells it first (`Scope.took` / `Scope.lost`). */
    readonly pinned: boolean,
    /** Where it was leased, when leak detection records it. */
    readonly site: { stack?: string } | undefined,
    /** When it gives up, on the pool's clock (`acquireTimeoutMs` after the lease began: its start is derived from it). */
    public due: number,
  ) {}

  /** The connection is the waiter's (held by a pinned scope already). */
  abstract granted(conn: DatabaseConnection): void;
  /** The lease failed (timeout, shutdown, the scope refused it). */
  abstract failed(err: Error): void;
}

/** A waiter that settles a promise of the connection (`AliasPool.lease`). */
class PromiseWaiter extends LeaseWaiter {
  constructor(
    scope: Scope,
    pinned: boolean,
    site: { stack?: string } | undefined,
    due: number,
    private readonly resolve: (conn: DatabaseConnection) => void,
    private readonly reject: (err: Error) => void,
  ) {
    super(scope, pinned, site, due);
  }

  granted(conn: DatabaseConnection): void {
    this.resolve(conn);
  }

  failed(err: Error): void {
    this.reject(err);
  }
}

type Counters = Omit<AliasStats, 'alias' | 'open' | 'leased' | 'idle' | 'opening' | 'waiting' | 'max'>;

export class AliasPool {
  readonly alias: string;
  private readonly all = new Set<DatabaseConnection>();
  private readonly idle: DatabaseConnection[] = [];
  private opening = 0;
  /** The wait queue: first and last waiter, and its length. */
  private head: LeaseWaiter | undefined;
  private tail: LeaseWaiter | undefined;
  private waiting = 0;
  /** The one timer of the wait queue (kept, unref'd while the queue is empty), and when it fires. */
  private waitTimer: NodeJS.Timeout | undefined;
  private waitTimerAt = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  private idleTimerAt = 0;
  /** No new leases (shutdown). */
  closed = false;
  /** The server's version, known once a connection was opened. */
  serverVersion: string | undefined;
  /** Scopes alive that used this alias in `pin: 'transaction'` mode. */
  activeTxScopes = 0;
  readonly counters: Counters = {
    opens: 0,
    closes: 0,
    leases: 0,
    releases: 0,
    waits: 0,
    timeouts: 0,
    shed: 0,
    leaks: 0,
    healthChecks: 0,
    healthCheckFailures: 0,
    queries: 0,
    errors: 0,
  };

  constructor(
    /** Where the pool reports: events, warnings, budget pressure, opened and closed connections. */
    readonly host: PoolHost,
    readonly settings: ResolvedDatabaseSettings,
    readonly backend: Backend,
    private readonly shared: SharedBudget | undefined,
  ) {
    this.alias = settings.alias;
  }

  private get usesShared(): boolean {
    return this.shared !== undefined && this.shared.covers(this.alias);
  }

  /**
   * Lease a connection to `scope`: an idle one (health-checked if configured), else a new one
   * within the budget, else wait in the FIFO queue up to `acquireTimeoutMs` for one to be released
   * (or refused at once when `maxWaiting` scopes already wait). Written without `async`: the queue
   * is where a burst's memory sits, so a waiter is one node and one promise. An idle connection
   * is returned as is (no promise), a new or checked one as a promise. A `pinned` lease is the
   * scope's own (pin: 'scope'): the scope is told as it settles (`Scope.took`, `Scope.lost`), in
   * the same step that settles the promise.
   */
  lease(scope: Scope, pinned = false): DatabaseConnection | Promise<DatabaseConnection> {
    const now = this.tryLease(scope, pinned);
    if (now !== undefined) return now;
    return new Promise((resolve, reject) =>
      this.queue(new PromiseWaiter(scope, pinned, this.leaseSite(), this.dueFrom(poolClock()), resolve, reject)),
    );
  }

  /**
   * `lease()` up to the queue: a connection now (idle: as is; new or checked: a promise), a
   * rejected promise when refused at once (shutting down, queue full), or undefined when the
   * caller must wait: it then puts its waiter in the queue at once (`queue`), in the same turn.
   */
  tryLease(scope: Scope, pinned: boolean): DatabaseConnection | Promise<DatabaseConnection> | undefined {
    if (this.closed) return this.refuse(scope, pinned, new OperationalError(messages.shuttingDown(this.alias), { alias: this.alias }));
    // Newcomers queue behind waiters (fairness).
    if (this.waiting === 0) {
      const started = poolClock();
      const now = this.tryNow(scope, this.leaseSite(), started, this.dueFrom(started));
      if (now !== undefined) return this.settle(scope, pinned, now);
    }
    // Load shedding: a newcomer that finds the queue full is refused at once.
    const maxWaiting = this.settings.maxWaiting;
    if (maxWaiting !== null && this.waiting >= maxWaiting) {
      this.counters.shed += 1;
      return this.refuse(scope, pinned, this.queueFull());
    }
    return undefined;
  }

  /** Put a new waiter at the end of the queue (after `tryLease` said to wait). */
  queue(w: LeaseWaiter): void {
    this.counters.waits += 1;
    this.enqueue(w, false);
  }

  /** The pool's clock (`poolClock`). */
  clock(): number {
    return poolClock();
  }

  /** The deadline of a lease that starts `started` (pool clock). */
  dueFrom(started: number): number {
    return started + this.settings.acquireTimeoutMs;
  }

  /**
   * Where a lease is made, recorded only with leak detection on: the scope already knows where it
   * was opened (when it was recorded); the exact leasing line costs a stack capture per lease.
   */
  leaseSite(): { stack?: string } | undefined {
    return this.host.captureStacks && this.settings.leakThresholdMs !== null ? captureSite() : undefined;
  }

  /** A lease obtained without waiting in the queue, told to a pinned scope. */
  private settle(
    scope: Scope,
    pinned: boolean,
    now: DatabaseConnection | Promise<DatabaseConnection>,
  ): DatabaseConnection | Promise<DatabaseConnection> {
    if (!pinned) return now;
    if (now instanceof DatabaseConnection) return scope.took(this, now);
    return now.then(
      (conn) => scope.took(this, conn),
      (err: unknown) => {
        scope.lost(this.alias);
        throw err;
      },
    );
  }

  /**
   * A lease refused at once (shutting down, queue full). A pinned scope is told once it has
   * recorded the lease as in flight, i.e. after `lease()` returned.
   */
  private refuse(scope: Scope, pinned: boolean, err: Error): Promise<never> {
    if (pinned) queueMicrotask(() => scope.lost(this.alias));
    return Promise.reject(err);
  }

  /** Give a waiter its connection (a pinned scope holds it from now on, or refuses it). */
  private grant(w: LeaseWaiter, conn: DatabaseConnection): void {
    if (!w.pinned) return w.granted(conn);
    let held;
    try {
      held = w.scope.took(this, conn);
    } catch (err) {
      w.failed(err as Error);
      return;
    }
    w.granted(held);
  }

  /** Fail a waiter. */
  private fail(w: LeaseWaiter, err: Error): void {
    if (w.pinned) w.scope.lost(this.alias);
    w.failed(err);
  }

  /**
   * A connection for `scope` now, without waiting for a release: an idle one (a promise when it is
   * health-checked), or a new one within the budget (a promise); undefined when none is free.
   */
  private tryNow(
    scope: Scope,
    site: { stack?: string } | undefined,
    started: number,
    deadline: number,
  ): DatabaseConnection | Promise<DatabaseConnection> | undefined {
    const idle = this.takeIdle();
    if (idle !== undefined) {
      if (!this.settings.healthChecks) return this.assign(idle, scope, site, started);
      return this.check(idle).then((ok) => (ok ? this.assign(idle, scope, site, started) : this.retry(scope, site, started, deadline)));
    }
    if (this.all.size + this.opening < this.settings.max) {
      return this.openNew(deadline, started).then((conn) => this.assign(conn, scope, site, started));
    }
    return undefined;
  }

  /** A health check failed: try again, or wait at the head of the queue (it was admitted already). */
  private retry(scope: Scope, site: { stack?: string } | undefined, started: number, deadline: number): Promise<DatabaseConnection> {
    if (this.closed) return Promise.reject(new OperationalError(messages.shuttingDown(this.alias), { alias: this.alias }));
    const now = this.tryNow(scope, site, started, deadline);
    if (now !== undefined) return now instanceof DatabaseConnection ? Promise.resolve(now) : now;
    // Already counted and admitted: not pinned here, the caller's settle() tells the scope.
    return new Promise((resolve, reject) => this.enqueue(new PromiseWaiter(scope, false, site, deadline, resolve, reject), true));
  }

  /**
   * Capacity was freed (a connection closed, a health check or an open failed): serve the first
   * waiter from it. A waiter that still finds nothing free keeps its place at the head.
   */
  private wakeOne(): void {
    const w = this.head;
    if (w === undefined || this.closed) return;
    this.unlink(w);
    const now = this.tryNow(w.scope, w.site, w.due - this.settings.acquireTimeoutMs, w.due);
    if (now === undefined) this.enqueue(w, true);
    else if (now instanceof DatabaseConnection) this.grant(w, now);
    else
      now.then(
        (conn) => this.grant(w, conn),
        (err: Error) => this.fail(w, err),
      );
  }

  // ---- the wait queue --------------------------------------------------------------------------

  private enqueue(w: LeaseWaiter, front: boolean): void {
    if (front) {
      w.next = this.head;
      if (this.head !== undefined) this.head.prev = w;
      else this.tail = w;
      this.head = w;
    } else {
      w.prev = this.tail;
      if (this.tail !== undefined) this.tail.next = w;
      else this.head = w;
      this.tail = w;
    }
    this.waiting += 1;
    // Deadlines only grow along the queue (one acquireTimeoutMs for all; a waiter put back at the
    // front was the head), so the head's is the earliest: one timer serves the whole queue. It is
    // refed while anyone waits: a scope waiting for a connection is work in progress.
    if (this.waitTimer === undefined) {
      this.waitTimerAt = w.due;
      this.waitTimer = setTimeout(() => this.checkDeadlines(), Math.max(0, w.due - poolClock()));
    } else {
      if (this.waiting === 1) this.waitTimer.ref();
      if (w.due < this.waitTimerAt) this.rearm(w.due);
    }
  }

  private unlink(w: LeaseWaiter): void {
    if (w.prev !== undefined) w.prev.next = w.next;
    else this.head = w.next;
    if (w.next !== undefined) w.next.prev = w.prev;
    else this.tail = w.prev;
    w.prev = w.next = undefined;
    this.waiting -= 1;
    if (this.waiting === 0) this.waitTimer?.unref();
  }

  /** The first waiter, taken out of the queue. */
  private dequeue(): LeaseWaiter | undefined {
    const w = this.head;
    if (w !== undefined) this.unlink(w);
    return w;
  }

  private rearm(at: number): void {
    this.waitTimerAt = at;
    clearTimeout(this.waitTimer);
    this.waitTimer = setTimeout(() => this.checkDeadlines(), Math.max(0, at - poolClock()));
    if (this.waiting === 0) this.waitTimer.unref();
  }

  /**
   * The queue's timer: waiters whose `acquireTimeoutMs` has passed give up (a timer may fire a few
   * ms early by the wall clock, so a waiter gives up only once its deadline has passed), then the
   * timer is set for the new head.
   */
  private checkDeadlines(): void {
    const now = poolClock();
    let w = this.head;
    while (w !== undefined && w.due <= now) {
      const next = w.next;
      this.unlink(w);
      this.counters.timeouts += 1;
      this.fail(w, this.exhausted(this.settings.max, now - (w.due - this.settings.acquireTimeoutMs), 'thread'));
      this.host.starved();
      w = next;
    }
    if (this.head === undefined) {
      this.waitTimer = undefined;
      return;
    }
    this.waitTimerAt = this.head.due;
    this.waitTimer = setTimeout(() => this.checkDeadlines(), Math.max(1, this.head.due - now));
  }

  /**
   * Take back a connection a scope no longer holds, and apply the rules: close it if it is
   * unusable, if `maxAge` is 0, if it is older than `maxAge`, or if the pool is closing; else
   * hand it to a waiting scope or keep it idle.
   * `perUse` (pin: 'transaction'): the scope is still alive, so `maxAge: 0` does not close it yet.
   */
  release(conn: DatabaseConnection, perUse = false): Promise<void> {
    return this.releaseNow(conn, perUse) ?? RELEASED;
  }

  /** `release()`, returning undefined when no close was needed (handed on or kept idle: no promise). */
  releaseNow(conn: DatabaseConnection, perUse = false): Promise<void> | undefined {
    const scope = conn.holder;
    conn.holder = undefined;
    conn.leaseSite = undefined;
    if (conn.leakTimer) {
      clearTimeout(conn.leakTimer);
      conn.leakTimer = undefined;
    }
    this.counters.releases += 1;
    if (this.host.wants('release')) {
      this.host.emit('release', {
        alias: this.alias,
        scopeId: scope?.id,
        connectionId: conn.id,
        serverId: conn.serverId,
        heldMs: Date.now() - conn.leasedAt,
      });
    }
    const reason = this.closeReason(conn, perUse);
    if (reason) {
      return this.close(conn, reason).then(() => {
        if (reason === 'budget pressure') (this.shared as SharedBudget).pressureDone(this.alias);
        this.wakeOne();
      });
    }
    const waiter = this.dequeue();
    if (waiter !== undefined) {
      this.grant(waiter, this.assign(conn, waiter.scope, waiter.site, waiter.due - this.settings.acquireTimeoutMs));
      return undefined;
    }
    this.idle.push(conn);
    this.scheduleExpiry();
    return undefined;
  }

  /** Why a released connection must close, or undefined to keep it. */
  private closeReason(conn: DatabaseConnection, perUse: boolean): string | undefined {
    if (this.closed) return 'shutdown';
    if (conn.broken) return 'unusable';
    if (this.settings.inMemory) return undefined;
    const maxAge = this.settings.maxAge;
    if (maxAge === 0) {
      if (!perUse || this.activeTxScopes <= this.idle.length) return 'maxAge';
    } else if (maxAge !== null && Date.now() - conn.createdAt >= maxAge * 1000) return 'maxAge';
    if (this.usesShared && this.waiting === 0 && (this.shared as SharedBudget).claimPressure(this.alias)) {
      return 'budget pressure';
    }
    return undefined;
  }

  /** A scope in `pin: 'transaction'` mode ended: close idle connections no live scope needs. */
  txScopeEnded(): Promise<void> {
    this.activeTxScopes -= 1;
    if (this.settings.maxAge !== 0 || this.settings.inMemory) return Promise.resolve();
    const extra = this.idle.splice(0, Math.max(0, this.idle.length - this.activeTxScopes));
    return Promise.all(extra.map((c) => this.close(c, 'maxAge'))).then(() => undefined);
  }

  /** Close idle connections (all, or those of `filter`). */
  async closeIdle(reason = 'closeAll'): Promise<number> {
    const list = this.idle.splice(0);
    await Promise.all(list.map((c) => this.close(c, reason)));
    return list.length;
  }

  /** Stop leasing: fail the waiting scopes, close idle connections. Leased ones close when released. */
  async shutdown(): Promise<void> {
    this.closed = true;
    for (let w = this.dequeue(); w !== undefined; w = this.dequeue()) {
      this.fail(w, new OperationalError(messages.shuttingDown(this.alias), { alias: this.alias }));
    }
    if (this.waitTimer !== undefined) clearTimeout(this.waitTimer);
    this.waitTimer = undefined;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    await this.closeIdle('shutdown');
  }

  /** Leased connections (for shutdown's forced close and for reports). */
  leased(): DatabaseConnection[] {
    return [...this.all].filter((c) => c.holder !== undefined);
  }

  /**
   * Close every connection at once, synchronously (thread exit). With `keepBusy`, a connection
   * with a statement in flight keeps its budget unit and its registry row, and is not reported
   * closed: the server may still run the statement, and the parent's clean-up ends it (reading
   * the registry) before giving the unit back.
   */
  destroyAll(keepBusy = false): void {
    for (const c of this.all) {
      c.closing = true;
      this.backend.destroy(c.raw);
      this.counters.closes += 1;
      if (keepBusy && c.busy) continue; // handed to the parent
      if (this.usesShared) (this.shared as SharedBudget).release(this.alias);
      this.host.closed(c);
      this.host.emit('connectionClosed', { alias: this.alias, connectionId: c.id, serverId: c.serverId, reason: 'exit' });
    }
    this.all.clear();
    this.idle.length = 0;
  }

  /** Another thread waits for the process-wide budget: close idle connections it asked for. */
  yieldIdle(): void {
    if (!this.usesShared) return;
    const shared = this.shared as SharedBudget;
    // Oldest first: the front of the idle stack was used least recently.
    while (this.idle.length > 0 && shared.claimPressure(this.alias)) {
      const c = this.idle.shift() as DatabaseConnection;
      void this.close(c, 'budget pressure').then(() => shared.pressureDone(this.alias));
    }
  }

  /** The driver reported the connection lost. An idle one is closed now; a leased one at release. */
  onDead(conn: DatabaseConnection, error: Error): void {
    const converted = this.backend.convertError(error, this.alias, undefined);
    conn.markBroken(converted);
    this.host.emit('error', { alias: this.alias, connectionId: conn.id, serverId: conn.serverId, error: converted });
    const i = this.idle.indexOf(conn);
    if (i >= 0) {
      this.idle.splice(i, 1);
      void this.close(conn, 'unusable').then(() => this.wakeOne());
    }
  }

  stats(): AliasStats {
    let leased = 0;
    for (const c of this.all) if (c.holder !== undefined) leased += 1;
    return {
      alias: this.alias,
      open: this.all.size,
      leased,
      idle: this.idle.length,
      opening: this.opening,
      waiting: this.waiting,
      max: this.settings.max,
      ...this.counters,
    };
  }

  holders(): HolderInfo[] {
    const now = Date.now();
    const out: HolderInfo[] = [];
    for (const c of this.all) {
      const s = c.holder;
      if (!s) continue;
      out.push({
        scopeId: s.id,
        scopeName: s.name,
        alias: this.alias,
        heldForMs: now - c.leasedAt,
        leasedAt: leaseSite(c),
        threadId,
      });
    }
    return out;
  }

  // ---------------------------------------------------------------------------------------------

  private takeIdle(): DatabaseConnection | undefined {
    const now = Date.now();
    for (;;) {
      const c = this.idle.pop();
      if (c === undefined) return undefined;
      if (c.broken || this.expired(c, now)) {
        void this.close(c, c.broken ? 'unusable' : 'maxAge');
        continue;
      }
      return c;
    }
  }

  private expired(c: DatabaseConnection, now: number): boolean {
    if (this.settings.inMemory) return false;
    const maxAge = this.settings.maxAge;
    if (maxAge !== null && maxAge > 0 && now - c.createdAt >= maxAge * 1000) return true;
    const idle = this.settings.idleTimeoutMs;
    return idle !== null && now - c.lastUsedAt >= idle;
  }

  /** Health check before the first use of a reused connection in a scope. */
  private async check(conn: DatabaseConnection): Promise<boolean> {
    this.counters.healthChecks += 1;
    try {
      this.backend.setRef(conn.raw, true);
      await this.backend.ping(conn.raw);
      this.backend.setRef(conn.raw, false);
      conn.checked = true;
      return true;
    } catch (err) {
      this.counters.healthCheckFailures += 1;
      conn.markBroken(this.backend.convertError(err, this.alias, undefined));
      await this.close(conn, 'health check failed');
      return false;
    }
  }

  private async openNew(deadline: number, started: number): Promise<DatabaseConnection> {
    this.opening += 1;
    let unit = false;
    try {
      if (this.usesShared) {
        const shared = this.shared as SharedBudget;
        unit = await shared.acquire(this.alias, deadline + EPOCH, () => this.host.pressure(this.alias));
        if (!unit) {
          this.counters.timeouts += 1;
          throw this.exhausted(shared.limit(this.alias), poolClock() - started, 'process');
        }
      }
      const conn = await this.connect();
      unit = false; // now owned by the connection, returned when it closes
      return conn;
    } finally {
      this.opening -= 1;
      if (unit) (this.shared as SharedBudget).release(this.alias);
    }
  }

  private async connect(): Promise<DatabaseConnection> {
    // The driver may report the connection lost at any time after it opened; until the wrapper
    // exists there is nothing to mark.
    let lost = (_error: Error): void => {};
    let raw;
    try {
      raw = await this.backend.open(this.settings, (err) => lost(err));
    } catch (err) {
      this.counters.errors += 1;
      if (SpoolError.is(err)) throw err; // e.g. the driver package is missing (ConfigError)
      const converted = this.backend.convertError(err, this.alias, undefined);
      const message = messages.connectFailed(this.alias, converted.message);
      // Whatever the driver says, failing to connect is operational unless the server was more specific.
      if (converted.constructor === DatabaseError || InterfaceError.is(converted)) {
        throw new OperationalError(message, { alias: this.alias, cause: err });
      }
      (converted as { message: string }).message = message;
      throw converted;
    }
    const conn = new DatabaseConnection(this, raw);
    lost = (err) => this.onDead(conn, err);
    try {
      for (const sql of this.settings.initSql) await this.backend.query(raw, sql, []);
    } catch (err) {
      this.backend.destroy(raw);
      throw this.backend.convertError(err, this.alias, undefined);
    }
    this.backend.setRef(raw, false);
    if (raw.serverVersion !== undefined) this.serverVersion = raw.serverVersion;
    this.all.add(conn);
    this.counters.opens += 1;
    this.host.opened(conn);
    this.host.emit('connectionCreated', { alias: this.alias, connectionId: conn.id, serverId: conn.serverId });
    return conn;
  }

  /**
   * Close one connection; never rejects. `immediate` destroys the socket at once instead of
   * saying goodbye (a statement in flight would make MySQL's goodbye wait for its end).
   */
  async close(conn: DatabaseConnection, reason: string, immediate = false): Promise<void> {
    if (conn.closing) return;
    conn.closing = true;
    this.all.delete(conn);
    const i = this.idle.indexOf(conn);
    if (i >= 0) this.idle.splice(i, 1);
    this.counters.closes += 1;
    if (immediate) {
      this.backend.destroy(conn.raw);
    } else {
      // Keep the event loop alive until the goodbye is sent: a close is short and bounded, and
      // backend.close() never rejects (it falls back to destroying the socket).
      this.backend.setRef(conn.raw, true);
      await this.backend.close(conn.raw);
    }
    if (this.usesShared) (this.shared as SharedBudget).release(this.alias);
    this.host.closed(conn);
    this.host.emit('connectionClosed', { alias: this.alias, connectionId: conn.id, serverId: conn.serverId, reason });
  }

  private assign(conn: DatabaseConnection, scope: Scope, site: { stack?: string } | undefined, started: number): DatabaseConnection {
    conn.holder = scope;
    conn.leasedAt = Date.now();
    conn.leaseSite = site;
    conn.lastUsedAt = conn.leasedAt;
    this.counters.leases += 1;
    const threshold = this.settings.leakThresholdMs;
    if (threshold !== null) {
      conn.leakTimer = setTimeout(() => this.leak(conn, scope), threshold);
      conn.leakTimer.unref();
    }
    if (this.host.wants('lease')) {
      this.host.emit('lease', {
        alias: this.alias,
        scopeId: scope.id,
        connectionId: conn.id,
        serverId: conn.serverId,
        waitedMs: poolClock() - started,
      });
    }
    return conn;
  }

  private leak(conn: DatabaseConnection, scope: Scope): void {
    conn.leakTimer = undefined;
    if (conn.holder !== scope) return;
    const heldMs = Date.now() - conn.leasedAt;
    const threshold = this.settings.leakThresholdMs as number;
    if (heldMs < threshold) {
      // A timer counts from the event loop's time of the turn it was set in, which can be a few
      // ms before the lease: wait out the rest, so that a leak is never reported early.
      conn.leakTimer = setTimeout(() => this.leak(conn, scope), threshold - heldMs);
      conn.leakTimer.unref();
      return;
    }
    this.counters.leaks += 1;
    const stack = leaseSite(conn);
    this.host.emit('leak', { alias: this.alias, scopeId: scope.id, scopeName: scope.name, connectionId: conn.id, heldMs, stack });
    this.host.warn(messages.leak(this.alias, scope.describe(), heldMs, stack));
  }

  /**
   * Withdraw the waiters of `scope` from the queue: it has ended and refuses what still waits
   * (`Scope.refuseWaiting`), so it must not take a connection from the scopes behind it. Each
   * rejects with `error()`.
   */
  cancelWaiters(scope: Scope, error: () => Error): void {
    for (let w = this.head; w !== undefined;) {
      const next = w.next;
      if (w.scope === scope) {
        this.unlink(w);
        this.fail(w, error());
      }
      w = next;
    }
  }

  private exhausted(budget: number, waitedMs: number, where: 'thread' | 'process'): SpoolError {
    const holders = this.holders();
    return new PoolExhaustedError(messages.poolExhausted(this.alias, budget, waitedMs, holders, where), {
      alias: this.alias,
      budget,
      waitedMs,
      holders,
      waiting: this.waiting,
    });
  }

  /**
   * The queue is full: refused without waiting. Cheap on purpose (a burst may shed thousands):
   * no holders list, whose frames would be formatted for each refused scope.
   */
  private queueFull(): SpoolError {
    const waiting = this.waiting;
    const maxWaiting = this.settings.maxWaiting as number;
    return new PoolExhaustedError(messages.queueFull(this.alias, waiting, maxWaiting, this.settings.max), {
      alias: this.alias,
      budget: this.settings.max,
      waitedMs: 0,
      holders: [],
      queueFull: true,
      waiting,
    });
  }

  /** Close idle connections when their idle time or age runs out (unref'd timer). */
  private scheduleExpiry(): void {
    if (this.settings.inMemory || this.idle.length === 0) return;
    let at = Infinity;
    const { maxAge, idleTimeoutMs } = this.settings;
    for (const c of this.idle) {
      if (idleTimeoutMs !== null) at = Math.min(at, c.lastUsedAt + idleTimeoutMs);
      if (maxAge !== null && maxAge > 0) at = Math.min(at, c.createdAt + maxAge * 1000);
    }
    if (at === Infinity) return;
    if (this.idleTimer && this.idleTimerAt <= at) return;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimerAt = at;
    this.idleTimer = setTimeout(
      () => {
        this.idleTimer = undefined;
        const now = Date.now();
        for (const c of [...this.idle]) if (this.expired(c, now)) void this.close(c, 'idle');
        this.scheduleExpiry();
      },
      Math.max(0, at - Date.now()) + 5,
    );
    this.idleTimer.unref();
  }
}

/** What `release()` returns when the connection went back without a close. */
const RELEASED: Promise<void> = Promise.resolve();

/** Capture where a lease happened; V8 formats the stack only if it is read. */
function captureSite(): { stack?: string } {
  const site: { stack?: string } = {};
  Error.captureStackTrace(site, captureSite);
  return site;
}

// Spool's own frames: an install (@spool/...), this repository's built packages, and their sources
// when a stack is source-mapped (jest maps the bundles' frames to packages/<name>/src/*.ts, so a
// report's user frames must not depend on whether a stack was mapped).
const SPOOL_FRAME =
  /[\\/]@spool[\\/]|[\\/]packages[\\/][a-z]+[\\/]dist[\\/]|(?:^|[\\/(\s])packages[\\/](?:connections|orm|web|workers|testing|cli)[\\/]src[\\/][\w./\\-]+\.ts:\d|node:internal|node:async_hooks|\(<anonymous>\)$|at <anonymous>$/;

/** The user's frames of a stack (Spool's own and Node's internals dropped), or undefined. */
function userFrames(stack: string | undefined): string | undefined {
  if (!stack) return undefined;
  const user = stack
    .split('\n')
    .slice(1)
    .filter((l) => !SPOOL_FRAME.test(l));
  return user.length ? user.slice(0, 8).join('\n') : undefined;
}

/** Where a connection was leased: the leasing code, or where its scope was opened. */
function leaseSite(conn: DatabaseConnection): string | undefined {
  const direct = userFrames(conn.leaseSite?.stack);
  if (direct) return direct;
  const opened = userFrames(conn.holder?.site?.stack);
  return opened ? `(in the scope opened at)\n${opened}` : undefined;
}
