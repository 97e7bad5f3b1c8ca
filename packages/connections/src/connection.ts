/**
 * One open database connection (Django's `DatabaseWrapper`, per connection rather than per
 * thread): the raw driver connection, its lease, its transaction state, and the gate that
 * serialises the work of one scope on it.
 * Not part of the public API (`@spool/connections/internal` reaches what others need).
 */
import type { AliasPool } from './alias-pool';
import type { Backend, RawConnection } from './backends/backend';
import type { Context } from './context';
import type { AtomicBlock, CommitHook } from './atomic';
import type { IssuedStatement, Scope } from './scope';
import type { ScopeEndedError } from './errors';

interface GateWaiter {
  ctx: Context | null;
  resolve: () => void;
  reject: (err: Error) => void;
}

let nextId = 0;

export class DatabaseConnection {
  readonly id = ++nextId;
  readonly createdAt = Date.now();
  lastUsedAt = this.createdAt;
  /** Why the connection cannot be used again, once it cannot. */
  broken: Error | undefined;
  closing = false;

  // --- lease ---------------------------------------------------------------
  holder: Scope | undefined;
  leasedAt = 0;
  /** Where it was leased: an Error whose stack is formatted only when needed. */
  leaseSite: { stack?: string } | undefined;
  leakTimer: NodeJS.Timeout | undefined;
  /** The health check ran for the current lease. */
  checked = false;

  // --- gate ----------------------------------------------------------------
  /** A statement (or a transaction-control sequence) is running. */
  busy = false;
  /** The SQL of the statement running now (not transaction control), for the drain warning. */
  current: string | undefined;
  /** Leased for one use by a statement its scope recorded as issued (`lease.ts`): settled when given back. */
  issued: { scope: Scope; statement: IssuedStatement } | undefined;
  private readonly waiters: GateWaiter[] = [];

  // --- transaction state (Django's in_atomic_block, needs_rollback, savepoint_ids, run_on_commit) ---
  readonly blocks: AtomicBlock[] = [];
  needsRollback = false;
  rollbackCause: unknown;
  savepointSeq = 0;
  runOnCommit: CommitHook[] = [];

  readonly alias: string;
  readonly backend: Backend;

  constructor(
    /** The pool it was opened by and goes back to. */
    readonly pool: AliasPool,
    readonly raw: RawConnection,
  ) {
    this.alias = pool.alias;
    this.backend = pool.backend;
  }

  /** The server's id for this connection (PostgreSQL pid, MySQL thread id). */
  get serverId(): number {
    return this.raw.serverId;
  }

  get inAtomicBlock(): boolean {
    return this.blocks.length > 0;
  }

  /**
   * May code running in `ctx` use the connection now? Yes when no atomic block is open on it, or
   * when `ctx` runs inside the innermost open block. Otherwise it would slip into a transaction
   * that is not its own, so it waits for the block to end (the README, "Scopes": one statement at a time).
   */
  private eligible(ctx: Context | null): boolean {
    const top = this.blocks[this.blocks.length - 1];
    if (top === undefined || ctx === null) return true;
    for (let b = ctx.block; b !== undefined; b = b.parent) if (b === top) return true;
    return false;
  }

  /**
   * Take the gate for `ctx`. Returns `undefined` when taken at once (the common case, no promise
   * allocated), else a promise that resolves when it is taken. `ctx === null` ignores the atomic
   * rule and only waits for the running statement (used when a scope ends).
   */
  enter(ctx: Context | null): Promise<void> | undefined {
    // When the gate is free, every queued waiter is ineligible (leave() admitted the others), so
    // letting an eligible newcomer in first is fair, and required: code inside a block must not
    // queue behind code that waits for that block to end.
    if (!this.busy && this.eligible(ctx)) {
      this.busy = true;
      return undefined;
    }
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ ctx, resolve, reject });
      if (!this.busy) this.dispatch();
    });
  }

  /** Give the gate back and let the first eligible waiter in. */
  leave(): void {
    this.busy = false;
    this.lastUsedAt = Date.now();
    this.dispatch();
  }

  /** Re-check waiters after an atomic block ended. Call only while not busy. */
  dispatch(): void {
    if (this.busy) return;
    for (let i = 0; i < this.waiters.length; i++) {
      const w = this.waiters[i] as GateWaiter;
      if (this.eligible(w.ctx)) {
        this.waiters.splice(i, 1);
        this.busy = true;
        w.resolve();
        return;
      }
    }
  }

  /** Fail every waiter of `scope` (the scope ended under them). */
  rejectWaiters(scope: Scope, error: () => ScopeEndedError): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const w = this.waiters[i] as GateWaiter;
      if (w.ctx && w.ctx.scope === scope) {
        this.waiters.splice(i, 1);
        w.reject(error());
      }
    }
  }

  get waiting(): number {
    return this.waiters.length;
  }

  markBroken(error: Error): void {
    if (!this.broken) this.broken = error;
  }
}
