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
import { ConnectionCounter, type TestDatabase } from '@spool/testing';
import pg from 'pg';
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
  /** Listen here (a restart on the port it had) instead of a spare port. */
  listenPort?: number;
}): Promise<PgBouncer | string> {
  const bin = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer'].find((p) => existsSync(p));
  if (bin === undefined) return 'no pgbouncer binary (Debian: apt-get install pgbouncer)';
  const dir = mkdtempSync(join(tmpdir(), 'spool-pgbouncer-'));
  const port = options.listenPort ?? (await freePort());
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
      // The tests' roles read SHOW CLIENTS on the admin console (the client-side count).
      `admin_users = ${options.users.join(',')}`,
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

/**
 * Counts Spool's connections to PgBouncer (its clients, from `SHOW CLIENTS` on the admin console)
 * instead of PostgreSQL's backends: behind a pooler, the server connections are PgBouncer's, kept
 * open in its pool, and what a leak test asks is whether Spool let go of its own. Ids are the
 * clients' local ports. `busy` and `terminate` are the server's (not used through the pooler).
 */
export class PgBouncerClientCounter extends ConnectionCounter {
  private admin: Promise<pg.Client> | undefined;

  constructor(
    private readonly port: () => number,
    private readonly user: string,
  ) {
    super({ kind: 'postgres', user });
  }

  override async serverIds(): Promise<number[]> {
    this.admin ??= (async () => {
      const c = new pg.Client({ host: '127.0.0.1', port: this.port(), user: this.user, database: 'pgbouncer' });
      c.on('error', () => {});
      await c.connect();
      (c as unknown as { unref(): void }).unref();
      return c;
    })();
    const c = await this.admin;
    (c as unknown as { ref(): void }).ref();
    try {
      const { rows } = await c.query<{ user: string; database: string; port: number }>('SHOW CLIENTS');
      return rows.filter((r) => r.user === this.user && r.database !== 'pgbouncer').map((r) => Number(r.port));
    } finally {
      (c as unknown as { unref(): void }).unref();
    }
  }

  override async close(): Promise<void> {
    const a = this.admin;
    this.admin = undefined;
    if (a) await (await a).end();
    await super.close();
  }
}

/**
 * Is `db` the `postgres-pgbouncer` entry (pin: 'transaction': a scope holds no connection between
 * its statements)? For the few shared tests whose subject is a connection held by the scope.
 */
export function throughPooler(db: TestDatabase): boolean {
  return 'bouncer' in db;
}

/** Is a PgBouncer binary installed (or required, so that its absence fails the suites)? */
export function pgBouncerAvailable(): boolean {
  return process.env.SPOOL_REQUIRE_PGBOUNCER === '1' || ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer'].some((p) => existsSync(p));
}

/**
 * `db` (PostgreSQL) seen through a private PgBouncer in transaction mode, started before the
 * suite's hooks and stopped after them (call it in an outer describe, the suite in an inner one):
 * its settings go through the pooler with `pooler: 'transaction'` (so `pin: 'transaction'` and no
 * prepared statements); its counter counts Spool's client connections to PgBouncer
 * (`PgBouncerClientCounter`); roles and setup are `db`'s.
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
    // Spool's connections to the pooler (its server connections stay open in PgBouncer's pool).
    counter: () => {
      const user = (db.settings().connection as { user: string }).user;
      return new PgBouncerClientCounter(() => {
        if (bouncer === undefined) throw new Error('throughPgBouncer(): the counter counts once PgBouncer runs');
        return bouncer.port;
      }, user);
    },
    role: (suffix, options) => db.role(suffix, options),
    setup: () => db.setup(),
  };
}
