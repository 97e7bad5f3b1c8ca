/**
 * The errors of @spool/workers, in Spool's one tree (`SpoolError` from @spool/connections):
 *
 * ```
 * SpoolError
 * ├── ConfigError                 bad WorkerPool / run() / map() / close() options (from @spool/connections)
 * └── WorkerPoolError             a task did not complete for a reason outside its own code
 *     ├── TaskTimeoutError        it ran longer than `timeoutMs`: its worker was terminated and replaced
 *     ├── TaskAbortedError        its `signal` was aborted (`cause` is the abort reason)
 *     ├── WorkerExitedError       its worker exited or crashed under it (`process.exit()`, an uncaught error)
 *     ├── TaskTransferError       its arguments or result could not be sent between threads
 *     └── PoolClosedError         the pool was closed before it ran, or at close()'s deadline
 * ```
 *
 * An error thrown by the task itself is not wrapped: `run()` rejects with it, rebuilt in the
 * pool's thread with its class (built-in and Spool classes), name, message, stack, `cause` and
 * own fields (`code`, `sqlState`…), so `IntegrityError.is(err)` and `err.code` work as in the
 * worker. Every class is branded, so `TaskTimeoutError.is(err)` holds across package copies.
 */
import { SpoolError, type SpoolErrorOptions } from '@spool/connections';

/** What every pool error says about the task concerned. */
export interface TaskErrorOptions extends SpoolErrorOptions {
  /** The task's name (`run(args, { name })`), if it had one. */
  taskName?: string | undefined;
  /** The pool's task id. */
  taskId?: number | undefined;
  /** The worker thread the task ran on, when it had started. */
  threadId?: number | undefined;
}

/** A task did not complete for a reason outside its own code. */
export class WorkerPoolError extends SpoolError {
  static override readonly kind: string = 'WorkerPoolError';
  readonly taskName: string | undefined;
  readonly taskId: number | undefined;
  readonly threadId: number | undefined;
  constructor(message: string, options: TaskErrorOptions & { code?: string } = {}) {
    super(message, { code: 'E_WORKER_POOL', ...options });
    this.taskName = options.taskName;
    this.taskId = options.taskId;
    this.threadId = options.threadId;
  }
}

/** The task ran longer than its `timeoutMs`; its worker was terminated (closing its connections) and replaced. */
export class TaskTimeoutError extends WorkerPoolError {
  static override readonly kind: string = 'TaskTimeoutError';
  readonly timeoutMs: number;
  constructor(message: string, options: TaskErrorOptions & { timeoutMs: number }) {
    super(message, { ...options, code: 'E_TASK_TIMEOUT' });
    this.timeoutMs = options.timeoutMs;
  }
}

/** The task's `signal` was aborted. `cause` is the signal's reason. */
export class TaskAbortedError extends WorkerPoolError {
  static override readonly kind: string = 'TaskAbortedError';
  constructor(message: string, options: TaskErrorOptions = {}) {
    super(message, { ...options, code: 'E_TASK_ABORTED' });
  }
}

/** The task's worker exited (`process.exit()`) or crashed before the task finished. */
export class WorkerExitedError extends WorkerPoolError {
  static override readonly kind: string = 'WorkerExitedError';
  /** The worker's exit code, when known. */
  readonly exitCode: number | undefined;
  constructor(message: string, options: TaskErrorOptions & { exitCode?: number | undefined } = {}) {
    super(message, { ...options, code: 'E_WORKER_EXITED' });
    this.exitCode = options.exitCode;
  }
}

/** The task's arguments or result could not be sent between threads (not structured-cloneable). */
export class TaskTransferError extends WorkerPoolError {
  static override readonly kind: string = 'TaskTransferError';
  constructor(message: string, options: TaskErrorOptions = {}) {
    super(message, { ...options, code: 'E_TASK_TRANSFER' });
  }
}

/** The pool was closed before the task ran, or while it ran past close()'s deadline. */
export class PoolClosedError extends WorkerPoolError {
  static override readonly kind: string = 'PoolClosedError';
  constructor(message: string, options: TaskErrorOptions = {}) {
    super(message, { ...options, code: 'E_POOL_CLOSED' });
  }
}
