/**
 * Private database servers for the tests that stop and start a server: a PostgreSQL cluster
 * (initdb) or a MariaDB data directory (mariadb-install-db) in a temporary directory, on a spare
 * port, with its socket in that directory, run as the system user the server expects. The shared
 * servers of the machine are never touched. An initialised data directory is kept as a template
 * under the temporary directory (per server version), so that only the first run pays for initdb.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { DatabaseSettings } from '@spool/connections';
import { asUser, freePort } from './local-ports';

const run = promisify(execFile);

export interface PrivateServer {
  readonly kind: 'postgres' | 'mysql';
  readonly port: number;
  /** Settings for Spool: the server's superuser over TCP. */
  settings(overrides?: Partial<DatabaseSettings>): DatabaseSettings;
  /** Client connections of the superuser now (the counting one excluded); 0 while the server is down. */
  count(): Promise<number>;
  /** Stop the server (fast shutdown: sessions are terminated). */
  stop(): Promise<void>;
  /** Start it again on the same port and data. */
  start(): Promise<void>;
  /** Stop it and remove its directory. */
  destroy(): Promise<void>;
}

function postgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(root, versions[0], 'bin');
}

async function which(cmd: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/usr/bin'])) {
    if (existsSync(join(dir, cmd))) return join(dir, cmd);
  }
  return undefined;
}

/** Copy the cached template of `key`, creating it with `init(dir)` on first use. */
async function fromTemplate(key: string, owner: string, init: (dataDir: string) => Promise<void>): Promise<string> {
  const template = join(tmpdir(), `spool-template-${key}`);
  if (!existsSync(template)) {
    const building = mkdtempSync(join(tmpdir(), `spool-template-build-`));
    await run('chown', [owner, building]).catch(() => undefined);
    await init(join(building, 'data'));
    try {
      renameSync(join(building, 'data'), template);
    } catch {
      /* another run made it first */
    }
    rmSync(building, { recursive: true, force: true });
  }
  const dir = mkdtempSync(join(tmpdir(), `spool-private-${key}-`));
  cpSync(template, join(dir, 'data'), { recursive: true });
  await run('chown', ['-R', `${owner}:`, dir]).catch(() => undefined);
  return dir;
}

/** Start a private PostgreSQL, or say why it cannot. */
export async function privatePostgres(): Promise<PrivateServer | string> {
  const bin = postgresBin();
  if (bin === undefined) return 'no PostgreSQL server binaries (/usr/lib/postgresql/*/bin)';
  const version = bin.split('/').at(-2) as string;
  const dir = await fromTemplate(`pg${version}`, 'postgres', async (data) => {
    const [cmd, args] = asUser('postgres', join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'root', '--no-sync', '-E', 'UTF8']);
    await run(cmd, args);
  });
  const port = await freePort();
  const pgCtl = (args: string[]) => {
    const [cmd, a] = asUser('postgres', join(bin, 'pg_ctl'), ['-D', join(dir, 'data'), ...args]);
    return run(cmd, a);
  };
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60 -c shared_buffers=16MB`;
  const start = async () => {
    await pgCtl(['-o', options, '-l', join(dir, 'log'), '-w', '-t', '60', 'start']);
  };
  await start();
  const connection = { host: '127.0.0.1', port, user: 'root', database: 'postgres' };
  return {
    kind: 'postgres',
    port,
    settings: (o = {}) => ({ client: 'pg', connection, ...o }),
    async count() {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- the driver, as a test tool
      const { Client } = require('pg') as typeof import('pg');
      const c = new Client(connection);
      try {
        await c.connect();
        const r = await c.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = 'root' AND backend_type = 'client backend' AND pid <> pg_backend_pid()`,
        );
        return Number(r.rows[0].n);
      } catch {
        return 0;
      } finally {
        await c.end().catch(() => undefined);
      }
    },
    stop: async () => {
      await pgCtl(['-m', 'fast', '-w', '-t', '60', 'stop']);
    },
    start,
    async destroy() {
      await pgCtl(['-m', 'immediate', '-w', 'stop']).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Start a private MariaDB, or say why it cannot. */
export async function privateMariadb(): Promise<PrivateServer | string> {
  const mariadbd = (await which('mariadbd')) ?? (await which('mysqld'));
  const install = await which('mariadb-install-db');
  if (mariadbd === undefined || install === undefined) return 'no MariaDB server binaries (mariadbd, mariadb-install-db)';
  const { stdout } = await run(mariadbd, ['--version']);
  const version = /Ver\s+(\S+)/.exec(stdout)?.[1] ?? 'unknown';
  const dir = await fromTemplate(`mariadb${version}`, 'mysql', async (data) => {
    await run(install, [
      '--no-defaults',
      `--datadir=${data}`,
      '--user=mysql',
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
      '--skip-name-resolve',
    ]);
  });
  const port = await freePort();
  let child: ChildProcess | undefined;
  const connection = { host: '127.0.0.1', port, user: 'root', database: 'mysql' };
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the driver, as a test tool
  const mysql = require('mysql2/promise') as typeof import('mysql2/promise');
  const count = async (): Promise<number> => {
    let c;
    try {
      c = await mysql.createConnection({ ...connection, connectTimeout: 2000 });
      const [rows] = await c.query(
        `SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = 'root' AND ID <> CONNECTION_ID() AND COMMAND <> 'Daemon'`,
      );
      return Number((rows as Array<{ n: number }>)[0]?.n);
    } catch {
      return -1;
    } finally {
      await c?.end().catch(() => undefined);
    }
  };
  const start = async () => {
    child = spawn(
      mariadbd,
      [
        '--no-defaults',
        '--user=mysql',
        `--datadir=${join(dir, 'data')}`,
        `--port=${port}`,
        '--bind-address=127.0.0.1',
        `--socket=${join(dir, 'sock')}`,
        `--pid-file=${join(dir, 'pid')}`,
        '--skip-name-resolve',
        '--innodb-buffer-pool-size=16M',
        '--skip-log-bin',
        '--performance-schema=OFF',
        `--log-error=${join(dir, 'err.log')}`,
      ],
      { stdio: 'ignore' },
    );
    const deadline = Date.now() + 60_000;
    while ((await count()) < 0) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the private MariaDB did not start (see ${dir}/err.log)`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const stop = async () => {
    const c = child;
    child = undefined;
    if (c === undefined || c.exitCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill('SIGTERM');
    await exited;
  };
  await start();
  return {
    kind: 'mysql',
    port,
    settings: (o = {}) => ({ client: 'mysql2', connection, ...o }),
    count: async () => Math.max(0, await count()),
    stop,
    start,
    async destroy() {
      await stop().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
