// A scope's end drains: statements issued from it before the end (a forgotten await) finish
// first, within drainMs, with a warning naming the scope and the SQL; only statements issued
// after the end fail (ScopeEndedError), and nothing is left to reject unhandled. The scope's
// AbortSignal tells running code that the end has come, with the reason its ender gave. The
// rows are read back over another connection once Spool has shut down: the server's view.
import { connections, openScope, scope, ScopeEndedError, shutdown, sql } from '@spool/connections';
import { captureWarnings, configureFor, eachDatabase, latch, sleep, useDatabase } from '../support/helpers';
import { throughPooler } from '../support/pgbouncer';

eachDatabase('the end of a scope drains what was issued from it', { pgbouncer: true }, (db) => {
  const counter = useDatabase(db);
  const insert = (name: string): Promise<unknown> => sql`INSERT INTO spool_drain (name) VALUES (${name})`.rows();
  const committed = async (): Promise<string[]> => {
    await shutdown();
    configureFor(db);
    const rows = await scope(() => sql<{ name: string }>`SELECT name FROM spool_drain ORDER BY name`);
    await shutdown();
    return rows.map((r) => r.name);
  };
  let unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);

  beforeAll(async () => {
    configureFor(db);
    await scope(async () => {
      await sql`DROP TABLE IF EXISTS spool_drain`;
      await sql`CREATE TABLE spool_drain (name VARCHAR(50) PRIMARY KEY)`;
    });
    await shutdown();
  });
  beforeEach(async () => {
    configureFor(db);
    await scope(() => sql`DELETE FROM spool_drain`);
    await shutdown();
    unhandled = [];
    process.on('unhandledRejection', onUnhandled);
  });
  afterEach(() => {
    process.off('unhandledRejection', onUnhandled);
  });

  test('a forgotten first statement (its lease still in flight at the end) runs, and the warning names the scope and the SQL', async () => {
    const w = captureWarnings();
    configureFor(db, {}, {}, { logger: w.logger });
    await scope(
      async () => {
        void insert('forgotten');
      },
      { name: 'forgetful' },
    );
    // The end has drained it: committed by the time scope() resolved.
    expect(await committed()).toEqual(['forgotten']);
    expect(w.messages).toEqual([
      expect.stringMatching(
        /^Scope #\d+ 'forgetful' ended while a statement issued from it had not finished \(a forgotten await\?\): the end waited for it \(at most drainMs = 5000 ms\) before releasing the connection\. Await every query inside its scope \(lint with no-floating-promises\), or start background work with detach\(\)\. SQL:\n {2}- INSERT INTO spool_drain \(name\) VALUES \((\$1|\?)\)$/,
      ),
    ]);
    await sleep(20);
    expect(unhandled).toEqual([]);
    expect(await counter.waitForCount(0)).toBe(0);
  });

  test("pin: 'transaction': forgotten statements (each leasing a connection for itself) run too", async () => {
    const w = captureWarnings();
    configureFor(db, { pin: 'transaction' }, {}, { logger: w.logger });
    await scope(async () => {
      void insert('t1');
      void insert('t2');
    });
    expect(await committed()).toEqual(['t1', 't2']);
    await sleep(20);
    expect(unhandled).toEqual([]);
    expect(await counter.waitForCount(0)).toBe(0);
  });

  test('three forgotten statements queued on the connection all run, in order', async () => {
    const w = captureWarnings();
    configureFor(db, {}, {}, { logger: w.logger });
    await scope(async () => {
      await sql`SELECT 1 AS one`; // the connection is held: the three queue at its gate (or run at once on SQLite)
      void insert('a');
      void insert('b');
      void insert('c');
    });
    expect(await committed()).toEqual(['a', 'b', 'c']);
    await sleep(20);
    expect(unhandled).toEqual([]);
  });

  test('a statement issued after the end still fails, with ScopeEndedError', async () => {
    const w = captureWarnings();
    configureFor(db, {}, {}, { logger: w.logger });
    const ended = latch();
    let late!: Promise<unknown>;
    await scope(async () => {
      await insert('inside');
      late = ended.fired.then(() => insert('late'));
    });
    ended.fire();
    await expect(late).rejects.toBeInstanceOf(ScopeEndedError);
    expect(await committed()).toEqual(['inside']);
    expect(w.messages).toEqual([]);
  });

  // Its subject is a connection held by another scope between statements: none is with pin: 'transaction'.
  (throughPooler(db) ? test.skip : test)(
    'the drain is bounded: past drainMs, a statement still waiting for a connection is refused',
    async () => {
      const w = captureWarnings();
      configureFor(db, { max: 1, acquireTimeoutMs: 10_000 }, {}, { logger: w.logger, drainMs: 100 });
      const [held, done] = [latch(), latch()];
      // Scope A holds the only connection until told.
      const a = scope(async () => {
        await sql`SELECT 1 AS one`;
        held.fire();
        await done.fired;
      });
      await held.fired;
      let forgotten!: Promise<unknown>;
      const started = Date.now();
      await scope(
        async () => {
          forgotten = insert('starved');
          forgotten.catch(() => undefined);
        },
        { name: 'starved' },
      );
      const endMs = Date.now() - started;
      expect(endMs).toBeGreaterThanOrEqual(90);
      expect(endMs).toBeLessThan(5000);
      expect(w.messages).toEqual([expect.stringMatching(/^Scope #\d+ 'starved' ended while a statement issued from it had not finished/)]);
      done.fire();
      await a;
      const err = await forgotten.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(ScopeEndedError.is(err)).toBe(true);
      expect((err as Error).message).toMatch(
        /^Scope #\d+ 'starved' has ended, and a query on 'default' issued from it before the end was still waiting for its turn after drainMs = 100 ms: it was refused\. Await every query inside its scope, or raise 'drainMs'\.$/,
      );
      expect(await committed()).toEqual([]);
      expect(await counter.waitForCount(0)).toBe(0);
      expect(unhandled).toEqual([]);
    },
  );

  test("the scope's signal aborts when it ends, before later statements are refused; end(reason) is carried by ScopeEndedError", async () => {
    configureFor(db);
    const handle = openScope({ name: 'job' });
    const signal = handle.signal;
    await handle.run(async () => {
      await insert('one');
    });
    expect(signal.aborted).toBe(false);
    const reason = new Error('the client went away');
    const seen: unknown[] = [];
    signal.addEventListener('abort', () => seen.push(signal.reason));
    const ending = handle.end(reason);
    expect(seen).toEqual([reason]);
    await ending;
    const err = await handle
      .run(() => insert('two'))
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(ScopeEndedError.is(err)).toBe(true);
    expect((err as ScopeEndedError).reason).toBe(reason);
    expect((err as Error).message).toMatch(
      /^Scope #\d+ 'job' has ended \(the client went away\), but a query on 'default' was issued from it afterwards\./,
    );
    // A scope that ended by itself aborts its signal with a ScopeEndedError.
    let info!: AbortSignal;
    await scope(async (s) => {
      info = s.signal;
      expect(connections.currentScope()?.signal.aborted).toBe(false);
    });
    expect(info.aborted).toBe(true);
    expect(ScopeEndedError.is(info.reason)).toBe(true);
    expect(await committed()).toEqual(['one']);
  });
});
