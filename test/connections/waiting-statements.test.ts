// A statement that waits for its scope's first connection is its own entry in the pool's wait
// queue (issue 15: a waiting scope's memory is a burst's memory). These tests hold the only
// connection, queue statements behind it, and check what a waiting statement must still do: share
// the lease with the scope's other statements, run in order, give up after acquireTimeoutMs, be
// withdrawn when its scope ends, fail at shutdown, and leave nothing leased behind.
import {
  connections,
  currentScope,
  OperationalError,
  openScope,
  PoolExhaustedError,
  ScopeEndedError,
  scope,
  shutdown,
  sql,
} from '@spool/connections';
import { configureFor, eachDatabase, eventually, latch, useDatabase } from '../support/helpers';

eachDatabase('statements waiting for their scope’s first connection', (db) => {
  const counter = useDatabase(db);
  const waiting = (): number | undefined => connections.stats().aliases.default?.waiting;

  /** Hold the alias's only connection until `release()`. */
  async function holdOnly(): Promise<{ release: () => Promise<void> }> {
    const [has, done] = [latch(), latch()];
    const holder = scope(async () => {
      await sql`SELECT 1 AS one`;
      has.fire();
      await done.fired;
    });
    await has.fired;
    return {
      release: async () => {
        done.fire();
        await holder;
      },
    };
  }

  test('statements issued together while the lease waits share it: one lease, one connection, each its own answer', async () => {
    configureFor(db, { max: 1, maxAge: null, acquireTimeoutMs: 30_000 });
    const held = await holdOnly();
    const leasesBefore = connections.stats().aliases.default?.leases ?? 0;
    const answers = scope(async (s) => {
      const [a, b, c] = await Promise.all([sql`SELECT ${1} AS a`, sql`SELECT ${2} AS b`.result(), sql`SELECT ${3} AS c`.first()]);
      return { a, rows: b.rows, c, connections: s.connections().length };
    });
    // One waiter in the queue for the scope, not one per statement.
    expect(await eventually(() => waiting() === 1)).toBe(true);
    await held.release();
    const got = await answers;
    expect(got.a.map((r) => Number(r.a))).toEqual([1]);
    expect(got.rows.map((r) => Number(r.b))).toEqual([2]);
    expect(Number(got.c?.c)).toBe(3);
    expect(got.connections).toBe(1);
    expect(connections.stats().aliases.default).toMatchObject({ waiting: 0, leased: 0, leases: leasesBefore + 1 });
  });

  test('waiting scopes are served in arrival order, each with its own statement', async () => {
    configureFor(db, { max: 1, maxAge: null, acquireTimeoutMs: 30_000 });
    const held = await holdOnly();
    const order: number[] = [];
    const all = [0, 1, 2, 3, 4].map((i) =>
      scope(() => sql`SELECT ${i} AS i`).then((rows) => {
        // scope() types a returned thenable as itself; awaited, it is its rows.
        order.push(Number((rows as unknown as Array<{ i: unknown }>)[0]?.i));
      }),
    );
    expect(await eventually(() => waiting() === 5)).toBe(true);
    await held.release();
    await Promise.all(all);
    expect(order).toEqual([0, 1, 2, 3, 4]);
  });

  test('a waiting statement gives up after acquireTimeoutMs with PoolExhaustedError, and so does one waiting on the same lease', async () => {
    configureFor(db, { max: 1, maxAge: null, acquireTimeoutMs: 200 });
    const held = await holdOnly();
    const results = await scope(() => Promise.allSettled([sql`SELECT 1 AS a`, sql`SELECT 2 AS b`]));
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(PoolExhaustedError);
    }
    expect(connections.stats().aliases.default).toMatchObject({ waiting: 0, timeouts: 1, leased: 1 });
    await held.release();
    // The pool still serves.
    expect(await scope(() => sql`SELECT 1 AS one`)).toEqual([{ one: 1 }]);
    expect(connections.stats().aliases.default).toMatchObject({ waiting: 0, leased: 0 });
  });

  test('a scope that ends with a reason withdraws its waiting statement: it rejects with the reason, the scope behind it is served', async () => {
    configureFor(db, { max: 1, maxAge: null, acquireTimeoutMs: 30_000 });
    const held = await holdOnly();
    const handle = openScope();
    const first = handle.run(() => sql`SELECT 1 AS one`);
    first.catch(() => undefined);
    const behind = scope(() => sql`SELECT 2 AS two`);
    expect(await eventually(() => waiting() === 2)).toBe(true);
    const reason = new Error('the client went away');
    await handle.end(reason);
    const err = (await first.catch((e: unknown) => e)) as ScopeEndedError;
    expect(err).toBeInstanceOf(ScopeEndedError);
    expect(err.reason).toBe(reason);
    // Withdrawn from the queue at once: only the scope behind still waits, and it gets the connection.
    expect(waiting()).toBe(1);
    await held.release();
    expect(await behind).toEqual([{ two: 2 }]);
    expect(connections.stats().aliases.default).toMatchObject({ waiting: 0, leased: 0, open: 1, idle: 1 });
    if (db.hasServer) expect(await counter.waitForCount(1, 5000)).toBe(1);
  });

  test('the then() callbacks of a waiting sql`…` run in its own scope (not the one that gave the connection back), as then() runs them', async () => {
    configureFor(db, { max: 1, maxAge: null, acquireTimeoutMs: 30_000 });
    const held = await holdOnly();
    const seen = (label: string) => ({ label, scopeId: currentScope()?.id });
    const runs = [
      // Fulfilled: the callback sees the rows, in the scope that issued the statement.
      scope((s) => sql`SELECT 1 AS one`.then((rows) => ({ ...seen('ok'), own: s.id, rows }))),
      // Rejected by the server: onrejected runs there too, and what it returns fulfils.
      scope((s) =>
        sql`SELECT no_such_column FROM no_such_table`.then(undefined, (err: unknown) => ({ ...seen('failed'), own: s.id, err })),
      ),
      // A callback that throws rejects the promise then() returned.
      scope(() =>
        sql`SELECT 1 AS one`.then(() => {
          throw new Error('thrown by the callback');
        }),
      ).catch((err: unknown) => ({ label: 'threw', err })),
      // Callbacks that are not functions are ignored: the rows pass through.
      scope(() => sql`SELECT 2 AS two`.then(null, null)),
    ];
    expect(await eventually(() => waiting() === 4)).toBe(true);
    await held.release();
    const [ok, failed, threw, passed] = (await Promise.all(runs)) as Array<Record<string, unknown>>;
    expect(ok).toMatchObject({ label: 'ok', rows: [{ one: 1 }] });
    expect(ok?.scopeId).toBe(ok?.own);
    expect(failed).toMatchObject({ label: 'failed' });
    expect(failed?.scopeId).toBe(failed?.own);
    expect(failed?.err).toBeInstanceOf(Error);
    expect(threw).toMatchObject({ label: 'threw' });
    expect((threw?.err as Error).message).toBe('thrown by the callback');
    expect(passed).toEqual([{ two: 2 }]);
    expect(connections.stats().aliases.default).toMatchObject({ waiting: 0, leased: 0 });
  });

  test('a waiting sql`…` that times out runs its onrejected in its own scope', async () => {
    configureFor(db, { max: 1, maxAge: null, acquireTimeoutMs: 200 });
    const held = await holdOnly();
    const got = await scope((s) =>
      sql`SELECT 1 AS one`.then(
        () => 'served',
        (err: unknown) => ({ err, own: s.id, scopeId: currentScope()?.id }),
      ),
    );
    expect((got as { err: unknown }).err).toBeInstanceOf(PoolExhaustedError);
    expect((got as { scopeId: number }).scopeId).toBe((got as { own: number }).own);
    await held.release();
  });

  test('shutdown fails waiting statements with OperationalError and leaves 0 connections', async () => {
    configureFor(db, { max: 1, maxAge: null, acquireTimeoutMs: 30_000 });
    const held = await holdOnly();
    const queued = [1, 2, 3].map((i) => scope(() => sql`SELECT ${i} AS i`));
    for (const q of queued) q.catch(() => undefined);
    expect(await eventually(() => waiting() === 3)).toBe(true);
    const down = shutdown({ deadlineMs: 5_000 });
    for (const q of queued) await expect(q).rejects.toBeInstanceOf(OperationalError);
    await held.release();
    await down;
    if (db.hasServer) expect(await counter.waitForCount(0, 5000)).toBe(0);
  });
});
