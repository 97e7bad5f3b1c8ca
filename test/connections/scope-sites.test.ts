// Where scopes were opened (issue 14): with the default captureStacks: true, a scope's site is
// recorded only when a report can use it (leak detection on, or after a scope gave up waiting),
// so an ordinary scope pays no stack capture; the reports still say where the scope was opened.
// The test helpers record every site (recordScopeSites(true), for the teardown check): these
// tests turn that off to see what production does.
import { connections, PoolExhaustedError, scope, shutdown, sql } from '@spool/connections';
import { handlerState, recordScopeSites } from '@spool/connections/internal';
import { captureWarnings, configureFor, eachDatabase, eventually, useDatabase } from '../support/helpers';

/** The holders of the default alias as a report lists them (with `leasedAt`, the site). */
function holders(): Array<{ leasedAt?: string }> {
  return handlerState(connections).pools.get('default')?.holders() ?? [];
}

eachDatabase('scope sites', (db) => {
  useDatabase(db);
  beforeEach(() => recordScopeSites(false));
  afterEach(() => recordScopeSites(true));

  test('leak report: says where the scope was opened, although the lease came from a then() with no user frame', async () => {
    const w = captureWarnings();
    configureFor(db, { leakThresholdMs: 50, maxAge: null }, {}, { logger: w.logger });
    const leaked = () => w.messages.some((m) => m.startsWith('Possible connection leak'));
    // Named, and not async: its name is on the stack only where the scope is opened. The lease is
    // made later, from a microtask (the awaited thenable's then()), whose stack has no user frame.
    function openTheLeakyScope(): Promise<void> {
      return scope(async () => {
        await new Promise((r) => setTimeout(r, 1));
        await sql`SELECT 1`;
        await eventually(leaked); // hold the connection until the report
      });
    }
    await openTheLeakyScope();
    const report = w.messages.find((m) => m.startsWith('Possible connection leak')) as string;
    expect(report).toContain('(in the scope opened at)');
    expect(report).toContain('openTheLeakyScope');
    expect(report).toContain('scope-sites.test.ts');
  });

  test('without leak detection, an ordinary scope records no site (no stack capture per scope)', async () => {
    configureFor(db, { maxAge: null });
    await scope(async () => {
      await sql`SELECT 1`;
      expect(holders()).toHaveLength(1);
      expect(holders()[0]?.leasedAt).toBeUndefined();
    });
    // captureStacks: 'always' records it for every scope.
    await shutdown();
    configureFor(db, { maxAge: null }, {}, { captureStacks: 'always' });
    function openRecorded(): Promise<void> {
      return scope(async () => {
        await sql`SELECT 1`;
        expect(holders()[0]?.leasedAt).toContain('openRecorded');
      });
    }
    await openRecorded();
  });

  test('after a scope gave up waiting, the scopes opened next are recorded: the next PoolExhaustedError names the holder', async () => {
    configureFor(db, { max: 1, acquireTimeoutMs: 100, maxAge: null });
    const waitFor = (): Promise<unknown> => scope(() => sql`SELECT 1`).catch((e: unknown) => e);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let holding!: () => void;
    const holds = new Promise<void>((r) => (holding = r));
    function openTheHolder(): Promise<void> {
      return scope(async () => {
        await sql`SELECT 1`;
        holding();
        await held;
      });
    }
    const first = openTheHolder();
    await holds;
    const e1 = (await waitFor()) as PoolExhaustedError;
    expect(e1).toBeInstanceOf(PoolExhaustedError);
    // Opened before anyone starved: not recorded.
    expect(e1.message).not.toContain('openTheHolder');
    release();
    await first;
    let release2!: () => void;
    const held2 = new Promise<void>((r) => (release2 = r));
    let holding2!: () => void;
    const holds2 = new Promise<void>((r) => (holding2 = r));
    function openTheSecondHolder(): Promise<void> {
      return scope(async () => {
        await sql`SELECT 1`;
        holding2();
        await held2;
      });
    }
    const second = openTheSecondHolder();
    await holds2;
    const e2 = (await waitFor()) as PoolExhaustedError;
    expect(e2).toBeInstanceOf(PoolExhaustedError);
    expect(e2.message).toMatch(/leased at:/);
    expect(e2.message).toContain('openTheSecondHolder');
    release2();
    await second;
  });
});
