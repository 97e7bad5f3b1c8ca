/**
 * `WorkerPool`: `concurrent.futures.ThreadPoolExecutor` for Node, on piscina, that cannot leak
 * database connections. A thin facade over piscina plus the lifecycle Spool adds:
 *
 * - each task runs in a scope in its worker (`task()`), so its connections are released when it
 *   ends, per `maxAge`, whether it returns, throws, times out or is aborted;
 * - every worker gets the database settings of this thread (`connections.prepareWorker()`), a
 *   budget of `perWorker` connections per alias (1 by default), and all share one process-wide
 *   budget (`budget`, never above `workers × perWorker`), so W workers never hold more than that;
 * - when a worker dies (terminated on a timeout or an abort, `process.exit()`, a crash), the
 *   pool closes what the server still runs for it before giving its budget back, and piscina
 *   starts a replacement; the task is reported failed, never lost;
 * - `close()` lets tasks finish up to a deadline, closes every worker's connections, then the
 *   workers.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import {
  ConfigError,
  ConnectionHandler,
  SharedBudget,
  WorkerRegistry,
  connections,
  sumStats,
  type AliasStats,
  type DatabaseSettings,
  type Logger,
  type ThreadStats,
} from '@spool/connections';
import { ENVELOPE, isFailure, reviveError, type TaskEnvelope } from './envelope';
import { PoolClosedError, TaskAbortedError, TaskTimeoutError, TaskTransferError, WorkerExitedError, WorkerPoolError } from './errors';
import { messages } from './messages';
import {
  resolveCloseOptions,
  resolveMapOptions,
  resolvePoolOptions,
  resolveRunOptions,
  type CloseOptions,
  type MapOptions,
  type ResolvedPoolOptions,
  type RunOptions,
  type WorkerPoolOptions,
} from './options';
import { PoolChannel, type StrayReport } from './pool-channel';
import { ServerAdmin, type CapacityReport } from './server-admin';
import type { PoolWorkerData } from './worker-entry';

/** The outcome of one item of `map(items, { settled: true })`. */
export type TaskOutcome<A, R> = { ok: true; value: R; item: A; index: number } | { ok: false; error: unknown; item: A; index: number };

/** Counters of the pool's tasks. */
export interface TaskCounters {
  /** Waiting for a worker. */
  queued: number;
  /** On a worker now. */
  running: number;
  /** Resolved. */
  completed: number;
  /** Rejected, for any reason (the next counters break some of them down). */
  failed: number;
  timedOut: number;
  aborted: number;
  /** Failed because their worker exited or crashed under them. */
  workerExited: number;
  /** Failed with `PoolClosedError`. */
  cancelled: number;
}

/** `pool.stats()`: the pool's tasks, budget and workers' connections. */
export interface PoolStats {
  workers: number;
  tasks: TaskCounters;
  /** Per alias: the process-wide budget's limit and the units in use now (all its users). */
  budget: Record<string, { limit: number; inUse: number }>;
  /** Each worker's connection stats (open, leased, idle, opens, closes… per alias). */
  threads: ThreadStats[];
  /** Sums over `threads`, per alias. */
  totals: Record<string, AliasStats>;
  /** Workers that did not answer in time (busy in synchronous code). */
  unresponsive: number[];
  /** Workers that died since the pool started. */
  workerExits: number;
}

/** What the `workerExit` event carries. */
/**
 * An error raised by a task's code after the task had returned (a timer that threw, a rejection
 * nobody handled): the task had already settled, so it is reported here instead of failing the
 * next task on that worker.
 */
export interface TaskErrorEvent {
  taskId: number;
  taskName: string | undefined;
  threadId: number;
  origin: 'uncaughtException' | 'unhandledRejection';
  error: unknown;
}

export interface WorkerExitEvent {
  threadId: number;
  exitCode: number;
  /** Server connections the worker still had when it died. */
  leftOpen: number;
  /** Of those, how many the server still ran and the pool closed. */
  killed: number;
  /** Budget units given back on its behalf. */
  reclaimed: number;
}

/** What `close()` resolves with. */
export interface CloseReport {
  tasks: TaskCounters;
  /** Tasks still running at the deadline (failed with `PoolClosedError`). */
  forced: number;
  /** Tasks not started that were failed with `PoolClosedError`. */
  cancelled: number;
  /** Connections the workers closed while shutting down. */
  connectionsClosed: number;
  /** Connections the pool closed server-side for workers that died. */
  killed: number;
}

interface PendingTask {
  readonly id: number;
  readonly name: string | undefined;
  readonly handler: string;
  readonly args: unknown;
  readonly transferList: readonly unknown[] | undefined;
  readonly signal: AbortSignal | undefined;
  readonly timeoutMs: number | null;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
  state: 'queued' | 'running' | 'done';
  controller: AbortController | undefined;
  timer: NodeJS.Timeout | undefined;
  onAbort: (() => void) | undefined;
  why: 'timeout' | 'abort' | undefined;
}

let poolSeq = 0;

/**
 * A pool of worker threads running Spool tasks, with the shape of `concurrent.futures`.
 *
 * ### Examples
 * ```ts
 * import { configure } from '@spool/connections';
 * import { WorkerPool } from '@spool/workers';
 *
 * configure({ databases: { default: { client: 'pg', connection: process.env.DATABASE_URL!, maxAge: null } } });
 * const pool = new WorkerPool<{ id: number }, Row[]>({
 *   filename: new URL('./jobs.js', import.meta.url),
 *   workers: 16,
 *   budget: { default: 4 },          // 16 workers, at most 4 PostgreSQL connections between them
 * });
 * const rows = await pool.run({ id: 1 }, { name: 'author 1', timeoutMs: 5_000 });
 * for await (const r of pool.map(ids.map((id) => ({ id })))) console.log(r);
 * await pool.close({ deadlineMs: 5_000 });
 * ```
 * ```ts
 * // jobs.js: the settings arrive from the pool; each call runs in its own scope
 * export default task(async ({ id }) => sql`SELECT * FROM author WHERE id = ${id}`);
 * ```
 *
 * Events: `workerCreate` (`{ threadId }`), `workerExit` (`WorkerExitEvent`), `taskError`
 * (`TaskErrorEvent`: an error a task's code raised after the task returned, e.g. from a timer;
 * without a listener it is logged), `error` (an error a worker raised outside any task; without a
 * listener it is logged, never thrown). Neither crashes the worker or fails another task.
 */
export class WorkerPool<A = unknown, R = unknown> extends EventEmitter {
  readonly #options: ResolvedPoolOptions;
  readonly #piscina: Piscina;
  readonly #budget: SharedBudget;
  readonly #ownBudget: boolean;
  readonly #table: WorkerRegistry;
  readonly #channel: PoolChannel;
  readonly #admin: ServerAdmin;
  readonly #logger: Logger;
  readonly #queue: PendingTask[] = [];
  readonly #running = new Set<PendingTask>();
  readonly #hooked = new WeakSet<Worker>();
  readonly #live = new Set<number>();
  /** Live workers whose end of the pool channel listens. */
  readonly #listening = new Set<number>();
  readonly #reaping = new Set<Promise<void>>();
  readonly #idleWaiters: Array<() => void> = [];
  readonly #counters: TaskCounters = {
    queued: 0,
    running: 0,
    completed: 0,
    failed: 0,
    timedOut: 0,
    aborted: 0,
    workerExited: 0,
    cancelled: 0,
  };
  #nextTaskId = 0;
  #workerExits = 0;
  /** Exit codes of workers that exited while the pool was closing (reaped together by close()). */
  readonly #exitCodes = new Map<number, number>();
  #killed = 0;
  #state: 'open' | 'closing' | 'closed' = 'open';
  #forcedDeadline: number | undefined;
  #closing: Promise<CloseReport> | undefined;
  #capacity: Promise<CapacityReport[]> | undefined;

  /**
   * Start the pool's workers. This thread must be configured (`configure()`): its settings reach
   * every worker. Throws `ConfigError` for bad options, naming the option.
   */
  constructor(options: WorkerPoolOptions) {
    super();
    if (!connections.configured) throw new ConfigError(messages.notConfigured());
    const aliases = connections.aliases();
    const o = resolvePoolOptions(options, aliases);
    this.#options = o;
    const raw = connections.rawSettings();
    this.#logger = o.logger ?? raw.logger ?? { warn: (m: string) => console.warn(`[spool] ${m}`) };

    // Each worker may hold perWorker[alias] connections; the pool as a whole never more than
    // workers × perWorker, nor more than the user's budget. A budget at exactly workers × perWorker
    // still matters: a dead worker's units come back only once its server connections are gone.
    const perWorker: Record<string, number> = {};
    for (const a of aliases) perWorker[a] = o.perWorker[a] ?? 1;
    if (o.budget instanceof SharedBudget) {
      this.#budget = o.budget;
      this.#ownBudget = false;
    } else {
      const limits: Record<string, number> = {};
      for (const a of aliases) limits[a] = Math.min(o.budget?.[a] ?? Infinity, o.workers * (perWorker[a] as number));
      this.#budget = SharedBudget.create(limits, { threads: Math.max(256, 4 * o.workers + 16) });
      this.#ownBudget = true;
    }

    const link = connections.prepareWorker({ max: perWorker, overrides: o.databases, budget: this.#budget });
    const workerDatabases = link.workerData.spool.settings.databases;
    validateWorkerSettings(workerDatabases);
    const serverAliases = aliases.filter((a) => !isSqlite(workerDatabases[a]));
    const tableBuffer = WorkerRegistry.create(Math.max(256, 4 * o.workers * serverAliases.length + 64));
    this.#table = new WorkerRegistry(tableBuffer, serverAliases);
    const channel = `spool:pool:${process.pid}:${++poolSeq}:${randomUUID()}`;
    this.#channel = new PoolChannel(channel);
    this.#channel.onHello = (tid) => {
      this.#listening.add(tid);
      this.#hook();
    };
    this.#channel.onStray = (report) => this.#stray(report);
    this.#admin = new ServerAdmin(workerDatabases, this.#ownBudget ? this.#budget : undefined, o.logger ?? raw.logger);
    const spoolPool: PoolWorkerData = {
      kind: 'spool.pool',
      filename: o.filename,
      channel,
      table: tableBuffer,
      aliases: serverAliases,
    };

    this.#piscina = new Piscina({
      filename: require.resolve('./worker-entry'),
      name: 'default',
      minThreads: o.workers,
      maxThreads: o.workers,
      idleTimeout: Infinity,
      maxQueue: Infinity as unknown as number,
      concurrentTasksPerWorker: 1,
      // Let the workers' event loops turn between tasks (idle timeouts, budget pressure, stats).
      atomics: 'disabled',
      workerData: { ...o.workerData, spool: link.workerData.spool, spoolPool },
      ...(o.resourceLimits ? { resourceLimits: o.resourceLimits } : {}),
      ...(o.env ? { env: o.env } : {}),
      ...(o.execArgv ? { execArgv: o.execArgv } : {}),
      ...(o.argv ? { argv: o.argv } : {}),
    });
    this.#piscina.on('workerCreate', (w: { id: number }) => {
      this.#hook();
      this.emit('workerCreate', { threadId: w.id });
    });
    this.#piscina.on('workerDestroy', () => this.#hook());
    this.#piscina.on('error', (err: unknown) => {
      if (this.listenerCount('error') > 0) this.emit('error', err);
      else this.#logger.warn(messages.unhandledWorkerError((err as Error)?.stack ?? String(err)));
    });
    this.#hook();
    if (o.checkCapacity) void this.checkCapacity();
  }

  /** The number of workers the pool keeps. */
  get workers(): number {
    return this.#options.workers;
  }

  /** The worker threads alive now. */
  get threads(): Worker[] {
    return this.#piscina.threads;
  }

  /** The process-wide budget the workers share. */
  get budget(): SharedBudget {
    return this.#budget;
  }

  /** `'open'`, `'closing'` or `'closed'`. */
  get state(): 'open' | 'closing' | 'closed' {
    return this.#state;
  }

  /**
   * Compare `workers × perWorker` (capped by the budget) with each server's connection limits
   * (PostgreSQL: `max_connections` minus the reserved ones, the role's and the database's
   * `CONNECTION LIMIT`; MariaDB/MySQL: `max_connections` and the user's `max_user_connections`),
   * counting the connections already in use, and warn when the pool may not fit. Runs once, at
   * start (unless `checkCapacity: false`); the same promise is returned afterwards. Never rejects.
   */
  checkCapacity(): Promise<CapacityReport[]> {
    if (!this.#capacity) this.#capacity = this.#runCapacityCheck();
    return this.#capacity;
  }

  async #runCapacityCheck(): Promise<CapacityReport[]> {
    const out: CapacityReport[] = [];
    for (const alias of connections.aliases()) {
      const perWorker = this.#options.perWorker[alias] ?? 1;
      const planned = this.#budget.covers(alias) ? Math.min(this.#budget.limit(alias), this.workers * perWorker) : this.workers * perWorker;
      try {
        const limits = await this.#admin.limits(alias);
        if (!limits) continue;
        const report: CapacityReport = { alias, planned, ...limits, ok: planned <= limits.limit - limits.inUse };
        if (!report.ok) {
          const budget = this.#budget.covers(alias) ? this.#budget.limit(alias) : undefined;
          report.warning = messages.capacity({ ...report, workers: this.workers, perWorker, budget, inUse: limits.inUse || undefined });
          this.#logger.warn(report.warning);
        }
        out.push(report);
      } catch (err) {
        this.#logger.warn(messages.capacityUnknown(alias, (err as Error)?.message ?? String(err)));
      }
    }
    return out;
  }

  /**
   * Run one task: `args` go to the worker file's `task()` function, which runs in its own scope.
   * Resolves with its value; rejects with what it threw (rebuilt here with its class and fields),
   * or with `TaskTimeoutError`, `TaskAbortedError`, `WorkerExitedError`, `TaskTransferError`,
   * `PoolClosedError`. Never lost: every call settles, even when its worker dies.
   */
  run(args: A, options?: RunOptions): Promise<R> {
    let o: ReturnType<typeof resolveRunOptions>;
    try {
      o = resolveRunOptions(options);
    } catch (err) {
      return Promise.reject(err);
    }
    const id = ++this.#nextTaskId;
    if (this.#state !== 'open') {
      this.#counters.failed += 1;
      this.#counters.cancelled += 1;
      return Promise.reject(
        new PoolClosedError(messages.poolClosed(messages.describePool(this.#options.name)), { taskName: o.name, taskId: id }),
      );
    }
    if (o.signal?.aborted) {
      this.#counters.failed += 1;
      this.#counters.aborted += 1;
      return Promise.reject(
        new TaskAbortedError(messages.taskAborted(messages.describeTask(o.name, id), o.signal.reason), {
          taskName: o.name,
          taskId: id,
          cause: o.signal.reason,
        }),
      );
    }
    return new Promise<R>((resolve, reject) => {
      const t: PendingTask = {
        id,
        name: o.name,
        handler: o.handler ?? this.#options.handler,
        args,
        transferList: o.transferList,
        signal: o.signal,
        timeoutMs: o.timeoutMs === undefined ? this.#options.timeoutMs : o.timeoutMs,
        resolve: resolve as (v: unknown) => void,
        reject,
        state: 'queued',
        controller: undefined,
        timer: undefined,
        onAbort: undefined,
        why: undefined,
      };
      if (t.signal) {
        t.onAbort = () => this.#abort(t);
        t.signal.addEventListener('abort', t.onAbort, { once: true });
      }
      this.#queue.push(t);
      this.#counters.queued += 1;
      this.#pump();
    });
  }

  /**
   * Run a task per item, at most `concurrency` in flight, yielding results as they complete (not
   * in input order). `items` may be any iterable or async iterable, read lazily (a stream of CSV
   * rows, say). By default the first failure is thrown (tasks in flight finish, no new ones
   * start); `{ settled: true }` yields every outcome and never throws. Leaving the loop early
   * stops starting new tasks.
   *
   * ### Examples
   * ```ts
   * for await (const count of pool.map(chunks, { concurrency: 8 })) imported += count;
   * for await (const o of pool.map(jobs, { settled: true })) if (!o.ok) console.error(o.item, o.error);
   * ```
   */
  map(
    items: Iterable<A> | AsyncIterable<A>,
    options: MapOptions<A> & { settled: true },
  ): AsyncGenerator<TaskOutcome<A, R>, void, undefined>;
  map(items: Iterable<A> | AsyncIterable<A>, options?: MapOptions<A> & { settled?: false }): AsyncGenerator<R, void, undefined>;
  map(items: Iterable<A> | AsyncIterable<A>, options?: MapOptions<A>): AsyncGenerator<R | TaskOutcome<A, R>, void, undefined>;
  map(items: Iterable<A> | AsyncIterable<A>, options?: MapOptions<A>): AsyncGenerator<R | TaskOutcome<A, R>, void, undefined> {
    let o: ReturnType<typeof resolveMapOptions<A>>;
    const source = items as Partial<Iterable<A> & AsyncIterable<A>> | null | undefined;
    try {
      o = resolveMapOptions<A>(options, this.workers);
      if (source == null || (typeof source[Symbol.asyncIterator] !== 'function' && typeof source[Symbol.iterator] !== 'function')) {
        throw new ConfigError(messages.badOption('pool.map()', 'items', 'an iterable or async iterable', items), { option: 'items' });
      }
    } catch (err) {
      // Async APIs reject rather than throw: the error comes out of the first next().
      // eslint-disable-next-line require-yield -- it only rejects, at the first next()
      return (async function* failed(): AsyncGenerator<never, void, undefined> {
        throw err;
      })();
    }
    return this.#map(source as Iterable<A> | AsyncIterable<A>, o);
  }

  async *#map(
    items: Iterable<A> | AsyncIterable<A>,
    o: ReturnType<typeof resolveMapOptions<A>>,
  ): AsyncGenerator<R | TaskOutcome<A, R>, void, undefined> {
    const it: Iterator<A> | AsyncIterator<A> =
      typeof (items as AsyncIterable<A>)[Symbol.asyncIterator] === 'function'
        ? (items as AsyncIterable<A>)[Symbol.asyncIterator]()
        : (items as Iterable<A>)[Symbol.iterator]();
    const ready: Array<TaskOutcome<A, R>> = [];
    let wake: (() => void) | undefined;
    let inFlight = 0;
    let index = 0;
    let exhausted = false;
    let stopped = false;
    const settle = (outcome: TaskOutcome<A, R>) => {
      if (stopped) return;
      ready.push(outcome);
      wake?.();
    };
    const runOptions: RunOptions = {};
    if (o.signal) runOptions.signal = o.signal;
    if (o.timeoutMs !== undefined && typeof o.timeoutMs !== 'function') runOptions.timeoutMs = o.timeoutMs;
    if (o.handler) runOptions.handler = o.handler;
    const perItem = typeof o.name === 'function' || typeof o.timeoutMs === 'function';
    try {
      for (;;) {
        while (!exhausted && !stopped && inFlight < o.concurrency) {
          const next = await it.next();
          if (next.done) {
            exhausted = true;
            break;
          }
          const item = next.value;
          const i = index++;
          let options = runOptions;
          if (perItem || o.name !== undefined) {
            options = { ...runOptions };
            const name = typeof o.name === 'function' ? o.name(item, i) : o.name;
            if (name !== undefined) options.name = name;
            if (typeof o.timeoutMs === 'function') {
              const ms = o.timeoutMs(item, i);
              if (ms !== undefined) options.timeoutMs = ms;
            }
          }
          inFlight += 1;
          this.run(item, options).then(
            (value) => settle({ ok: true, value, item, index: i }),
            (error: unknown) => settle({ ok: false, error, item, index: i }),
          );
        }
        if (ready.length === 0) {
          if (inFlight === 0) return;
          await new Promise<void>((r) => (wake = r));
          wake = undefined;
          continue;
        }
        const outcome = ready.shift() as TaskOutcome<A, R>;
        inFlight -= 1;
        if (o.settled) yield outcome;
        else if (outcome.ok) yield outcome.value;
        else throw outcome.error;
      }
    } finally {
      stopped = true;
      if (!exhausted) await it.return?.();
    }
  }

  /**
   * Connection stats of the pool's workers (open, leased, idle, opens, closes… per alias per
   * worker, and their sums), with the pool's task counters and budget. Workers answer between
   * tasks; one busy in synchronous code past `timeoutMs` (default 500) is listed as unresponsive.
   * (`connections.stats({ everywhere: true })` gives the same per thread for the whole process.)
   */
  async stats(options: { timeoutMs?: number } = {}): Promise<PoolStats> {
    const live = [...this.#listening];
    const answers = await this.#channel.request('stats', live, options.timeoutMs ?? 500);
    const threads = [...answers.values()].filter((s): s is ThreadStats => typeof s === 'object' && s !== null && 'aliases' in s);
    const budget: PoolStats['budget'] = {};
    for (const a of this.#budget.aliases) budget[a] = { limit: this.#budget.limit(a), inUse: this.#budget.inUse(a) };
    return {
      workers: this.workers,
      tasks: { ...this.#counters },
      budget,
      threads,
      totals: sumStats(threads),
      unresponsive: live.filter((t) => !answers.has(t)),
      workerExits: this.#workerExits,
    };
  }

  /**
   * Close the idle connections of every worker of the pool (connections held by running tasks
   * stay with them). Resolves with the number closed. (`connections.closeAll({ everywhere: true })`
   * does it in every thread of the process.)
   */
  async closeAll(options: { timeoutMs?: number } = {}): Promise<number> {
    const answers = await this.#channel.request('closeAll', [...this.#listening], options.timeoutMs ?? 1000);
    let n = 0;
    for (const v of answers.values()) if (typeof v === 'number') n += v;
    return n;
  }

  /**
   * Stop taking tasks, let queued and running ones finish up to `deadlineMs` (then fail them
   * with `PoolClosedError`, terminating their workers), close every worker's connections, stop
   * the workers, and close on the server whatever a dead worker left. Resolves once all of it is
   * done: the server-side count of the pool's connections is then 0. Idempotent.
   */
  close(options?: CloseOptions): Promise<CloseReport> {
    let o: ReturnType<typeof resolveCloseOptions>;
    try {
      o = resolveCloseOptions(options);
    } catch (err) {
      return Promise.reject(err);
    }
    if (!this.#closing) this.#closing = this.#close(o.deadlineMs, o.cancelPending);
    return this.#closing;
  }

  async #close(deadlineMs: number, cancelPending: boolean): Promise<CloseReport> {
    this.#state = 'closing';
    const deadlineAt = Date.now() + deadlineMs;
    const pool = messages.describePool(this.#options.name);
    let cancelled = 0;
    const cancelQueued = () => {
      for (const t of this.#queue.splice(0)) {
        cancelled += 1;
        this.#counters.queued -= 1;
        this.#fail(
          t,
          new PoolClosedError(messages.poolClosedPending(pool, messages.describeTask(t.name, t.id)), { taskName: t.name, taskId: t.id }),
        );
      }
    };
    if (cancelPending) cancelQueued();
    if (!this.#idle()) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.#idleWaiters.push(resolve);
        timer = setTimeout(resolve, deadlineMs);
      });
      clearTimeout(timer);
    }
    const forced = this.#running.size;
    if (!this.#idle()) {
      cancelQueued();
      this.#forcedDeadline = deadlineMs;
    }
    // Let each worker close its idle connections politely (a proper goodbye to the server) before
    // piscina terminates it. Connections of tasks cut off at the deadline, and of a worker that
    // cannot answer, close with the thread; what the server still runs for them is killed in #reap.
    // The deadline is the deadline: the goodbye gets what is left of it, and a short grace once it
    // has passed (a worker stuck in synchronous code never answers).
    const answers = await this.#channel.request('closeAll', [...this.#listening], goodbyeMs(deadlineAt - Date.now()));
    let connectionsClosed = 0;
    for (const v of answers.values()) if (typeof v === 'number') connectionsClosed += v;
    await this.#piscina.destroy();
    await Promise.allSettled([...this.#reaping]);
    // What the workers left on the servers (tasks cut off at the deadline), and threads that died
    // before the pool could follow them (during start-up): ended in one batch per alias, outside
    // the budget, since nothing new starts now.
    await this.#reapAll([...new Set([...this.#exitCodes.keys(), ...this.#table.owners()])]);
    await this.#admin.close();
    this.#channel.close();
    this.#state = 'closed';
    return { tasks: { ...this.#counters }, forced, cancelled, connectionsClosed, killed: this.#killed };
  }

  // ---- dispatch ---------------------------------------------------------------------------------

  #idle(): boolean {
    return this.#queue.length === 0 && this.#running.size === 0;
  }

  #pump(): void {
    while (this.#running.size < this.workers && this.#queue.length > 0) {
      const t = this.#queue.shift() as PendingTask;
      this.#counters.queued -= 1;
      this.#start(t);
    }
  }

  #start(t: PendingTask): void {
    t.state = 'running';
    this.#running.add(t);
    this.#counters.running += 1;
    if (t.signal || t.timeoutMs !== null) t.controller = new AbortController();
    if (t.timeoutMs !== null) {
      const ms = t.timeoutMs;
      t.timer = setTimeout(() => {
        t.why = 'timeout';
        t.controller?.abort(new Error(`timeout after ${ms} ms`));
      }, ms);
    }
    const envelope: TaskEnvelope = { kind: ENVELOPE, id: t.id, name: t.name, handler: t.handler, args: t.args };
    const runOptions: Record<string, unknown> = {};
    if (t.controller) runOptions.signal = t.controller.signal;
    if (t.transferList) runOptions.transferList = t.transferList;
    this.#piscina.run(envelope, runOptions).then(
      (value: unknown) => {
        if (isFailure(value)) this.#fail(t, reviveError(value.error));
        else this.#succeed(t, value);
      },
      (err: unknown) => this.#fail(t, this.#explain(t, err)),
    );
    // Replacement workers appear while tasks run: follow their exits too.
    this.#hook();
  }

  #abort(t: PendingTask): void {
    if (t.state === 'queued') {
      const i = this.#queue.indexOf(t);
      if (i >= 0) this.#queue.splice(i, 1);
      this.#counters.queued -= 1;
      this.#fail(t, this.#explain(t, undefined, 'abort'));
    } else if (t.state === 'running') {
      t.why = 'abort';
      t.controller?.abort(t.signal?.reason);
    }
  }

  /** Turn piscina's rejection into the pool's error tree. */
  #explain(t: PendingTask, err: unknown, why = t.why): unknown {
    const task = messages.describeTask(t.name, t.id);
    const base = { taskName: t.name, taskId: t.id };
    if (why === 'timeout') {
      return new TaskTimeoutError(messages.taskTimeout(task, t.timeoutMs as number, undefined), {
        ...base,
        timeoutMs: t.timeoutMs as number,
      });
    }
    if (why === 'abort') return new TaskAbortedError(messages.taskAborted(task, t.signal?.reason), { ...base, cause: t.signal?.reason });
    if (this.#forcedDeadline !== undefined) {
      return new PoolClosedError(messages.poolClosedRunning(messages.describePool(this.#options.name), task, this.#forcedDeadline), {
        ...base,
        cause: err,
      });
    }
    const message = describeRejection(err);
    const exit = /worker exited with code: (-?\d+)/.exec(message);
    if (exit) {
      const exitCode = Number(exit[1]);
      return new WorkerExitedError(messages.workerExited(task, exitCode), { ...base, exitCode, cause: err });
    }
    if (message === 'Terminating worker thread')
      return new WorkerExitedError(messages.workerExited(task, undefined), { ...base, cause: err });
    if ((err as Error)?.name === 'DataCloneError' || /could not be cloned/i.test(message)) {
      return new TaskTransferError(messages.notTransferable(task, message), { ...base, cause: err });
    }
    if (err instanceof WorkerPoolError) return err;
    return new WorkerExitedError(messages.workerCrashed(task, message), { ...base, cause: err });
  }

  #succeed(t: PendingTask, value: unknown): void {
    if (!this.#finish(t)) return;
    this.#counters.completed += 1;
    t.resolve(value);
  }

  #fail(t: PendingTask, error: unknown): void {
    if (!this.#finish(t)) return;
    this.#counters.failed += 1;
    if (error instanceof TaskTimeoutError) this.#counters.timedOut += 1;
    else if (error instanceof TaskAbortedError) this.#counters.aborted += 1;
    else if (error instanceof WorkerExitedError) this.#counters.workerExited += 1;
    else if (error instanceof PoolClosedError) this.#counters.cancelled += 1;
    t.reject(error);
  }

  /** Settle bookkeeping, exactly once per task. */
  #finish(t: PendingTask): boolean {
    if (t.state === 'done') return false;
    if (t.state === 'running') {
      this.#running.delete(t);
      this.#counters.running -= 1;
    }
    t.state = 'done';
    if (t.timer) clearTimeout(t.timer);
    if (t.onAbort) t.signal?.removeEventListener('abort', t.onAbort);
    this.#pump();
    if (this.#idle()) for (const w of this.#idleWaiters.splice(0)) w();
    return true;
  }

  // ---- workers ----------------------------------------------------------------------------------

  /** Follow the exit of every worker piscina started. */
  #hook(): void {
    for (const w of this.#piscina.threads) {
      if (this.#hooked.has(w)) continue;
      this.#hooked.add(w);
      const tid = w.threadId;
      if (tid < 0) continue;
      this.#live.add(tid);
      w.once('exit', (code: number) => {
        this.#live.delete(tid);
        this.#listening.delete(tid);
        // While closing, close() reaps every worker at once when piscina is done with them.
        if (this.#state === 'closing') {
          this.#exitCodes.set(tid, code);
          return;
        }
        if (this.#state === 'closed') {
          // Its connections went with the thread and the servers were cleaned up: only the books.
          this.#reaped(tid, code, this.#table.entries(tid).length, 0);
          return;
        }
        const p = this.#reap(tid, code).finally(() => this.#reaping.delete(p));
        this.#reaping.add(p);
      });
    }
  }

  /**
   * A worker is gone: close on the server what it left open (the server may still run its last
   * statement), then give its budget units back, so that its replacement can never push the
   * server-side count above the budget.
   */
  async #reap(tid: number, exitCode: number): Promise<void> {
    const left = this.#table.entries(tid);
    let killed = 0;
    const byAlias = new Map<string, number[]>();
    for (const [alias, id] of left) byAlias.set(alias, [...(byAlias.get(alias) ?? []), id]);
    for (const [alias, ids] of byAlias) {
      try {
        killed += await this.#admin.kill(alias, ids);
      } catch (err) {
        this.#logger.warn(messages.reapFailed(tid, alias, (err as Error)?.message ?? String(err)));
      }
    }
    this.#reaped(tid, exitCode, left.length, killed);
  }

  /**
   * The workers `tids` are gone and the pool is closing: end what they left on the servers in one
   * batch per alias, outside the budget (nothing new starts), then give back their units.
   */
  async #reapAll(tids: readonly number[]): Promise<void> {
    const left = new Map<number, Array<[string, number]>>();
    const byAlias = new Map<string, number[]>();
    const firstOwner = new Map<string, number>();
    for (const tid of tids) {
      const entries = this.#table.entries(tid);
      left.set(tid, entries);
      for (const [alias, id] of entries) {
        byAlias.set(alias, [...(byAlias.get(alias) ?? []), id]);
        if (!firstOwner.has(alias)) firstOwner.set(alias, tid);
      }
    }
    let killed = 0;
    await Promise.all(
      [...byAlias].map(async ([alias, ids]) => {
        try {
          killed += await this.#admin.kill(alias, ids, false);
        } catch (err) {
          this.#logger.warn(messages.reapFailed(firstOwner.get(alias) ?? -1, alias, (err as Error)?.message ?? String(err)));
        }
      }),
    );
    // Counted once, against the pool; the events say what each worker left.
    for (const tid of tids) this.#reaped(tid, this.#exitCodes.get(tid) ?? -1, left.get(tid)?.length ?? 0, 0);
    this.#killed += killed;
  }

  /**
   * A worker raised an error outside the task it belongs to (a timer that threw, a rejection
   * nobody handled, after the task returned). The worker goes on; the error is reported against
   * the task whose code raised it: event `taskError`, else a warning. Outside any task: `error`.
   */
  #stray(report: StrayReport): void {
    const error = reviveError(report.error);
    if (report.taskId === undefined) {
      if (this.listenerCount('error') > 0) this.emit('error', error);
      else this.#logger.warn(messages.unhandledWorkerError((error as Error)?.stack ?? String(error)));
      return;
    }
    const event: TaskErrorEvent = { taskId: report.taskId, taskName: report.taskName, threadId: report.from, origin: report.origin, error };
    if (this.listenerCount('taskError') > 0) this.emit('taskError', event);
    else
      this.#logger.warn(
        messages.strayTaskError(
          messages.describeTask(report.taskName, report.taskId),
          report.from,
          report.origin,
          describeRejection(error),
        ),
      );
  }

  /** After a worker's clean-up: count, give its budget units back, forget it, tell listeners. */
  #reaped(tid: number, exitCode: number, leftOpen: number, killed: number): void {
    this.#killed += killed;
    const reclaimed = this.#budget.reclaim(tid);
    this.#table.clear(tid);
    this.#exitCodes.delete(tid);
    if (exitCode >= 0) this.#workerExits += 1;
    const event: WorkerExitEvent = { threadId: tid, exitCode, leftOpen, killed, reclaimed };
    this.emit('workerExit', event);
  }
}

/** How long `close()` waits for the workers' goodbyes: what is left of the deadline, within [200, 1000] ms. */
function goodbyeMs(leftMs: number): number {
  return Math.min(1000, Math.max(200, leftMs));
}

/** A rejection's message; a worker's uncaught error may arrive as a plain object. */
function describeRejection(err: unknown): string {
  if (err instanceof Error || (typeof err === 'object' && err !== null && typeof (err as { message?: unknown }).message === 'string')) {
    return String((err as { message: string }).message);
  }
  if (typeof err === 'string') return err;
  try {
    return JSON.stringify(err) ?? String(err);
  } catch {
    return String(err);
  }
}

function isSqlite(db: DatabaseSettings | undefined): boolean {
  const c = db?.client;
  return c === 'better-sqlite3' || c === 'sqlite' || c === 'sqlite3';
}

/** Check the settings the workers will get, so mistakes surface here, not at a worker's first query. */
function validateWorkerSettings(databases: Record<string, DatabaseSettings>): void {
  const probe = new ConnectionHandler({ control: false });
  try {
    probe.configure({ databases });
  } finally {
    void probe.shutdown({ deadlineMs: 0 });
  }
}
