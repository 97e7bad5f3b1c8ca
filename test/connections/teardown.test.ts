// Acceptance scenario 18: test-suite teardown asserts count 0 and names any scope still holding a
// connection (docs/acceptance.md).
import { scope, shutdown, sql } from '@spool/connections';
import { assertNoLeakedConnections, LeakedConnectionsError, type ConnectionCounter } from '@spool/testing';
import { configureFor, eachDatabase } from '../support/helpers';

eachDatabase('teardown check', (db) => {
  let counter: ConnectionCounter;
  beforeAll(async () => {
    await db.setup();
    counter = db.counter();
  });
  afterAll(async () => {
    await shutdown();
    await counter.close();
  });

  test('names the scope still holding a connection, then passes once it ended', async () => {
    configureFor(db);
    let release!: () => void;
    let leased!: () => void;
    const holding = new Promise<void>((r) => (leased = r));
    const running = scope(
      async () => {
        await sql`SELECT 1`;
        leased();
        await new Promise<void>((r) => (release = r));
      },
      { name: 'forgotten-request' },
    );
    await holding; // the scope holds its connection now
    const err = await assertNoLeakedConnections({ counters: [counter], graceMs: 100 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LeakedConnectionsError);
    const message = (err as Error).message;
    expect(message).toMatch(
      /^Connections leaked at teardown:\n- scope #\d+ 'forgotten-request' still holds a connection to 'default' \(for \d+ ms\), leased at:/,
    );
    expect(message).toContain('teardown.test.ts');
    expect(message).toMatch(/1 connection\(s\) still open on the server/);
    release();
    await running;
    await expect(assertNoLeakedConnections({ counters: [counter] })).resolves.toBeUndefined();
  });
});
