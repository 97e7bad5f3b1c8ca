// Beyond one machine (issue 13): Spool behind PgBouncer in transaction mode (started here on a
// spare port in front of the local PostgreSQL). With `pin: 'transaction'` a scope holds a
// connection only for each statement or atomic() block, and prepared statements are off
// (`prepareThreshold: null`): 10,000 concurrent scopes in one process are served by at most 20
// server connections, atomic blocks keep their statements on one server connection, and nothing
// is left on the server afterwards.
import { atomic, connections, scope, shutdown, sql } from '@spool/connections';
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
    const s = db.settings({ pin: 'transaction', prepareThreshold: null, maxAge: null, max: 200, acquireTimeoutMs: 60_000 });
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
});
