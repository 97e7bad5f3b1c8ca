// Two processes run `spool migrate` at once on one database: exactly one applies each migration,
// the other waits for the lock and then finds nothing to do; the recorder stays consistent.
import { connections, scope } from '@spool/connections';
import { configureFor, eachDatabase, useDatabase } from '../support/helpers';
import { resetTables } from '../migrations/support';
import { CliProject } from './support';

eachDatabase('spool migrate: two processes at once', (db) => {
  useDatabase(db);
  let project: CliProject;

  beforeAll(async () => {
    configureFor(db);
    await resetTables('default', ['clc_'], ['race']);
    project = new CliProject(db.settings(), 'race');
    project.models(`export class ClcThing extends Model.define({ name: new CharField({ maxLength: 20 }) }) {}\n`);
    expect((await project.run(['makemigrations'])).code).toBe(0);
    // A slow data migration keeps the first process inside the lock for a while.
    project.file(
      'migrations/race/0002_slow.ts',
      `import { Migration, RunCode } from '@spool/orm/migrations';
export default new Migration({
  dependencies: [['race', '0001_initial']],
  operations: [new RunCode({ code: () => new Promise((r) => setTimeout(r, 1500)), reverseCode: RunCode.noop })],
});
`,
    );
    project.file(
      'migrations/race/0003_more.ts',
      `import { Migration, RunSQL } from '@spool/orm/migrations';
export default new Migration({ dependencies: [['race', '0002_slow']], operations: [new RunSQL({ sql: "INSERT INTO clc_thing (name) VALUES ('once')", reverseSql: RunSQL.noop })] });
`,
    );
  });
  afterAll(() => project?.remove());

  test('exactly one process applies each migration; the other waits and reports nothing to do', async () => {
    const [a, b] = await Promise.all([project.run(['--json', 'migrate']), project.run(['--json', 'migrate'])]);
    expect([a.code, b.code]).toEqual([0, 0]);
    const results = [a, b].map((r) => JSON.parse(r.stdout) as { nothingToDo: boolean; steps: { migration: string }[] });
    const applier = results.find((r) => !r.nothingToDo);
    const waiter = results.find((r) => r.nothingToDo);
    expect(applier?.steps.map((s) => s.migration)).toEqual(['race.0001_initial', 'race.0002_slow', 'race.0003_more']);
    expect(waiter?.steps).toEqual([]);
    // The waiter really waited: it finished after the slow migration, not before.
    expect(Math.min(a.ms, b.ms)).toBeGreaterThanOrEqual(1500);
    await scope(async () => {
      const rows = (await connections.query('default', `SELECT name FROM spool_migrations WHERE app = 'race' ORDER BY id`, [])).rows as {
        name: string;
      }[];
      expect(rows.map((r) => r.name)).toEqual(['0001_initial', '0002_slow', '0003_more']);
      const things = (await connections.query('default', `SELECT name FROM clc_thing`, [])).rows;
      expect(things).toEqual([{ name: 'once' }]);
    });
  });
});
