// Acceptance scenarios 1 (lazy open) and 2 (per-scope isolation) (docs/acceptance.md).
import { connections, scope, sql } from '@spool/connections';
import { backendId, barrier, configureFor, eachDatabase, useDatabase } from '../support/helpers';

eachDatabase('lazy open and per-scope isolation', (db) => {
  const counter = useDatabase(db);

  test('entering a scope opens nothing; the first query opens one; the second opens none', async () => {
    configureFor(db);
    const created: unknown[] = [];
    connections.on('connectionCreated', (e) => created.push(e));
    expect(await counter.count()).toBe(0);
    await scope(async () => {
      expect(await counter.count()).toBe(0);
      expect(created).toHaveLength(0);
      await sql`SELECT 1 AS one`;
      expect(created).toHaveLength(1);
      expect(await counter.count()).toBe(1);
      await sql`SELECT 2 AS two`;
      expect(created).toHaveLength(1);
      expect(await counter.count()).toBe(1);
    });
    expect(await counter.waitForCount(0)).toBe(0);
    connections.removeAllListeners('connectionCreated');
  });

  test('three concurrent scopes see three distinct backends, each stable within its scope', async () => {
    configureFor(db);
    const queried = barrier(3);
    const counted = barrier(3);
    const seen = await Promise.all(
      [0, 1, 2].map(() =>
        scope(async () => {
          const first = await backendId(db);
          await queried();
          const during = await counter.count();
          await counted();
          const second = await backendId(db);
          return { first, second, during };
        }),
      ),
    );
    for (const s of seen) {
      expect(s.second).toBe(s.first);
      expect(s.during).toBe(3);
    }
    expect(new Set(seen.map((s) => s.first)).size).toBe(3);
    expect(await counter.waitForCount(0)).toBe(0);
  });

  test('concurrent first queries in one scope share a single lease', async () => {
    configureFor(db);
    await scope(async () => {
      const ids = await Promise.all([backendId(db), backendId(db), backendId(db), backendId(db)]);
      expect(new Set(ids).size).toBe(1);
      expect(connections.stats().aliases.default?.opens).toBe(1);
      expect(await counter.count()).toBe(1);
    });
  });
});
