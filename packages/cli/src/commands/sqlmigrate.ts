/** `spool sqlmigrate app name [--backwards]`: the SQL a migration runs on one database (Django's `sqlmigrate`). */
import { connections } from '@spool/connections';
import { MigrationExecutor } from '@spool/orm/migrations';
import { EXIT, type ExitCode } from '../exit-codes';
import type { Output } from '../output/output';
import type { Project } from './project';

/** Parameters shown inline, for reading (the executor binds them). */
function inline(sql: string, params: readonly unknown[], vendor: string): string {
  if (params.length === 0) return sql;
  let i = 0;
  const lit = (v: unknown) =>
    v === null
      ? 'NULL'
      : typeof v === 'number' || typeof v === 'bigint'
        ? String(v)
        : typeof v === 'boolean'
          ? vendor === 'postgresql'
            ? String(v).toUpperCase()
            : v
              ? '1'
              : '0'
          : `'${String(v instanceof Date ? v.toISOString() : v).replace(/'/g, "''")}'`;
  return vendor === 'postgresql'
    ? sql.replace(/\$(\d+)/g, (_m, n: string) => lit(params[Number(n) - 1]))
    : sql.replace(/\?/g, () => lit(params[i++]));
}

export async function sqlmigrate(
  project: Project,
  app: string,
  name: string,
  opts: { database: string; backwards?: boolean },
  out: Output,
): Promise<ExitCode> {
  project.connect(opts.database);
  project.selectApps([app]);
  const loader = await project.loader();
  const key = loader.resolve(app, name);
  const { statements, atomic } = await new MigrationExecutor(loader, opts.database).sqlFor(key, { backwards: opts.backwards });
  const vendor = connections.backend(opts.database).vendor;
  const lines = statements.map((s) => `${inline(s.sql, s.params, vendor)};`);
  const text = atomic && lines.length > 0 ? ['BEGIN;', ...lines, 'COMMIT;'] : lines;
  if (lines.length === 0) out.line('-- (no SQL: the migration only changes the migration state, or runs code)');
  for (const l of text) out.line(l);
  out.result({
    ok: true,
    database: opts.database,
    migration: key,
    backwards: opts.backwards ?? false,
    atomic,
    statements: statements.map((s) => ({ sql: s.sql, params: s.params })),
  });
  return EXIT.OK;
}
