// The fault matrix, part 2 (issue 13): a backend killed by the administrator while its
// connection is idle in the pool, leased between two statements of a scope, and in the middle of
// a query; with health checks on and off. Each asserts: at most the scope that held the
// connection fails, with a typed error (never silently); the next scope works on a fresh
// connection; every wait ends within its bound; the server-side count returns to 0.
import { connections, InterfaceError, OperationalError, scope, sql } from '@spool/connections';
import { backendId, configureFor, eachDatabase, eventually, latch, useDatabase } from '../support/helpers';

const typed = (e: unknown): boolean => OperationalError.is(e) || InterfaceError.is(e);

/** The value, or the error it failed with. */
const settle = (p: PromiseLike<unknown>): Promise<unknown> =>
  Promise.resolve(p).then(
    (v) => v,
    (e: unknown) => e,
  );

eachDatabase('fault matrix: backend killed', (db) => {
  if (!db.hasServer) {
    test('SQLite has no backend to kill', () => {});
    return;
  }
  const counter = useDatabase(db);
  const sleepSql = db.name === 'postgres' ? 'SELECT pg_sleep(5)' : 'SELECT SLEEP(5)';

  /** Kill `pid` on the server and wait until it is gone there. */
  async function kill(pid: number): Promise<void> {
    await counter.terminate(pid);
    expect(await eventually(async () => !(await counter.serverIds()).includes(pid), 5000, 10)).toBe(true);
  }

  for (const healthChecks of [false, true]) {
    describe(`healthChecks ${healthChecks ? 'on' : 'off'}`, () => {
      test('killed while idle in the pool: at most one scope fails (none with health checks), then a fresh connection', async () => {
        configureFor(db, { maxAge: null, healthChecks });
        const p1 = await scope(() => backendId(db));
        expect(connections.stats().aliases.default).toMatchObject({ idle: 1 });
        await kill(p1);
        const outcomes = [await settle(scope(() => backendId(db))), await settle(scope(() => backendId(db)))];
        const failures = outcomes.filter((o) => typeof o !== 'number');
        for (const f of failures) expect(typed(f)).toBe(true);
        expect(failures.length).toBeLessThanOrEqual(healthChecks ? 0 : 1);
        const last = outcomes[1] as number;
        expect(typeof last).toBe('number');
        expect(last).not.toBe(p1);
        await connections.closeAll();
        expect(await counter.waitForCount(0, 5000)).toBe(0);
      });

      test('killed while leased between statements: that scope fails with a typed error, the next works', async () => {
        configureFor(db, { maxAge: null, healthChecks });
        const result = await scope(async () => {
          const pid = await backendId(db);
          await kill(pid);
          return { pid, next: await settle(sql`SELECT 1`) };
        });
        expect(typed(result.next)).toBe(true);
        expect(connections.stats().aliases.default).toMatchObject({ open: 0 });
        expect(await scope(() => backendId(db))).not.toBe(result.pid);
        await connections.closeAll();
        expect(await counter.waitForCount(0, 5000)).toBe(0);
      });

      test('killed mid-query: the statement fails at once with OperationalError, the next scope works', async () => {
        configureFor(db, { maxAge: null, healthChecks });
        const running = latch();
        const result = scope(async () => {
          const pid = await backendId(db);
          const statement = settle(connections.query('default', sleepSql, []));
          running.fire();
          const started = Date.now();
          const err = await statement;
          return { pid, err, waitedMs: Date.now() - started };
        });
        await running.fired;
        const [pid] = await counter.serverIds();
        expect(await eventually(() => counter.busy(pid as number), 5000, 10)).toBe(true);
        await kill(pid as number);
        const { err, waitedMs, pid: p } = await result;
        expect(err).toBeInstanceOf(OperationalError);
        // Well before the 5 s statement would have ended.
        expect(waitedMs).toBeLessThan(4000);
        expect(await scope(() => backendId(db))).not.toBe(p);
        await connections.closeAll();
        expect(await counter.waitForCount(0, 5000)).toBe(0);
      });
    });
  }
});
