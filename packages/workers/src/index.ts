/**
 * @spool/workers: worker pools that cannot leak database connections.
 *
 * `WorkerPool` is `concurrent.futures.ThreadPoolExecutor` for Node, on piscina: each task runs in
 * a Spool scope in its worker, so its connections are released when it ends (per `maxAge`),
 * whether it returns, throws, times out or is aborted; each worker's connections close with it;
 * the settings given to `configure()` in the pool's thread reach every worker; and a
 * process-wide budget caps the connections of all workers together.
 *
 * ### Examples
 * ```ts
 * // main thread
 * import { configure } from '@spool/connections';
 * import { WorkerPool } from '@spool/workers';
 * configure({ databases: { default: { client: 'pg', connection: process.env.DATABASE_URL! } } });
 * const pool = new WorkerPool({ filename: new URL('./jobs.js', import.meta.url), workers: 8, budget: { default: 4 } });
 * await pool.run({ id: 1 });
 * for await (const r of pool.map(items)) console.log(r);
 * await pool.close({ deadlineMs: 5_000 });
 *
 * // jobs.js: the database settings arrive from the pool; each call runs in its own scope
 * import { sql } from '@spool/connections';
 * import { task } from '@spool/workers';
 * export default task(async ({ id }) => sql`SELECT * FROM author WHERE id = ${id}`);
 * ```
 */
export { WorkerPool } from './worker-pool';
export type { CloseReport, PoolStats, TaskCounters, TaskErrorEvent, TaskOutcome, WorkerExitEvent } from './worker-pool';
export { task, isTask } from './task';
export type { TaskContext, TaskHandler, TaskOptions } from './task';
export type { CloseOptions, MapOptions, RunOptions, WorkerPoolOptions } from './options';
export type { CapacityReport } from './server-admin';
export { PoolClosedError, TaskAbortedError, TaskTimeoutError, TaskTransferError, WorkerExitedError, WorkerPoolError } from './errors';
export type { TaskErrorOptions } from './errors';
