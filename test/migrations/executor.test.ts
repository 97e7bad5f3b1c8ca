// The executor's guarantees on every database: a migration failing halfway (PostgreSQL and
// SQLite roll it back; MariaDB reports what stayed applied), irreversible operations refused
// before anything runs, routers' allowMigrate per alias, and the SQL of two migrations pinned
// per dialect (sqlmigrate).
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { connections, scope } from '@spool/connections';
import { CharField, IntegerField, Model } from '@spool/orm';
import { IrreversibleError, MigrationFailedError, introspectionFor } from '@spool/orm/migrations';
import { configureFor, eachDatabase, useDatabase } from '../support/helpers';
import { MigrationProject, ORM_MIGRATIONS, resetTables } from './support';

const tables = () => scope(async () => (await introspectionFor('default').tableNames()).filter((t) => t.startsWith('migx_')));
const recorded = () =>
  scope(async () =>
    (
      (await connections.query('default', `SELECT name FROM spool_migrations WHERE app = 'exec' ORDER BY id`, [])).rows as {
        name: string;
      }[]
    ).map((r) => r.name),
  );

const v1 = () => [Model.define({ name: new CharField({ maxLength: 50 }) }, { name: 'MigxItem' })];
const v2 = () => [Model.define({ name: new CharField({ maxLength: 50 }), qty: new IntegerField({ default: 1 }) }, { name: 'MigxItem' })];
const v3 = () => [Model.define({ title: new CharField({ maxLength: 50 }), qty: new IntegerField({ default: 1 }) }, { name: 'MigxItem' })];

/** The pinned SQL of `0002_migx_item_qty` and `0003_rename_name_migx_item_title`, per dialect. */
const PINNED: Record<string, { add: string[]; rename: string[] }> = {
  sqlite: {
    add: [
      'CREATE TABLE "new__migx_item" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, "name" varchar(50) NOT NULL, "qty" integer NOT NULL)',
      'INSERT INTO "new__migx_item" ("id", "name", "qty") SELECT "id", "name", ? FROM "migx_item"',
      'DROP TABLE "migx_item"',
      'ALTER TABLE "new__migx_item" RENAME TO "migx_item"',
    ],
    rename: ['ALTER TABLE "migx_item" RENAME COLUMN "name" TO "title"'],
  },
  postgres: {
    add: ['ALTER TABLE "migx_item" ADD COLUMN "qty" integer DEFAULT 1 NOT NULL', 'ALTER TABLE "migx_item" ALTER COLUMN "qty" DROP DEFAULT'],
    rename: ['ALTER TABLE "migx_item" RENAME COLUMN "name" TO "title"'],
  },
  mysql: {
    add: ['ALTER TABLE `migx_item` ADD COLUMN `qty` integer DEFAULT 1 NOT NULL', 'ALTER TABLE `migx_item` ALTER COLUMN `qty` DROP DEFAULT'],
    rename: ['ALTER TABLE `migx_item` RENAME COLUMN `name` TO `title`'],
  },
};

eachDatabase('migrations: the executor', (db) => {
  useDatabase(db);
  let project: MigrationProject;

  beforeAll(async () => {
    configureFor(db);
    await resetTables('default', ['migx_'], ['exec']);
    project = new MigrationProject('exec', v1());
    await project.makemigrations();
    project.setModels(v2());
    await project.makemigrations();
    project.setModels(v3());
    await project.makemigrations({ fields: ['exec.MigxItem.name=title'] });
  });
  beforeEach(() => configureFor(db));
  afterAll(() => project?.remove());

  test('sqlmigrate: the SQL of adding a field with a default and of renaming a field', async () => {
    const add = await project.sql('default', '0002');
    const rename = await project.sql('default', '0003');
    expect(add).toEqual(PINNED[db.name]?.add);
    expect(rename).toEqual(PINNED[db.name]?.rename);
  });

  test('a migration failing halfway: rolled back where DDL is transactional, else the applied operations are named', async () => {
    await project.migrate('default');
    project.write(
      '0004_broken',
      `const { Migration, CreateModel, AddField, RunSQL, fields: f } = require(${JSON.stringify(ORM_MIGRATIONS)});
module.exports = new Migration({
  dependencies: [['exec', '0003_rename_name_migx_item_title']],
  operations: [
    new CreateModel({ name: 'MigxOther', fields: { id: f.AutoField(), label: f.CharField({ maxLength: 10 }) }, options: { dbTable: 'migx_other' } }),
    new AddField({ modelName: 'MigxItem', name: 'note', field: f.CharField({ maxLength: 20, null: true }) }),
    new RunSQL({ sql: 'SELECT * FROM migx_no_such_table', reverseSql: '' }),
  ],
});
`,
    );
    const err = (await project.migrate('default').catch((e: unknown) => e)) as MigrationFailedError;
    expect(MigrationFailedError.is(err)).toBe(true);
    expect(err.message).toMatch(
      /^Applying exec\.0004_broken failed at operation 3 of 3 \(Raw SQL operation\): .+\nSQL: SELECT \* FROM migx_no_such_table\n/,
    );
    expect(err.failure.operationIndex).toBe(3);
    expect(err.failure.sql).toBe('SELECT * FROM migx_no_such_table');
    expect(await recorded()).toEqual(['0001_initial', '0002_migx_item_qty', '0003_rename_name_migx_item_title']);
    const columns = await scope(async () => (await introspectionFor('default').columns('migx_item')).map((c) => c.name));
    if (db.name === 'mysql') {
      expect(err.failure.rolledBack).toBe(false);
      expect(err.failure.appliedOperations).toEqual(['1. Create model MigxOther', '2. Add field note to MigxItem']);
      expect(err.message).toContain(
        'MariaDB cannot roll back schema changes: these operations of exec.0004_broken were applied and stay so: 1. Create model MigxOther; 2. Add field note to MigxItem.',
      );
      expect(await tables()).toEqual(['migx_item', 'migx_other']);
      expect(columns).toContain('note');
    } else {
      expect(err.failure.rolledBack).toBe(true);
      expect(err.message).toContain(
        'rolled the migration back: the database is as it was before exec.0004_broken, which is not recorded as applied.',
      );
      expect(await tables()).toEqual(['migx_item']);
      expect(columns).not.toContain('note');
    }
  });

  test('an irreversible operation refuses to unapply before anything runs', async () => {
    rmSync(join(project.dir, 'exec', '0004_broken.cjs'));
    project.write(
      '0004_irreversible',
      `const { Migration, RunSQL } = require(${JSON.stringify(ORM_MIGRATIONS)});
module.exports = new Migration({ dependencies: [['exec', '0003_rename_name_migx_item_title']], operations: [new RunSQL({ sql: 'SELECT 1' })] });
`,
    );
    await resetTables('default', ['migx_other']);
    if (db.name === 'mysql') await scope(() => connections.query('default', 'ALTER TABLE migx_item DROP COLUMN note', []));
    await project.migrate('default');
    const err = await project.migrate('default', '0003').catch((e: unknown) => e);
    expect(IrreversibleError.is(err)).toBe(true);
    expect((err as Error).message).toBe(
      "Operation 'Raw SQL operation' in exec.0004_irreversible is not reversible: unapplying exec.0004_irreversible is impossible.",
    );
    expect((await recorded()).length).toBe(4);
  });

  test("routers' allowMigrate decides per alias: refused operations are skipped, the migration is recorded", async () => {
    await resetTables('default', ['migx_'], ['exec']);
    const router = { allowMigrate: (alias: string, app: string) => (app === 'exec' ? alias !== 'default' : null) };
    configureFor(db, {}, {}, { routers: [router] });
    const result = await project.migrate('default', '0003');
    expect(result.steps).toHaveLength(3);
    expect(await tables()).toEqual([]);
    expect(await recorded()).toEqual(['0001_initial', '0002_migx_item_qty', '0003_rename_name_migx_item_title']);
  });
});
