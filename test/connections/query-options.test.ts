// Statement options for lossless reads: `temporalAsText` returns dates and instants as the
// server's text (a Date keeps milliseconds only), `safeIntegers` returns SQLite's integers as
// bigints (its driver otherwise rounds those beyond 2^53). Without them, drivers behave as before.
import { connections, scope } from '@spool/connections';
import { configureFor, eachDatabase, useDatabase } from '../support/helpers';

eachDatabase('query options', { pgbouncer: true }, (db) => {
  useDatabase(db);
  beforeEach(() => configureFor(db));

  const instantSql: Record<string, string> = {
    postgres: `SELECT '2024-05-01 12:00:07.123456+00'::timestamptz AS at, '2020-02-29'::date AS day`,
    mysql: `SELECT CAST('2024-05-01 12:00:07.123456' AS DATETIME(6)) AS at, CAST('2020-02-29' AS DATE) AS day`,
    sqlite: `SELECT '2024-05-01T12:00:07.123456Z' AS at, '2020-02-29' AS day`,
  };

  test('temporalAsText: instants keep their microseconds as text; without it the driver gives what it gave', () =>
    scope(async () => {
      const sql = instantSql[db.name] as string;
      const [text] = (await connections.query('default', sql, [], { temporalAsText: true })).rows;
      expect(String(text?.at)).toMatch(/^2024-05-01[ T]12:00:07\.123456/);
      expect(String(text?.day)).toBe('2020-02-29');
      const [plain] = (await connections.query('default', sql, [])).rows;
      if (db.name === 'sqlite') expect(plain?.at).toBe('2024-05-01T12:00:07.123456Z');
      else expect(plain?.at).toBeInstanceOf(Date);
      // Both modes on one statement text, one after the other (a cached statement or parser is not stuck in either).
      const [again] = (await connections.query('default', sql, [], { temporalAsText: true })).rows;
      expect(again).toEqual(text);
    }));

  test('safeIntegers: integers beyond 2^53 read exactly on every database', () =>
    scope(async () => {
      const sql =
        db.name === 'postgres' ? `SELECT 9007199254740993::int8 AS big, 3 AS small` : `SELECT 9007199254740993 AS big, 3 AS small`;
      const [row] = (await connections.query('default', sql, [], { safeIntegers: true })).rows;
      expect(BigInt(row?.big as bigint | string)).toBe(9007199254740993n);
      if (db.name === 'sqlite') {
        expect(row).toEqual({ big: 9007199254740993n, small: 3n });
        // The same statement without the option reads numbers again.
        const [plain] = (await connections.query('default', sql, [])).rows;
        expect(plain?.small).toBe(3);
      }
    }));
});
