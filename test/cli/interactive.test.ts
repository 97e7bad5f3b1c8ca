// makemigrations on a terminal asks about renames instead of guessing (a pseudo-terminal from
// util-linux `script`, where installed); without a terminal it writes a removal and an addition
// and says how to give the rename by flag.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { testDatabase } from '@spool/testing';
import { CliProject, SPOOL } from './support';

const hasScript = (process.env.PATH ?? '').split(':').some((d) => existsSync(join(d, 'script')));
const V1 = `export class CliPet extends Model.define({ name: new CharField({ maxLength: 30 }) }) {}\n`;
const V2 = `export class CliPet extends Model.define({ nickname: new CharField({ maxLength: 30 }) }) {}\n`;

describe('spool makemigrations: renames are asked, never guessed', () => {
  let project: CliProject;

  beforeAll(async () => {
    project = new CliProject(testDatabase('sqlite').settings(), 'pets');
    project.models(V1);
    expect((await project.run(['makemigrations'])).code).toBe(0);
    project.models(V2);
  });
  afterAll(() => project?.remove());

  test('without a terminal: removal + addition, with the flag to use named', async () => {
    const r = await project.run(['makemigrations', '--dry-run', '--default', 'pets.CliPet.nickname="?"']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('    - Remove field name from CliPet\n    - Add field nickname to CliPet\n');
    expect(r.stderr).toContain('Not asked about renames (no terminal): possible renames are written as a removal and an addition.');
    expect(r.stderr).toContain('pass --rename-field pets.CliPet.name=nickname if it is a rename');
    const flagged = await project.run(['makemigrations', '--dry-run', '--rename-field', 'pets.CliPet.name=nickname']);
    expect(flagged.stdout).toContain('    - Rename field name on CliPet to nickname\n');
  });

  (hasScript ? test : test.skip)('on a terminal: asks, and a yes makes a RenameField', () => {
    const r = spawnSync('script', ['-qfec', `${process.execPath} ${SPOOL} makemigrations`, '/dev/null'], {
      cwd: project.dir,
      input: 'y\n',
      encoding: 'utf8',
      env: { ...process.env, FORCE_COLOR: undefined, NO_COLOR: '1' },
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Was CliPet.name renamed to CliPet.nickname (a CharField)? [y/N]');
    expect(r.stdout).toContain('- Rename field name on CliPet to nickname');
    expect(readdirSync(join(project.dir, 'migrations', 'pets')).sort()).toEqual([
      '0001_initial.ts',
      '0002_rename_name_cli_pet_nickname.ts',
    ]);
  });
});
