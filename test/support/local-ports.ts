/**
 * Local TCP helpers for the tests that start their own servers (PgBouncer, private PostgreSQL and
 * MariaDB) or need one of the machine's (Redis): a free port, "does anything answer there", and
 * running a server binary as the system user it expects when the tests run as root.
 */
import { connect, createServer, type AddressInfo } from 'node:net';

/** A free local TCP port. */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Whether a TCP connect to `host:port` succeeds within `timeoutMs`. */
export function canConnect(port: number, host = '127.0.0.1', timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Run `cmd` as `user` when this process is root (servers refuse to run as root). */
export function asUser(user: string, cmd: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ['runuser', ['-u', user, '--', cmd, ...args]] : [cmd, args];
}
