// Issue 13: no leaked process listeners. A service that creates a handler or a WorkerPool per job
// must stay flat: each removes on shutdown()/close() what it added to `process` (before: one `exit`
// listener per handler and per pool, each keeping its handler reachable, then
// MaxListenersExceededWarning at the eleventh).
import { ConnectionHandler, configure, shutdown } from '@spool/connections';
import { WorkerPool } from '@spool/workers';
import { DATABASES, eachDatabase } from '../support/helpers';
import { fixture } from './helpers';

/** Listener counts of every event on `process`. */
function processListeners(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of process.eventNames()) out[String(name)] = process.listenerCount(name);
  return out;
}

/** Collect the process warnings emitted while `fn` runs. */
async function warningsDuring(fn: () => Promise<void>): Promise<string[]> {
  const seen: string[] = [];
  const onWarning = (w: Error): void => void seen.push(`${w.name}: ${w.message}`);
  process.on('warning', onWarning);
  try {
    await fn();
    // Warnings are emitted on the next tick.
    await new Promise((r) => setImmediate(r));
  } finally {
    process.off('warning', onWarning);
  }
  return seen;
}

eachDatabase('process listeners', (db) => {
  beforeAll(() => db.setup());
  afterEach(() => shutdown());

  test('50 handlers that open connections and shut down leave process listeners as they were', async () => {
    const before = processListeners();
    const warnings = await warningsDuring(async () => {
      for (let i = 0; i < 50; i++) {
        const h = new ConnectionHandler({ control: false });
        h.configure({ databases: { default: db.settings({ maxAge: null }) } });
        await h.scope(() => h.query('default', 'SELECT 1', []));
        expect(h.stats().aliases.default?.open).toBe(1);
        // While a connection is open, the handler closes it if the process exits.
        expect(process.listenerCount('exit')).toBe((before.exit ?? 0) + 1);
        await h.shutdown({ deadlineMs: 1000 });
      }
    });
    expect(processListeners()).toEqual(before);
    expect(warnings.filter((w) => /MaxListenersExceeded/.test(w))).toEqual([]);
  });

  test('a handler whose connections all closed (maxAge 0) has no exit listener left', async () => {
    const before = process.listenerCount('exit');
    const h = new ConnectionHandler({ control: false });
    h.configure({ databases: { default: db.settings({ maxAge: 0 }) } });
    for (let i = 0; i < 20; i++) await h.scope(() => h.query('default', 'SELECT 1', []));
    expect(h.stats().aliases.default?.open).toBe(0);
    expect(process.listenerCount('exit')).toBe(before);
    await h.shutdown();
  });

  // 50 pools start 50 threads: on one database of the matrix (a server one when there is one,
  // whose capacity check opens the pool's admin connection), to keep the file within a minute.
  const poolsOn = DATABASES.find((d) => d.hasServer) ?? DATABASES[0];
  (db === poolsOn ? test : test.skip)(
    '50 WorkerPools created, used and closed leave process listeners as they were',
    async () => {
      configure({ databases: { default: db.settings({ maxAge: null }) } });
      const before = processListeners();
      const warnings = await warningsDuring(async () => {
        for (let i = 0; i < 50; i++) {
          // The capacity check opens an admin connection in this thread: the case that leaked.
          const pool = new WorkerPool({ filename: fixture('query-task.js'), workers: 1, checkCapacity: true });
          await pool.checkCapacity();
          if (i % 5 === 0) await pool.run({ i, db: db.name });
          await pool.close({ deadlineMs: 1000 });
        }
      });
      expect(processListeners()).toEqual(before);
      expect(warnings.filter((w) => /MaxListenersExceeded/.test(w))).toEqual([]);
    },
    120_000,
  );
});
