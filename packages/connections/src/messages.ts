/**
 * Every message Spool shows, written once. Each says what was wrong, names the alias, option or
 * scope concerned, and what to do. Tests match these texts (test/connections/messages.test.ts).
 * Not part of the public API (`@spool/connections/internal` reaches what others need).
 */
import type { HolderInfo } from './errors';

const list = (items: readonly string[]): string => items.map((i) => `'${i}'`).join(', ');

export const messages = {
  notAnObject: (path: string, got: unknown): string => `${path} must be an object, got ${describe(got)}.`,
  unknownOption: (path: string, key: string, allowed: readonly string[]): string =>
    `Unknown option '${path}${key}'. Valid options: ${list(allowed)}.`,
  badOption: (path: string, expected: string, got: unknown): string => `Option '${path}' must be ${expected}, got ${describe(got)}.`,
  missingDefault: (aliases: readonly string[]): string =>
    `The 'databases' setting must define a 'default' alias` +
    (aliases.length ? ` (found ${list(aliases)}).` : ' (it is empty).') +
    ` Queries without using(alias) run on 'default'.`,
  badAliasName: (alias: string): string =>
    `Database alias '${alias}' is not valid: use letters, digits, '_' and '-' (at most 64 characters).`,
  unknownClient: (alias: string, client: unknown, known: readonly string[]): string =>
    `Unknown client ${describe(client)} for database '${alias}' (option 'databases.${alias}.client'). Use one of ${list(known)}.`,
  missingConnection: (alias: string): string =>
    `Database '${alias}' has no 'connection': give a URL string or an object (for SQLite: { filename }).`,
  memoryMax: (alias: string, max: number): string =>
    `Database '${alias}' is an in-memory SQLite database, which lives inside one connection: 'max' must be 1, got ${max}. Use a file to share data between connections.`,
  driverMissing: (client: string, pkg: string, cause: string): string =>
    `The '${client}' client needs the '${pkg}' package, which could not be loaded (${cause}). Install it: npm install ${pkg}`,
  mirrorUnknown: (alias: string, target: string): string =>
    `Database '${alias}' mirrors '${target}' (option 'databases.${alias}.test.mirror'), which is not a configured alias.`,
  notConfigured: (): string =>
    `Spool is not configured in this thread: call configure({ databases: { default: … } }) first. ` +
    `In a worker thread, call configure() there too, or run the worker through @spool/workers, which passes the settings on.`,
  alreadyConfigured: (): string =>
    `Spool is already configured in this thread and connections are open: call 'await shutdown()' (or connections.closeAll()) before configure() again.`,
  unknownAlias: (alias: string, known: readonly string[]): string =>
    `The connection '${alias}' doesn't exist. Configured aliases: ${list(known)}.`,
  noScope: (alias: string): string =>
    `A query on '${alias}' ran outside any scope while strict mode is on. ` +
    `Wrap the work in scope(async () => …) (a request, a task), or configure({ strict: false }) to let it run in the thread's root scope.`,
  scopeEnded: (scope: string, alias: string, reason?: string): string =>
    `${scope} has ended${reason === undefined ? '' : ` (${reason})`}, but a query on '${alias}' was issued from it afterwards. ` +
    `Await every query inside its scope, or start background work with detach().`,
  drained: (scope: string, sqls: readonly string[], drainMs: number): string =>
    `${scope} ended while ${sqls.length === 1 ? 'a statement' : `${sqls.length} statements`} issued from it had not finished (a forgotten await?): ` +
    `the end waited for ${sqls.length === 1 ? 'it' : 'them'} (at most drainMs = ${drainMs} ms) before releasing the connection. ` +
    `Await every query inside its scope (lint with no-floating-promises), or start background work with detach(). SQL:\n` +
    sqls.map((q) => `  - ${q.length > 200 ? `${q.slice(0, 197)}...` : q}`).join('\n'),
  drainExpired: (scope: string, alias: string, drainMs: number): string =>
    `${scope} has ended, and a query on '${alias}' issued from it before the end was still waiting for its turn after drainMs = ${drainMs} ms: it was refused. ` +
    `Await every query inside its scope, or raise 'drainMs'.`,
  atomicBlockEnded: (alias: string, scope: string, outcome: string): string =>
    `A statement on '${alias}' was issued from an atomic block that has already ended (${outcome}) in ${scope}: it was refused, ` +
    `rather than run outside the transaction where it would commit on its own. Await every query inside its atomic() block.`,
  scopeEndedInTransaction: (scope: string, alias: string): string =>
    `${scope} ended while its atomic block on '${alias}' was still running: the transaction was rolled back. Await atomic() inside the scope.`,
  shuttingDown: (alias: string): string => `Spool is shutting down: no new connection to '${alias}' can be leased.`,
  poolExhausted: (alias: string, budget: number, waitedMs: number, holders: readonly HolderInfo[], where: 'thread' | 'process'): string => {
    const scope = where === 'thread' ? `this thread's budget of ${budget}` : `the process-wide budget of ${budget}`;
    const lines = holders.map(
      (h) =>
        `  - scope #${h.scopeId}${h.scopeName ? ` '${h.scopeName}'` : ''}${h.threadId ? ` in thread ${h.threadId}` : ''} has held it for ${h.heldForMs} ms` +
        (h.leasedAt ? `, leased at:\n${indent(h.leasedAt, '      ')}` : ''),
    );
    return (
      `Timed out after ${waitedMs} ms waiting for a connection to '${alias}': ${scope} connections is in use. ` +
      `Raise 'max' (or the pool's budget), lower the time scopes hold connections, or look for scopes that never end.` +
      (lines.length ? `\nHolders:\n${lines.join('\n')}` : '')
    );
  },
  queueFull: (alias: string, waiting: number, maxWaiting: number, budget: number): string =>
    `The wait queue for a connection to '${alias}' is full: ${waiting === 1 ? '1 scope is' : `${waiting} scopes are`} already waiting (maxWaiting = ${maxWaiting}) for this thread's budget of ${budget} connections, ` +
    `so this scope was refused at once rather than queued (load shedding). Retry later (@spool/web answers 503 with Retry-After), ` +
    `or raise 'maxWaiting' or 'max' if the database can serve more.`,
  poolerNotPostgres: (alias: string, client: string): string =>
    `Database '${alias}' sets 'pooler' (option 'databases.${alias}.pooler'), which is for PostgreSQL behind a pooler in transaction mode (PgBouncer); its client is '${client}'. Remove the option.`,
  poolerPrepared: (alias: string, got: unknown): string =>
    `Database '${alias}' goes through a pooler in transaction mode (pooler: 'transaction'), where a named prepared statement ` +
    `would be prepared on one server connection and run on another: 'prepareThreshold' must be null, got ${describe(got)}.`,
  poolerSessionFeature: (alias: string, feature: string, instead: string): string =>
    `${feature} is refused on '${alias}', which goes through a pooler in transaction mode (pooler: 'transaction'): ` +
    `its effect would stay on a server connection other clients share, and this client's next statement may run on another. ${instead}`,
  poolerInitSql: (alias: string, feature: string): string =>
    `Database '${alias}' goes through a pooler in transaction mode (pooler: 'transaction'), where 'initSql' runs on whichever server connection answers and stays there for other clients: ` +
    `${feature} is refused in option 'databases.${alias}.initSql'. Set session defaults on the server (ALTER ROLE … SET …) or in the pooler's connect_query.`,
  connectFailed: (alias: string, cause: string): string => `Could not connect to '${alias}': ${cause}`,
  brokenAtomic: (alias: string): string =>
    `You can't execute queries until the end of the 'atomic' block: an earlier query on '${alias}' failed inside it. ` +
    `Let the error leave the block (it rolls back), or wrap the query that may fail in its own atomic() to roll back to a savepoint.`,
  durableNested: (alias: string): string => `A durable atomic block cannot be nested within another atomic block (alias '${alias}').`,
  rollbackFlagOutside: (alias: string): string => `The rollback flag doesn't work outside of an 'atomic' block (alias '${alias}').`,
  isolationUnsupported: (alias: string, level: string, supported: readonly string[]): string =>
    `Isolation level '${level}' is not supported on '${alias}'. Supported: ${list(supported)}.`,
  isolationNested: (alias: string): string =>
    `An isolation level can only be set on the outermost atomic block (alias '${alias}'): this block is nested.`,
  autocommitChanged: (scope: string, alias: string): string =>
    `${scope} turned autocommit off on '${alias}': the connection was closed rather than handed to the next scope. Use atomic() for transactions.`,
  rawTransactionPerUse: (alias: string, verb: string): string =>
    `A raw ${verb} on '${alias}' outside atomic() is refused with pin: 'transaction': each statement there leases a connection for itself and gives it back, ` +
    `so the transaction would stay open on a pooled connection for the next scope to run in. Use atomic().`,
  transactionLeftOpenPerUse: (alias: string): string =>
    `A statement on '${alias}' with pin: 'transaction' left a transaction open on the connection it leased for itself: it was rolled back before the connection went back to the pool. Use atomic().`,
  forgottenTransaction: (scope: string, alias: string): string =>
    `${scope} ended with a transaction still open on '${alias}': it was rolled back. Use atomic() rather than raw BEGIN, and await it inside the scope.`,
  leak: (alias: string, scope: string, heldMs: number, stack: string | undefined): string =>
    `Possible connection leak: ${scope} has held a connection to '${alias}' for ${heldMs} ms (leakThresholdMs).` +
    (stack ? ` It was leased at:\n${indent(stack, '    ')}` : ''),
  onCommitFailed: (alias: string): string => `A robust onCommit hook on '${alias}' failed; the others still ran.`,
  transactionInBuilder: (): string =>
    `builder(alias).transaction() is not available: use atomic(async () => …), which binds the scope's builder and models to the transaction.`,
  badTemplateValue: (index: number, got: unknown): string =>
    `Value #${index + 1} of the sql template is ${describe(got)}, which cannot be bound. Bind strings, numbers, bigints, booleans, dates, buffers, null or plain objects (stored as JSON).`,
  badIdentifier: (name: unknown): string =>
    `${describe(name)} is not a valid SQL identifier for sql.id(): use 1-63 characters of letters, digits, '_' and '$', not starting with a digit (optionally 'schema.name').`,
  sqlNotTemplate: (): string =>
    `sql must be used as a tagged template: sql\`SELECT … WHERE id = \${id}\`. Values are bound as parameters; for identifiers use sql.id(name).`,
  shutdownForced: (count: number, deadlineMs: number): string =>
    `shutdown(): ${count} connection(s) were still leased after ${deadlineMs} ms and were closed (open transactions rolled back).`,
  forbiddenInAtomic: (alias: string, statement: string): string =>
    `This is forbidden when an 'atomic' block is active (alias '${alias}'): ${statement} from raw SQL. Let atomic() commit and roll back.`,
  invalidRegex: (pattern: string, reason: string): string =>
    `Invalid regular expression for REGEXP on SQLite: '${pattern}' (${reason}). ` +
    `Spool runs SQLite's REGEXP on RE2, in linear time: its syntax has no backreferences (\\1) and no lookaround ((?=…), (?!…), (?<=…)).`,
  childCleanupFailed: (alias: string, ids: readonly number[], cause: string): string =>
    `A worker thread vanished with connections to '${alias}' open (server ids ${ids.join(', ')}), and they could not be ended on the server (${cause}): ` +
    `the server ends them when it notices the client is gone.`,
  forcedCleanupFailed: (alias: string, ids: readonly number[], cause: string): string =>
    `shutdown(): the statements still running on '${alias}' at the deadline (server ids ${ids.join(', ')}) could not be ended on the server (${cause}): ` +
    `the server ends them when it notices the client is gone.`,
  badReplicas: (got: unknown): string =>
    `new PrimaryReplicaRouter(): option 'replicas' must be a non-empty array of alias names, got ${JSON.stringify(got) ?? String(got)}.`,
  transactionLost: (alias: string, cause: string): string =>
    `The atomic block on '${alias}' did not commit: its connection was lost inside it (${cause}), and the server rolled the transaction back. ` +
    `Its onCommit hooks were dropped. Run the block again in a new scope.`,
  commitOutcomeUnknown: (alias: string, cause: string): string =>
    `The COMMIT of the atomic block on '${alias}' lost its connection before the server answered (${cause}): the transaction may have been committed or rolled back, ` +
    `and the client cannot tell which. Its onCommit hooks did not run. Check the data before doing the work again.`,
  connectionUnusable: (alias: string, cause: string, scope: string): string =>
    `The connection to '${alias}' is unusable (${cause}). ${scope} keeps failing on it until it ends; the connection is then closed and the next scope gets a new one.`,
  detachedFailed: (scope: string, cause: string): string => `Detached work in ${scope} failed: ${cause}`,
  workerSettingsNotCloneable: (cause: string): string =>
    `The database settings cannot be sent to a worker thread (${cause}): use plain values (no functions or class instances) in 'databases'.`,
  sharedBudgetAlias: (alias: string, known: readonly string[]): string =>
    `The process-wide budget has no slot for alias '${alias}' (it covers ${list(known)}).`,
  sharedBudgetFull: (): string =>
    `The process-wide budget has no free thread slot: more threads use it than it was created for (option 'threads').`,
} as const;

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (typeof v === 'string') return `'${v.length > 60 ? `${v.slice(0, 57)}...` : v}'`;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return `${typeof v} ${String(v)}`;
  if (typeof v === 'function') return 'a function';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'symbol') return 'a symbol';
  const name = (v as object).constructor?.name;
  return name && name !== 'Object' ? `a ${name}` : 'an object';
}

function indent(text: string, pad: string): string {
  return text
    .split('\n')
    .map((l) => pad + l.trim())
    .join('\n');
}

export { describe as describeValue };
