/**
 * PostgreSQL errors into Spool's tree, by SQLSTATE class as psycopg and Django map them. The
 * server's detail (`constraint`, `table`, `column`, `detail`, `hint`) is kept, and the driver's
 * error becomes the `cause`.
 */
import {
  DataError,
  DatabaseError,
  IntegrityError,
  InterfaceError,
  InternalError,
  NotSupportedError,
  OperationalError,
  ProgrammingError,
  type DatabaseErrorClass,
} from '../../errors';
import { isSocketError } from '../socket-errors';

const CONNECTION_MESSAGES =
  /Connection terminated|connection error and is not queryable|timeout expired|Client was closed|not queryable|Connection closed|Query read timeout/i;

/**
 * SQLSTATEs after which the server ends the session: administrator or crash shutdown, a server
 * starting or stopping, the database dropped, idle-session timeouts (sent as FATAL). Class 08
 * (connection exception) is fatal as a whole.
 */
const FATAL_SQLSTATES: ReadonlySet<string> = new Set(['57P01', '57P02', '57P03', '57P04', '57P05', '25P03']);

/** SQLSTATE class → error class (psycopg's mapping, which Django inherits). */
function classFor(sqlState: string): DatabaseErrorClass {
  const cls = sqlState.slice(0, 2);
  switch (cls) {
    case '0A':
      return NotSupportedError;
    case '21':
    case '42':
    case '2F':
    case '34':
    case '3F':
    case '44':
      return ProgrammingError;
    case '22':
      return DataError;
    case '23':
      return IntegrityError;
    case '08':
    case '28':
    case '3D':
    case '40':
    case '53':
    case '54':
    case '55':
    case '57':
    case '58':
    case 'HV':
      return OperationalError;
    default:
      return InternalError;
  }
}

/** Convert a `pg` error (or a socket error) into Spool's tree. */
export function convertPostgresError(error: unknown, alias: string, sql: string | undefined): DatabaseError | InterfaceError {
  const e = error as {
    code?: string;
    message?: string;
    constraint?: string;
    table?: string;
    column?: string;
    detail?: string;
    hint?: string;
  };
  const message = e?.message ?? String(error);
  const code = typeof e?.code === 'string' ? e.code : undefined;
  if (code && /^[0-9A-Z]{5}$/.test(code)) {
    const Cls = classFor(code);
    return new Cls(message, {
      cause: error,
      alias,
      sql,
      sqlState: code,
      vendorCode: code,
      constraint: e.constraint,
      table: e.table,
      column: e.column,
      detail: e.detail,
      hint: e.hint,
    });
  }
  if (isSocketError(error) || CONNECTION_MESSAGES.test(message)) {
    if (/not queryable|Client was closed/i.test(message)) return new InterfaceError(message, { cause: error, alias });
    return new OperationalError(message, { cause: error, alias, sql, vendorCode: code });
  }
  return new DatabaseError(message, { cause: error, alias, sql, vendorCode: code });
}

/**
 * Does `error` say that the session is gone, so that the connection must not be used again? A
 * server error of severity FATAL or PANIC (the backend exits after sending it), a fatal SQLSTATE,
 * a socket error, or pg's own words for a closed or broken client.
 */
export function isPostgresConnectionError(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown; severity?: unknown } | null | undefined;
  if (e === null || typeof e !== 'object') return false;
  if (e.severity === 'FATAL' || e.severity === 'PANIC') return true;
  if (typeof e.code === 'string' && (e.code.startsWith('08') || FATAL_SQLSTATES.has(e.code))) return true;
  if (isSocketError(e)) return true;
  return typeof e.message === 'string' && CONNECTION_MESSAGES.test(e.message);
}
