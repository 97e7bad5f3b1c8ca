/**
 * Linking a worker thread to its parent: the parent's database settings reach the worker
 * (without the user repeating them in the worker file), and when the worker is gone the parent
 * cleans up after it: it gives back the worker's share of a process-wide budget and, for
 * servers that do not notice a vanished client mid-query (MariaDB/MySQL run the statement to its
 * end), it kills the worker's connections still alive on the server.
 *
 * The worker records the server-side id of each connection it opens in a small
 * `SharedArrayBuffer` (the registry), which the parent can read after the worker died, whatever
 * way it died (`terminate()`, a crash, `process.exit()`).
 *
 * ### Examples
 * ```ts
 * // parent
 * const link = prepareWorker({ max: { default: 1 } });
 * const worker = new Worker('./job.js', { workerData: { ...link.workerData, id: 42 } });
 * link.attach(worker);
 * // job.js: settings arrive from the parent on first use; or call configure(workerSettings())
 * await scope(() => sql`SELECT 1`);
 * ```
 */
import { workerData as currentWorkerData } from 'node:worker_threads';
import { backendFor } from './backends';
import type { RawConnection } from './backends/backend';
import { ConfigError } from './errors';
import type { WorkerExitEvent } from './events';
import type { HandlerState } from './handler-state';
import { messages } from './messages';
import type { DatabaseSettings, ResolvedDatabaseSettings, Settings, SharedBudgetHandle } from './settings';
import { SharedBudget } from './shared-budget';

/** How many open connections (all workers and aliases together) a registry records. */
const REGISTRY_SLOTS = 2048;

/** What travels to the worker in `workerData.spool`. */
export interface WorkerSpoolData {
  readonly kind: 'spool.worker';
  /** The serialisable part of the parent's settings (routers and logger stay behind). */
  readonly settings: {
    databases: Record<string, DatabaseSettings>;
    strict?: boolean;
    captureStacks?: boolean | 'always';
    drainMs?: number;
  };
  readonly sharedBudget?: SharedBudgetHandle;
  /** Rows (owner threadId + 1, alias index + 1, server id) of the workers' open connections. */
  readonly registry: SharedArrayBuffer;
  readonly aliases: readonly string[];
}

export interface PrepareWorkerOptions {
  /** Per-alias budget of the worker (its `max`), e.g. `{ default: 1 }`. Default: the worker default (1). */
  max?: Record<string, number>;
  /** Other per-alias overrides for the worker (e.g. `maxAge`). */
  overrides?: Record<string, Partial<DatabaseSettings>>;
  /** A process-wide budget shared by the worker (and its siblings). */
  budget?: SharedBudget;
}

/** What `prepareWorker()` returns. */
export interface WorkerLink {
  /** Spread into the worker's `workerData`. */
  workerData: { spool: WorkerSpoolData };
  /** Watch `worker`; resolves, after it exited, once the clean-up is done. */
  attach(worker: WorkerLike): Promise<WorkerExitEvent>;
}

/** Something with a thread id that emits `exit` (a `Worker`). */
export interface WorkerLike {
  readonly threadId: number;
  once(event: 'exit', listener: (code: number) => void): unknown;
}

/**
 * The server-side ids of the connections each worker has open, in a `SharedArrayBuffer` the
 * parent can still read after a worker died, however it died. One registry may serve many
 * workers (the same `workerData` is often given to all of a pool's workers), so every row
 * carries its owner's thread id, and after a worker died only its own rows are read. Used by
 * `prepareWorker()` and by pool libraries (`@spool/workers`).
 *
 * Layout (Int32Array, S slots × 3): `[owner threadId + 1, alias index + 1, server id]`, owner 0 = free.
 */
export class WorkerRegistry {
  private readonly cells: Int32Array;
  private readonly slots: number;

  constructor(
    buffer: SharedArrayBuffer,
    private readonly aliases: readonly string[],
  ) {
    this.cells = new Int32Array(buffer);
    this.slots = Math.floor(this.cells.length / 3);
  }

  /** A buffer for `slots` rows (open connections of all workers together). */
  static create(slots = REGISTRY_SLOTS): SharedArrayBuffer {
    return new SharedArrayBuffer(slots * 3 * 4);
  }

  /** Record an open connection of thread `tid`. False when it cannot be tracked (full, no server id). */
  add(tid: number, alias: string, serverId: number): boolean {
    const a = this.aliases.indexOf(alias) + 1;
    if (a === 0 || !Number.isInteger(serverId) || serverId <= 0 || serverId > 0x7fffffff) return false;
    for (let s = 0; s < this.slots; s++) {
      // Claim the slot atomically: several workers write to the same registry.
      if (Atomics.compareExchange(this.cells, 3 * s, 0, tid + 1) === 0) {
        Atomics.store(this.cells, 3 * s + 1, a);
        Atomics.store(this.cells, 3 * s + 2, serverId);
        return true;
      }
    }
    return false;
  }

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

  /** Connections of thread `tid` recorded as open: `[alias, serverId]`. */
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

  /** Forget every row of thread `tid` (it is gone and was cleaned up after). */
  clear(tid: number): void {
    for (let s = 0; s < this.slots; s++) if (Atomics.load(this.cells, 3 * s) === tid + 1) this.free(s);
  }

  private free(s: number): void {
    Atomics.store(this.cells, 3 * s + 1, 0);
    Atomics.store(this.cells, 3 * s + 2, 0);
    Atomics.store(this.cells, 3 * s, 0);
  }
}

/** Is `value` the data a parent put in `workerData.spool`? */
export function isWorkerSpoolData(value: unknown): value is WorkerSpoolData {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'spool.worker';
}

/** The Spool data the parent passed to this worker, if any. */
export function inheritedWorkerData(): WorkerSpoolData | undefined {
  const data = (currentWorkerData as { spool?: unknown } | null | undefined)?.spool;
  return isWorkerSpoolData(data) ? data : undefined;
}

/**
 * The settings the parent passed to this worker (through `prepareWorker()` or `@spool/workers`),
 * ready for `configure()`. Add routers or a logger of the worker's own before configuring if
 * needed. Throws `ConfigError` when the worker was not started with them.
 */
export function workerSettings(): Settings {
  const data = inheritedWorkerData();
  if (!data) throw new ConfigError(messages.notConfigured());
  return settingsFromWorkerData(data);
}

/** @internal */
export function settingsFromWorkerData(data: WorkerSpoolData): Settings {
  const s: Settings = { databases: data.settings.databases };
  if (data.settings.strict !== undefined) s.strict = data.settings.strict;
  if (data.settings.captureStacks !== undefined) s.captureStacks = data.settings.captureStacks;
  if (data.settings.drainMs !== undefined) s.drainMs = data.settings.drainMs;
  if (data.sharedBudget) s.sharedBudget = data.sharedBudget;
  return s;
}

/** Build the `workerData.spool` payload from the parent's settings. @internal */
export function buildWorkerData(parent: Settings, options: PrepareWorkerOptions): WorkerSpoolData {
  const databases: Record<string, DatabaseSettings> = {};
  for (const [alias, db] of Object.entries(parent.databases)) {
    const max = options.max?.[alias];
    const copy: DatabaseSettings = { ...db, ...(options.overrides?.[alias] ?? {}) };
    if (max !== undefined) copy.max = max;
    databases[alias] = copy;
  }
  try {
    structuredClone(databases);
  } catch (err) {
    throw new ConfigError(messages.workerSettingsNotCloneable((err as Error).message), { cause: err, option: 'databases' });
  }
  const settings: WorkerSpoolData['settings'] = { databases };
  if (parent.strict !== undefined) settings.strict = parent.strict;
  if (parent.captureStacks !== undefined) settings.captureStacks = parent.captureStacks;
  if (parent.drainMs !== undefined) settings.drainMs = parent.drainMs;
  const budget = options.budget ?? parent.sharedBudget;
  const data: WorkerSpoolData = {
    kind: 'spool.worker',
    settings,
    registry: WorkerRegistry.create(),
    aliases: Object.keys(databases),
    ...(budget
      ? { sharedBudget: 'handle' in budget && typeof budget.handle === 'function' ? budget.handle() : (budget as SharedBudgetHandle) }
      : {}),
  };
  return data;
}

/**
 * Prepare a worker thread of the thread `state` belongs to: its `workerData` carries the settings
 * (with the overrides given), the registry and the budget handle; `attach(worker)` cleans up
 * after it once it exited.
 */
export function prepareWorker(state: HandlerState, options: PrepareWorkerOptions): WorkerLink {
  const data = buildWorkerData(state.requireSettings().raw, options);
  const budget = data.sharedBudget ? SharedBudget.from(data.sharedBudget) : undefined;
  return {
    workerData: { spool: data },
    attach: (worker) => {
      const tid = worker.threadId;
      return new Promise<WorkerExitEvent>((resolve) => {
        worker.once('exit', () => {
          void cleanUpAfterWorker(state, tid, data, budget).then(resolve);
        });
      });
    },
  };
}

/**
 * After a worker is gone: end on the server what it left open (MariaDB/MySQL would otherwise run
 * a statement in flight to its end), then give back its budget units, so that its replacement
 * can never push the server-side count above the budget.
 */
async function cleanUpAfterWorker(
  state: HandlerState,
  tid: number,
  data: WorkerSpoolData,
  budget: SharedBudget | undefined,
): Promise<WorkerExitEvent> {
  const registry = new WorkerRegistry(data.registry, data.aliases);
  const left = registry.entries(tid);
  registry.clear(tid);
  let killed = 0;
  const byAlias = new Map<string, number[]>();
  for (const [alias, id] of left) byAlias.set(alias, [...(byAlias.get(alias) ?? []), id]);
  for (const [alias, ids] of byAlias) {
    const db = state.settings?.databases.get(alias);
    if (db) killed += await killLeftovers(db, ids);
  }
  const reclaimed = budget ? budget.reclaim(tid) : 0;
  const event: WorkerExitEvent = { threadId: tid, leftOpen: left.length, killed, reclaimed };
  state.events.emit('workerExit', event);
  return event;
}

/**
 * End server connections `ids` over a one-off connection with `db`'s settings (the same user, who
 * may end its own sessions), through the backend's admin part. Returns how many were ended.
 */
async function killLeftovers(db: ResolvedDatabaseSettings, ids: number[]): Promise<number> {
  const backend = backendFor(db.driver);
  const admin = backend.admin;
  if (admin === undefined) return 0; // no server: the worker's handles closed with its thread
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
