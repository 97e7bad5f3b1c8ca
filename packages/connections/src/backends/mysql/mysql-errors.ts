/**
 * MySQL and MariaDB errors into Spool's tree: socket errors first (their numeric `errno` is the
 * operating system's, e.g. -104 for ECONNRESET, not a server error number), then the server's
 * errno, then the SQLSTATE class (HY000 says too little); the constraint, table or column is read
 * from the message, since the server does not report them apart. The driver's error becomes the
 * `cause`. `isMysqlConnectionError` says which errors end the session: the connection is then
 * discarded at release instead of being handed to the next scope.
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

/** errno → class, for the errors whose SQLSTATE class says too little (HY000 is used for many). */
const ERRNO: Record<number, DatabaseErrorClass> = {
  1022: IntegrityError, // duplicate key on write
  1048: IntegrityError, // column cannot be null
  1062: IntegrityError, // duplicate entry
  1169: IntegrityError, // unique constraint
  1216: IntegrityError, // FK: cannot add child row
  1217: IntegrityError, // FK: cannot delete parent row
  1364: IntegrityError, // field has no default value (strict mode)
  1451: IntegrityError, // FK: row is referenced
  1452: IntegrityError, // FK: cannot add or update child row
  1557: IntegrityError,
  1586: IntegrityError,
  3819: IntegrityError, // MySQL check constraint
  4025: IntegrityError, // MariaDB check constraint
  1264: DataError, // out of range
  1265: DataError, // data truncated
  1292: DataError, // incorrect datetime value
  1366: DataError, // incorrect value for column
  1367: DataError,
  1406: DataError, // data too long
  1416: DataError,
  1690: DataError, // value out of range
  3140: DataError, // invalid JSON
  4038: DataError,
  1040: OperationalError, // too many connections
  1044: OperationalError, // access denied to database
  1045: OperationalError, // access denied
  1049: OperationalError, // unknown database
  1053: OperationalError, // server shutdown
  1077: OperationalError, // normal shutdown
  1080: OperationalError, // forcing close of thread
  1152: OperationalError, // aborted connection
  1153: OperationalError, // packet bigger than max_allowed_packet (the server then closes)
  1154: OperationalError, // read error from pipe
  1156: OperationalError, // packets out of order
  1157: OperationalError, // could not uncompress packet
  1158: OperationalError, // error reading packets
  1159: OperationalError, // timeout reading packets
  1160: OperationalError, // error writing packets
  1161: OperationalError, // timeout writing packets
  1184: OperationalError, // aborted new connection
  1203: OperationalError, // max_user_connections
  1205: OperationalError, // lock wait timeout
  1213: OperationalError, // deadlock
  1226: OperationalError, // resource limit (max_user_connections)
  1317: OperationalError, // query interrupted
  1927: OperationalError, // connection killed (MariaDB)
  1969: OperationalError, // statement timeout (MariaDB)
  2006: OperationalError, // server has gone away
  2013: OperationalError, // lost connection during query
  2055: OperationalError, // lost connection (extended)
  3024: OperationalError, // max_execution_time
  4031: OperationalError, // MySQL 8: disconnected for inactivity
  1054: ProgrammingError, // unknown column
  1064: ProgrammingError, // syntax error
  1146: ProgrammingError, // no such table
  1050: ProgrammingError, // table exists
  1051: ProgrammingError, // unknown table
  1060: ProgrammingError, // duplicate column
  1061: ProgrammingError, // duplicate key name
  1091: ProgrammingError, // can't drop
  1149: ProgrammingError,
  1210: ProgrammingError, // wrong arguments
  1235: NotSupportedError, // not supported yet
  1178: NotSupportedError,
  1289: NotSupportedError,
};

/**
 * Server errors after which the server has closed (or is closing) the session: shutdown, a
 * killed connection, network errors on its side, and a packet over `max_allowed_packet`, which
 * the server answers with an error and then a closed socket.
 */
const FATAL_ERRNOS: ReadonlySet<number> = new Set([
  1053, 1077, 1080, 1152, 1153, 1154, 1156, 1157, 1158, 1159, 1160, 1161, 1184, 1927, 2006, 2013, 2055, 4031,
]);

/** The driver's own codes for a session that is gone (mysql2 sets them with `fatal: true`). */
const FATAL_CODES: ReadonlySet<string> = new Set([
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'PROTOCOL_PACKETS_OUT_OF_ORDER',
  'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR',
  'PROTOCOL_ENQUEUE_AFTER_QUIT',
  'ER_CONNECTION_KILLED',
  'ER_SERVER_SHUTDOWN',
  'ER_NET_PACKET_TOO_LARGE',
  'CR_SERVER_GONE_ERROR',
  'CR_SERVER_LOST',
]);

/** A server errno of a MySQL error, or undefined (socket errors carry the operating system's). */
function serverErrno(e: { errno?: unknown; syscall?: unknown }): number | undefined {
  return typeof e.errno === 'number' && e.errno > 0 && e.syscall === undefined ? e.errno : undefined;
}

function classFor(errno: number | undefined, sqlState: string | undefined): DatabaseErrorClass {
  if (errno !== undefined && ERRNO[errno]) return ERRNO[errno];
  switch (sqlState?.slice(0, 2)) {
    case '23':
      return IntegrityError;
    case '22':
      return DataError;
    case '42':
      return ProgrammingError;
    case '08':
    case '40':
    case '28':
      return OperationalError;
    case '0A':
      return NotSupportedError;
    case 'XA':
    case '25':
      return InternalError;
    default:
      return DatabaseError;
  }
}

/** Pull the constraint name out of MySQL's messages (the server does not report it separately). */
function constraintFrom(message: string): { constraint?: string; column?: string; table?: string } {
  let m = /CONSTRAINT [`"]([^`"]+)[`"]/.exec(message);
  if (m) {
    const t = /[`"][^`"]+[`"]\.[`"]([^`"]+)[`"]/.exec(message);
    return { constraint: m[1], ...(t ? { table: t[1] } : {}) };
  }
  m = /for key '(?:[^'.]+\.)?([^']+)'/.exec(message);
  if (m) return { constraint: m[1] };
  m = /Column '([^']+)' cannot be null|Field '([^']+)' doesn't have a default value/.exec(message);
  if (m) return { column: m[1] ?? m[2] };
  return {};
}

/** Convert a `mysql2` error (or a socket error) into Spool's tree. */
export function convertMysqlError(error: unknown, alias: string, sql: string | undefined): DatabaseError | InterfaceError {
  const e = (error ?? {}) as { errno?: number; sqlState?: string; code?: string; message?: string; sqlMessage?: string; fatal?: boolean };
  const message = e.sqlMessage ?? e.message ?? String(error);
  if (e.code === 'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR' || e.code === 'PROTOCOL_ENQUEUE_AFTER_QUIT') {
    return new InterfaceError(message, { cause: error, alias, code: 'E_INTERFACE' });
  }
  const errno = serverErrno(e);
  // A broken socket, or the driver's own word that the session is gone.
  if (errno === undefined && (isSocketError(error) || (e.code !== undefined && FATAL_CODES.has(e.code)) || e.fatal === true)) {
    return new OperationalError(message, { cause: error, alias, sql, vendorCode: e.code });
  }
  const Cls = classFor(errno, e.sqlState);
  return new Cls(message, {
    cause: error,
    alias,
    sql,
    sqlState: e.sqlState,
    vendorCode: errno ?? e.code,
    ...constraintFrom(message),
  });
}

/**
 * Does `error` say that the session is gone, so that the connection must not be used again? A
 * `fatal` driver error, a socket error, the driver's lost-connection codes, or a server error
 * after which the server closes the session (`FATAL_ERRNOS`).
 */
export function isMysqlConnectionError(error: unknown): boolean {
  const e = error as { fatal?: boolean; code?: string; errno?: number; syscall?: string } | null | undefined;
  if (e === null || typeof e !== 'object') return false;
  if (e.fatal === true || isSocketError(e) || (e.code !== undefined && FATAL_CODES.has(e.code))) return true;
  const errno = serverErrno(e);
  return errno !== undefined && FATAL_ERRNOS.has(errno);
}
