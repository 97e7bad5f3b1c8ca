// Acceptance scenarios 3 (maxAge 0) and 4 (maxAge N / null) (docs/acceptance.md).
import { connections, scope, sql } from '@spool/connections';
import { backendId, configureFor, eachDatabase, sleep, useDatabase } from '../support/helpers';

eachDatabase('maxAge', (db) => {
  const counter = useDatabase(db);

  test('maxAge 0: 50 sequential then 10 concurrent scopes; each opens one and closes it at its end', async () => {
    configureFor(db, { maxAge: 0 });
    for (let i = 0; i < 50; i++) {
      await scope(async () => {
        await sql`SELECT ${i} AS i`;
      });
      // The server drops a closed session asynchronously: allow it a moment, bounded.
      expect(await counter.waitForCount(0, 1000)).toBe(0);
    }
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        scope(async () => {
          await sql`SELECT ${i} AS i`;
          await sql`SELECT ${i} AS again`;
        }),
      ),
    );
    expect(await counter.waitForCount(0, 1000)).toBe(0);
    const s = connections.stats().aliases.default;
    expect(s?.opens).toBe(60);
    expect(s?.closes).toBe(60);
    expect(s?.open).toBe(0);
  });

  test('maxAge 2 s: reused at +1 s, replaced at +2.5 s', async () => {
    configureFor(db, { maxAge: 2 });
    const p1 = await scope(() => backendId(db));
    expect(await counter.count()).toBe(1); // kept idle
    await sleep(1000);
    const p2 = await scope(() => backendId(db));
    expect(p2).toBe(p1);
    await sleep(1500);
    const p3 = await scope(() => backendId(db));
    expect(p3).not.toBe(p1);
    expect(await counter.waitForCount(1)).toBe(1);
  });

  test('maxAge null keeps the first connection', async () => {
    configureFor(db, { maxAge: null });
    const p1 = await scope(() => backendId(db));
    await sleep(1000);
    const p2 = await scope(() => backendId(db));
    await sleep(1500);
    const p3 = await scope(() => backendId(db));
    expect([p2, p3]).toEqual([p1, p1]);
    expect(connections.stats().aliases.default?.opens).toBe(1);
    expect(await counter.count()).toBe(1);
  });

  test('closeAll() closes idle connections, which are counted by the server', async () => {
    configureFor(db, { maxAge: null });
    await Promise.all([0, 1, 2].map(() => scope(() => sql`SELECT 1`)));
    expect(await counter.count()).toBe(3);
    expect(await connections.closeAll()).toBe(3);
    expect(await counter.waitForCount(0)).toBe(0);
  });

  test('idle connections close after idleTimeoutMs', async () => {
    configureFor(db, { maxAge: null, idleTimeoutMs: 300 });
    await scope(() => sql`SELECT 1`);
    expect(await counter.count()).toBe(1);
    expect(await counter.waitForCount(0, 3000)).toBe(0);
    expect(connections.stats().aliases.default?.closes).toBe(1);
  });
});
