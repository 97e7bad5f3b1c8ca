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
import { shutdown, type DatabaseSettings } from '@spool/connections';
import type { TestDatabase } from '@spool/testing';
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

/** Is a PgBouncer binary installed (or required, so that its absence fails the suites)? */
export function pgBouncerAvailable(): boolean {
  return process.env.SPOOL_REQUIRE_PGBOUNCER === '1' || ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer'].some((p) => existsSync(p));
}

/**
 * `db` (PostgreSQL) seen through a private PgBouncer in transaction mode, started before the
 * suite's hooks and stopped after them (call it in an outer describe, the suite in an inner one):
 * its settings go through the pooler with `pooler: 'transaction'` (so `pin: 'transaction'` and no
 * prepared statements), the rest (counter, roles, setup) is `db`'s: the counter still counts the
 * server connections of the worker's role, PgBouncer's included.
 */
export function throughPgBouncer(db: TestDatabase, poolSize = 20): TestDatabase & { readonly bouncer: PgBouncer | undefined } {
  let bouncer: PgBouncer | undefined;
  beforeAll(async () => {
    await db.setup();
    const c = db.settings().connection as { host: string; port: number; user: string };
    const b = await startPgBouncer({ host: c.host, port: c.port, users: [c.user], poolSize });
    if (typeof b === 'string') throw new Error(`PgBouncer is needed for the postgres-pgbouncer entry: ${b}`);
    bouncer = b;
  }, 30_000);
  afterAll(async () => {
    await shutdown();
    await bouncer?.stop();
  });
  return {
    name: db.name,
    client: db.client,
    hasServer: db.hasServer,
    get bouncer() {
      return bouncer;
    },
    settings(overrides: Partial<DatabaseSettings> = {}): DatabaseSettings {
      if (bouncer === undefined) throw new Error('throughPgBouncer(): settings() exist once PgBouncer runs (from beforeAll on)');
      const s = db.settings({ pooler: 'transaction', ...overrides });
      return { ...s, connection: { ...(s.connection as Record<string, unknown>), port: bouncer.port } };
    },
    counter: () => db.counter(),
    role: (suffix, options) => db.role(suffix, options),
    setup: () => db.setup(),
  };
}
