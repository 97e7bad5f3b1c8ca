// MariaDB: server-side prepared statements (issue 14). A text run `prepareThreshold` times on a
// connection runs through mysql2's execute() (binary protocol) from then on; the statements are
// re-prepared after DDL and after the per-connection cache evicted them, and values read back
// through execute() are identical to those read through the text protocol.
import * as dc from 'node:diagnostics_channel';
import { connections, scope, shutdown, sql } from '@spool/connections';
import { configureFor, DATABASES, useDatabase } from '../support/helpers';

/** The session's counters of the prepared-statement protocol (a text query: a list is never prepared). */
async function counters(): Promise<{ prepare: number; execute: number; close: number }> {
  const rows = (
    await connections.query('default', 'SHOW SESSION STATUS WHERE Variable_name IN (?)', [
      ['Com_stmt_prepare', 'Com_stmt_execute', 'Com_stmt_close'],
    ])
  ).rows as { Variable_name: string; Value: string }[];
  const v = (name: string) => Number(rows.find((r) => r.Variable_name === name)?.Value);
  return { prepare: v('Com_stmt_prepare'), execute: v('Com_stmt_execute'), close: v('Com_stmt_close') };
}

for (const db of DATABASES.filter((d) => d.name === 'mysql'))
  describe(`${db.name}: prepared statements`, () => {
    useDatabase(db);
    afterEach(() => shutdown());

    test('a text runs as text until prepareThreshold runs, then through execute(), prepared once', async () => {
      configureFor(db, { maxAge: null, prepareThreshold: 3 });
      await scope(async () => {
        const before = await counters();
        for (let i = 0; i < 10; i++) {
          const { rows } = await connections.query('default', 'SELECT ? + 1 AS n', [i]);
          expect(Number((rows[0] as { n: number }).n)).toBe(i + 1);
        }
        const after = await counters();
        // Runs 1 and 2 as text; the third prepares it; runs 3 to 10 execute it.
        expect(after.prepare - before.prepare).toBe(1);
        expect(after.execute - before.execute).toBe(8);
      });
    });

    test("prepareThreshold: null never prepares, pin: 'transaction' does (no pooler on MariaDB); lists and bigints stay on the text protocol", async () => {
      configureFor(db, { maxAge: null, prepareThreshold: null });
      await scope(async () => {
        const before = await counters();
        for (let i = 0; i < 8; i++) await connections.query('default', 'SELECT ? AS n', [i]);
        const after = await counters();
        expect(after.prepare - before.prepare).toBe(0);
      });
      await shutdown();
      // pin 'transaction': each statement leases a connection; prepared statements are that
      // connection's own, so the default threshold (5) applies as with pin 'scope'.
      configureFor(db, { maxAge: null, pin: 'transaction', max: 1 });
      await scope(async () => {
        const before = await counters();
        for (let i = 0; i < 8; i++) {
          const { rows } = await connections.query('default', 'SELECT ? + 1 AS n', [i]);
          expect(Number((rows[0] as { n: number }).n)).toBe(i + 1);
        }
        const after = await counters();
        expect(after.prepare - before.prepare).toBe(1);
        expect(after.execute - before.execute).toBe(4);
      });
      await shutdown();
      configureFor(db, { maxAge: null, prepareThreshold: 1 });
      await scope(async () => {
        const before = await counters();
        for (let i = 0; i < 4; i++) {
          // The text protocol expands a list: `IN (1, 2, 3)`.
          const { rows } = await connections.query('default', 'SELECT 2 IN (?) AS hit', [[1, 2, 3]]);
          expect(Number((rows[0] as { hit: number }).hit)).toBe(1);
          // A bigint is written as an integer literal, exact beyond 2^53.
          const big = await connections.query('default', 'SELECT CAST(? AS SIGNED) - 9007199254740992 AS d', [9007199254740993n]);
          expect(Number((big.rows[0] as { d: number }).d)).toBe(1);
        }
        const after = await counters();
        expect(after.prepare - before.prepare).toBe(0);
      });
    });

    test('the text protocol reads the same on the first run (through query(options)) and on later ones (its Query command made by the backend), whatever the options', async () => {
      const text =
        "SELECT CAST('2024-05-01 12:00:07.123456' AS DATETIME(6)) AS at, CAST('2020-02-29' AS DATE) AS day, 287 / 3e0 AS d, ? AS s, 2 IN (?) AS hit";
      const variants: (Parameters<typeof connections.query>[3] | undefined)[] = [
        undefined,
        { rowMode: 'array' },
        { temporalAsText: true },
        { rowMode: 'array', temporalAsText: true },
        { rowMode: 'array', temporalAsText: true, noFloatColumns: true },
      ];
      for (const options of variants) {
        // A new connection each time: the first statement of a connection goes through query(options).
        await shutdown();
        configureFor(db, { maxAge: null, prepareThreshold: null, max: 1 });
        const runs = [];
        for (let i = 0; i < 3; i++) runs.push((await scope(() => connections.query('default', text, ['x', [1, 2]], options))).rows);
        expect(runs[1]).toEqual(runs[0]);
        expect(runs[2]).toEqual(runs[0]);
        const row = runs[0]?.[0] as unknown;
        const values = Array.isArray(row) ? row : Object.values(row as object);
        expect(values[3]).toBe('x');
        expect(Number(values[4])).toBe(1);
        if (options?.temporalAsText) expect(String(values[0])).toBe('2024-05-01 12:00:07.123456');
        else expect(values[0]).toBeInstanceOf(Date);
        // The exact-doubles type cast applies unless the statement says it reads no float.
        if (!options?.noFloatColumns) expect(values[2]).toBe(287 / 3);
      }
    });

    test('a prepared text run again (by its Execute command) reads as the first run, in both row modes, and refuses a function', async () => {
      configureFor(db, { maxAge: null, prepareThreshold: 1 });
      await scope(async () => {
        await sql`DROP TABLE IF EXISTS spool_prep_again`;
        await sql`CREATE TABLE spool_prep_again (id INTEGER PRIMARY KEY, at6 DATETIME(6), ratio DOUBLE, label VARCHAR(20))`;
        await sql`INSERT INTO spool_prep_again VALUES (1, '2021-03-04 05:06:07.123456', ${287 / 3}, 'é ☃'), (2, NULL, 0.1, NULL)`;
        const text = 'SELECT id, at6, ratio, label FROM spool_prep_again WHERE id >= ? ORDER BY id';
        const before = await counters();
        const objects: unknown[] = [];
        const arrays: unknown[] = [];
        for (let i = 0; i < 4; i++) {
          objects.push((await connections.query('default', text, [1])).rows);
          arrays.push((await connections.query('default', text, [1], { rowMode: 'array', temporalAsText: true })).rows);
        }
        const after = await counters();
        // One statement per row mode (mysql2 keys them apart), every later run an execute.
        expect(after.prepare - before.prepare).toBe(2);
        expect(after.execute - before.execute).toBe(8);
        expect(objects[0]).toEqual([
          { id: 1, at6: new Date('2021-03-04T05:06:07.123Z'), ratio: 287 / 3, label: 'é ☃' },
          { id: 2, at6: null, ratio: 0.1, label: null },
        ]);
        expect(arrays[0]).toEqual([
          [1, '2021-03-04 05:06:07.123456', 287 / 3, 'é ☃'],
          [2, null, 0.1, null],
        ]);
        for (let i = 1; i < 4; i++) {
          expect(objects[i]).toEqual(objects[0]);
          expect(arrays[i]).toEqual(arrays[0]);
        }
        // A function is no value: refused as by mysql2's execute(), nothing sent.
        await expect(connections.query('default', text, [() => 1])).rejects.toThrow(/function/);
        expect((await connections.query('default', text, [2])).rows).toEqual([{ id: 2, at6: null, ratio: 0.1, label: null }]);
        await sql`DROP TABLE spool_prep_again`;
      });
    });

    test('noFloatColumns: a text-protocol read without the exact-doubles cast reads every other type as with it; without it a DOUBLE stays exact', async () => {
      configureFor(db, { maxAge: null });
      await scope(async () => {
        await sql`DROP TABLE IF EXISTS spool_no_floats`;
        await sql`CREATE TABLE spool_no_floats (id INTEGER PRIMARY KEY, big BIGINT, amount DECIMAL(10, 3), at6 DATETIME(6), label VARCHAR(20), ratio DOUBLE)`;
        await sql`INSERT INTO spool_no_floats VALUES (1, 9007199254740993, 1.250, '2021-03-04 05:06:07.123456', 'é ☃', ${287 / 3}), (2, NULL, NULL, NULL, NULL, NULL)`;
        // A list keeps the statement on the text protocol.
        const text = 'SELECT id, big, amount, at6, label FROM spool_no_floats WHERE id IN (?) ORDER BY id';
        for (const rowMode of [undefined, 'array' as const]) {
          const plain = await connections.query('default', text, [[1, 2]], { rowMode, temporalAsText: true });
          const noFloats = await connections.query('default', text, [[1, 2]], { rowMode, temporalAsText: true, noFloatColumns: true });
          expect(noFloats.rows).toEqual(plain.rows);
        }
        const { rows } = await connections.query('default', text, [[1, 2]], {
          rowMode: 'array',
          temporalAsText: true,
          noFloatColumns: true,
        });
        expect(rows).toEqual([
          [1, '9007199254740993', '1.250', '2021-03-04 05:06:07.123456', 'é ☃'],
          [2, null, null, null, null],
        ]);
        const ratio = await connections.query('default', 'SELECT ratio FROM spool_no_floats WHERE id IN (?)', [[1]], { rowMode: 'array' });
        expect(ratio.rows).toEqual([[287 / 3]]);
        await sql`DROP TABLE spool_no_floats`;
      });
    });

    test('ALTER TABLE under a prepared statement: the next run reads the new shape', async () => {
      configureFor(db, { maxAge: null, prepareThreshold: 1 });
      await scope(async () => {
        await sql`DROP TABLE IF EXISTS spool_prep`;
        await sql`CREATE TABLE spool_prep (id INTEGER PRIMARY KEY, v INTEGER)`;
        await sql`INSERT INTO spool_prep (id, v) VALUES (1, 10)`;
        const read = () => connections.query('default', 'SELECT * FROM spool_prep WHERE id = ?', [1]);
        expect((await read()).rows).toEqual([{ id: 1, v: 10 }]);
        expect((await read()).rows).toEqual([{ id: 1, v: 10 }]);
        await sql`ALTER TABLE spool_prep MODIFY v VARCHAR(20)`;
        expect((await read()).rows).toEqual([{ id: 1, v: '10' }]);
        await sql`ALTER TABLE spool_prep ADD COLUMN w INTEGER DEFAULT 7`;
        expect((await read()).rows).toEqual([{ id: 1, v: '10', w: 7 }]);
        await sql`DROP TABLE spool_prep`;
      });
    });

    test('a statement evicted from the per-connection cache is closed on the server and prepared again when needed', async () => {
      const base = db.settings({ maxAge: null, prepareThreshold: 1 });
      const uri = typeof base.connection === 'string' ? { uri: base.connection } : base.connection;
      connections.configure({ databases: { default: { ...base, connection: { ...uri, maxPreparedStatements: 2 } } } });
      await scope(async () => {
        const texts = ['SELECT ? AS a', 'SELECT ? AS b', 'SELECT ? AS c'];
        const before = await counters();
        for (let round = 0; round < 3; round++) {
          for (const [i, text] of texts.entries()) {
            const { rows } = await connections.query('default', text, [round * 10 + i]);
            expect(Object.values(rows[0] as object).map(Number)).toEqual([round * 10 + i]);
          }
        }
        const after = await counters();
        // Three texts round-robin through a cache of two: every run prepares (and evicts one).
        expect(after.execute - before.execute).toBe(9);
        expect(after.prepare - before.prepare).toBe(9);
        expect(after.close - before.close).toBe(7);
        const [open] = await sql<{ Value: string }>`SHOW SESSION STATUS LIKE 'Prepared_stmt_count'`;
        expect(open).toBeDefined();
      });
    });

    test("text queries after a connection's first (the Query command Spool builds) read, format and trace as mysql2's query() does", async () => {
      // From the second text query of a connection Spool gives mysql2 a Query command it built
      // (query(options) copies its options with two object spreads per statement): the values are
      // still formatted by mysql2, mysql2's tracing channel still sees each query, and the row
      // mode, the exact-doubles cast and the date strings still apply.
      const traced: string[] = [];
      const onStart = (m: unknown) => traced.push((m as { query: string }).query);
      dc.subscribe('tracing:mysql2:query:start', onStart);
      try {
        configureFor(db, { maxAge: null, prepareThreshold: null });
        await scope(async () => {
          for (let i = 0; i < 3; i++) {
            const { rows } = await connections.query(
              'default',
              "SELECT ? AS s, 287 / 3e0 AS d, CAST('2021-03-04 05:06:07.5' AS DATETIME(1)) AS t",
              [`x'${i}`],
            );
            expect(rows).toEqual([{ s: `x'${i}`, d: 287 / 3, t: new Date('2021-03-04T05:06:07.500Z') }]);
          }
          const asArrays = await connections.query('default', 'SELECT ? AS a, 2 AS b', [1], { rowMode: 'array' });
          expect(asArrays.rows).toEqual([[1, 2]]);
          const asText = await connections.query('default', "SELECT CAST('2021-03-04 05:06:07.123456' AS DATETIME(6)) AS t", [], {
            temporalAsText: true,
          });
          expect(asText.rows).toEqual([{ t: '2021-03-04 05:06:07.123456' }]);
        });
      } finally {
        dc.unsubscribe('tracing:mysql2:query:start', onStart);
      }
      expect(traced.filter((q) => q.startsWith('SELECT ') && q.includes('287 / 3e0'))).toEqual(
        [0, 1, 2].map((i) => `SELECT 'x\\'${i}' AS s, 287 / 3e0 AS d, CAST('2021-03-04 05:06:07.5' AS DATETIME(1)) AS t`),
      );
      expect(traced).toContain('SELECT 1 AS a, 2 AS b');
    });

    test('values read back through execute() are identical to the text protocol', async () => {
      const read = async (prepareThreshold: number | null) => {
        configureFor(db, { maxAge: null, prepareThreshold });
        try {
          return await scope(async () => {
            const before = await counters();
            const rows: unknown[] = [];
            for (let i = 0; i < 2; i++) {
              const res = await connections.query(
                'default',
                `SELECT id, tiny, flag, small, big, big_beyond, ratio, real_single, amount, label, body, day, at, at6, t6, doc, raw_bytes
                 FROM spool_values WHERE id >= ? ORDER BY id`,
                [1],
                { rowMode: i === 0 ? undefined : 'array' },
              );
              rows.push(res.rows);
            }
            // The instants as text (as the ORM reads DateTimeFields), through the same protocol.
            for (let i = 0; i < 2; i++)
              rows.push(
                (
                  await connections.query('default', 'SELECT at, at6, day FROM spool_values WHERE id >= ? ORDER BY id', [1], {
                    temporalAsText: true,
                  })
                ).rows,
              );
            const after = await counters();
            return { rows, executes: after.execute - before.execute };
          });
        } finally {
          await shutdown();
        }
      };
      configureFor(db, { maxAge: null });
      await scope(async () => {
        await sql`DROP TABLE IF EXISTS spool_values`;
        await sql`CREATE TABLE spool_values (
          id INTEGER PRIMARY KEY, tiny TINYINT, flag BOOL, small INTEGER, big BIGINT, big_beyond BIGINT UNSIGNED,
          ratio DOUBLE, real_single FLOAT, amount DECIMAL(30, 20), label VARCHAR(20), body LONGTEXT, day DATE,
          at DATETIME, at6 DATETIME(6), t6 TIME(6), doc JSON, raw_bytes VARBINARY(16))`;
        const insert = `INSERT INTO spool_values VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;
        // Written as text and as a prepared statement, read both ways below.
        const rows: unknown[][] = [
          [
            1,
            -128,
            true,
            -2147483648,
            '-9223372036854775808',
            '18446744073709551615',
            287 / 3,
            0.1,
            '0.10000000000000000001',
            'é ☃ 😀',
            'x'.repeat(70000),
            '2020-02-29',
            '2021-03-04 05:06:07',
            '2021-03-04 05:06:07.123456',
            '-838:59:59.000001',
            '{"a": [1, 2.5, "x"], "n": null}',
            Buffer.from([0, 255, 10]),
          ],
          [
            2,
            0,
            false,
            0,
            '9007199254740993',
            '0',
            0.1 + 0.2,
            3.4e38,
            '-99999.99999999999999999999',
            '',
            null,
            '0001-01-01',
            '1970-01-01 00:00:00',
            '2021-03-04 05:06:07.000000',
            '00:00:00',
            'null',
            Buffer.alloc(0),
          ],
          [3, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null],
          [
            4,
            127,
            true,
            2147483647,
            '9223372036854775807',
            '9007199254740993',
            -0,
            1e-38,
            '12.5',
            'a?b',
            '?',
            '9999-12-31',
            '2038-01-19 03:14:08',
            '9999-12-31 23:59:59.999999',
            '838:59:59',
            '[]',
            Buffer.from('?'),
          ],
        ];
        await connections.query('default', insert, rows[0] as unknown[]);
        await connections.query('default', insert, rows[1] as unknown[]);
      });
      await shutdown();
      configureFor(db, { maxAge: null, prepareThreshold: 1 });
      await scope(async () => {
        const insert = `INSERT INTO spool_values VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;
        await connections.query('default', insert, [
          3,
          null,
          null,
          null,
          null,
          null,
          null,
          null,
          null,
          null,
          null,
          null,
          null,
          null,
          null,
          null,
          null,
        ]);
        await connections.query('default', insert, [
          4,
          127,
          true,
          2147483647,
          '9223372036854775807',
          '9007199254740993',
          -0,
          1e-38,
          '12.5',
          'a?b',
          '?',
          '9999-12-31',
          new Date('2038-01-19T03:14:08Z'),
          '9999-12-31 23:59:59.999999',
          '838:59:59',
          '[]',
          Buffer.from('?'),
        ]);
      });
      await shutdown();
      const text = await read(null);
      const prepared = await read(1);
      expect(text.executes).toBe(0);
      expect(prepared.executes).toBe(4);
      expect(prepared.rows).toEqual(text.rows);
      // And the values themselves, as the text protocol reads them.
      const first = (text.rows[0] as Record<string, unknown>[])[0] as Record<string, unknown>;
      expect(first.big).toBe('-9223372036854775808');
      expect(first.big_beyond).toBe('18446744073709551615');
      expect(first.ratio).toBe(287 / 3);
      expect(first.amount).toBe('0.10000000000000000001');
      expect((text.rows[2] as Record<string, unknown>[])[0]).toEqual({
        at: '2021-03-04 05:06:07',
        at6: '2021-03-04 05:06:07.123456',
        day: '2020-02-29',
      });
      configureFor(db, { maxAge: null });
      await scope(() => sql`DROP TABLE spool_values`);
    });
  });
