// Beyond one machine (issue 13): Spool behind PgBouncer in transaction mode (started here on a
// spare port in front of the local PostgreSQL). With `pin: 'transaction'` a scope holds a
// connection only for each statement or atomic() block, and prepared statements are off
// (`prepareThreshold: null`): 10,000 concurrent scopes in one process are served by at most 20
// server connections, atomic blocks keep their statements on one server connection, and nothing
// is left on the server afterwards.
import { atomic, connections, NotSupportedError, scope, shutdown, sql } from '@spool/connections';
import { startPgBouncer, type PgBouncer } from '../support/pgbouncer';
import { eachDatabase, useDatabase } from '../support/helpers';

const SCOPES = 10_000;
const SERVER_POOL = 20;

eachDatabase('behind PgBouncer (transaction mode)', (db) => {
  if (db.name !== 'postgres') {
    test(`PgBouncer is for PostgreSQL (${db.name} skipped)`, () => {});
    return;
  }
  const counter = useDatabase(db);
  let bouncer: PgBouncer | undefined;
  let skipped: string | undefined;
  beforeAll(async () => {
    const c = db.settings().connection as { host: string; port: number; user: string };
    const b = await startPgBouncer({ host: c.host, port: c.port, users: [c.user], poolSize: SERVER_POOL });
    if (typeof b === 'string') {
      // CI (.ci/run) installs PgBouncer and requires it: there a missing binary is a failure, not a skip.
      if (process.env.SPOOL_REQUIRE_PGBOUNCER === '1') throw new Error(`PgBouncer is required (SPOOL_REQUIRE_PGBOUNCER=1): ${b}`);
      skipped = b;
      console.log(`PgBouncer tests skipped: ${b}`);
    } else bouncer = b;
  }, 30_000);
  afterAll(async () => {
    await shutdown();
    await bouncer?.stop();
  });

  function configureThrough(): void {
    // pooler: 'transaction' makes pin 'transaction' and prepared statements off the defaults.
    const s = db.settings({ pooler: 'transaction', maxAge: null, max: 200, acquireTimeoutMs: 60_000, connectTimeoutMs: 30_000 });
    connections.configure({
      databases: { default: { ...s, connection: { ...(s.connection as Record<string, unknown>), port: (bouncer as PgBouncer).port } } },
    });
  }

  test(`${SCOPES} concurrent scopes, each awaiting between its statements, are served by at most ${SERVER_POOL} server connections`, async () => {
    if (skipped) return;
    configureThrough();
    const backends = new Set<number>();
    const { result, peak } = await counter.peakDuring(async () => {
      const all = Array.from({ length: SCOPES }, (_, i) =>
        scope(async () => {
          const [a] = await sql<{ pid: number; i: number }>`SELECT pg_backend_pid() AS pid, ${i}::int AS i`;
          // The request awaits another service: with pin 'transaction' it holds no connection meanwhile.
          await new Promise((r) => setTimeout(r, i % 7));
          const [b] = await sql<{ n: number }>`SELECT ${i}::int + 1 AS n`;
          backends.add(Number(a?.pid));
          return (a?.i ?? -1) + 1 === b?.n;
        }),
      );
      return Promise.all(all);
    }, 25);
    expect(result.filter(Boolean)).toHaveLength(SCOPES);
    expect(peak).toBeLessThanOrEqual(SERVER_POOL);
    expect(backends.size).toBeLessThanOrEqual(SERVER_POOL);
    console.log(`PgBouncer: ${SCOPES} scopes, ${backends.size} server backends, peak ${peak} server connections sampled`);
  }, 120_000);

  test('an atomic() block keeps its statements on one server connection and commits or rolls back as a unit', async () => {
    if (skipped) return;
    configureThrough();
    await scope(async () => {
      await sql`DROP TABLE IF EXISTS bouncer_t`;
      await sql`CREATE TABLE bouncer_t (id INTEGER PRIMARY KEY)`;
    });
    const outcomes = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        scope(() =>
          atomic(async () => {
            const [a] = await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`;
            await sql`INSERT INTO bouncer_t (id) VALUES (${i})`;
            await new Promise((r) => setTimeout(r, 2));
            const [b] = await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`;
            if (a?.pid !== b?.pid) throw new Error('the block moved to another server connection');
            if (i % 2 === 1) throw new Error('roll back the odd ones');
            return i;
          }),
        ).then(
          () => 'committed',
          (e: Error) => e.message,
        ),
      ),
    );
    expect(outcomes.filter((o) => o === 'committed')).toHaveLength(100);
    expect(outcomes.filter((o) => o === 'roll back the odd ones')).toHaveLength(100);
    const [row] = await scope(() => sql<{ n: number }>`SELECT count(*)::int AS n FROM bouncer_t`);
    expect(row?.n).toBe(100);
  }, 60_000);

  test('the settings through the pooler: pin transaction, no prepared statements', () => {
    if (skipped) return;
    configureThrough();
    expect(connections.settingsFor('default')).toMatchObject({ pooler: 'transaction', pin: 'transaction', prepareThreshold: null });
  });

  test('one statement text run 300 times across 50 concurrent scopes: no named prepared statement, so no "prepared statement does not exist" from another server connection', async () => {
    if (skipped) return;
    configureThrough();
    const pids = new Set<number>();
    const sums = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        scope(async () => {
          let sum = 0;
          for (let k = 0; k < 6; k++) {
            const [r] = await sql<{ n: number; pid: number }>`SELECT ${i}::int + ${k}::int AS n, pg_backend_pid() AS pid`;
            sum += Number(r?.n);
            pids.add(Number(r?.pid));
          }
          return sum;
        }),
      ),
    );
    expect(sums).toEqual(Array.from({ length: 50 }, (_, i) => 6 * i + 15));
    // The statements ran on several server connections: a name prepared on one would be unknown on another.
    expect(pids.size).toBeGreaterThan(1);
  }, 60_000);

  /** Session state a refused statement would have left: settings, advisory locks and listeners of the role, server-side. */
  async function sessionTraces(): Promise<{ timeouts: string[]; locks: number; listeners: number }> {
    return scope(async () => {
      // Sample the server connections PgBouncer hands out (several statements, several scopes).
      const timeouts = await Promise.all(
        Array.from({ length: 40 }, () =>
          scope(async () => (await sql<{ t: string }>`SELECT current_setting('statement_timeout') AS t`)[0]?.t ?? '?'),
        ),
      );
      const [locks] = await sql<{
        n: number;
      }>`SELECT count(*)::int AS n FROM pg_locks l JOIN pg_database d ON d.oid = l.database WHERE l.locktype = 'advisory' AND d.datname = current_database()`;
      const [listeners] = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_listening_channels()`;
      return { timeouts: [...new Set(timeouts)], locks: Number(locks?.n), listeners: Number(listeners?.n) };
    });
  }

  test('session features are refused with NotSupportedError before they reach the pooler; their transaction-level forms work', async () => {
    if (skipped) return;
    configureThrough();
    const refused = [
      'SET statement_timeout = 1',
      'SET SESSION statement_timeout = 1',
      'RESET statement_timeout',
      `SELECT pg_advisory_lock(42)`,
      `SELECT pg_try_advisory_lock(42) AS ok`,
      `select PG_ADVISORY_LOCK_SHARED(42)`,
      `SELECT pg_advisory_unlock_all()`,
      'LISTEN spool_channel',
      'UNLISTEN *',
      'PREPARE spool_p AS SELECT 1',
      'EXECUTE spool_p',
      'DEALLOCATE ALL',
      '/* why */ -- not\n SET search_path = public',
      'CREATE TEMP TABLE spool_tmp (id int)',
      'DECLARE c CURSOR WITH HOLD FOR SELECT 1',
      'DISCARD ALL',
    ];
    for (const text of refused) {
      const err = await scope(() => connections.query('default', text, [])).catch((e: unknown) => e);
      expect([text, err]).toEqual([text, expect.any(NotSupportedError)]);
      expect((err as NotSupportedError).message).toMatch(/is refused on 'default', which goes through a pooler in transaction mode/);
    }
    // Inside atomic() too: a plain SET there outlives the block's COMMIT.
    await expect(scope(() => atomic(() => sql`SET statement_timeout = 1`))).rejects.toBeInstanceOf(NotSupportedError);
    // Nothing of them reached a server connection.
    expect(await sessionTraces()).toEqual({ timeouts: ['0'], locks: 0, listeners: 0 });

    // The transaction-level forms, inside atomic(): they end with the block.
    const inside = await scope(() =>
      atomic(async () => {
        await sql`SET LOCAL statement_timeout = 5000`;
        await sql`SELECT pg_advisory_xact_lock(42)`;
        const [t] = await sql<{ t: string }>`SELECT current_setting('statement_timeout') AS t`;
        const [l] = await sql<{
          n: number;
        }>`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()`;
        await sql`CREATE TEMP TABLE spool_tmp (id int) ON COMMIT DROP`;
        await sql`NOTIFY spool_channel`;
        return { timeout: t?.t, locks: l?.n };
      }),
    );
    expect(inside).toEqual({ timeout: '5s', locks: 1 });
    expect(await sessionTraces()).toEqual({ timeouts: ['0'], locks: 0, listeners: 0 });
    // Text that merely mentions a refused word is not refused.
    const [row] = await scope(() => sql<{ s: string }>`SELECT 'SET x; LISTEN y' AS s`);
    expect(row?.s).toBe('SET x; LISTEN y');
  }, 60_000);
});
