/**
 * `spool dbshell`: the database's own shell with the alias's settings (Django's `dbshell`):
 * `psql`, `mariadb` (or `mysql`), `sqlite3`. Extra arguments after `--` go to the shell.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { connections } from '@spool/connections';
import type { ExitCode } from '../exit-codes';
import { EXIT } from '../exit-codes';
import type { Project } from './project';

/** The first of `names` on PATH. */
export function which(names: readonly string[], path = process.env.PATH ?? ''): string | undefined {
  for (const name of names) {
    for (const dir of path.split(delimiter)) {
      if (!dir) continue;
      const file = join(dir, name);
      try {
        accessSync(file, constants.X_OK);
        return file;
      } catch {
        /* next */
      }
    }
  }
  return undefined;
}

const INSTALL: Record<string, string> = {
  postgresql: "the PostgreSQL client 'psql' (Debian/Ubuntu: apt-get install postgresql-client)",
  mysql: "the MariaDB client 'mariadb' or 'mysql' (Debian/Ubuntu: apt-get install mariadb-client)",
  sqlite: "the SQLite shell 'sqlite3' (Debian/Ubuntu: apt-get install sqlite3)",
};

/** The command, arguments and environment that open a shell on `alias`. */
export function shellCommand(alias: string, extra: readonly string[] = []): { command: string; args: string[]; env: NodeJS.ProcessEnv } {
  const settings = connections.settingsFor(alias);
  const vendor = connections.backend(alias).vendor;
  const names = vendor === 'postgresql' ? ['psql'] : vendor === 'mysql' ? ['mariadb', 'mysql'] : ['sqlite3'];
  const command = which(names);
  if (!command) throw new Error(`dbshell: ${names.join(' or ')} is not installed or not on PATH: install ${INSTALL[vendor]}.`);
  const env = { ...process.env };
  const args: string[] = [];
  const conn = settings.connection;
  if (vendor === 'sqlite') {
    const file = typeof conn === 'string' ? conn : String((conn as { filename: string }).filename);
    args.push(file);
  } else if (typeof conn === 'string') {
    const url = new URL(conn);
    if (vendor === 'postgresql') args.push(conn);
    else {
      if (url.hostname) args.push(`--host=${url.hostname}`);
      if (url.port) args.push(`--port=${url.port}`);
      if (url.username) args.push(`--user=${decodeURIComponent(url.username)}`);
      if (url.password) env.MYSQL_PWD = decodeURIComponent(url.password);
      const db = url.pathname.replace(/^\//, '');
      if (db) args.push(db);
    }
  } else {
    const c = conn as { host?: string; port?: number; user?: string; password?: string; database?: string };
    if (vendor === 'postgresql') {
      if (c.host) env.PGHOST = c.host;
      if (c.port) env.PGPORT = String(c.port);
      if (c.user) env.PGUSER = c.user;
      if (c.password) env.PGPASSWORD = c.password;
      if (c.database) env.PGDATABASE = c.database;
    } else {
      if (c.host) args.push(`--host=${c.host}`);
      if (c.port) args.push(`--port=${c.port}`);
      if (c.user) args.push(`--user=${c.user}`);
      if (c.password) env.MYSQL_PWD = c.password;
      if (c.database) args.push(c.database);
    }
  }
  return { command, args: [...args, ...extra], env };
}

export async function dbshell(project: Project, extra: string[], opts: { database: string }): Promise<ExitCode> {
  project.connect(opts.database);
  const { command, args, env } = shellCommand(opts.database, extra);
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: 'inherit', env });
    child.on('error', reject);
    child.on('exit', (code) => resolve((code ?? EXIT.ERROR) as ExitCode));
  });
}
