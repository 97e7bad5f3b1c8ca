/**
 * Errors of the socket under a driver, the same on every server backend. Node reports them with
 * a string `code` (`ECONNRESET`), a negative numeric `errno` (-104) and a `syscall` (`read`):
 * the numeric errno is the operating system's, not a server's error number, so a converter must
 * look at these before it reads `errno` as a MySQL error or `code` as a SQLSTATE.
 */

/** Codes of a socket that broke, was refused or timed out: the session is gone. */
export const SOCKET_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENETRESET',
  'EAI_AGAIN',
  'ERR_SOCKET_CLOSED',
  'ERR_STREAM_DESTROYED',
  'ERR_STREAM_WRITE_AFTER_END',
]);

/** Is `error` an error of the socket itself (not one the server reported)? */
export function isSocketError(error: unknown): boolean {
  const e = error as { code?: unknown; syscall?: unknown; errno?: unknown } | null | undefined;
  if (e === null || typeof e !== 'object') return false;
  if (typeof e.code === 'string' && SOCKET_ERROR_CODES.has(e.code)) return true;
  // Any failed system call on the socket (read, write, connect, getaddrinfo).
  return typeof e.syscall === 'string' && typeof e.errno === 'number' && e.errno < 0;
}
