/**
 * The `spool` program: commands and options on commander 14, one place for exit codes and
 * error output.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { shutdown, SpoolError } from '@spool/connections';
import { EXIT, type ExitCode } from './exit-codes';
import { Output } from './output/output';
import { Project, type GlobalOptions } from './commands/project';
import { makemigrations } from './commands/makemigrations';
import { migrate } from './commands/migrate';
import { showmigrations } from './commands/showmigrations';
import { sqlmigrate } from './commands/sqlmigrate';
import { inspectdb } from './commands/inspectdb';
import { check } from './commands/check';
import { dbshell } from './commands/dbshell';

const collect = (value: string, previous: string[] = []) => [...previous, value];
const nonNegative = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a non-negative integer (milliseconds).');
  return n;
};

const EXIT_HELP = `
Exit codes:
  0  success
  1  error (configuration, database, failed migration, check found problems)
  2  usage error (unknown command or option, bad argument)
  3  makemigrations --check: model changes without a migration;
     migrate --check: unapplied migrations

Configuration: spool.config.ts (or .mts, .cts, .mjs, .js, .cjs) in the current folder or a parent,
or --config <file>. Colours only on a terminal; NO_COLOR turns them off, FORCE_COLOR on.`;

function version(): string {
  try {
    return (JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

export interface RunIO {
  stdout?: NodeJS.WritableStream & { isTTY?: boolean };
  stderr?: NodeJS.WritableStream & { isTTY?: boolean };
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/** Run `spool` with `args` (without `node` and the script); resolves with the exit code. */
export async function run(args: readonly string[], io: RunIO = {}): Promise<ExitCode> {
  const stdout = (io.stdout ?? process.stdout) as NodeJS.WritableStream & { isTTY?: boolean };
  const stderr = (io.stderr ?? process.stderr) as NodeJS.WritableStream & { isTTY?: boolean };
  let code: ExitCode = EXIT.OK;
  const program = new Command();
  program
    .name('spool')
    .description("Spool's command line: migrations, schema inspection and checks for @spool/orm models")
    .version(version(), '-V, --version')
    .option('--config <file>', 'the Spool config file (default: spool.config.* here or in a parent folder)')
    .option('--json', 'print one JSON document for machines')
    .option('--no-color', 'never colour the output')
    .showHelpAfterError('(run spool --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => stdout.write(s), writeErr: (s) => stderr.write(s) })
    .addHelpText('after', EXIT_HELP);

  const action =
    (fn: (project: Project, out: Output, ...rest: never[]) => Promise<ExitCode>) =>
    async (...rest: unknown[]) => {
      const command = rest[rest.length - 1] as Command;
      const globals = command.optsWithGlobals() as GlobalOptions;
      const out = new Output({ json: globals.json, color: globals.color, stdout: stdout as never, stderr: stderr as never, env: io.env });
      try {
        const project = await Project.open({ ...globals, cwd: io.cwd });
        code = await fn(project, out, ...(rest.slice(0, -1) as never[]));
      } catch (err) {
        const e = err as Error & { usage?: boolean; code?: string };
        out.error({
          name: e.name,
          message: SpoolError.is(e) || e.name === 'Error' ? e.message : `${e.name}: ${e.message}`,
          code: typeof e.code === 'string' ? e.code : undefined,
        });
        code = e.usage ? EXIT.USAGE : EXIT.ERROR;
      }
    };

  program
    .command('makemigrations')
    .description('write new migrations for the changes in the models')
    .argument('[apps...]', 'only these apps')
    .option('-n, --name <name>', 'the migration name (after the number)')
    .option('--empty', 'write an empty migration (for RunSQL / RunCode)')
    .option('--dry-run', 'show what would be written, write nothing')
    .option('--check', `exit with code ${EXIT.PENDING} when models have changes without a migration (for CI); write nothing`)
    .option('--merge', 'write merge migrations for apps with conflicting leaf migrations')
    .option('--rename-field <app.Model.old=new>', 'treat a removed and an added field as a rename (repeatable)', collect, [])
    .option('--rename-model <app.Old=New>', 'treat a removed and an added model as a rename (repeatable)', collect, [])
    .option('--default <app.Model.field=json>', 'one-off value for existing rows of a new NOT NULL field (repeatable)', collect, [])
    .option('--no-input', 'never ask (renames only from --rename-*; removal + addition otherwise)')
    .option('--database <alias>', 'check the migration history of this database first')
    .action(action((project, out, apps: string[], opts: Parameters<typeof makemigrations>[2]) => makemigrations(project, apps, opts, out)));

  program
    .command('migrate')
    .description('apply (or unapply) migrations; `zero` as target unapplies all of an app')
    .argument('[app]', 'the app to migrate (default: all)')
    .argument('[target]', 'a migration name or prefix of the app, or zero')
    .option('--database <alias>', 'the database to migrate', 'default')
    .option('--fake', 'record the migrations as applied (or unapplied) without running them')
    .option('--plan', 'show the operations that would run, run nothing')
    .option('--check', `exit with code ${EXIT.PENDING} when there are unapplied migrations; run nothing`)
    .option('--lock-timeout <ms>', 'how long to wait for another process that is migrating', nonNegative)
    .action(
      action((project, out, app: string | undefined, target: string | undefined, opts: Parameters<typeof migrate>[3]) =>
        migrate(project, app, target, opts, out),
      ),
    );

  program
    .command('showmigrations')
    .description('list migrations and whether each is applied ([X]) or not ([ ])')
    .argument('[apps...]', 'only these apps')
    .option('--database <alias>', 'the database to read', 'default')
    .option('-p, --plan', 'show the migrations in the order they apply')
    .action(action((project, out, apps: string[], opts: { database: string; plan?: boolean }) => showmigrations(project, apps, opts, out)));

  program
    .command('sqlmigrate')
    .description('print the SQL of a migration for a database')
    .argument('<app>', 'the app')
    .argument('<name>', 'the migration name or a unique prefix')
    .option('--database <alias>', 'the database whose SQL to print', 'default')
    .option('--backwards', 'the SQL that unapplies it')
    .action(
      action((project, out, app: string, name: string, opts: { database: string; backwards?: boolean }) =>
        sqlmigrate(project, app, name, opts, out),
      ),
    );

  program
    .command('inspectdb')
    .description('write models for the tables of an existing database (TypeScript, to review and edit)')
    .argument('[tables...]', 'only these tables')
    .option('--database <alias>', 'the database to inspect', 'default')
    .option('-o, --output <file>', 'write to a file instead of stdout')
    .action(action((project, out, tables: string[], opts: { database: string; output?: string }) => inspectdb(project, tables, opts, out)));

  program
    .command('check')
    .description('validate the models (relations, reverse names, options) without touching a database')
    .argument('[apps...]', 'only report these apps')
    .option('--database <alias>', 'accepted for symmetry; the checks do not connect', 'default')
    .action(action((project, out, apps: string[]) => check(project, apps, out)));

  program
    .command('dbshell')
    .description("open the database's own shell (psql, mariadb, sqlite3) with the alias's settings")
    .argument('[args...]', 'extra arguments for the shell, after --')
    .option('--database <alias>', 'the database', 'default')
    .action(action((project, _out, args: string[], opts: { database: string }) => dbshell(project, args, opts)));

  try {
    await program.parseAsync([...args], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (['commander.helpDisplayed', 'commander.help', 'commander.version'].includes(err.code)) return EXIT.OK;
      if (err.code === 'commander.executeSubCommandAsync') return EXIT.ERROR;
      return EXIT.USAGE;
    }
    throw err;
  } finally {
    await shutdown({ deadlineMs: 5_000 }).catch(() => undefined);
  }
  return code;
}
