// The statement path's shortcuts keep the semantics of what they replace:
// - an awaited sql`…` runs the callbacks given to its then() from the statement itself (no second
//   promise): they still run after then() returned, in the caller's scope, a throw in onfulfilled
//   rejects the promise returned (onrejected not called with it), a failed statement reaches
//   onrejected as the converted error, and the connection is released as before;
// - PostgreSQL: a statement without parameters run past prepareThreshold is written as one buffer
//   (Bind, Describe, Execute, Sync) built per statement name: it runs as the named statement, gives
//   the right rows, and is re-prepared when the server no longer has it or its result type changed.
import { connections, ProgrammingError, scope, sql } from '@spool/connections';
import { configureFor, DATABASES, eachDatabase, useDatabase } from '../support/helpers';

eachDatabase('sql`…`.then() callbacks run by the statement', (db) => {
  useDatabase(db);

  test('after then() returns, inside the caller scope, with the rows; the connection goes back', async () => {
    configureFor(db, { maxAge: null });
    const seen: Array<{ async: boolean; scopeId: number | undefined; rows: unknown }> = [];
    let inThen = false;
    const id = await scope(async (s) => {
      inThen = true;
      const p = sql<{ one: number }>`SELECT 1 AS one`.then((rows) => {
        seen.push({ async: !inThen, scopeId: connections.currentScope()?.id, rows: rows.map((r) => Number(r.one)) });
        return 'mapped';
      });
      inThen = false;
      expect(await p).toBe('mapped');
      // A second statement of the same scope: the held connection, the same path.
      expect((await sql<{ two: number }>`SELECT 2 AS two`).map((r) => Number(r.two))).toEqual([2]);
      return s.id;
    });
    expect(seen).toEqual([{ async: true, scopeId: id, rows: [1] }]);
    expect(connections.stats().aliases.default?.leased).toBe(0);
  });

  test('a throw in onfulfilled rejects the promise returned, and onrejected is not called with it', async () => {
    configureFor(db, { maxAge: null });
    const boom = new Error('boom');
    const onrejected = jest.fn();
    await scope(async () => {
      await expect(
        sql`SELECT 1 AS one`.then(() => {
          throw boom;
        }, onrejected),
      ).rejects.toBe(boom);
      // The connection is usable afterwards (the gate was given back before the callback ran).
      expect((await sql<{ one: number }>`SELECT 1 AS one`).map((r) => Number(r.one))).toEqual([1]);
    });
    expect(onrejected).not.toHaveBeenCalled();
    expect(connections.stats().aliases.default?.leased).toBe(0);
  });

  test('a failed statement reaches onrejected converted; its value resolves the promise; without onrejected it rejects', async () => {
    configureFor(db, { maxAge: null });
    const onfulfilled = jest.fn();
    await scope(async () => {
      const got = await sql`SELECT no_such_column FROM no_such_table_spool`.then(onfulfilled, (err: unknown) => err);
      expect(got).toBeInstanceOf(ProgrammingError);
      await expect(sql`SELECT no_such_column FROM no_such_table_spool`.then((r) => r)).rejects.toBeInstanceOf(ProgrammingError);
      await expect(sql`SELECT no_such_column FROM no_such_table_spool`).rejects.toBeInstanceOf(ProgrammingError);
      // then() without callbacks yields the rows; callbacks that are not functions are ignored, as by a promise.
      const rows = await sql<{ one: number }>`SELECT 1 AS one`.then();
      expect(rows.map((r) => Number(r.one))).toEqual([1]);
      const ignored = (await sql<{ one: number }>`SELECT 1 AS one`.then(null, null)) as Array<{ one: number }>;
      expect(ignored.map((r) => Number(r.one))).toEqual([1]);
      const notFunctions = sql`SELECT 1 AS one`.then(42 as never, 'x' as never);
      expect(((await notFunctions) as Array<{ one: number }>).map((r) => Number(r.one))).toEqual([1]);
    });
    expect(onfulfilled).not.toHaveBeenCalled();
    expect(connections.stats().aliases.default?.leased).toBe(0);
    expect(connections.stats().aliases.default?.errors).toBe(3);
  });

  test("a 'query' listener that throws fails the statement (awaited or not) and the scope still ends, its connection back", async () => {
    configureFor(db, { maxAge: null }, {}, { drainMs: 200 });
    const boom = new Error('listener failed');
    const listener = (): void => {
      throw boom;
    };
    connections.on('query', listener);
    try {
      const outcome = await Promise.race([
        scope(async () => {
          await expect(sql`SELECT 1 AS one`).rejects.toBe(boom);
          await expect(connections.query('default', 'SELECT 1 AS one', [])).rejects.toBe(boom);
          return 'ended';
        }),
        new Promise((r) => setTimeout(() => r('hung'), 5000)),
      ]);
      expect(outcome).toBe('ended');
    } finally {
      connections.off('query', listener);
    }
    expect(connections.stats().aliases.default?.leased).toBe(0);
  });

  test('a statement that waits for a connection (max: 1, held by another scope) runs the callbacks too', async () => {
    configureFor(db, { maxAge: null, max: 1 });
    let release!: () => void;
    let holding!: () => void;
    const holds = new Promise<void>((r) => (holding = r));
    const held = scope(async () => {
      await sql`SELECT 1 AS one`;
      await new Promise<void>((r) => {
        release = r;
        holding();
      });
    });
    await holds;
    const waiting = scope(async (s) =>
      sql<{ one: number }>`SELECT 1 AS one`.then((rows) => ({ rows: rows.length, scopeId: connections.currentScope()?.id, own: s.id })),
    );
    await new Promise((r) => setTimeout(r, 20));
    expect(connections.stats().aliases.default?.waiting).toBe(1);
    release();
    await held;
    const got = await waiting;
    expect(got.rows).toBe(1);
    expect(got.scopeId).toBe(got.own);
    expect(connections.stats().aliases.default?.leased).toBe(0);
  });
});

// PostgreSQL only: the named statement's run written as one buffer.
for (const db of DATABASES.filter((d) => d.name === 'postgres'))
  describe(`${db.name}: a prepared statement without parameters`, () => {
    useDatabase(db);

    test('runs as the named statement with the right rows, one write per run; re-prepared after DISCARD ALL and a type change', async () => {
      configureFor(db, { maxAge: null, prepareThreshold: 2 });
      await scope(async () => {
        await sql`DROP TABLE IF EXISTS spool_prep_noparam`;
        await sql`CREATE TABLE spool_prep_noparam (id INTEGER PRIMARY KEY, v INTEGER)`;
        await sql`INSERT INTO spool_prep_noparam (id, v) VALUES (1, 10), (2, 20)`;
        const text = 'SELECT id, v FROM spool_prep_noparam ORDER BY id';
        const read = async () => (await connections.query('default', text, [])).rows;
        expect(await read()).toEqual([
          { id: 1, v: 10 },
          { id: 2, v: 20 },
        ]);
        expect(await read()).toEqual([
          { id: 1, v: 10 },
          { id: 2, v: 20 },
        ]); // prepared now
        const [named] = await sql<{ n: number | string }>`SELECT count(*) AS n FROM pg_prepared_statements WHERE statement = ${text}`;
        expect(Number(named?.n)).toBe(1);
        // Runs past the first: the one-buffer path, same rows, still the one named statement.
        for (let i = 0; i < 5; i++) expect((await read()).map((r) => (r as { v: number }).v)).toEqual([10, 20]);
        const [still] = await sql<{ n: number | string }>`SELECT count(*) AS n FROM pg_prepared_statements WHERE statement = ${text}`;
        expect(Number(still?.n)).toBe(1);
        // The result type changes under the prepared statement: re-prepared, not an error.
        await sql`ALTER TABLE spool_prep_noparam ALTER COLUMN v TYPE TEXT`;
        expect((await read()).map((r) => (r as { v: string }).v)).toEqual(['10', '20']);
        await read();
        await read();
        // DISCARD ALL drops every prepared statement (pg still believes it parsed): re-prepared.
        await sql`DISCARD ALL`;
        expect((await read()).map((r) => (r as { v: string }).v)).toEqual(['10', '20']);
        await sql`DROP TABLE spool_prep_noparam`;
      });
    });
  });
