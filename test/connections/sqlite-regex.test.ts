// Issue 13: a user's pattern must not freeze a thread on SQLite. REGEXP ran a JavaScript RegExp,
// which backtracks: `(a+)+$` against 25 characters took 1.2 s with no event-loop turn, doubling
// with each character. It now runs on RE2 (re2js), in linear time whatever the pattern; the
// dialect is RE2's, and what RE2 cannot express (backreferences, lookaround) is a DataError.
import { connections, DataError, scope, sql } from '@spool/connections';
import { configureFor, eachDatabase, useDatabase } from '../support/helpers';

eachDatabase('SQLite REGEXP', (db) => {
  if (db.name !== 'sqlite') {
    test(`${db.name} has its own regular expressions (the ORM's regex lookups use them)`, () => {});
    return;
  }
  useDatabase(db);

  test('a catastrophic pattern over 10,000 characters returns at once instead of backtracking for ever', async () => {
    configureFor(db);
    const input = `${'a'.repeat(10_000)}!`;
    const started = performance.now();
    const rows = await scope(
      () =>
        sql`SELECT ${input} REGEXP ${'(a+)+$'} AS nested, ${input} REGEXP ${'^(a|aa)*$'} AS alternation, ${input} REGEXP ${'^(a*)*b'} AS star`,
    );
    const tookMs = performance.now() - started;
    expect(rows).toEqual([{ nested: 0, alternation: 0, star: 0 }]);
    // A backtracking engine needs about 2^10000 steps here; RE2 is linear (milliseconds). The
    // bound only says that the thread was not frozen, on a loaded machine.
    expect(tookMs).toBeLessThan(3000);
  });

  test("RE2's dialect: classes, anchors, alternation, inline flags, Unicode; NULL in, NULL out", async () => {
    configureFor(db);
    const rows = await scope(
      () => sql`SELECT
        ${'Alpha 42'} REGEXP ${'^[A-Z][a-z]+ \\d{2}$'} AS cls,
        ${'alpha'} REGEXP ${'^A'} AS cased,
        ${'alpha'} REGEXP ${'(?i)^A'} AS inline_i,
        ${'x\ny'} REGEXP ${'x.y'} AS dot_newline,
        ${'x\ny'} REGEXP ${'(?s)x.y'} AS inline_s,
        ${'b\nc'} REGEXP ${'^c'} AS caret,
        ${'b\nc'} REGEXP ${'(?m)^c'} AS inline_m,
        ${'café'} REGEXP ${'^caf.$'} AS unicode,
        ${'red or blue'} REGEXP ${'green|blue'} AS alt,
        ${null} REGEXP ${'a'} AS null_value,
        ${'a'} REGEXP ${null} AS null_pattern`,
    );
    expect(rows).toEqual([
      {
        cls: 1,
        cased: 0,
        inline_i: 1,
        dot_newline: 0,
        inline_s: 1,
        caret: 0,
        inline_m: 1,
        unicode: 1,
        alt: 1,
        null_value: null,
        null_pattern: null,
      },
    ]);
  });

  test.each([
    ['(a)\\1', 'invalid escape sequence: `\\1`'],
    ['foo(?=bar)', 'invalid or unsupported Perl syntax: `(?=`'],
  ])('a pattern RE2 cannot express (%s) is a DataError that says so', async (pattern, reason) => {
    configureFor(db, { maxAge: null });
    const err = await scope(() => sql`SELECT ${'foobar'} REGEXP ${pattern} AS m`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataError);
    expect((err as DataError).message).toBe(
      `Invalid regular expression for REGEXP on SQLite: '${pattern}' (${reason}). Spool runs SQLite's REGEXP on RE2, in linear time: its syntax has no backreferences (\\1) and no lookaround ((?=…), (?!…), (?<=…)).`,
    );
    // A bad pattern is the statement's fault, not the connection's.
    expect(connections.stats().aliases.default).toMatchObject({ open: 1, closes: 0 });
  });
});
