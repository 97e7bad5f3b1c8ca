/**
 * Which server connections each worker of a pool has open, in a `SharedArrayBuffer` the pool's
 * thread can still read after a worker died, however it died (`terminate()` on a timeout or an
 * abort, `process.exit()`, a crash). The pool then closes those the server still runs (a
 * MySQL/MariaDB statement runs to its end otherwise; a PostgreSQL backend lingers until it
 * notices) before it gives the worker's budget units back.
 *
 * Unlike the per-`prepareWorker()` registry of @spool/connections, rows carry the thread id,
 * because piscina hands the same `workerData` to every worker of a pool.
 *
 * Layout (Int32Array, S slots × 3): `[owner threadId + 1, alias index + 1, server id]`, owner 0 = free.
 * @internal
 */
export class ConnectionTable {
  private readonly cells: Int32Array;
  readonly slots: number;

  constructor(
    buffer: SharedArrayBuffer,
    private readonly aliases: readonly string[],
  ) {
    this.cells = new Int32Array(buffer);
    this.slots = Math.floor(this.cells.length / 3);
  }

  static create(slots: number): SharedArrayBuffer {
    return new SharedArrayBuffer(slots * 3 * 4);
  }

  /** Record an open connection of thread `tid`. Returns false when the table is full. */
  add(tid: number, alias: string, serverId: number): boolean {
    const a = this.aliases.indexOf(alias) + 1;
    if (a === 0 || !Number.isInteger(serverId) || serverId <= 0 || serverId > 0x7fffffff) return false;
    for (let s = 0; s < this.slots; s++) {
      if (Atomics.compareExchange(this.cells, 3 * s, 0, tid + 1) === 0) {
        Atomics.store(this.cells, 3 * s + 1, a);
        Atomics.store(this.cells, 3 * s + 2, serverId);
        return true;
      }
    }
    return false;
  }

  /** Forget a connection of thread `tid` that closed. */
  remove(tid: number, alias: string, serverId: number): void {
    const a = this.aliases.indexOf(alias) + 1;
    for (let s = 0; s < this.slots; s++) {
      if (
        Atomics.load(this.cells, 3 * s) === tid + 1 &&
        Atomics.load(this.cells, 3 * s + 1) === a &&
        Atomics.load(this.cells, 3 * s + 2) === serverId
      ) {
        this.free(s);
        return;
      }
    }
  }

  /** The connections recorded as open for thread `tid`: `[alias, serverId]`. */
  entries(tid: number): Array<[string, number]> {
    const out: Array<[string, number]> = [];
    for (let s = 0; s < this.slots; s++) {
      if (Atomics.load(this.cells, 3 * s) !== tid + 1) continue;
      const a = Atomics.load(this.cells, 3 * s + 1);
      if (a > 0) out.push([this.aliases[a - 1] as string, Atomics.load(this.cells, 3 * s + 2)]);
    }
    return out;
  }

  /** Threads with rows. */
  owners(): number[] {
    const out = new Set<number>();
    for (let s = 0; s < this.slots; s++) {
      const o = Atomics.load(this.cells, 3 * s);
      if (o > 0) out.add(o - 1);
    }
    return [...out];
  }

  /** Forget every row of thread `tid` (after it died and was cleaned up after). */
  clear(tid: number): void {
    for (let s = 0; s < this.slots; s++) if (Atomics.load(this.cells, 3 * s) === tid + 1) this.free(s);
  }

  private free(s: number): void {
    Atomics.store(this.cells, 3 * s + 1, 0);
    Atomics.store(this.cells, 3 * s + 2, 0);
    Atomics.store(this.cells, 3 * s, 0);
  }
}
