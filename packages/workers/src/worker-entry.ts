/**
 * The file piscina loads in every worker of a `WorkerPool`. It loads the user's worker file,
 * runs each task through its `task()` handler (a scope per task), and links the worker to its
 * pool:
 *
 * - the database settings arrive in `workerData.spool` (from `connections.prepareWorker()`), and
 *   @spool/connections configures itself from them on the first query: the worker file has no
 *   `configure()`;
 * - every server connection the worker opens or closes is recorded in the pool's
 *   `WorkerRegistry`, so that if the worker dies the pool can close what the server still runs;
 * - the pool's private channel is answered (stats, close idle connections, shut down).
 *
 * A task that throws is answered with a `TaskFailure`, so its error keeps its class and fields.
 * @internal
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { pathToFileURL } from 'node:url';
import { threadId, workerData } from 'node:worker_threads';
import { connections, WorkerRegistry } from '@spool/connections';
import { transferableSymbol } from 'piscina';
import { TaskTransferError } from './errors';
import { failure, isEnvelope, serializeError } from './envelope';
import { messages } from './messages';
import { postStray, servePoolChannel } from './pool-channel';
import { isTask, runTask, task, type TaskHandler } from './task';

/** What a `WorkerPool` puts in `workerData.spoolPool`. */
export interface PoolWorkerData {
  readonly kind: 'spool.pool';
  /** The user's worker file (absolute path). */
  readonly filename: string;
  /** The name of the pool's private BroadcastChannel. */
  readonly channel: string;
  /** The pool's `WorkerRegistry` and the aliases it indexes (those with server connections). */
  readonly table: SharedArrayBuffer;
  readonly aliases: readonly string[];
}

/** The task a piece of code belongs to, carried across timers and promises. */
interface RunningTask {
  readonly id: number;
  readonly name: string | undefined;
  /** Settled: its result went back to the pool. */
  done: boolean;
  /** Fail the task with an error its own code raised outside its promise chain (while it runs). */
  fail: (error: unknown) => void;
}
const currentTask = new AsyncLocalStorage<RunningTask>();

const pool = (workerData as { spoolPool?: PoolWorkerData } | null | undefined)?.spoolPool;
if (pool?.kind === 'spool.pool') link(pool);

function link(data: PoolWorkerData): void {
  const table = new WorkerRegistry(data.table, data.aliases);
  connections.on('connectionCreated', (e: { alias: string; serverId: number }) => {
    table.add(threadId, e.alias, e.serverId);
  });
  connections.on('connectionClosed', (e: { alias: string; serverId: number }) => {
    table.remove(threadId, e.alias, e.serverId);
  });
  const channel = servePoolChannel(data.channel, {
    stats: () => connections.stats(),
    closeAll: () => (connections.configured ? connections.closeAll() : 0),
  });
  // An error thrown from a timer, or a promise rejection nobody handles, would otherwise crash
  // the worker, and the next task it runs (innocent) would fail with WorkerExitedError. The
  // async context says which task's code raised it: while that task runs, the task fails with
  // it; once it has returned, the pool reports it against that task (event 'taskError', or a
  // warning). The worker and its connections go on serving the next task.
  const stray = (origin: 'uncaughtException' | 'unhandledRejection') => (error: unknown) => {
    const t = currentTask.getStore();
    if (t !== undefined && !t.done) {
      t.fail(error);
      return;
    }
    postStray(channel, { origin, taskId: t?.id, taskName: t?.name, error: serializeError(error) });
  };
  process.on('uncaughtException', stray('uncaughtException'));
  process.on('unhandledRejection', stray('unhandledRejection'));
}

const handlers = new Map<string, Promise<TaskHandler<unknown, unknown>>>();

function handlerFor(exportName: string): Promise<TaskHandler<unknown, unknown>> {
  let h = handlers.get(exportName);
  if (!h) {
    h = load(exportName);
    handlers.set(exportName, h);
    // A failed load is reported to this task and retried by the next.
    h.catch(() => handlers.delete(exportName));
  }
  return h;
}

async function load(exportName: string): Promise<TaskHandler<unknown, unknown>> {
  if (!pool) throw new Error('@spool/workers: this worker was not started by a WorkerPool (workerData.spoolPool is missing).');
  const mod = await importFile(pool.filename);
  let fn: unknown = exportName === 'default' && typeof mod === 'function' ? mod : (mod as Record<string, unknown> | null)?.[exportName];
  // A CommonJS file with `exports.default = …`, loaded through import(): default is the exports object.
  if (fn !== null && typeof fn === 'object' && typeof (fn as { default?: unknown }).default === 'function' && exportName === 'default') {
    fn = (fn as { default: unknown }).default;
  }
  if (typeof fn !== 'function') throw new TypeError(messages.noHandler(pool.filename, exportName));
  // A plain function still gets a scope per call: the guarantee does not depend on task().
  return isTask(fn) ? fn : task(fn as (args: unknown) => unknown);
}

/** `require()` a CommonJS file (as piscina does); `import()` an ES module. */
async function importFile(filename: string): Promise<unknown> {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the user's worker file, loaded by name
    return require(filename) as unknown;
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code !== 'ERR_REQUIRE_ESM' && code !== 'ERR_REQUIRE_ASYNC_MODULE') throw err;
  }
  return import(pathToFileURL(filename).href);
}

/** Run one task posted by the pool. Never rejects for the task's own errors: they travel as a `TaskFailure`. */
export default async function runEnvelope(envelope: unknown): Promise<unknown> {
  if (!isEnvelope(envelope)) {
    throw new TypeError('@spool/workers: the worker entry received something that is not a task envelope.');
  }
  let value: unknown;
  let fail!: (error: unknown) => void;
  const strayFailure = new Promise<never>((_, reject) => (fail = reject));
  const running: RunningTask = { id: envelope.id, name: envelope.name, done: false, fail };
  try {
    value = await currentTask.run(running, async () => {
      const handler = await handlerFor(envelope.handler);
      return Promise.race([runTask(handler, envelope.args, { name: envelope.name, id: envelope.id }), strayFailure]);
    });
  } catch (err) {
    return failure(err);
  } finally {
    running.done = true;
  }
  // piscina posts the result after this returns; a result that cannot be cloned would then crash
  // the worker (closing its connections, losing its warm state) for a mistake in one task. Check
  // here instead, and fail that task alone.
  if (value !== null && typeof value === 'object' && !(transferableSymbol in value) && !ArrayBuffer.isView(value)) {
    try {
      structuredClone(value);
    } catch (err) {
      return failure(
        new TaskTransferError(messages.notTransferable(messages.describeTask(envelope.name, envelope.id), (err as Error).message)),
      );
    }
  } else if (typeof value === 'function' || typeof value === 'symbol') {
    return failure(
      new TaskTransferError(
        messages.notTransferable(
          messages.describeTask(envelope.name, envelope.id),
          `the task returned ${typeof value === 'function' ? 'a function' : 'a symbol'}`,
        ),
      ),
    );
  }
  return value;
}
