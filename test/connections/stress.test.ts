// Nothing leaks on any failure path: many concurrent scopes under a small budget, mixing
// successful queries, failing statements, scopes that throw, committed and rolled-back atomic
// blocks, failed nested blocks, queries started together, and queries left behind after their
// scope ended. Afterwards the server sees no connection and every lease was released.
import { atomic, connections, scope, sql } from '@spool/connections';
import { configureFor, eachDatabase, useDatabase } from '../support/helpers';

class Boom extends Error {}

/** A small deterministic pseudo-random generator, so failures replay. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

eachDatabase('stress: nothing leaks on failure paths', { pgbouncer: true }, (db) => {
  const counter = useDatabase(db);

  beforeAll(async () => {
    configureFor(db);
    await scope(async () => {
      await sql`DROP TABLE IF EXISTS spool_stress`;
      await sql`CREATE TABLE spool_stress (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)`;
    });
  });

  test.each([0, null])('300 mixed scopes, max 4, maxAge %p', async (maxAge) => {
    configureFor(db, { max: 4, maxAge, acquireTimeoutMs: 20_000 });
    // From an empty table, whatever a failed run before this one left.
    await scope(() => sql`DELETE FROM spool_stress`);
    const random = rng(maxAge === null ? 7 : 11);
    let nextId = 1;
    const outcomes = { ok: 0, failed: 0 };
    let committed = 0;
    const left: Array<Promise<unknown>> = [];
    const work = Array.from({ length: 300 }, (_, i) => {
      const kind = Math.floor(random() * 8);
      const id = nextId++;
      return scope(async () => {
        switch (kind) {
          case 0:
            await sql`SELECT ${i} AS i`;
            break;
          case 1:
            await sql`SELECT * FROM spool_no_such_table`;
            break;
          case 2:
            await sql`SELECT 1`;
            throw new Boom();
          case 3:
            await atomic(() => sql`INSERT INTO spool_stress (id, v) VALUES (${id}, ${i})`);
            break;
          case 4:
            await atomic(async () => {
              await sql`INSERT INTO spool_stress (id, v) VALUES (${id}, ${i})`;
              throw new Boom();
            });
            break;
          case 5:
            await atomic(async () => {
              await sql`INSERT INTO spool_stress (id, v) VALUES (${id}, ${i})`;
              await atomic(() => sql`INSERT INTO spool_stress (id, v) VALUES (${id}, ${-1})`).catch(() => undefined);
            });
            break;
          case 6:
            await Promise.all([sql`SELECT 1`, sql`SELECT 2`, atomic(() => sql`SELECT 3`), sql`SELECT 4`]);
            break;
          default:
            // Started in the scope, finished after it ended: must fail, never leak.
            left.push(
              new Promise((r) =>
                setTimeout(
                  () =>
                    r(
                      sql`SELECT 5`.then(
                        () => 'ran',
                        () => 'refused',
                      ),
                    ),
                  5,
                ),
              ),
            );
            await sql`SELECT 6`;
        }
      }).then(
        () => {
          outcomes.ok += 1;
          if (kind === 3 || kind === 5) committed += 1;
        },
        () => void (outcomes.failed += 1),
      );
    });
    await Promise.all(work);
    expect(outcomes.ok + outcomes.failed).toBe(300);
    expect(outcomes.failed).toBeGreaterThan(0);
    await Promise.all(left);
    const stats = connections.stats().aliases.default;
    expect(stats?.leased).toBe(0);
    expect(stats?.waiting).toBe(0);
    expect(stats?.leases).toBe(stats?.releases);
    expect(stats?.timeouts).toBe(0);
    if (maxAge === 0) {
      expect(stats?.open).toBe(0);
      expect(await counter.waitForCount(0)).toBe(0);
    } else {
      expect(stats?.open).toBeLessThanOrEqual(4);
      expect(await counter.count()).toBe(stats?.open);
      await connections.closeAll();
      expect(await counter.waitForCount(0)).toBe(0);
    }
    // Exactly the committed rows are there: kinds 3 and 5 commit (5's failed savepoint adds
    // nothing), 4 rolls back.
    const [row] = await scope(() => sql<{ n: number | string }>`SELECT count(*) AS n FROM spool_stress`);
    expect(committed).toBeGreaterThan(0);
    expect(Number(row?.n)).toBe(committed);
    await scope(() => sql`DELETE FROM spool_stress`);
  });
});
