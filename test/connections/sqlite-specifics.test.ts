// SQLite's particulars: statements that write (INSERT … RETURNING included) wait for another
// connection of the same thread asynchronously instead of blocking the thread in SQLite's busy
// handler; REGEXP is available; the server version is known after the first connection.
import { atomic, connections, scope, shutdown, sql } from '@spool/connections';
import { configureFor, DATABASES, eachDatabase, latch } from '../support/helpers';

const sqlite = DATABASES.find((d) => d.name === 'sqlite');

(sqlite ? describe : describe.skip)('sqlite: one thread, several connections to one file', () => {
  beforeAll(async () => {
    await sqlite!.setup();
    configureFor(sqlite!);
    await scope(async () => {
      await sql`DROP TABLE IF EXISTS spool_lite`;
      await sql`CREATE TABLE spool_lite (id INTEGER PRIMARY KEY, name TEXT)`;
    });
  });
  afterAll(() => shutdown());

  test('INSERT … RETURNING waits for the other connection’s transaction without blocking the thread', async () => {
    let timerLate = 0;
    const [inserted, commit] = [latch(), latch()];
    const a = scope(() =>
      atomic(async () => {
        await sql`INSERT INTO spool_lite (name) VALUES (${'a'})`;
        inserted.fire();
        await commit.fired; // A holds the write lock until B waited for it
      }),
    );
    await inserted.fired;
    const scheduled = Date.now();
    const timer = new Promise<void>((resolve) =>
      setTimeout(() => {
        timerLate = Date.now() - scheduled - 30;
        resolve();
      }, 30),
    );
    const b = scope(() => sql<{ id: number; name: string }>`INSERT INTO spool_lite (name) VALUES (${'b'}) RETURNING id, name`);
    await timer;
    // A thread blocked in SQLite's busy handler would have held the timer back for the busy
    // timeout (5 s); scheduling on a loaded machine may delay it by a fraction of that.
    expect(timerLate).toBeLessThan(1000);
    commit.fire();
    await a;
    expect(await b).toEqual([{ id: 2, name: 'b' }]);
  });

  test('REGEXP and spool_regexp(pattern, value, flags) are registered', async () => {
    const [row] = await scope(
      () => sql`SELECT 'abc' REGEXP 'b.' AS m, 'abc' REGEXP '^b' AS n, spool_regexp('B', 'abc', 'i') AS i, NULL REGEXP 'a' AS z`,
    );
    expect(row).toEqual({ m: 1, n: 0, i: 1, z: null });
  });
});

eachDatabase('server version', (db) => {
  afterEach(() => shutdown());
  test('known once a connection was opened', async () => {
    await db.setup();
    configureFor(db);
    expect(connections.serverVersion('default')).toBeUndefined();
    await scope(() => sql`SELECT 1`);
    const version = connections.serverVersion('default');
    if (db.name === 'postgres') expect(version).toMatch(/^\d+(\.\d+)?/);
    else if (db.name === 'mysql') expect(version).toMatch(/^\d+\.\d+\.\d+/);
    else expect(version).toMatch(/^3\.\d+\.\d+$/);
  });
});
