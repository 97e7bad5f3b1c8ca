/**
 * Every message @spool/workers shows, written once. Each says what was wrong, names the option,
 * task or worker concerned, and what to do. Tests match these texts (test/workers/options.test.ts).
 * @internal
 */

const list = (items: readonly string[]): string => items.map((i) => `'${i}'`).join(', ');

export const messages = {
  notAnObject: (what: string, got: unknown): string => `${what} must be an object, got ${describe(got)}.`,
  unknownOption: (where: string, key: string, allowed: readonly string[]): string =>
    `${where}: unknown option '${key}'. Valid options: ${list(allowed)}.`,
  badOption: (where: string, option: string, expected: string, got: unknown): string =>
    `${where}: option '${option}' must be ${expected}, got ${describe(got)}.`,
  unknownAlias: (where: string, option: string, alias: string, known: readonly string[]): string =>
    `${where}: option '${option}' names the database '${alias}', which is not configured. Configured aliases: ${list(known)}.`,
  notConfigured: (): string =>
    `new WorkerPool(): Spool is not configured in this thread. Call configure({ databases: { default: … } }) before creating the pool: ` +
    `the pool passes those settings on to every worker, so the worker file needs no configure() of its own.`,
  fileNotFound: (filename: string): string =>
    `new WorkerPool(): option 'filename' points to '${filename}', which does not exist. Give the path (or file: URL) of the worker file that exports task(fn).`,
  reservedWorkerData: (key: string): string =>
    `new WorkerPool(): option 'workerData' must not use the key '${key}', which the pool uses to pass the database settings.`,
  noHandler: (filename: string, exportName: string): string =>
    `The worker file '${filename}' has no export '${exportName}' that is a function. ` +
    `Write: export default task(async (args) => { … }) (or module.exports = task(…)), or pass { handler: 'name' } for a named export.`,
  poolClosed: (pool: string): string =>
    `${pool} is closed (or closing): it accepts no new tasks. Create a new pool, or run the task before close().`,
  poolClosedPending: (pool: string, task: string): string =>
    `${task} did not run: ${pool} was closed before it started (close() with cancelPending, or its deadline passed).`,
  poolClosedRunning: (pool: string, task: string, deadlineMs: number): string =>
    `${task} was still running when ${pool} reached its close() deadline of ${deadlineMs} ms: its worker was terminated and its connections closed.`,
  taskTimeout: (task: string, timeoutMs: number, threadId: number | undefined): string =>
    `${task} timed out after ${timeoutMs} ms` +
    (threadId !== undefined ? ` in worker thread ${threadId}` : '') +
    `: the worker was terminated (its connections closed with it) and replaced. Raise 'timeoutMs', or make the task faster.`,
  taskAborted: (task: string, reason: unknown): string =>
    `${task} was aborted (${describeReason(reason)}). If it had started, its worker was terminated (its connections closed with it) and replaced.`,
  workerExited: (task: string, exitCode: number | undefined): string =>
    `${task} failed: its worker thread exited${exitCode !== undefined ? ` with code ${exitCode}` : ''} before the task finished ` +
    `(process.exit() in the task, or a crash). Its connections were closed and the worker replaced.`,
  workerCrashed: (task: string, cause: string): string =>
    `${task} failed: its worker thread crashed (${cause}). Its connections were closed and the worker replaced.`,
  notTransferable: (task: string, cause: string): string =>
    `${task} failed: its arguments or its result cannot be sent between threads (${cause}). ` +
    `Pass and return plain data (structured-cloneable: no functions, class instances keep only their fields).`,
  taskFailed: (task: string, cause: string): string => `${task} failed in the pool: ${cause}`,
  describeTask: (name: string | undefined, id: number): string => (name ? `Task #${id} '${name}'` : `Task #${id}`),
  describePool: (name: string | undefined): string => (name ? `WorkerPool '${name}'` : 'The WorkerPool'),
  capacity: (r: {
    alias: string;
    vendor: string;
    planned: number;
    workers: number;
    perWorker: number;
    budget: number | undefined;
    limit: number;
    limitSource: string;
    inUse: number | undefined;
  }): string =>
    `WorkerPool: up to ${r.planned} connection(s) to '${r.alias}' (${r.workers} worker(s) × ${r.perWorker}` +
    (r.budget !== undefined && r.budget < r.workers * r.perWorker ? `, capped by budget ${r.budget}` : '') +
    `), but the ${r.vendor} server accepts at most ${r.limit} for this user (${r.limitSource})` +
    (r.inUse !== undefined ? `, and ${r.inUse} are in use now` : '') +
    `. Tasks may fail with "too many connections". Use fewer workers, or share fewer connections between them: budget: { ${r.alias}: ${Math.max(1, r.limit - (r.inUse ?? 0))} }.`,
  capacityUnknown: (alias: string, cause: string): string =>
    `WorkerPool: could not read the server's connection limits for '${alias}' (${cause}); the pool was not checked against them.`,
  reapFailed: (threadId: number, alias: string, cause: string): string =>
    `WorkerPool: after worker thread ${threadId} died, its connections to '${alias}' still open on the server could not be closed (${cause}). ` +
    `The server closes them when it notices (PostgreSQL: within client_connection_check_interval; MySQL/MariaDB: when the statement ends).`,
  strayTaskError: (task: string, threadId: number, origin: string, cause: string): string =>
    `WorkerPool: ${task} of the pool had already returned when its code raised an error (${origin === 'unhandledRejection' ? 'a promise rejection nobody handled' : 'thrown from a timer or callback'}) in worker thread ${threadId}: ${cause}. ` +
    `The worker goes on; no other task is charged with it. Listen to the pool's 'taskError' event to handle it, and await or clear what the task starts.`,
  unhandledWorkerError: (cause: string): string => `WorkerPool: a worker thread reported an error outside any task: ${cause}`,
} as const;

function describeReason(reason: unknown): string {
  if (reason instanceof Error) return `${reason.name}: ${reason.message}`;
  if (reason === undefined) return 'no reason given';
  return typeof reason === 'string' ? reason : describe(reason);
}

/** A short description of a value for messages: `string '4'`, `an array`, `null`. */
export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (typeof v === 'string') return `string '${v.length > 60 ? `${v.slice(0, 57)}...` : v}'`;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return `${typeof v} ${String(v)}`;
  if (typeof v === 'function') return 'a function';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'symbol') return 'a symbol';
  const name = (v as object).constructor?.name;
  return name && name !== 'Object' ? `a ${name}` : 'an object';
}
