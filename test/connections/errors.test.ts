// One vendor-neutral error tree (packages/connections/README.md, "Errors"), converted at one
// boundary per backend, the driver's error kept as `cause`, server detail kept (constraint,
// table, column).
import {
  DataError,
  type DatabaseError,
  IntegrityError,
  OperationalError,
  ProgrammingError,
  scope,
  shutdown,
  SpoolError,
  sql,
} from '@spool/connections';
import { configureFor, eachDatabase } from '../support/helpers';

async function failure(q: PromiseLike<unknown>): Promise<DatabaseError> {
  try {
    await q;
  } catch (err) {
    expect(SpoolError.is(err)).toBe(true);
    // The driver's error (possibly from another realm under jest, so no instanceof check).
    expect((err as Error).cause).toEqual(expect.objectContaining({ message: expect.any(String) }));
    return err as DatabaseError;
  }
  throw new Error('the statement succeeded');
}

eachDatabase('error conversion', { pgbouncer: true }, (db) => {
  beforeAll(async () => {
    await db.setup();
    configureFor(db);
    await scope(async () => {
      await sql`DROP TABLE IF EXISTS spool_err_child`;
      await sql`DROP TABLE IF EXISTS spool_err_parent`;
      await sql`CREATE TABLE spool_err_parent (id INTEGER PRIMARY KEY, code VARCHAR(5) NOT NULL, CONSTRAINT spool_err_code_uniq UNIQUE (code))`;
      await sql`CREATE TABLE spool_err_child (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL, CONSTRAINT spool_err_child_fk FOREIGN KEY (parent_id) REFERENCES spool_err_parent (id))`;
      await sql`INSERT INTO spool_err_parent (id, code) VALUES (${1}, ${'a'})`;
    });
  });
  afterAll(async () => {
    await scope(async () => {
      await sql`DROP TABLE IF EXISTS spool_err_child`;
      await sql`DROP TABLE IF EXISTS spool_err_parent`;
    });
    await shutdown();
  });

  test('unique violation → IntegrityError with the constraint', () =>
    scope(async () => {
      const e = await failure(sql`INSERT INTO spool_err_parent (id, code) VALUES (${2}, ${'a'})`);
      expect(e).toBeInstanceOf(IntegrityError);
      expect(e.alias).toBe('default');
      if (db.name === 'sqlite') expect(e).toMatchObject({ table: 'spool_err_parent', column: 'code' });
      else expect(e.constraint).toBe('spool_err_code_uniq');
      expect(e.sql).toMatch(/^INSERT INTO spool_err_parent/);
    }));

  test('foreign key violation → IntegrityError (named where the server names it)', () =>
    scope(async () => {
      const e = await failure(sql`INSERT INTO spool_err_child (id, parent_id) VALUES (${1}, ${99})`);
      expect(e).toBeInstanceOf(IntegrityError);
      if (db.name !== 'sqlite') expect(e.constraint).toBe('spool_err_child_fk');
    }));

  test('NOT NULL violation → IntegrityError naming the column', () =>
    scope(async () => {
      const e = await failure(sql`INSERT INTO spool_err_parent (id, code) VALUES (${3}, ${null})`);
      expect(e).toBeInstanceOf(IntegrityError);
      expect(e.column).toBe('code');
    }));

  test('syntax errors and unknown tables → ProgrammingError', () =>
    scope(async () => {
      expect(await failure(sql`SELEKT 1`)).toBeInstanceOf(ProgrammingError);
      expect(await failure(sql`SELECT * FROM spool_no_such_table`)).toBeInstanceOf(ProgrammingError);
    }));

  if (db.name !== 'sqlite') {
    test('a value too long for its column → DataError', () =>
      scope(async () => {
        const e = await failure(sql`INSERT INTO spool_err_parent (id, code) VALUES (${4}, ${'toolongvalue'})`);
        expect(e).toBeInstanceOf(DataError);
        expect(e.sqlState).toMatch(/^22/);
      }));

    test('a wrong password or unknown database → OperationalError', async () => {
      await shutdown();
      configureFor(db, { connection: { ...(db.settings().connection as object), database: 'spool_no_such_database' } });
      const e = await failure(scope(() => sql`SELECT 1`));
      expect(e).toBeInstanceOf(OperationalError);
      expect(e.message).toMatch(/^Could not connect to 'default': /);
      await shutdown();
      configureFor(db);
    });
  }
});
