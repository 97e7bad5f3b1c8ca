/**
 * `task(fn)`: the one wrapper a worker file needs. Each call of the returned handler runs `fn`
 * in its own Spool scope, so the connections it uses are leased on first query and released
 * when it settles, whether it returns or throws (closed, or kept idle for the next task per
 * `maxAge`). It works the same inside a `WorkerPool`, in a plain `worker_threads` worker, and as
 * the processor of any other pool or queue library (Tinypool, BullMQ…).
 */
import { threadId } from 'node:worker_threads';
import { connections, ConfigError, type AtomicOptions, type ConnectionHandler, type ScopeInfo } from '@spool/connections';
import { messages } from './messages';

const TASK = Symbol.for('spool.workers.task');

/** What a task function receives besides its arguments. */
export interface TaskContext {
  /** The task's name: `run(args, { name })`, else the name given to `task()`, else undefined. */
  readonly name: string | undefined;
  /** The pool's id for this task (undefined outside a `WorkerPool`). */
  readonly taskId: number | undefined;
  /** The thread running the task. */
  readonly threadId: number;
  /** The task's scope: its id, and the connections it holds (`scope.connections()`). */
  readonly scope: ScopeInfo;
}

/** Options of `task()`. */
export interface TaskOptions {
  /** A name for the scope of each call (shown in leak reports and `PoolExhaustedError`). Default: the run's name, else `'task'`. */
  name?: string;
  /**
   * Run each call inside `atomic()` as well (Django's `ATOMIC_REQUESTS`, for tasks): it commits
   * when the task returns and rolls back when it throws. `true` or the `atomic()` options.
   */
  atomic?: boolean | AtomicOptions;
  /** The connection handler to scope on. Default: this thread's (`connections` from @spool/connections). */
  handler?: ConnectionHandler;
}

/** Per-call data a `WorkerPool` passes along. @internal */
export interface TaskMeta {
  name: string | undefined;
  id: number | undefined;
}

/** The handler `task()` returns: call it with the task's arguments. */
export interface TaskHandler<A, R> {
  (args: A): Promise<R>;
  /** @internal */
  readonly [TASK]: (args: A, meta: TaskMeta) => Promise<R>;
}

const TASK_OPTION_KEYS = ['name', 'atomic', 'handler'] as const;

/**
 * Wrap a task function so that each call runs in its own scope and releases its connections at
 * the end, whatever happens. The worker file of a `WorkerPool` exports it; the database settings
 * arrive from the pool, so the file needs no `configure()`.
 *
 * ### Examples
 * ```ts
 * // jobs.ts: a WorkerPool worker file
 * import { sql } from '@spool/connections';
 * import { task } from '@spool/workers';
 * export default task(async ({ id }: { id: number }) => sql`SELECT * FROM author WHERE id = ${id}`);
 * // without the annotation, `{ id }` is `any`: task(async ({ id }) => …) compiles too
 * ```
 * ```ts
 * // a plain worker_threads worker (the parent used prepareWorker(), see the README)
 * const handle = task(async (msg: Job) => importChunk(msg));
 * parentPort!.on('message', async (msg) => parentPort!.postMessage(await handle(msg)));
 * ```
 * ```ts
 * // another pool or queue library: each job is a scope
 * new BullWorker('imports', task(async (job: Job) => importChunk(job.data)));
 * ```
 */
// The arguments come from another thread (a pool's run() or a queue), so nothing here can check
// them: `A` is inferred from the parameter's annotation when there is one, and is `any` otherwise,
// so that `task(async ({ id }) => …)` compiles as the README shows it. Annotate to type-check.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function task<A = any, R = unknown>(
  fn: (args: A, context: TaskContext) => R | PromiseLike<R>,
  options: TaskOptions = {},
): TaskHandler<A, Awaited<R>> {
  if (typeof fn !== 'function') throw new ConfigError(messages.badOption('task()', 'fn', 'a function', fn), { option: 'fn' });
  validateTaskOptions(options);
  const atomicOptions: AtomicOptions | undefined =
    options.atomic === true ? {} : options.atomic === false || options.atomic === undefined ? undefined : options.atomic;
  const run = (args: A, meta: TaskMeta): Promise<Awaited<R>> => {
    const handler = options.handler ?? connections;
    const name = meta.name ?? options.name;
    return handler.scope<Awaited<R>>(
      async (scope): Promise<Awaited<R>> => {
        const context: TaskContext = { name, taskId: meta.id, threadId, scope };
        if (atomicOptions) return (await handler.atomic(async () => await fn(args, context), atomicOptions)) as Awaited<R>;
        // Await here, inside the scope: `fn` may return a lazy thenable (sql`…`) that must run in it.
        const value: Awaited<R> = await fn(args, context);
        return value;
      },
      { name: name ?? 'task' },
    );
  };
  const handle = ((args: A) => run(args, { name: undefined, id: undefined })) as TaskHandler<A, Awaited<R>>;
  Object.defineProperty(handle, TASK, { value: run, enumerable: false });
  Object.defineProperty(handle, 'name', { value: fn.name ? `task(${fn.name})` : 'task', configurable: true });
  return handle;
}

/** Is `value` a handler made by `task()`? */
export function isTask(value: unknown): value is TaskHandler<unknown, unknown> {
  return typeof value === 'function' && typeof (value as unknown as Record<symbol, unknown>)[TASK] === 'function';
}

/** Run a `task()` handler with the pool's per-call data. @internal */
export function runTask(handler: TaskHandler<unknown, unknown>, args: unknown, meta: TaskMeta): Promise<unknown> {
  return handler[TASK](args, meta);
}

function validateTaskOptions(options: TaskOptions): void {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new ConfigError(messages.notAnObject('task() options', options));
  }
  for (const key of Object.keys(options)) {
    if (!(TASK_OPTION_KEYS as readonly string[]).includes(key)) {
      throw new ConfigError(messages.unknownOption('task()', key, TASK_OPTION_KEYS), { option: key });
    }
  }
  if (options.name !== undefined && typeof options.name !== 'string') {
    throw new ConfigError(messages.badOption('task()', 'name', 'a string', options.name), { option: 'name' });
  }
  const a = options.atomic;
  if (a !== undefined && typeof a !== 'boolean' && (a === null || typeof a !== 'object' || Array.isArray(a))) {
    throw new ConfigError(messages.badOption('task()', 'atomic', 'a boolean or atomic() options', a), { option: 'atomic' });
  }
  const h = options.handler;
  if (h !== undefined && (h === null || typeof (h as ConnectionHandler).scope !== 'function')) {
    throw new ConfigError(messages.badOption('task()', 'handler', 'a ConnectionHandler', h), { option: 'handler' });
  }
}
