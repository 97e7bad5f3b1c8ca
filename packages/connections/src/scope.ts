/**
 * A scope: the unit of work a connection follows (a request, a task, a test). It leases at most
 * one connection per alias, lazily, and releases each exactly once when it ends, by the release
 * rules (`release-rules.ts`). See the README, "Scopes".
 */
import type { AliasPool } from './alias-pool';
import type { DatabaseConnection } from './connection';
import { ScopeEndedError } from './errors';
import { messages } from './messages';
import { releaseFromScope } from './release-rules';

export type ScopeKind = 'scope' | 'root' | 'detached';

/** The scope gauges of a handler's thread (`stats().scopes`). */
export interface ScopeCounts {
  active: number;
  started: number;
}

let nextScopeId = 0;

export class Scope {
  readonly id = ++nextScopeId;
  readonly startedAt = Date.now();
  state: 'active' | 'ending' | 'ended' = 'active';
  /** Connections leased by this scope (pin: 'scope'). */
  readonly conns = new Map<string, DatabaseConnection>();
  /** Leases in flight, so that concurrent first queries share one lease. */
  private readonly leasing = new Map<string, Promise<DatabaseConnection>>();
  /** Pools used in pin: 'transaction' mode, told when the scope ends. */
  private txPools: Set<AliasPool> | undefined;
  private ended: Promise<void> | undefined;
  /**
   * Where the scope was opened. A lease made from a thenable's `then()` (awaiting sql`…` or a
   * query set) has no user frame on its stack, so reports fall back to this one.
   */
  readonly site: { stack?: string } | undefined;

  constructor(
    readonly name: string | undefined,
    readonly parent: Scope | undefined,
    readonly kind: ScopeKind,
    captureSite = false,
    /** Counted while it runs (the root scope is not). */
    private readonly counts?: ScopeCounts,
  ) {
    if (counts) {
      counts.active += 1;
      counts.started += 1;
    }
    if (captureSite) {
      const site: { stack?: string } = {};
      Error.captureStackTrace(site, Scope);
      this.site = site;
    }
  }

  /** `scope #12 'name'`, for messages. */
  describe(): string {
    if (this.kind === 'root') return `the root scope (unscoped work) of this thread`;
    return `Scope #${this.id}${this.name ? ` '${this.name}'` : ''}`;
  }

  assertActive(alias: string): void {
    if (this.state !== 'active') throw new ScopeEndedError(messages.scopeEnded(this.describe(), alias), { alias });
  }

  /**
   * This scope's connection to `pool`'s alias: the one it holds, or a new lease. Returns the
   * connection itself when held (no promise on the hot path).
   */
  connection(pool: AliasPool): DatabaseConnection | Promise<DatabaseConnection> {
    const alias = pool.alias;
    this.assertActive(alias);
    const held = this.conns.get(alias);
    if (held !== undefined) {
      if (held.broken === undefined || this.kind !== 'root' || held.inAtomicBlock) return held;
      // The root scope never ends, so a broken connection would poison all unscoped work: replace it.
      this.conns.delete(alias);
      void releaseFromScope(this, held);
    }
    let pending = this.leasing.get(alias);
    if (pending === undefined) {
      pending = pool.lease(this).then(
        (conn) => {
          this.leasing.delete(alias);
          if (this.state !== 'active') {
            // The scope ended while the lease was in flight: give it straight back.
            void pool.release(conn);
            throw new ScopeEndedError(messages.scopeEnded(this.describe(), alias), { alias });
          }
          this.conns.set(alias, conn);
          return conn;
        },
        (err: unknown) => {
          this.leasing.delete(alias);
          throw err;
        },
      );
      this.leasing.set(alias, pending);
    }
    return pending;
  }

  /** Note that this scope uses `pool` in pin: 'transaction' mode. */
  usesPerUse(pool: AliasPool): void {
    if (!this.txPools) this.txPools = new Set();
    if (!this.txPools.has(pool)) {
      this.txPools.add(pool);
      pool.activeTxScopes += 1;
    }
  }

  /** Give up the connection of one alias before the scope ends (root scope idle timeout). */
  async releaseOne(alias: string): Promise<void> {
    const conn = this.conns.get(alias);
    if (!conn) return;
    this.conns.delete(alias);
    await releaseFromScope(this, conn);
  }

  /** End the scope: release every connection exactly once. Idempotent; never rejects. */
  end(): Promise<void> {
    if (this.ended === undefined) {
      this.state = 'ending';
      this.ended = this.finish();
    }
    return this.ended;
  }

  private async finish(): Promise<void> {
    try {
      if (this.leasing.size > 0) await Promise.allSettled([...this.leasing.values()]);
      const conns = [...this.conns.values()];
      this.conns.clear();
      await Promise.all(conns.map((c) => releaseFromScope(this, c)));
      if (this.txPools) await Promise.all([...this.txPools].map((p) => p.txScopeEnded()));
    } finally {
      this.state = 'ended';
      if (this.counts) this.counts.active -= 1;
    }
  }
}
