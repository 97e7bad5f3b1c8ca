/**
 * A process-wide connection budget, shared by every thread through a `SharedArrayBuffer`, so
 * that W workers never open more than `limit` connections to an alias instead of W × max.
 *
 * Layout of the Int32Array (A aliases, T thread slots):
 *   [0, A)                 open connections per alias, process-wide
 *   [A, 2A)                threads waiting per alias
 *   [2A, 3A)               idle connections being closed for waiters, per alias: a thread
 *                          closes an idle connection for a waiter only while this is below the
 *                          number of waiters, so W waiters make W idle connections close, not all
 *   [3A + t(1+A)]          owner of slot t: threadId + 1, or 0 when free
 *   [3A + t(1+A) + 1 + a]  connections of alias a held by the thread in slot t
 *
 * A thread takes a slot on first use. When a thread dies without cleaning up (terminated,
 * crashed), whoever spawned it calls `reclaim(threadId)` (the worker pool does), which returns its
 * units: the server closed those connections with the thread's sockets.
 */
import { threadId } from 'node:worker_threads';
import { ConfigError } from './errors';
import { messages } from './messages';
import type { SharedBudgetHandle } from './settings';

/** `Atomics.waitAsync` (Node >= 16; typed in lib es2024). */
interface AtomicsWaitAsync {
  waitAsync(a: Int32Array, index: number, value: number, timeout: number): { async: boolean; value: Promise<string> | string };
}

export interface SharedBudgetOptions {
  /** How many threads may use the budget (slots). Default 256. */
  threads?: number;
}

export class SharedBudget {
  readonly buffer: SharedArrayBuffer;
  readonly aliases: readonly string[];
  readonly limits: readonly number[];
  readonly threads: number;
  private readonly cells: Int32Array;
  private slot = -1;

  /** Create a budget: `{ default: 4 }` lets the whole process hold at most 4 connections to `default`. */
  static create(limits: Record<string, number>, options: SharedBudgetOptions = {}): SharedBudget {
    const aliases = Object.keys(limits);
    for (const a of aliases) {
      const v = limits[a];
      if (!Number.isInteger(v) || (v as number) < 1) {
        throw new ConfigError(messages.badOption(`budget.${a}`, 'an integer >= 1', v), { option: `budget.${a}` });
      }
    }
    const threads = options.threads ?? 256;
    const size = 3 * aliases.length + threads * (1 + aliases.length);
    return new SharedBudget({
      kind: 'spool.shared-budget',
      buffer: new SharedArrayBuffer(size * 4),
      aliases,
      limits: aliases.map((a) => limits[a] as number),
      threads,
    });
  }

  /** Attach to a budget created in another thread (from its `handle()`). */
  static from(handle: SharedBudget | SharedBudgetHandle): SharedBudget {
    return handle instanceof SharedBudget ? handle : new SharedBudget(handle);
  }

  private constructor(h: SharedBudgetHandle) {
    this.buffer = h.buffer;
    this.aliases = h.aliases;
    this.limits = h.limits;
    this.threads = h.threads;
    this.cells = new Int32Array(h.buffer);
  }

  /** The serialisable form, to put in `workerData`. */
  handle(): SharedBudgetHandle {
    return { kind: 'spool.shared-budget', buffer: this.buffer, aliases: this.aliases, limits: this.limits, threads: this.threads };
  }

  covers(alias: string): boolean {
    return this.aliases.includes(alias);
  }

  limit(alias: string): number {
    return this.limits[this.index(alias)] as number;
  }

  /** Connections to `alias` open in the whole process. */
  inUse(alias: string): number {
    return Atomics.load(this.cells, this.index(alias));
  }

  /** Threads waiting for `alias`. */
  waiting(alias: string): number {
    return Atomics.load(this.cells, this.aliases.length + this.index(alias));
  }

  /** Take one unit if one is free. */
  tryAcquire(alias: string): boolean {
    const i = this.index(alias);
    const limit = this.limits[i] as number;
    const mine = this.slotCell(i);
    for (;;) {
      const cur = Atomics.load(this.cells, i);
      if (cur >= limit) return false;
      if (Atomics.compareExchange(this.cells, i, cur, cur + 1) === cur) {
        Atomics.add(this.cells, mine, 1);
        return true;
      }
    }
  }

  /**
   * Wait for a unit until `deadline` (epoch ms). Resolves true when taken, false on timeout.
   * `onPressure` is called once when the wait begins, to ask other threads to close idle connections.
   */
  async acquire(alias: string, deadline: number, onPressure?: () => void): Promise<boolean> {
    if (this.tryAcquire(alias)) return true;
    const i = this.index(alias);
    const waitCell = this.aliases.length + i;
    Atomics.add(this.cells, waitCell, 1);
    onPressure?.();
    let pressedAt = Date.now();
    // Atomics.waitAsync does not keep the event loop alive; a waiting lease is work in progress.
    const keepAlive = setTimeout(() => {}, Math.max(0, deadline - Date.now()) + 50);
    try {
      for (;;) {
        if (this.tryAcquire(alias)) return true;
        const remaining = deadline - Date.now();
        if (remaining <= 0) return false;
        const cur = Atomics.load(this.cells, i);
        if (cur < (this.limits[i] as number)) continue;
        // Ask again now and then: a connection may have gone idle since the last request.
        if (Date.now() - pressedAt >= 250) {
          pressedAt = Date.now();
          onPressure?.();
        }
        // Re-check at least every 100 ms in case a notify was missed between load and wait.
        const r = (Atomics as unknown as AtomicsWaitAsync).waitAsync(this.cells, i, cur, Math.min(remaining, 100));
        if (r.async) await r.value;
      }
    } finally {
      Atomics.sub(this.cells, waitCell, 1);
      clearTimeout(keepAlive);
    }
  }

  /**
   * Should this thread close one idle connection of `alias` for a waiting thread? True while
   * fewer units are being freed for waiters than threads wait, so W waiters make about W idle
   * connections close across all threads. The caller closes one, then calls `pressureDone()`.
   */
  claimPressure(alias: string): boolean {
    const i = this.index(alias);
    const closing = 2 * this.aliases.length + i;
    for (;;) {
      const c = Atomics.load(this.cells, closing);
      if (c >= Atomics.load(this.cells, this.aliases.length + i)) return false;
      if (Atomics.compareExchange(this.cells, closing, c, c + 1) === c) return true;
    }
  }

  /**
   * The close claimed with `claimPressure()` has given its unit back. The claim is kept a little
   * longer, while the waiter wakes up and takes the unit, so that other threads do not close a
   * second connection for the same waiter meanwhile; it always ends, so claims never pile up.
   */
  pressureDone(alias: string): void {
    const cell = 2 * this.aliases.length + this.index(alias);
    setTimeout(() => decrementIfPositive(this.cells, cell), 50).unref();
  }

  /** Give one unit back (a connection closed). */
  release(alias: string): void {
    const i = this.index(alias);
    Atomics.sub(this.cells, i, 1);
    Atomics.sub(this.cells, this.slotCell(i), 1);
    Atomics.notify(this.cells, i);
  }

  /** Units held by the thread `tid` (from its slot). */
  heldBy(tid: number, alias: string): number {
    const s = this.findSlot(tid);
    return s < 0 ? 0 : Atomics.load(this.cells, this.base(s) + 1 + this.index(alias));
  }

  /**
   * Return every unit held by a thread that is gone (terminated or crashed) and free its slot.
   * Returns the number of units returned.
   */
  reclaim(tid: number): number {
    const s = this.findSlot(tid);
    if (s < 0) return 0;
    let total = 0;
    const base = this.base(s);
    for (let a = 0; a < this.aliases.length; a++) {
      const n = Atomics.exchange(this.cells, base + 1 + a, 0);
      if (n > 0) {
        Atomics.sub(this.cells, a, n);
        Atomics.notify(this.cells, a);
        total += n;
      }
    }
    Atomics.store(this.cells, base, 0);
    return total;
  }

  /** Free this thread's slot when it holds nothing (thread exit after closing its connections). */
  releaseSlot(): void {
    if (this.slot < 0) return;
    this.reclaim(threadId);
    this.slot = -1;
  }

  private index(alias: string): number {
    const i = this.aliases.indexOf(alias);
    if (i < 0) throw new ConfigError(messages.sharedBudgetAlias(alias, this.aliases));
    return i;
  }

  private base(slot: number): number {
    return 3 * this.aliases.length + slot * (1 + this.aliases.length);
  }

  private findSlot(tid: number): number {
    for (let s = 0; s < this.threads; s++) if (Atomics.load(this.cells, this.base(s)) === tid + 1) return s;
    return -1;
  }

  private slotCell(aliasIndex: number): number {
    if (this.slot < 0) {
      const mine = this.findSlot(threadId);
      if (mine >= 0) this.slot = mine;
      else {
        for (let s = 0; s < this.threads; s++) {
          if (Atomics.compareExchange(this.cells, this.base(s), 0, threadId + 1) === 0) {
            this.slot = s;
            break;
          }
        }
        if (this.slot < 0) throw new ConfigError(messages.sharedBudgetFull());
      }
    }
    return this.base(this.slot) + 1 + aliasIndex;
  }
}

/** Atomically decrement `cells[i]` when it is positive; true when it did. */
function decrementIfPositive(cells: Int32Array, i: number): boolean {
  for (;;) {
    const cur = Atomics.load(cells, i);
    if (cur <= 0) return false;
    if (Atomics.compareExchange(cells, i, cur, cur - 1) === cur) return true;
  }
}
