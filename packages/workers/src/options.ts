/**
 * The options of `WorkerPool` and its methods, validated up front: unknown keys are rejected and
 * every message names the option (`new WorkerPool(): option 'workers' must be …`).
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { ResourceLimits } from 'node:worker_threads';
import { ConfigError, SharedBudget, type DatabaseSettings, type Logger } from '@spool/connections';
import { messages } from './messages';

/** Options of `new WorkerPool()`. */
export interface WorkerPoolOptions {
  /** The worker file: it exports `task(fn)` (default export, or the export named by `handler`). A path or a `file:` URL. */
  filename: string | URL;
  /** The export of the worker file to run. Default `'default'`. */
  handler?: string;
  /** How many worker threads. Default: `os.availableParallelism()`. */
  workers?: number;
  /**
   * A process-wide connection budget per alias, shared by all the pool's workers: `{ default: 4 }`
   * lets 16 workers hold at most 4 connections to `default` together. A task that needs a
   * connection when the budget is used up waits (up to the alias's `acquireTimeoutMs`) while
   * workers holding idle connections give them back. Pass a `SharedBudget` to share one budget
   * with other pools or with this thread. Default: no budget below `workers × perWorker`.
   */
  budget?: Record<string, number> | SharedBudget;
  /** Connections per alias each worker may hold (its `max`). Default 1 per alias. */
  perWorker?: Record<string, number>;
  /** Per-alias settings for the workers on top of this thread's, e.g. `{ default: { maxAge: null } }`. */
  databases?: Record<string, Partial<DatabaseSettings>>;
  /** Default time limit of each task in ms, from when a worker takes it; `null` none (default). */
  timeoutMs?: number | null;
  /** Compare `workers × perWorker` (capped by `budget`) with the servers' connection limits at start, and warn. Default true. */
  checkCapacity?: boolean;
  /** Extra data for the workers, read there from `workerData` (node:worker_threads). */
  workerData?: Record<string, unknown>;
  /** A name for the pool, in messages. */
  name?: string;
  /** Where warnings go. Default: the logger given to `configure()`, else `console.warn`. */
  logger?: Logger;
  /** Passed on to each `Worker`. */
  resourceLimits?: ResourceLimits;
  /** Passed on to each `Worker`. */
  env?: Record<string, string>;
  /** Passed on to each `Worker`. */
  execArgv?: string[];
  /** Passed on to each `Worker`. */
  argv?: string[];
}

/** Options of `pool.run()`. */
export interface RunOptions {
  /** The task's name: its scope's name in the worker (leak reports, errors) and in the pool's errors. */
  name?: string;
  /** Abort the task: rejected with `TaskAbortedError`; if it had started, its worker is terminated and replaced. */
  signal?: AbortSignal;
  /** Time limit in ms from when a worker takes the task (overrides the pool's `timeoutMs`; `null` none). */
  timeoutMs?: number | null;
  /** The export of the worker file to run (overrides the pool's `handler`). */
  handler?: string;
  /** Objects to transfer rather than copy (`ArrayBuffer`, `MessagePort`…). */
  transferList?: readonly Transferable[];
}

type Transferable = ArrayBuffer | import('node:worker_threads').MessagePort;

/** Options of `pool.map()`. */
export interface MapOptions<A> {
  /** How many items may be in flight (queued or running) at once. Default: twice the number of workers. */
  concurrency?: number;
  /**
   * Yield `{ ok, value | error, item, index }` for every item instead of values, and never throw
   * for a failed task (`as_completed` with the futures' outcomes). Default false: yield values and
   * throw the first failure (tasks in flight run to their end; no new ones start).
   */
  settled?: boolean;
  /** Abort every task of this map still queued or running. */
  signal?: AbortSignal;
  /** Time limit of each task, as in `run()`, or a function of the item and its index. */
  timeoutMs?: number | null | ((item: A, index: number) => number | null | undefined);
  /** Each task's name, or a function of the item and its index. */
  name?: string | ((item: A, index: number) => string);
  /** The export of the worker file to run. */
  handler?: string;
}

/** Options of `pool.close()`. */
export interface CloseOptions {
  /** How long to let queued and running tasks finish, in ms. Default 5000. After it, running tasks fail with `PoolClosedError`. */
  deadlineMs?: number;
  /** Fail the tasks not started yet at once with `PoolClosedError` instead of running them. Default false. */
  cancelPending?: boolean;
}

/** Options as the pool uses them. @internal */
export interface ResolvedPoolOptions {
  filename: string;
  handler: string;
  workers: number;
  budget: Record<string, number> | SharedBudget | undefined;
  perWorker: Record<string, number>;
  databases: Record<string, Partial<DatabaseSettings>>;
  timeoutMs: number | null;
  checkCapacity: boolean;
  workerData: Record<string, unknown>;
  name: string | undefined;
  logger: Logger | undefined;
  resourceLimits: ResourceLimits | undefined;
  env: Record<string, string> | undefined;
  execArgv: string[] | undefined;
  argv: string[] | undefined;
}

const POOL_KEYS = [
  'filename',
  'handler',
  'workers',
  'budget',
  'perWorker',
  'databases',
  'timeoutMs',
  'checkCapacity',
  'workerData',
  'name',
  'logger',
  'resourceLimits',
  'env',
  'execArgv',
  'argv',
] as const;
const RUN_KEYS = ['name', 'signal', 'timeoutMs', 'handler', 'transferList'] as const;
const MAP_KEYS = ['concurrency', 'settled', 'signal', 'timeoutMs', 'name', 'handler'] as const;
const CLOSE_KEYS = ['deadlineMs', 'cancelPending'] as const;
const RESERVED_WORKER_DATA = ['spool', 'spoolPool'] as const;
const EXPORT_RE = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

const WHERE = 'new WorkerPool()';

function plain(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function checkKeys(where: string, obj: Record<string, unknown>, allowed: readonly string[]): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) throw new ConfigError(messages.unknownOption(where, key, allowed), { option: key });
  }
}

function bad(where: string, option: string, expected: string, got: unknown): ConfigError {
  return new ConfigError(messages.badOption(where, option, expected, got), { option });
}

function positiveInt(where: string, option: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw bad(where, option, 'an integer >= 1', v);
  return v;
}

function timeout(where: string, option: string, v: unknown): number | null | undefined {
  if (v === undefined || v === null) return v;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw bad(where, option, 'a number of ms > 0, or null', v);
  return v;
}

function exportName(where: string, option: string, v: unknown): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !EXPORT_RE.test(v)) throw bad(where, option, 'the name of an export of the worker file', v);
  return v;
}

function signalOption(where: string, v: unknown): AbortSignal | undefined {
  if (v === undefined) return undefined;
  if (!(v instanceof AbortSignal)) throw bad(where, 'signal', 'an AbortSignal', v);
  return v;
}

function aliasCounts(where: string, option: string, v: unknown, aliases: readonly string[]): Record<string, number> {
  if (!plain(v)) throw bad(where, option, 'an object of alias: integer >= 1', v);
  const out: Record<string, number> = {};
  for (const [alias, n] of Object.entries(v)) {
    if (!aliases.includes(alias))
      throw new ConfigError(messages.unknownAlias(where, `${option}.${alias}`, alias, aliases), { option: `${option}.${alias}` });
    out[alias] = positiveInt(where, `${option}.${alias}`, n);
  }
  return out;
}

/** Validate `new WorkerPool()`'s options against the configured `aliases`. @internal */
export function resolvePoolOptions(input: unknown, aliases: readonly string[]): ResolvedPoolOptions {
  if (!plain(input)) throw new ConfigError(messages.notAnObject(`${WHERE} options`, input));
  checkKeys(WHERE, input, POOL_KEYS);
  let filename = input.filename;
  if (filename instanceof URL) {
    if (filename.protocol !== 'file:') throw bad(WHERE, 'filename', 'a file path or a file: URL', filename.href);
    filename = fileURLToPath(filename);
  } else if (typeof filename === 'string' && filename.startsWith('file:')) {
    filename = fileURLToPath(filename);
  }
  if (typeof filename !== 'string' || filename === '') throw bad(WHERE, 'filename', 'a file path or a file: URL', input.filename);
  if (!existsSync(filename)) throw new ConfigError(messages.fileNotFound(filename), { option: 'filename' });
  const workers = input.workers === undefined ? availableParallelism() : positiveInt(WHERE, 'workers', input.workers);
  let budget: ResolvedPoolOptions['budget'];
  if (input.budget instanceof SharedBudget) budget = input.budget;
  else if (input.budget !== undefined) budget = aliasCounts(WHERE, 'budget', input.budget, aliases);
  const perWorker = input.perWorker === undefined ? {} : aliasCounts(WHERE, 'perWorker', input.perWorker, aliases);
  const databases: Record<string, Partial<DatabaseSettings>> = {};
  if (input.databases !== undefined) {
    if (!plain(input.databases)) throw bad(WHERE, 'databases', 'an object of alias: settings', input.databases);
    for (const [alias, s] of Object.entries(input.databases)) {
      if (!aliases.includes(alias)) {
        throw new ConfigError(messages.unknownAlias(WHERE, `databases.${alias}`, alias, aliases), { option: `databases.${alias}` });
      }
      if (!plain(s)) throw bad(WHERE, `databases.${alias}`, 'an object of settings', s);
      if ('max' in s) throw bad(WHERE, `databases.${alias}.max`, `left out: use perWorker: { ${alias}: n }`, s.max);
      databases[alias] = s as Partial<DatabaseSettings>;
    }
  }
  const checkCapacity = input.checkCapacity ?? true;
  if (typeof checkCapacity !== 'boolean') throw bad(WHERE, 'checkCapacity', 'a boolean', checkCapacity);
  const workerData = input.workerData ?? {};
  if (!plain(workerData)) throw bad(WHERE, 'workerData', 'a plain object', workerData);
  for (const k of RESERVED_WORKER_DATA)
    if (k in workerData) throw new ConfigError(messages.reservedWorkerData(k), { option: `workerData.${k}` });
  if (input.name !== undefined && typeof input.name !== 'string') throw bad(WHERE, 'name', 'a string', input.name);
  const logger = input.logger as Logger | undefined;
  if (logger !== undefined && (logger === null || typeof logger.warn !== 'function')) {
    throw bad(WHERE, 'logger', 'an object with a warn(message) method', logger);
  }
  const strings = (option: string, v: unknown): string[] | undefined => {
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) throw bad(WHERE, option, 'an array of strings', v);
    return v as string[];
  };
  if (input.resourceLimits !== undefined && !plain(input.resourceLimits))
    throw bad(WHERE, 'resourceLimits', 'an object', input.resourceLimits);
  if (input.env !== undefined && !plain(input.env)) throw bad(WHERE, 'env', 'an object of strings', input.env);
  return {
    filename,
    handler: exportName(WHERE, 'handler', input.handler) ?? 'default',
    workers,
    budget,
    perWorker,
    databases,
    timeoutMs: timeout(WHERE, 'timeoutMs', input.timeoutMs) ?? null,
    checkCapacity,
    workerData: workerData as Record<string, unknown>,
    name: input.name as string | undefined,
    logger,
    resourceLimits: input.resourceLimits as ResourceLimits | undefined,
    env: input.env as Record<string, string> | undefined,
    execArgv: strings('execArgv', input.execArgv),
    argv: strings('argv', input.argv),
  };
}

/** Validate `run()`'s options. Throws ConfigError (the caller turns it into a rejection). @internal */
export function resolveRunOptions(input: unknown): {
  name: string | undefined;
  signal: AbortSignal | undefined;
  timeoutMs: number | null | undefined;
  handler: string | undefined;
  transferList: readonly Transferable[] | undefined;
} {
  const where = 'pool.run()';
  if (input === undefined) return { name: undefined, signal: undefined, timeoutMs: undefined, handler: undefined, transferList: undefined };
  if (!plain(input)) throw new ConfigError(messages.notAnObject(`${where} options`, input));
  checkKeys(where, input, RUN_KEYS);
  if (input.name !== undefined && typeof input.name !== 'string') throw bad(where, 'name', 'a string', input.name);
  if (input.transferList !== undefined && !Array.isArray(input.transferList))
    throw bad(where, 'transferList', 'an array', input.transferList);
  return {
    name: input.name as string | undefined,
    signal: signalOption(where, input.signal),
    timeoutMs: timeout(where, 'timeoutMs', input.timeoutMs),
    handler: exportName(where, 'handler', input.handler),
    transferList: input.transferList as readonly Transferable[] | undefined,
  };
}

/** Validate `map()`'s options. @internal */
export function resolveMapOptions<A>(
  input: unknown,
  workers: number,
): {
  concurrency: number;
  settled: boolean;
  signal: AbortSignal | undefined;
  timeoutMs: number | null | undefined | ((item: A, index: number) => number | null | undefined);
  name: string | ((item: A, index: number) => string) | undefined;
  handler: string | undefined;
} {
  const where = 'pool.map()';
  const o = input ?? {};
  if (!plain(o)) throw new ConfigError(messages.notAnObject(`${where} options`, input));
  checkKeys(where, o, MAP_KEYS);
  if (o.settled !== undefined && typeof o.settled !== 'boolean') throw bad(where, 'settled', 'a boolean', o.settled);
  if (o.name !== undefined && typeof o.name !== 'string' && typeof o.name !== 'function') {
    throw bad(where, 'name', 'a string or a function (item, index) => string', o.name);
  }
  return {
    concurrency: o.concurrency === undefined ? 2 * workers : positiveInt(where, 'concurrency', o.concurrency),
    settled: (o.settled as boolean | undefined) ?? false,
    signal: signalOption(where, o.signal),
    timeoutMs:
      typeof o.timeoutMs === 'function'
        ? (o.timeoutMs as (item: A, index: number) => number | null | undefined)
        : timeout(where, 'timeoutMs', o.timeoutMs),
    name: o.name as string | ((item: A, index: number) => string) | undefined,
    handler: exportName(where, 'handler', o.handler),
  };
}

/** Validate `close()`'s options. @internal */
export function resolveCloseOptions(input: unknown): { deadlineMs: number; cancelPending: boolean } {
  const where = 'pool.close()';
  const o = input ?? {};
  if (!plain(o)) throw new ConfigError(messages.notAnObject(`${where} options`, input));
  checkKeys(where, o, CLOSE_KEYS);
  const d = o.deadlineMs ?? 5000;
  if (typeof d !== 'number' || !Number.isFinite(d) || d < 0) throw bad(where, 'deadlineMs', 'a number of ms >= 0', d);
  if (o.cancelPending !== undefined && typeof o.cancelPending !== 'boolean')
    throw bad(where, 'cancelPending', 'a boolean', o.cancelPending);
  return { deadlineMs: d, cancelPending: (o.cancelPending as boolean | undefined) ?? false };
}
