// Two branches each added a migration: migrate refuses with the conflict named, makemigrations
// --merge writes the merge migration; migrate --fake records without running.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { testDatabase } from '@spool/testing';
import { CliProject } from './support';

describe('spool: conflicting migrations and --fake', () => {
  let project: CliProject;

  beforeAll(async () => {
    project = new CliProject(testDatabase('sqlite').settings({ connection: { filename: ':memory:' } }), 'zoo');
    project.models(`export class CliAnimal extends Model.define({ name: new CharField({ maxLength: 30 }) }) {}\n`);
    expect((await project.run(['makemigrations'])).code).toBe(0);
    for (const branch of ['a', 'b']) {
      project.file(
        `migrations/zoo/0002_branch_${branch}.ts`,
        `import { Migration, RunSQL } from '@spool/orm/migrations';\nexport default new Migration({ dependencies: [['zoo', '0001_initial']], operations: [new RunSQL({ sql: 'SELECT 1', reverseSql: RunSQL.noop })] });\n`,
      );
    }
  });
  afterAll(() => project?.remove());

  test('migrate names the conflict and how to fix it; --merge writes a migration depending on both leaves', async () => {
    const refused = await project.run(['migrate', '--plan']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      "error: Conflicting migrations detected; multiple leaf nodes in the migration graph: (0002_branch_a, 0002_branch_b in zoo). To fix them run 'spool makemigrations --merge'.",
    );
    const merged = await project.run(['makemigrations', '--merge']);
    expect(merged.code).toBe(0);
    expect(merged.stdout).toContain('migrations/zoo/0003_merge_branch_a_branch_b.ts');
    expect(readdirSync(join(project.dir, 'migrations', 'zoo')).sort()).toEqual([
      '0001_initial.ts',
      '0002_branch_a.ts',
      '0002_branch_b.ts',
      '0003_merge_branch_a_branch_b.ts',
    ]);
    expect((await project.run(['makemigrations', '--check'])).code).toBe(0);
    const plan = await project.run(['migrate', '--plan']);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain('zoo.0003_merge_branch_a_branch_b');
  });

  test('migrate --fake records every migration as applied without running them', async () => {
    const fake = await project.run(['migrate', '--fake']);
    expect(fake.code).toBe(0);
    expect(fake.stdout).toMatch(/Applying zoo\.0001_initial\.\.\. FAKED/);
  });
});
