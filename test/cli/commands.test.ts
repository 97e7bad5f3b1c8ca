// The spool command line as a user runs it (a child process in a project with a TypeScript
// config and models, no build step): help and usage errors, exit codes scripts rely on, --json,
// colours, makemigrations/migrate/showmigrations/sqlmigrate/check on every database.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { configureFor, eachDatabase, useDatabase } from '../support/helpers';
import { resetTables } from '../migrations/support';
import { CliProject, spool } from './support';
import { tmpdir } from 'node:os';

const MODELS_V1 = `export class CliCustomer extends Model.define({ name: new CharField({ maxLength: 80 }) }) {}
export class CliOrder extends Model.define({
  total: new IntegerField(),
  customer: new ForeignKey(ref<CliCustomer>(() => CliCustomer), { onDelete: 'cascade' }),
}) {}
`;
const MODELS_V2 = MODELS_V1.replace(
  `total: new IntegerField(),`,
  `total: new IntegerField(),\n  note: new CharField({ maxLength: 20, null: true }),`,
);

describe('spool: usage', () => {
  test('--help lists the commands and the exit codes; exit 0', async () => {
    const r = await spool(tmpdir(), ['--help']);
    expect(r.code).toBe(0);
    for (const c of ['makemigrations', 'migrate', 'showmigrations', 'sqlmigrate', 'inspectdb', 'check', 'dbshell'])
      expect(r.stdout).toContain(c);
    expect(r.stdout).toContain('3  makemigrations --check: model changes without a migration;');
  });

  test('an unknown command or a bad option value is a usage error: exit 2', async () => {
    const bad = await spool(tmpdir(), ['migrat']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("error: unknown command 'migrat'");
    const value = await spool(tmpdir(), ['migrate', '--lock-timeout', 'soon']);
    expect(value.code).toBe(2);
    expect(value.stderr).toContain(
      "option '--lock-timeout <ms>' argument 'soon' is invalid. must be a non-negative integer (milliseconds).",
    );
  });

  test('no config found: exit 1, saying where it looked and what to create', async () => {
    const r = await spool(tmpdir(), ['showmigrations']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`error: No Spool config found in ${tmpdir()} or its parents. Create spool.config.ts`);
    const json = await spool(tmpdir(), ['--json', 'showmigrations']);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, error: { kind: 'ConfigError', code: 'E_CONFIG' } });
  });
});

eachDatabase('spool: commands', (db) => {
  useDatabase(db);
  let project: CliProject;

  beforeAll(async () => {
    configureFor(db);
    await resetTables('default', ['cli_'], ['shop']);
    project = new CliProject(db.settings());
    project.models(MODELS_V1);
  });
  afterAll(() => project?.remove());

  test('makemigrations writes a TypeScript migration; --check is clean afterwards (exit 0) and exits 3 on a model change', async () => {
    const made = await project.run(['makemigrations']);
    expect(made.code).toBe(0);
    expect(made.stdout).toContain(
      `Migrations for 'shop':\n  migrations/shop/0001_initial.ts\n    - Create model CliCustomer\n    - Create model CliOrder\n`,
    );
    expect(readdirSync(join(project.dir, 'migrations', 'shop'))).toEqual(['0001_initial.ts']);
    expect((await project.run(['makemigrations', '--check'])).code).toBe(0);
    project.models(MODELS_V2);
    const check = await project.run(['makemigrations', '--check']);
    expect(check.code).toBe(3);
    expect(check.stdout).toContain('    - Add field note to CliOrder');
    expect(existsSync(join(project.dir, 'migrations', 'shop', '0002_cli_order_note.ts'))).toBe(false);
    const json = JSON.parse((await project.run(['--json', 'makemigrations', '--dry-run'])).stdout) as {
      changes: { name: string; source: string }[];
    };
    expect(json.changes[0]?.name).toBe('0002_cli_order_note');
    expect(json.changes[0]?.source).toContain(
      `new AddField({ modelName: 'CliOrder', name: 'note', field: f.CharField({ maxLength: 20, null: true }) })`,
    );
    expect((await project.run(['makemigrations'])).code).toBe(0);
  });

  test('migrate --check exits 3 with unapplied migrations; migrate prints a line per migration with its time; --json for machines', async () => {
    expect((await project.run(['migrate', '--check'])).code).toBe(3);
    const plan = await project.run(['migrate', '--plan']);
    expect(plan.stdout).toContain(
      'Planned operations:\nshop.0001_initial\n    Create model CliCustomer\n    Create model CliOrder\nshop.0002_cli_order_note\n    Add field note to CliOrder\n',
    );
    const first = await project.run(['migrate', 'shop', '0001']);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/Running migrations:\n {2}Applying shop\.0001_initial\.\.\. OK \(\d+ ms\)\n/);
    const rest = JSON.parse((await project.run(['migrate', '--json'])).stdout) as {
      steps: { migration: string; ms: number }[];
      nothingToDo: boolean;
    };
    expect(rest.steps.map((s) => s.migration)).toEqual(['shop.0002_cli_order_note']);
    expect(typeof rest.steps[0]?.ms).toBe('number');
    expect((await project.run(['migrate', '--check'])).code).toBe(0);
    const again = await project.run(['migrate']);
    expect(again.stdout).toContain('  No migrations to apply.');
  });

  test('showmigrations marks applied migrations; sqlmigrate prints the SQL; migrate app zero unapplies', async () => {
    const shown = await project.run(['showmigrations']);
    expect(shown.stdout).toBe('shop\n [X] 0001_initial\n [X] 0002_cli_order_note\n');
    const sql = await project.run(['sqlmigrate', 'shop', '0002']);
    expect(sql.code).toBe(0);
    expect(sql.stdout).toMatch(/note/);
    const back = await project.run(['sqlmigrate', 'shop', '0002_cli_order_note', '--backwards']);
    expect(back.stdout).toMatch(db.name === 'sqlite' ? /DROP TABLE "cli_order"/ : /DROP COLUMN .note./);
    const missing = await project.run(['sqlmigrate', 'shop', '0009']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(
      "error: Cannot find a migration matching '0009' from app 'shop'. Migrations of 'shop': 0001_initial, 0002_cli_order_note.",
    );
    const zero = await project.run(['migrate', 'shop', 'zero']);
    expect(zero.stdout).toContain('  Unapplying shop.0002_cli_order_note... OK');
    expect((await project.run(['showmigrations'])).stdout).toBe('shop\n [ ] 0001_initial\n [ ] 0002_cli_order_note\n');
  });

  test('check reports model problems with Django ids and exits 1; colours only when forced, never with NO_COLOR', async () => {
    expect((await project.run(['check'])).stdout).toBe('System check identified no issues (0 silenced).\n');
    project.models(`${MODELS_V2}export class CliGhost extends Model.define({ name: new CharField({ maxLength: 5 }) }) {}
export class CliLink extends Model.define({ ghost: new ForeignKey(() => CliGhostOutside, { onDelete: 'cascade' }) }) {}
const CliGhostOutside = Model.define({ x: new IntegerField() }, { name: 'CliGhostOutside' });
`);
    const r = await project.run(['check']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      "shop.CliLink.ghost: (fields.E300) Field defines a relation with model 'CliGhostOutside', which is not in any app.",
    );
    expect(r.stdout).not.toContain('\u001b[');
    expect((await project.run(['check'], { FORCE_COLOR: '1' })).stdout).toContain('\u001b[31m');
    expect((await project.run(['check'], { FORCE_COLOR: '1', NO_COLOR: '1' })).stdout).not.toContain('\u001b[');
    project.models(MODELS_V2);
  });

  test('dbshell opens the database client with the alias settings (or says which client to install)', async () => {
    const args = db.name === 'sqlite' ? ['SELECT 6*7;'] : db.name === 'postgres' ? ['-At', '-c', 'SELECT 6*7'] : ['-N', '-e', 'SELECT 6*7'];
    const client = db.name === 'sqlite' ? ['sqlite3'] : db.name === 'postgres' ? ['psql'] : ['mariadb', 'mysql'];
    const installed = client.some((c) => (process.env.PATH ?? '').split(':').some((d) => existsSync(join(d, c))));
    const r = await project.run(['dbshell', '--', ...args]);
    if (installed) {
      expect(r.code).toBe(0);
      expect(r.stdout.trim()).toBe('42');
    } else {
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`error: dbshell: ${client.join(' or ')} is not installed or not on PATH`);
    }
    const none = await project.run(['dbshell'], { PATH: '/nonexistent' });
    expect(none.code).toBe(1);
    expect(none.stderr).toContain(`is not installed or not on PATH: install`);
  });
});
