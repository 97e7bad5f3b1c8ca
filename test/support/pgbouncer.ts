/**
 * A private PgBouncer in transaction mode, in front of the local PostgreSQL, on a spare port:
 * started by the tests that need it (Debian's `pgbouncer`), stopped at the end. It runs as the
 * `postgres` system user when the tests run as root (PgBouncer refuses root).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { asUser, canConnect, freePort } from './local-ports';

const run = promisify(execFile);

export interface PgBouncer {
  readonly port: number;
  stop(): Promise<void>;
}

/** Start PgBouncer for `users` (trust) to `host:port`, or say why it cannot. */
export async function startPgBouncer(options: {
  host: string;
  port: number;
  users: readonly string[];
  poolSize: number;
}): Promise<PgBouncer | string> {
  const bin = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer'].find((p) => existsSync(p));
  if (bin === undefined) return 'no pgbouncer binary (Debian: apt-get install pgbouncer)';
  const dir = mkdtempSync(join(tmpdir(), 'spool-pgbouncer-'));
  const port = await freePort();
  writeFileSync(join(dir, 'users.txt'), options.users.map((u) => `"${u}" ""`).join('\n') + '\n');
  writeFileSync(
    join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `* = host=${options.host} port=${options.port}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      `unix_socket_dir = ${dir}`,
      'auth_type = trust',
      `auth_file = ${join(dir, 'users.txt')}`,
      'pool_mode = transaction',
      `default_pool_size = ${options.poolSize}`,
      'max_client_conn = 20000',
      'max_db_connections = 0',
      // Spool's PostgreSQL backend asks for client_connection_check_interval in `options`.
      'ignore_startup_parameters = extra_float_digits,options',
      `logfile = ${join(dir, 'pgbouncer.log')}`,
      `pidfile = ${join(dir, 'pgbouncer.pid')}`,
      'server_reset_query = DISCARD ALL',
      '',
    ].join('\n'),
  );
  if (process.getuid?.() === 0) await run('chown', ['-R', 'postgres:', dir]);
  const [cmd, args] = asUser('postgres', bin, [join(dir, 'pgbouncer.ini')]);
  const child: ChildProcess = spawn(cmd, args, { stdio: 'ignore' });
  const deadline = Date.now() + 15_000;
  while (!(await canConnect(port))) {
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill('SIGKILL');
      return `pgbouncer did not start (see ${dir}/pgbouncer.log)`;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise<void>((r) => child.once('exit', () => r()));
        // Signal PgBouncer itself (runuser may not pass the signal on).
        const pid = Number(readFileSync(join(dir, 'pgbouncer.pid'), 'utf8').trim());
        if (pid > 0) process.kill(pid, 'SIGINT');
        else child.kill('SIGINT');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
