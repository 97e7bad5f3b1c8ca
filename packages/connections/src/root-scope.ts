/**
 * The root scope: where a thread's unscoped work runs (a query outside any `scope()`). It never
 * ends on its own, so each of its connections is released after `idleTimeoutMs` without use, and
 * idle ones go at `closeAll()`; a broken one is replaced on next use (`Scope.connection`).
 * See the README, "Scopes".
 */
import type { DatabaseConnection } from './connection';
import type { Context } from './context';
import { Scope } from './scope';

export class RootScope extends Scope {
  /** The context unscoped code runs in. */
  readonly ctx: Context = { scope: this, block: undefined };
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor() {
    super(undefined, undefined, 'root');
  }

  /** `conn` was just used: (re)start its idle timer. */
  touch(conn: DatabaseConnection): void {
    const existing = this.timers.get(conn.alias);
    if (existing) {
      existing.refresh();
      return;
    }
    const ms = conn.pool.settings.idleTimeoutMs;
    if (ms === null) return;
    const timer = setTimeout(() => {
      const held = this.heldConnection(conn.alias);
      if (held && inUse(held)) {
        timer.refresh();
        return;
      }
      this.timers.delete(conn.alias);
      void this.releaseOne(conn.alias);
    }, ms);
    timer.unref();
    this.timers.set(conn.alias, timer);
  }

  /** Release the connections no statement or block is using now (`closeAll()`). */
  async releaseIdle(): Promise<void> {
    for (const [alias, conn] of [...this.conns]) {
      if (inUse(conn)) continue;
      clearTimeout(this.timers.get(alias));
      this.timers.delete(alias);
      await this.releaseOne(alias);
    }
  }

  /** Stop the idle timers (shutdown, reconfiguration). */
  stopTimers(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}

function inUse(conn: DatabaseConnection): boolean {
  return conn.busy || conn.inAtomicBlock || conn.waiting > 0;
}
