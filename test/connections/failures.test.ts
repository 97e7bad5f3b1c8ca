// Acceptance scenarios 9 (errors poison at most one scope), 10 (a scope that throws releases its
// connection), 14 (budget) and 15 (leak detection): docs/acceptance.md.
import { connections, InterfaceError, OperationalError, PoolExhaustedError, scope, sql, SpoolError } from '@spool/connections';
import { backendId, captureWarnings, configureFor, eachDatabase, eventually, latch, useDatabase } from '../support/helpers';

class Boom extends Error {}

eachDatabase('failures', (db) => {
  const counter = useDatabase(db);

  test('a scope that throws while holding a connection releases it (maxAge 0: closed)', async () => {
    configureFor(db);
    await expect(
      scope(async () => {
        await sql`SELECT 1`;
        expect(await counter.count()).toBe(1);
        throw new Boom();
      }),
    ).rejects.toBeInstanceOf(Boom);
    expect(await counter.waitForCount(0)).toBe(0);
    expect(connections.stats().aliases.default).toMatchObject({ open: 0, leased: 0, leases: 1, releases: 1 });
  });

  test('a scope that throws with maxAge null gives its connection back for reuse', async () => {
    configureFor(db, { maxAge: null });
    const first = await scope(async () => backendId(db)).catch(() => -1);
    await expect(
      scope(async () => {
        expect(await backendId(db)).toBe(first);
        throw new Boom();
      }),
    ).rejects.toBeInstanceOf(Boom);
    expect(connections.stats().aliases.default).toMatchObject({ open: 1, leased: 0, idle: 1 });
    expect(await counter.count()).toBe(1);
  });

  test('a failing statement does not leak: the error is converted and the connection released', async () => {
    configureFor(db);
    const err = await scope(() => sql`SELECT * FROM no_such_table_here`).catch((e: unknown) => e);
    expect(SpoolError.is(err)).toBe(true);
    expect((err as SpoolError).name).toBe('ProgrammingError');
    expect((err as Error).cause).toBeDefined();
    expect(await counter.waitForCount(0)).toBe(0);
  });

  if (db.hasServer) {
    test('a backend killed while idle poisons at most one scope; the next gets a new connection', async () => {
      configureFor(db, { maxAge: null });
      const p1 = await scope(() => backendId(db));
      await counter.terminate(p1);
      await counter.waitForCount(0, 2000);
      let failures = 0;
      const p2 = await scope(() => backendId(db)).catch((e: unknown) => {
        failures += 1;
        expect(OperationalError.is(e) || InterfaceError.is(e)).toBe(true);
        return -1;
      });
      const p3 = await scope(() => backendId(db));
      expect(failures).toBeLessThanOrEqual(1);
      expect(p3).not.toBe(p1);
      if (p2 !== -1) expect(p2).not.toBe(p1);
      expect(await counter.waitForCount(1)).toBe(1);
    });

    test('a backend killed in the middle of a scope fails that scope only', async () => {
      configureFor(db, { maxAge: null });
      const outcome = await scope(async () => {
        const pid = await backendId(db);
        await counter.terminate(pid);
        await counter.waitForCount(0, 2000);
        const first = await sql`SELECT 1`.then(
          () => 'ok',
          (e: unknown) => e,
        );
        const second = await sql`SELECT 1`.then(
          () => 'ok',
          (e: unknown) => e,
        );
        return { first, second };
      });
      expect(OperationalError.is(outcome.first) || InterfaceError.is(outcome.first)).toBe(true);
      // The scope keeps failing (it may have relied on session state); the error says so.
      expect(InterfaceError.is(outcome.second)).toBe(true);
      expect((outcome.second as Error).message).toMatch(/^The connection to 'default' is unusable \(/);
      // The broken connection was discarded at scope end; the next scope works on a new one.
      expect(await scope(() => sql`SELECT 1 AS one`)).toEqual([{ one: 1 }]);
      expect(connections.stats().aliases.default?.open).toBe(1);
    });

    test('with health checks, a reused connection is checked once per scope', async () => {
      configureFor(db, { maxAge: null, healthChecks: true });
      const p1 = await scope(async () => {
        await sql`SELECT 1`;
        return backendId(db);
      });
      for (let i = 0; i < 3; i++) {
        expect(
          await scope(async () => {
            await sql`SELECT 1`;
            await sql`SELECT 2`;
            return backendId(db);
          }),
        ).toBe(p1);
      }
      expect(connections.stats().aliases.default).toMatchObject({ healthChecks: 3, healthCheckFailures: 0, opens: 1 });
      await counter.terminate(p1);
      await counter.waitForCount(0, 2000);
      // Succeeds transparently, on a new connection.
      const p2 = await scope(() => backendId(db));
      expect(p2).not.toBe(p1);
      expect(connections.stats().aliases.default?.healthChecks).toBeLessThanOrEqual(4);
    });
  }

  test('budget: the third scope fails with PoolExhaustedError naming the holders; freeing one lets a waiter in', async () => {
    configureFor(db, { max: 2, acquireTimeoutMs: 300, maxAge: null });
    const [holdA, holdB, aHas, bHas] = [latch(), latch(), latch(), latch()];
    const a = scope(
      async () => {
        await sql`SELECT 1`;
        aHas.fire();
        await holdA.fired;
      },
      { name: 'holder-a' },
    );
    const b = scope(
      async () => {
        await sql`SELECT 1`;
        bHas.fire();
        await holdB.fired;
      },
      { name: 'holder-b' },
    );
    await Promise.all([aHas.fired, bHas.fired]); // both connections are held
    const started = Date.now();
    const err = await scope(() => sql`SELECT 1`, { name: 'third' }).catch((e: unknown) => e);
    const waited = Date.now() - started;
    expect(err).toBeInstanceOf(PoolExhaustedError);
    const e = err as PoolExhaustedError;
    expect(waited).toBeGreaterThanOrEqual(290);
    expect(e.budget).toBe(2);
    expect(e.holders.map((h) => h.scopeName).sort()).toEqual(['holder-a', 'holder-b']);
    expect(e.message).toMatch(
      /^Timed out after \d+ ms waiting for a connection to 'default': this thread's budget of 2 connections is in use\./,
    );
    expect(e.message).toContain('scope #');
    expect(e.message).toContain("'holder-a' has held it for");
    expect(e.message).toContain('failures.test.ts'); // where it was leased
    holdA.fire();
    holdB.fire();
    await Promise.allSettled([a, b]);
  });

  test('budget: a released connection is handed to the waiting scope', async () => {
    configureFor(db, { max: 1, acquireTimeoutMs: 5000, maxAge: null });
    const [hold, aHas] = [latch(), latch()];
    const order: string[] = [];
    const a = scope(async () => {
      await sql`SELECT 1`;
      order.push('a-has');
      aHas.fire();
      await hold.fired;
      order.push('a-done');
    });
    await aHas.fired;
    const b = scope(async () => {
      await sql`SELECT 1`;
      order.push('b-has');
    });
    expect(await eventually(() => connections.stats().aliases.default?.waiting === 1)).toBe(true);
    hold.fire();
    await Promise.all([a, b]);
    expect(order).toEqual(['a-has', 'a-done', 'b-has']);
    expect(connections.stats().aliases.default).toMatchObject({ opens: 1, waits: 1, timeouts: 0 });
  });

  test('leak detection: a scope holding a connection past leakThresholdMs emits leak with the leasing stack', async () => {
    const w = captureWarnings();
    configureFor(db, { leakThresholdMs: 100 }, {}, { logger: w.logger });
    const leaks: Array<{ stack?: string; heldMs: number; scopeName?: string }> = [];
    connections.on('leak', (e) => leaks.push(e));
    await scope(
      async () => {
        await sql`SELECT 1`;
        // Hold the connection until the leak is reported (the report never comes before 100 ms).
        await eventually(() => leaks.length > 0);
      },
      { name: 'slow-task' },
    );
    expect(leaks).toHaveLength(1);
    expect(leaks[0]?.scopeName).toBe('slow-task');
    expect(leaks[0]?.heldMs).toBeGreaterThanOrEqual(100);
    expect(leaks[0]?.stack).toContain('failures.test.ts');
    expect(
      w.messages.some((m) =>
        /^Possible connection leak: Scope #\d+ 'slow-task' has held a connection to 'default' for \d+ ms \(leakThresholdMs\)\. It was leased at:/.test(
          m,
        ),
      ),
    ).toBe(true);
    // A scope that ends in time does not leak.
    await scope(() => sql`SELECT 1`);
    expect(leaks).toHaveLength(1);
    expect(connections.stats().aliases.default?.leaks).toBe(1);
    connections.removeAllListeners('leak');
  });
});
