/**
 * A scope: the unit of work a connection follows (a request, a task, a test). It leases at most
 * one connection per alias, lazily, and releases each exactly once when it ends, by the release
 * rules (`release-rules.ts`). See the README, "Scopes".
 */
import type { AliasPool, LeaseWaiter } from './alias-pool';
import { DatabaseConnection } from './connection';
import { ScopeEndedError } from './errors';
import { messages } from './messages';
import { releaseFromScope, releaseFromScopeNow } from './release-rules';

export type ScopeKind = 'scope' | 'root' | 'detached';

/** What a scope needs from its handler: the drain bound, where warnings go, the gauges it counts in. */
export interface ScopeHost {
  /** How long the end waits for statements already issued from the scope (`drainMs`). */
  readonly drainMs: number;
  warn(message: string): void;
  /** Counted there while it runs (the root scope has no host and is not). */
  readonly scopeCounts: ScopeCounts;
}

/**
 * A lease in flight that is not a promise: a statement waiting in the pool's queue for its scope's
 * first connection (`StatementWaiter`). Other statements of the scope on that alias wait for the
 * same lease through `promise()`, made on demand.
 */
export interface PendingLease extends IssuedStatement {
  promise(): Promise<DatabaseConnection>;
}

/** What a scope seldom needs, kept out of the object every scope is (a waiting scope is a burst's memory). */
interface ScopeExtras {
  /** Aliases the router sent a write of this scope to (read-your-writes routing). */
  written?: Set<string>;
  /** Leases in flight beyond the first alias's. */
  leasingMore?: Map<string, Promise<DatabaseConnection> | PendingLease>;
  /** Pools used in pin: 'transaction' mode, told when the scope ends. */
  txPools?: Set<AliasPool>;
  /** Why the scope ended, when its ender said. */
  reason?: unknown;
  controller?: AbortController;
  onIdle?: () => void;
  /** The drain ran out of time: what is still waiting is refused. */
  drainExpired?: boolean;
  site?: { stack?: string };
}

/** A statement issued from a scope that waits for its connection or its turn on it. */
export interface IssuedStatement {
  readonly alias: string;
  readonly sql: string;
}

/** The scope gauges of a handler's thread (`stats().scopes`). */
export interface ScopeCounts {
  active: number;
  started: number;
}

let nextScopeId = 0;

export class Scope {
  readonly id = ++nextScopeId;
  state: 'active' | 'ending' | 'ended' = 'active';
  /**
   * Connections leased by this scope (pin: 'scope'): the one connection almost every scope holds
   * as is (it knows its alias), a Map only once a second alias is leased. A Map per scope was the
   * largest allocation of a scope's own (with the iterators and the new table of its `clear()`).
   */
  private held: DatabaseConnection | Map<string, DatabaseConnection> | undefined = undefined;
  /**
   * Leases in flight, so that concurrent first queries share one lease: the first alias's in two
   * fields (a scope waiting for a connection is what a burst's memory is made of), others in
   * `more.leasingMore`.
   */
  private leasingAlias: string | undefined = undefined;
  private leasingOne: Promise<DatabaseConnection> | PendingLease | undefined = undefined;
  /** Pools this scope asked for a lease (its waiters are withdrawn when it refuses what waits). */
  private leasedFrom: AliasPool | Set<AliasPool> | undefined = undefined;
  private ended: Promise<void> | undefined = undefined;
  /**
   * Statements issued from this scope (before its end) that are waiting for a connection or for
   * their turn on it. The end drains them (`drain()`); a running statement is its connection's
   * (`DatabaseConnection.current`). An array: there is rarely more than one.
   */
  private issued: IssuedStatement | IssuedStatement[] | undefined = undefined;
  /** The rest, created on first need (`ScopeExtras`). */
  private more: ScopeExtras | undefined = undefined;
  /**
   * What the code that opened the scope attached to it, for code running in it to find
   * (`@spool/connections/internal`'s `attachToScope`; `@spool/web`: the request's scope). A field
   * of the scope rather than an entry of a registry by scope id: see `attachToScope`.
   */
  attachment: unknown = undefined;

  constructor(
    readonly name: string | undefined,
    readonly parent: Scope | undefined,
    readonly kind: ScopeKind,
    captureSite = false,
    /** The handler, for the drain bound, warnings and gauges (the root scope has none). */
    private readonly host?: ScopeHost,
  ) {
    if (host !== undefined) {
      host.scopeCounts.active += 1;
      host.scopeCounts.started += 1;
    }
    if (captureSite) {
      const site: { stack?: string } = {};
      Error.captureStackTrace(site, Scope);
      this.extras().site = site;
    }
  }

  private extras(): ScopeExtras {
    return (this.more ??= {});
  }

  /**
   * A scope is the `AsyncLocalStorage` store of the code that runs in it outside any `atomic()`
   * block (a `Context` of its own: one object less per scope).
   */
  get scope(): Scope {
    return this;
  }

  get block(): undefined {
    return undefined;
  }

  /**
   * Where the scope was opened, when the handler records it (`captureStacks`: when leak detection
   * is on, after a `PoolExhaustedError`, or always with `'always'`): a raw structured stack that V8
   * formats only if a report reads it. A lease made from a thenable's `then()` (awaiting sql`…` or
   * a query set) has no user frame on its stack, so reports fall back to this one.
   */
  get site(): { stack?: string } | undefined {
    return this.more?.site;
  }

  /** Why the scope ended, when its ender said (`end(reason)`): e.g. the client went away. */
  get reason(): unknown {
    return this.more?.reason;
  }

  private get drainExpired(): boolean {
    return this.more?.drainExpired === true;
  }

  /** Connections leased by this scope (pin: 'scope'), by alias (made on demand: not the hot path). */
  get conns(): ReadonlyMap<string, DatabaseConnection> {
    const held = this.held;
    if (held === undefined) return NO_CONNS;
    return held instanceof Map ? held : new Map([[held.alias, held]]);
  }

  /** The connection this scope holds to `alias`, if any. */
  heldConnection(alias: string): DatabaseConnection | undefined {
    const held = this.held;
    if (held === undefined) return undefined;
    if (held instanceof Map) return held.get(alias);
    return held.alias === alias ? held : undefined;
  }

  /** Hold `conn` (for its alias). */
  private hold(conn: DatabaseConnection): void {
    const held = this.held;
    if (held === undefined || (!(held instanceof Map) && held.alias === conn.alias)) this.held = conn;
    else if (held instanceof Map) held.set(conn.alias, conn);
    else
      this.held = new Map([
        [held.alias, held],
        [conn.alias, conn],
      ]);
  }

  /** No longer hold the connection of `alias`. */
  private unhold(alias: string): void {
    const held = this.held;
    if (held instanceof Map) held.delete(alias);
    else if (held !== undefined && held.alias === alias) this.held = undefined;
  }

  /** The connections held, in the order they were leased (a new array: the caller may release them meanwhile). */
  private heldList(): DatabaseConnection[] {
    const held = this.held;
    if (held === undefined) return [];
    return held instanceof Map ? [...held.values()] : [held];
  }

  /** Aliases the router sent a write of this scope to. */
  get written(): Set<string> {
    return (this.extras().written ??= new Set());
  }

  /** `scope #12 'name'`, for messages. */
  describe(): string {
    if (this.kind === 'root') return `the root scope (unscoped work) of this thread`;
    return `Scope #${this.id}${this.name ? ` '${this.name}'` : ''}`;
  }

  assertActive(alias: string): void {
    if (this.state !== 'active') throw this.endedError(alias);
  }

  /** The error for work issued from this scope after its end, carrying the end's reason. */
  endedError(alias: string, message = messages.scopeEnded(this.describe(), alias, describeReason(this.reason))): ScopeEndedError {
    return new ScopeEndedError(message, { alias, reason: this.reason });
  }

  /**
   * Aborted when the scope ends (before its statements are refused and its connections released),
   * with the reason given to `end(reason)`, else a `ScopeEndedError`. Created on first use.
   */
  get signal(): AbortSignal {
    const more = this.extras();
    if (!more.controller) {
      more.controller = new AbortController();
      if (this.state !== 'active') more.controller.abort(this.abortReason());
    }
    return more.controller.signal;
  }

  private abortReason(): unknown {
    return this.reason !== undefined ? this.reason : new ScopeEndedError(messages.scopeEnded(this.describe(), 'any alias'));
  }

  /** A statement on `alias` was issued and waits for a connection or the gate (see `issued`). */
  issue(alias: string, sql: string): IssuedStatement {
    const statement: IssuedStatement = { alias, sql };
    this.issueStatement(statement);
    return statement;
  }

  /** `issue()` of a statement that is its own record (a `StatementWaiter`). */
  private issueStatement(statement: IssuedStatement): void {
    const issued = this.issued;
    if (issued === undefined) this.issued = statement;
    else if (Array.isArray(issued)) issued.push(statement);
    else this.issued = [issued, statement];
  }

  /** The statement got its connection and gate (or failed to): it no longer waits. */
  started(statement: IssuedStatement): void {
    const issued = this.issued;
    if (issued === undefined) return;
    if (issued === statement) this.issued = undefined;
    else if (Array.isArray(issued)) {
      const i = issued.indexOf(statement);
      if (i >= 0) issued.splice(i, 1);
      if (issued.length === 0) this.issued = undefined;
    }
    if (this.issued === undefined) this.more?.onIdle?.();
  }

  /** The statements issued that still wait. */
  private waitingStatements(): IssuedStatement[] {
    const issued = this.issued;
    return issued === undefined ? [] : Array.isArray(issued) ? issued : [issued];
  }

  /**
   * This scope's connection to `pool`'s alias: the one it holds, or a new lease. Returns the
   * connection itself when held (no promise on the hot path). With `mayQueue`, a new lease that
   * must wait in the pool's queue is not made: undefined says so, and the caller queues a waiter
   * of its own at once (`waitWith`).
   */
  connection(pool: AliasPool, mayQueue = false): DatabaseConnection | Promise<DatabaseConnection> | undefined {
    const alias = pool.alias;
    this.assertActive(alias);
    const held = this.heldConnection(alias);
    if (held !== undefined) {
      if (held.broken === undefined || this.kind !== 'root' || held.inAtomicBlock) return held;
      // The root scope never ends, so a broken connection would poison all unscoped work: replace it.
      this.unhold(alias);
      void releaseFromScope(this, held);
    }
    const inFlight = this.leaseInFlight(alias);
    if (inFlight !== undefined) return inFlight instanceof Promise ? inFlight : inFlight.promise();
    this.noteLeasedFrom(pool);
    // The pool settles the lease through `took()` / `lost()`: no promise of the scope's own.
    const leased = mayQueue ? pool.tryLease(this, true) : pool.lease(this, true);
    // An idle connection comes back as is: held from now on, no promise.
    if (leased === undefined || leased instanceof DatabaseConnection) return leased;
    this.leasing(alias, leased);
    return leased;
  }

  /**
   * The lease of `pool`'s alias waits in the pool's queue as `waiter`, a statement issued from
   * this scope (after `connection(pool, true)` returned undefined, in the same turn).
   */
  waitWith(pool: AliasPool, waiter: LeaseWaiter & PendingLease): void {
    this.leasing(pool.alias, waiter);
    this.issueStatement(waiter);
    pool.queue(waiter);
  }

  private leasing(alias: string, pending: Promise<DatabaseConnection> | PendingLease): void {
    if (this.leasingAlias === undefined) {
      this.leasingAlias = alias;
      this.leasingOne = pending;
    } else (this.extras().leasingMore ??= new Map()).set(alias, pending);
  }

  /** The lease of `alias` in flight, if any. */
  private leaseInFlight(alias: string): Promise<DatabaseConnection> | PendingLease | undefined {
    if (this.leasingAlias === alias) return this.leasingOne;
    return this.more?.leasingMore?.get(alias);
  }

  /** Leases in flight. */
  private leasesInFlight(): Array<Promise<DatabaseConnection>> {
    const more = this.more?.leasingMore;
    const all = more ? [...more.values()] : [];
    if (this.leasingOne !== undefined) all.push(this.leasingOne);
    return all.map((l) => (l instanceof Promise ? l : l.promise()));
  }

  private leaseSettled(alias: string): void {
    if (this.leasingAlias === alias) {
      this.leasingAlias = undefined;
      this.leasingOne = undefined;
    } else this.more?.leasingMore?.delete(alias);
  }

  /**
   * The pool leased `conn` to this scope (pin: 'scope'): hold it, and return it. Called by the
   * pool, synchronously (an idle connection) or when a wait or an open ends. When the scope ended
   * (and its drain ran out) while the lease was in flight, the connection goes straight back and
   * this throws the refusal. A lease that arrives while the end drains is used: the statement that
   * asked for it was issued before the end.
   */
  took(pool: AliasPool, conn: DatabaseConnection): DatabaseConnection {
    const alias = pool.alias;
    this.leaseSettled(alias);
    if (this.state === 'ended' || this.drainExpired) {
      void pool.release(conn);
      throw this.refused(alias);
    }
    this.hold(conn);
    return conn;
  }

  /** The lease of `alias` failed (the pool rejects it with the error). */
  lost(alias: string): void {
    this.leaseSettled(alias);
  }

  /** Remember a pool asked for a lease (one pool, the usual case, is kept without a Set). */
  private noteLeasedFrom(pool: AliasPool): void {
    const from = this.leasedFrom;
    if (from === undefined) this.leasedFrom = pool;
    else if (from instanceof Set) from.add(pool);
    else if (from !== pool) this.leasedFrom = new Set([from, pool]);
  }

  /** Note that this scope uses `pool` in pin: 'transaction' mode. */
  usesPerUse(pool: AliasPool): void {
    const txPools = (this.extras().txPools ??= new Set());
    if (!txPools.has(pool)) {
      txPools.add(pool);
      pool.activeTxScopes += 1;
    }
  }

  /** Give up the connection of one alias before the scope ends (root scope idle timeout). */
  async releaseOne(alias: string): Promise<void> {
    const conn = this.heldConnection(alias);
    if (!conn) return;
    this.unhold(alias);
    await releaseFromScope(this, conn);
  }

  /**
   * End the scope: from now on statements issued from it fail (`ScopeEndedError`, carrying
   * `reason`); those issued before finish first, within `drainMs`; then every connection is
   * released exactly once. `reason` (e.g. the client went away) aborts the scope's signal and
   * is carried by the errors of later statements. Idempotent; never rejects.
   */
  end(reason?: unknown): Promise<void> {
    if (this.ended === undefined) this.ended = this.endNow(reason) ?? ENDED;
    return this.ended;
  }

  /**
   * `end()`, returning undefined when the scope ended at once: nothing issued still waits or runs,
   * no lease is in flight, and each connection went back to its pool without a round trip (no
   * transaction left open, not closed by `maxAge`). That is the end of almost every scope, and it
   * costs no promise. Otherwise the promise of the end. Call once (`end()` remembers it).
   */
  endNow(reason?: unknown): Promise<void> | undefined {
    if (this.ended !== undefined) return this.ended;
    if (reason !== undefined) this.extras().reason = reason;
    this.state = 'ending';
    const more = this.more;
    // Tell the code still running first: it may stop before its next statement is refused.
    more?.controller?.abort(this.abortReason());
    if (
      this.issued !== undefined ||
      this.leasingAlias !== undefined ||
      (more?.leasingMore !== undefined && more.leasingMore.size > 0) ||
      more?.txPools
    ) {
      return (this.ended = this.finish());
    }
    const held = this.held;
    let pending: Array<Promise<void>> | undefined;
    if (held instanceof Map) {
      for (const c of held.values()) if (c.busy) return (this.ended = this.finish());
      for (const c of held.values()) {
        const released = releaseFromScopeNow(this, c);
        if (released !== undefined) (pending ??= []).push(released);
      }
      held.clear();
    } else if (held !== undefined) {
      // The usual end: one connection, no iterator.
      if (held.busy) return (this.ended = this.finish());
      this.held = undefined;
      const released = releaseFromScopeNow(this, held);
      if (released !== undefined) {
        return (this.ended = released.then(
          () => this.done(),
          () => this.done(),
        ));
      }
    }
    if (pending === undefined) {
      this.ended = ENDED;
      this.done();
      return undefined;
    }
    return (this.ended = Promise.all(pending).then(
      () => this.done(),
      () => this.done(),
    ));
  }

  private done(): void {
    this.state = 'ended';
    if (this.host !== undefined) this.host.scopeCounts.active -= 1;
  }

  /**
   * Wait, at most `drainMs`, for the statements issued from this scope before its end to finish
   * (a forgotten `await`): those waiting for a connection or their turn, and those running. A
   * warning names the scope and the SQL. Past the bound, what still waits is refused.
   *
   * A scope ended with a reason (`end(reason)`: the client went away) does not drain: its code
   * was told through the signal and nobody waits for its answer, so what still waits is refused
   * at once, with the reason; only statements already on the wire finish (`releaseFromScope`).
   */
  private async drain(): Promise<void> {
    const running = this.heldList().filter((c) => c.busy && c.current !== undefined);
    const waiting = this.waitingStatements().length;
    if (waiting === 0 && running.length === 0) return;
    if (this.reason !== undefined) {
      this.refuseWaiting();
      return;
    }
    const drainMs = this.host?.drainMs ?? 0;
    if (this.host) {
      const sqls = [...running.map((c) => c.current as string), ...this.waitingStatements().map((s) => s.sql)];
      this.host.warn(messages.drained(this.describe(), sqls, drainMs));
    }
    const idle = async (): Promise<void> => {
      if (this.issued !== undefined) await new Promise<void>((resolve) => (this.extras().onIdle = resolve));
      this.extras().onIdle = undefined;
      // What was issued now holds the gate or has settled; wait for the statements on the wire.
      // Connections leased while this waits are waited for too (as a Map's live iteration would).
      for (let i = 0, list = this.heldList(); i < list.length; i++, list = this.heldList()) {
        const conn = list[i] as DatabaseConnection;
        const wait = conn.enter(null);
        if (wait) await wait;
        conn.leave();
      }
    };
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), drainMs);
    });
    try {
      if (await Promise.race([idle().then(() => false), expired])) this.refuseWaiting();
    } finally {
      clearTimeout(timer);
    }
  }

  /** Refuse what still waits for a connection or its turn (drain over, or not wanted). */
  private refuseWaiting(): void {
    const more = this.extras();
    more.drainExpired = true;
    more.onIdle = undefined;
    for (const conn of this.heldList()) conn.rejectWaiters(this, () => this.refused(conn.alias));
    const from = this.leasedFrom;
    const pools = from === undefined ? [] : from instanceof Set ? [...from] : [from];
    for (const pool of [...pools, ...(more.txPools ?? [])]) pool.cancelWaiters(this, () => this.refused(pool.alias));
  }

  /** The message for a statement issued before the end and refused while still waiting. */
  private refused(alias: string): ScopeEndedError {
    if (this.reason !== undefined) return this.endedError(alias);
    return this.endedError(alias, messages.drainExpired(this.describe(), alias, this.host?.drainMs ?? 0));
  }

  private async finish(): Promise<void> {
    try {
      await this.drain();
      // Past the drain's bound, a lease still in flight is given back by its own callback.
      if (!this.drainExpired) {
        const leases = this.leasesInFlight();
        if (leases.length > 0) await Promise.allSettled(leases);
      }
      const conns = this.heldList();
      this.held = undefined;
      await Promise.all(conns.map((c) => releaseFromScope(this, c)));
      const txPools = this.more?.txPools;
      if (txPools) await Promise.all([...txPools].map((p) => p.txScopeEnded()));
    } finally {
      this.done();
    }
  }
}

/** The connections of a scope that leased none. */
const NO_CONNS: ReadonlyMap<string, DatabaseConnection> = new Map();

/** The end of a scope that ended at once. */
const ENDED: Promise<void> = Promise.resolve();

/** A reason given to `end(reason)`, for messages. */
function describeReason(reason: unknown): string | undefined {
  if (reason === undefined) return undefined;
  return reason instanceof Error ? reason.message : String(reason);
}
