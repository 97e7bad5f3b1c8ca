/**
 * SQLite errors into Spool's tree, on better-sqlite3's extended result codes (`SQLITE_CONSTRAINT_…`),
 * and on the message for plain `SQLITE_ERROR`. The driver's error becomes the `cause`.
 */
import {
  DataError,
  DatabaseError,
  IntegrityError,
  InterfaceError,
  InternalError,
  OperationalError,
  ProgrammingError,
  type DatabaseErrorClass,
} from '../../errors';

/** The code of the error Spool's REGEXP function throws for a pattern RE2 cannot compile. */
export const INVALID_REGEX = 'SPOOL_INVALID_REGEX';

const PROGRAMMING =
  /syntax error|no such (table|column|function|index)|has no column|already exists|incomplete input|parameter|no tables specified|ambiguous column|misuse/i;

function classFor(code: string | undefined, message: string): DatabaseErrorClass {
  if (!code) return PROGRAMMING.test(message) ? ProgrammingError : DatabaseError;
  if (code.startsWith('SQLITE_CONSTRAINT')) return IntegrityError;
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return OperationalError;
  if (
    code.startsWith('SQLITE_IOERR') ||
    code.startsWith('SQLITE_CANTOPEN') ||
    code === 'SQLITE_FULL' ||
    code === 'SQLITE_READONLY' ||
    code.startsWith('SQLITE_READONLY') ||
    code === 'SQLITE_PERM' ||
    code === 'SQLITE_NOMEM' ||
    code === 'SQLITE_INTERRUPT' ||
    code === 'SQLITE_ABORT'
  )
    return OperationalError;
  if (code === 'SQLITE_MISMATCH' || code === 'SQLITE_TOOBIG' || code === 'SQLITE_RANGE') return DataError;
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_INTERNAL' || code === 'SQLITE_NOTADB') return InternalError;
  if (code === 'SQLITE_MISUSE' || code === 'SQLITE_AUTH') return ProgrammingError;
  if (code === 'SQLITE_ERROR') return PROGRAMMING.test(message) ? ProgrammingError : OperationalError;
  return DatabaseError;
}

function constraintFrom(code: string | undefined, message: string): { constraint?: string; table?: string; column?: string } {
  const m = /constraint failed: (.+)$/.exec(message);
  if (!m || !m[1]) return {};
  const what = m[1].trim();
  if (code === 'SQLITE_CONSTRAINT_CHECK') return { constraint: what };
  const first = what.split(',')[0]?.trim() ?? '';
  const dot = first.indexOf('.');
  if (dot > 0) return { table: first.slice(0, dot), column: first.slice(dot + 1), constraint: what };
  return { constraint: what };
}

/** Convert a better-sqlite3 error into Spool's tree. */
export function convertSqliteError(error: unknown, alias: string, sql: string | undefined): DatabaseError | InterfaceError {
  const e = error as { code?: string; message?: string };
  const message = e?.message ?? String(error);
  if (error instanceof TypeError && /not open|closed/i.test(message)) {
    return new InterfaceError(message, { cause: error, alias });
  }
  if (error instanceof RangeError || (error instanceof TypeError && !e.code)) {
    return new ProgrammingError(message, { cause: error, alias, sql });
  }
  const code = typeof e?.code === 'string' ? e.code : undefined;
  // A bad pattern for REGEXP: invalid data for the statement, as PostgreSQL's 2201B.
  if (code === INVALID_REGEX) return new DataError(message, { cause: error, alias, sql, vendorCode: code });
  const Cls = classFor(code, message);
  return new Cls(message, { cause: error, alias, sql, vendorCode: code, ...constraintFrom(code, message) });
}

/**
 * Does `error` mean the handle cannot be used again: the file is corrupt or not a database, an
 * I/O error (the file was removed, the disk failed), or the file can no longer be opened? The
 * handle is then closed at release and the next scope opens the file afresh, failing clearly if
 * it is still bad. Busy, locked, full, constraint and SQL errors leave the handle usable.
 */
export function isSqliteFatal(error: unknown): boolean {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  if (typeof code !== 'string') return false;
  return (
    code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_IOERR') || code.startsWith('SQLITE_CANTOPEN')
  );
}
