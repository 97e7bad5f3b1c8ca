/**
 * The errors of the migration system, all `SpoolError`s (so `MigrationError.is(err)` holds across
 * copies of the package). Each names what was wrong and what to do.
 *
 * ```
 * SpoolError
 * └── MigrationError                   the base: anything about migrations
 *     ├── BadMigrationError            a migration file that cannot be loaded or has the wrong shape
 *     ├── NodeNotFoundError            a dependency or target names a migration that does not exist
 *     ├── AmbiguityError               a migration prefix matches several migrations
 *     ├── CircularDependencyError      migrations depend on each other in a cycle
 *     ├── InconsistentMigrationHistory an applied migration has an unapplied dependency
 *     ├── ConflictError                an app has several leaf migrations (a merge migration is needed)
 *     ├── IrreversibleError            unapplying an operation declared irreversible
 *     ├── MigrationLockError           the migration lock could not be taken in time
 *     ├── MigrationFailedError         an operation failed while applying or unapplying
 *     └── QuestionerError              makemigrations needs an answer it cannot get (not a TTY)
 * ```
 */
import { SpoolError, type SpoolErrorOptions } from '@spool/connections';

/** The base of every migration error. */
export class MigrationError extends SpoolError {
  static override readonly kind: string = 'MigrationError';
  constructor(message: string, options: SpoolErrorOptions & { code?: string } = {}) {
    super(message, { ...options, code: options.code ?? 'E_MIGRATION' });
  }
}

/** A migration file that cannot be loaded, or whose default export is not a `Migration`. */
export class BadMigrationError extends MigrationError {
  static override readonly kind: string = 'BadMigrationError';
  /** The file concerned. */
  readonly file: string | undefined;
  constructor(message: string, options: SpoolErrorOptions & { file?: string } = {}) {
    super(message, { ...options, code: 'E_BAD_MIGRATION' });
    this.file = options.file;
  }
}

/** A dependency, replacement or target that names a migration which does not exist. */
export class NodeNotFoundError extends MigrationError {
  static override readonly kind: string = 'NodeNotFoundError';
  /** The missing migration, `app.name`. */
  readonly node: string;
  constructor(message: string, options: SpoolErrorOptions & { node?: string } = {}) {
    super(message, { ...options, code: 'E_MIGRATION_NOT_FOUND' });
    this.node = options.node ?? '';
  }
}

/** A migration name prefix that matches more than one migration. */
export class AmbiguityError extends MigrationError {
  static override readonly kind: string = 'AmbiguityError';
  constructor(message: string, options: SpoolErrorOptions = {}) {
    super(message, { ...options, code: 'E_MIGRATION_AMBIGUOUS' });
  }
}

/** Migrations whose dependencies form a cycle. */
export class CircularDependencyError extends MigrationError {
  static override readonly kind: string = 'CircularDependencyError';
  constructor(message: string, options: SpoolErrorOptions = {}) {
    super(message, { ...options, code: 'E_MIGRATION_CYCLE' });
  }
}

/** An applied migration whose dependency is not applied (Django's `InconsistentMigrationHistory`). */
export class InconsistentMigrationHistory extends MigrationError {
  static override readonly kind: string = 'InconsistentMigrationHistory';
  constructor(message: string, options: SpoolErrorOptions = {}) {
    super(message, { ...options, code: 'E_MIGRATION_HISTORY' });
  }
}

/** An app with more than one leaf migration: two branches were made in parallel. */
export class ConflictError extends MigrationError {
  static override readonly kind: string = 'ConflictError';
  /** The leaf migrations per app. */
  readonly conflicts: Readonly<Record<string, readonly string[]>>;
  constructor(message: string, options: SpoolErrorOptions & { conflicts?: Record<string, string[]> } = {}) {
    super(message, { ...options, code: 'E_MIGRATION_CONFLICT' });
    this.conflicts = options.conflicts ?? {};
  }
}

/** Unapplying an operation that is declared irreversible. */
export class IrreversibleError extends MigrationError {
  static override readonly kind: string = 'IrreversibleError';
  constructor(message: string, options: SpoolErrorOptions = {}) {
    super(message, { ...options, code: 'E_MIGRATION_IRREVERSIBLE' });
  }
}

/** The migration lock was not obtained in time. */
export class MigrationLockError extends MigrationError {
  static override readonly kind: string = 'MigrationLockError';
  constructor(message: string, options: SpoolErrorOptions = {}) {
    super(message, { ...options, code: 'E_MIGRATION_LOCK' });
  }
}

/** Where a migration stopped: which operation failed, with which SQL, and what was applied before it. */
export interface MigrationFailure {
  /** `app.name` of the migration. */
  readonly migration: string;
  /** Applying (forwards) or unapplying (backwards). */
  readonly direction: 'forwards' | 'backwards';
  /** 1-based position of the failing operation. */
  readonly operationIndex: number;
  /** The failing operation, described (`Add field isbn to Book`). */
  readonly operation: string;
  /** The statement that failed, when a statement failed. */
  readonly sql: string | undefined;
  /** Were the migration's changes rolled back (transactional DDL)? */
  readonly rolledBack: boolean;
  /** Operations that completed and stayed applied (non-transactional DDL: MariaDB). */
  readonly appliedOperations: readonly string[];
}

/** An operation failed while applying or unapplying a migration. The database error is the `cause`. */
export class MigrationFailedError extends MigrationError {
  static override readonly kind: string = 'MigrationFailedError';
  readonly failure: MigrationFailure;
  constructor(message: string, options: SpoolErrorOptions & { failure: MigrationFailure }) {
    super(message, { ...options, code: 'E_MIGRATION_FAILED' });
    this.failure = options.failure;
  }
}

/** `makemigrations` needs an answer (a rename, a default) and cannot ask. */
export class QuestionerError extends MigrationError {
  static override readonly kind: string = 'QuestionerError';
  constructor(message: string, options: SpoolErrorOptions = {}) {
    super(message, { ...options, code: 'E_MIGRATION_QUESTION' });
  }
}
