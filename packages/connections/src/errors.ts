/**
 * Spool's error tree, vendor-neutral, with PEP-249 names (as Django's `django.db.utils`):
 *
 * ```
 * SpoolError
 * ├── InterfaceError
 * ├── DatabaseError
 * │   ├── DataError
 * │   ├── OperationalError
 * │   │   └── PoolExhaustedError
 * │   ├── IntegrityError
 * │   ├── InternalError
 * │   ├── ProgrammingError
 * │   │   └── TransactionManagementError
 * │   │       └── AtomicBlockEndedError
 * │   └── NotSupportedError
 * ├── ConfigError
 * ├── NoScopeError
 * └── ScopeEndedError
 * ```
 *
 * Driver errors are converted at one boundary per backend (see `backends/*`), and the driver's
 * error is kept as `cause`. Classes are branded with `Symbol.for`, so `IntegrityError.is(err)`
 * holds even when two copies of this package are loaded (e.g. one bundled by `@spool/orm`).
 */

const KINDS = Symbol.for('spool.error.kinds');

/** Options accepted by every Spool error. */
export interface SpoolErrorOptions {
  cause?: unknown;
  /** The database alias concerned, when there is one. */
  alias?: string;
}

/** The root of every error Spool throws. */
export class SpoolError extends Error {
  /** The class name, stable across copies of the package; used by `is()`. */
  static readonly kind: string = 'SpoolError';
  /** A machine-readable code, e.g. `E_POOL_EXHAUSTED`. */
  readonly code: string;
  /** The database alias concerned, when there is one. */
  readonly alias: string | undefined;
  declare readonly [KINDS]: readonly string[];

  constructor(message: string, options: SpoolErrorOptions & { code?: string } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    const kinds: string[] = [];
    for (let c = new.target as unknown as { kind?: string } | null; c && c.kind; c = Object.getPrototypeOf(c)) {
      kinds.push(c.kind);
    }
    Object.defineProperty(this, KINDS, { value: kinds, enumerable: false });
    Object.defineProperty(this, 'name', { value: kinds[0] ?? 'SpoolError', enumerable: false, configurable: true });
    this.code = options.code ?? 'E_SPOOL';
    this.alias = options.alias;
  }

  /** True when `value` is an instance of this class, even from another copy of the package. */
  static is<T extends typeof SpoolError>(this: T, value: unknown): value is InstanceType<T> {
    if (value instanceof this) return true;
    const kinds = (value as { [KINDS]?: readonly string[] } | null | undefined)?.[KINDS];
    return Array.isArray(kinds) && kinds.includes(this.kind);
  }
}

/** A configuration option is missing, unknown or of the wrong type. */
export class ConfigError extends SpoolError {
  static override readonly kind: string = 'ConfigError';
  /** The option path concerned, e.g. `databases.default.maxAge`. */
  readonly option: string | undefined;
  constructor(message: string, options: SpoolErrorOptions & { option?: string } = {}) {
    super(message, { ...options, code: 'E_CONFIG' });
    this.option = options.option;
  }
}

/** A query ran outside any scope while `strict: true`. */
export class NoScopeError extends SpoolError {
  static override readonly kind: string = 'NoScopeError';
  constructor(message: string, options: SpoolErrorOptions = {}) {
    super(message, { ...options, code: 'E_NO_SCOPE' });
  }
}

/** Work tried to use a scope that has already ended (a query that was not awaited inside it). */
export class ScopeEndedError extends SpoolError {
  static override readonly kind: string = 'ScopeEndedError';
  /**
   * Why the scope ended, when whoever ended it said so (`ScopeHandle.end(reason)`): for a request
   * whose client went away, `@spool/web`'s `RequestAbortedError`. Undefined for a normal end.
   */
  readonly reason: unknown;
  constructor(message: string, options: SpoolErrorOptions & { reason?: unknown } = {}) {
    super(message, { ...options, code: 'E_SCOPE_ENDED' });
    // Not enumerable: a reason may be a large object (and need not survive a structured clone).
    Object.defineProperty(this, 'reason', { value: options.reason, enumerable: false });
  }
}

/** An error in the use of the database interface (a closed or misused connection), not of the database. */
export class InterfaceError extends SpoolError {
  static override readonly kind: string = 'InterfaceError';
  constructor(message: string, options: SpoolErrorOptions & { code?: string } = {}) {
    super(message, { code: 'E_INTERFACE', ...options });
  }
}

/** Server-side detail kept from the driver's error. */
export interface DatabaseErrorDetail {
  /** SQLSTATE (PostgreSQL, MySQL) when the driver reports one. */
  sqlState?: string | undefined;
  /** Vendor error number (MySQL errno) or code (`SQLITE_CONSTRAINT_UNIQUE`). */
  vendorCode?: string | number | undefined;
  constraint?: string | undefined;
  table?: string | undefined;
  column?: string | undefined;
  detail?: string | undefined;
  hint?: string | undefined;
  /** The SQL that failed (never the bound values). */
  sql?: string | undefined;
}

/** An error reported by the database. */
export class DatabaseError extends SpoolError {
  static override readonly kind: string = 'DatabaseError';
  readonly sqlState: string | undefined;
  readonly vendorCode: string | number | undefined;
  readonly constraint: string | undefined;
  readonly table: string | undefined;
  readonly column: string | undefined;
  readonly detail: string | undefined;
  readonly hint: string | undefined;
  readonly sql: string | undefined;
  constructor(message: string, options: SpoolErrorOptions & DatabaseErrorDetail & { code?: string } = {}) {
    super(message, { code: 'E_DATABASE', ...options });
    this.sqlState = options.sqlState;
    this.vendorCode = options.vendorCode;
    this.constraint = options.constraint;
    this.table = options.table;
    this.column = options.column;
    this.detail = options.detail;
    this.hint = options.hint;
    this.sql = options.sql;
  }
}

/** Bad data: a value out of range, of the wrong type, too long, invalid text encoding. */
export class DataError extends DatabaseError {
  static override readonly kind: string = 'DataError';
}
/** The database is not available or the connection broke: refused, terminated, timeout, deadlock, too many connections. */
export class OperationalError extends DatabaseError {
  static override readonly kind: string = 'OperationalError';
}
/**
 * The connection was lost while the outermost block's COMMIT was on its way or its answer was:
 * the server may have committed the transaction or rolled it back, and the client cannot tell.
 * The block's `onCommit` hooks did not run. An `OperationalError`, so code that catches those
 * still does; code that must know looks for this class (or `commitOutcomeUnknown`) and checks
 * the data before doing the work again.
 */
export class CommitOutcomeUnknownError extends OperationalError {
  static override readonly kind: string = 'CommitOutcomeUnknownError';
  /** Always true: the transaction may have been committed. */
  readonly commitOutcomeUnknown = true;
  constructor(message: string, options: SpoolErrorOptions & DatabaseErrorDetail = {}) {
    super(message, { code: 'E_COMMIT_OUTCOME_UNKNOWN', ...options });
  }
}
/** A constraint was violated: unique, foreign key, not null, check. `constraint` names it when the server does. */
export class IntegrityError extends DatabaseError {
  static override readonly kind: string = 'IntegrityError';
}
/** The database hit an internal error, or the transaction is in an invalid state. */
export class InternalError extends DatabaseError {
  static override readonly kind: string = 'InternalError';
}
/** The SQL is wrong: syntax error, unknown table or column, wrong number of parameters. */
export class ProgrammingError extends DatabaseError {
  static override readonly kind: string = 'ProgrammingError';
}
/** The database does not support what was asked (e.g. an isolation level SQLite has not). */
export class NotSupportedError extends DatabaseError {
  static override readonly kind: string = 'NotSupportedError';
}

/** `atomic()`/`onCommit()` were misused, or a query ran in an `atomic` block that must be rolled back. */
export class TransactionManagementError extends ProgrammingError {
  static override readonly kind: string = 'TransactionManagementError';
  constructor(message: string, options: SpoolErrorOptions & DatabaseErrorDetail & { code?: string } = {}) {
    super(message, { ...options, code: options.code ?? 'E_TRANSACTION' });
  }
}

/**
 * A statement was issued from an `atomic()` block that had already ended (a forgotten `await`,
 * or work that outlived its block): it was refused rather than run outside the transaction,
 * where it would have committed on its own.
 */
export class AtomicBlockEndedError extends TransactionManagementError {
  static override readonly kind: string = 'AtomicBlockEndedError';
  constructor(message: string, options: SpoolErrorOptions = {}) {
    super(message, { ...options, code: 'E_ATOMIC_ENDED' });
  }
}

/** Who held a connection when a lease timed out. */
export interface HolderInfo {
  scopeId: number;
  scopeName: string | undefined;
  alias: string;
  heldForMs: number;
  /** Where the connection was leased (a stack trace), when stacks are captured. */
  leasedAt: string | undefined;
  /** The thread of the holder, for process-wide budgets. */
  threadId: number;
}

/**
 * No connection could be leased: the budget stayed used up for `acquireTimeoutMs`, or (`queueFull`)
 * the scope arrived when `maxWaiting` scopes were already waiting and was refused at once (load
 * shedding). Either way the database is overloaded for now, not broken: `statusCode` is 503, which
 * `@spool/web` answers with `503 Service Unavailable` and `Retry-After` (as do Express's and
 * Fastify's default error handlers, which read `statusCode`).
 */
export class PoolExhaustedError extends OperationalError {
  static override readonly kind: string = 'PoolExhaustedError';
  readonly budget: number;
  readonly waitedMs: number;
  readonly holders: readonly HolderInfo[];
  /** True when the scope was refused at once because the wait queue was full (`maxWaiting`). */
  readonly queueFull: boolean;
  /** How many scopes were waiting for a connection when this one gave up or was refused. */
  readonly waiting: number;
  /** The HTTP status this error calls for: 503 Service Unavailable (retry later). */
  readonly statusCode: number = 503;
  constructor(
    message: string,
    options: SpoolErrorOptions & {
      budget: number;
      waitedMs: number;
      holders: readonly HolderInfo[];
      queueFull?: boolean;
      waiting?: number;
    },
  ) {
    super(message, { ...options, code: 'E_POOL_EXHAUSTED' });
    this.budget = options.budget;
    this.waitedMs = options.waitedMs;
    this.holders = options.holders;
    this.queueFull = options.queueFull ?? false;
    this.waiting = options.waiting ?? 0;
  }
}

/** Constructors a backend converts driver errors into. */
export type DatabaseErrorClass =
  | typeof DatabaseError
  | typeof DataError
  | typeof OperationalError
  | typeof IntegrityError
  | typeof InternalError
  | typeof ProgrammingError
  | typeof NotSupportedError;
