// @spool/testing for users' suites, as Django's TestCase, on the three databases: a test database
// per jest worker created before the tests and dropped after them; each transactionalTest in a
// transaction rolled back afterwards (the next test sees nothing), nested atomic() through
// savepoints; captureOnCommitCallbacks() collecting (and running) the onCommit hooks a rolled-back
// test would never see; assertNumQueries inside.
import { existsSync } from 'node:fs';
import { atomic, connections, onCommit, sql } from '@spool/connections';
import {
  assertNumQueries,
  captureOnCommitCallbacks,
  inTestTransaction,
  mysqlAdminUrl,
  pgAdminUrl,
  transactionalTest as test,
  useTestDatabase,
  withAdmin,
  type TestDatabaseName,
} from '@spool/testing';
import type { Settings } from '@spool/connections';
import { DATABASES } from '../support/helpers';

const run = process.env.SPOOL_TEST_RUN ?? String(process.pid);
const SETTINGS: Record<TestDatabaseName, Settings> = {
  sqlite: { databases: { default: { client: 'better-sqlite3', connection: { filename: `/tmp/spool-testcase-${run}.db` } } } },
  postgres: { databases: { default: { client: 'pg', connection: pgAdminUrl() } } },
  mysql: { databases: { default: { client: 'mysql2', connection: mysqlAdminUrl() } } },
};
const created: Array<{ db: TestDatabaseName; name: string }> = [];

for (const db of DATABASES) {
  describe(`${db.name}: @spool/testing as Django's TestCase`, () => {
    const testDb = useTestDatabase({
      settings: SETTINGS[db.name],
      // Run-tagged, so that parallel runs never share it (and a crashed run's is cleaned up).
      name: (base, _alias, worker) => (db.name === 'sqlite' ? `/tmp/spool-testcase-${run}-${worker}.sqlite3` : `spool_${run}_${worker}_tc`),
      setup: () => sql`CREATE TABLE tc_item (name VARCHAR(40) PRIMARY KEY)`,
    });

    afterAll(() => void created.push({ db: db.name, name: testDb.names.default as string }));

    test('runs on its own database, created for this worker', async () => {
      const worker = process.env.JEST_WORKER_ID ?? '1';
      if (db.name === 'postgres')
        expect((await sql<{ d: string }>`SELECT current_database() AS d`)[0]?.d).toBe(`spool_${run}_${worker}_tc`);
      if (db.name === 'mysql') expect((await sql<{ d: string }>`SELECT DATABASE() AS d`)[0]?.d).toBe(`spool_${run}_${worker}_tc`);
      expect(testDb.names.default).toMatch(db.name === 'sqlite' ? /spool-testcase-.*\.sqlite3$/ : /_tc$/);
      await sql`INSERT INTO tc_item (name) VALUES (${'first'})`;
      expect(await sql`SELECT name FROM tc_item`).toEqual([{ name: 'first' }]);
    });

    test("the previous test's row was rolled back", async () => {
      expect(await sql`SELECT name FROM tc_item`).toEqual([]);
    });

    test('atomic() inside a test nests: a failing inner block rolls back to its savepoint only', async () => {
      await sql`INSERT INTO tc_item (name) VALUES (${'kept'})`;
      await expect(
        atomic(async () => {
          await sql`INSERT INTO tc_item (name) VALUES (${'dropped'})`;
          throw new Error('inner block fails');
        }),
      ).rejects.toThrow('inner block fails');
      await atomic(() => sql`INSERT INTO tc_item (name) VALUES (${'nested'})`);
      expect((await sql<{ name: string }>`SELECT name FROM tc_item ORDER BY name`).map((r) => r.name)).toEqual(['kept', 'nested']);
    });

    test('captureOnCommitCallbacks: the hooks are collected, not run; with execute: true they run in order', async () => {
      const ran: string[] = [];
      const { result, callbacks } = await captureOnCommitCallbacks(() =>
        atomic(async () => {
          await onCommit(() => void ran.push('a'));
          await onCommit(() => void ran.push('b'));
          return 'done';
        }),
      );
      expect(result).toBe('done');
      expect(callbacks).toHaveLength(2);
      expect(ran).toEqual([]); // the test's transaction never commits
      await captureOnCommitCallbacks(
        async () => {
          await onCommit(async () => {
            ran.push('c');
            await onCommit(() => void ran.push('d')); // registered by a hook: run too
          });
        },
        { execute: true },
      );
      expect(ran).toEqual(['c', 'd']);
    });

    test('assertNumQueries counts the statements of the test', async () => {
      await assertNumQueries(2, async () => {
        await sql`INSERT INTO tc_item (name) VALUES (${'x'})`;
        await sql`SELECT count(*) AS n FROM tc_item`;
      });
      await expect(assertNumQueries(1, () => sql`SELECT 1 AS one`.then(() => sql`SELECT 2 AS two`))).rejects.toThrow(
        '2 queries executed, 1 expected.\nCaptured queries were:\n1. [default] SELECT 1 AS one\n2. [default] SELECT 2 AS two',
      );
    });

    test.skip('a skipped transactional test is registered as skipped', () => undefined);

    it('inTestTransaction() is the same, for a plain test or a beforeEach', async () => {
      const seen = await inTestTransaction(async () => {
        await sql`INSERT INTO tc_item (name) VALUES (${'inside'})`;
        return (await sql`SELECT name FROM tc_item`).length;
      });
      expect(seen).toBe(1);
      expect(await connections.scope(() => sql`SELECT name FROM tc_item`)).toEqual([]);
    });
  });
}

afterAll(async () => {
  // Each test database was dropped by its file's afterAll (run before this one).
  for (const { db, name } of created) {
    if (db === 'sqlite') {
      expect(existsSync(name)).toBe(false);
      continue;
    }
    const left = await withAdmin(db, (q) =>
      db === 'postgres'
        ? q(`SELECT datname AS n FROM pg_database WHERE datname = '${name}'`)
        : q(`SELECT SCHEMA_NAME AS n FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '${name}'`),
    );
    expect(left).toEqual([]);
  }
});
