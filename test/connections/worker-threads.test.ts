// Plain worker_threads: 8 workers × 100 scopes under a role limit lower than 8 × knex's default
// pool (10); and acceptance scenario 7 (docs/acceptance.md), a worker terminated mid-query.
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { configure, connections, prepareWorker, shutdown } from '@spool/connections';
import type { ConnectionCounter } from '@spool/testing';
import { eachDatabase, eventually } from '../support/helpers';

const fixture = (name: string) => join(__dirname, '..', 'fixtures', name);

function runWorker(file: string, workerData: Record<string, unknown>, spool: ReturnType<typeof prepareWorker>) {
  const worker = new Worker(file, { workerData: { ...spool.workerData, ...workerData } });
  /** Resolves once the worker exited and this thread cleaned up after it. */
  const cleanedUp = spool.attach(worker);
  const messages: Array<Record<string, unknown>> = [];
  worker.on('message', (m) => messages.push(m));
  const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
  return { worker, messages, exited, cleanedUp };
}

eachDatabase('plain worker_threads', (db) => {
  let counter: ConnectionCounter;
  afterEach(() => shutdown());
  afterAll(() => counter?.close());

  test('8 workers × 100 scopes stay within one connection each, under a role limited to 20', async () => {
    await db.setup();
    const role = await db.role('lim', { connectionLimit: 20 });
    counter = role.counter();
    configure({ databases: { default: role.settings({ maxAge: 0 }) } });
    const spool = prepareWorker();
    const { result: outcomes, peak } = await counter.peakDuring(async () => {
      const workers = Array.from({ length: 8 }, () => runWorker(fixture('scopes-worker.js'), { scopes: 100, aliases: ['default'] }, spool));
      const codes = await Promise.all(workers.map((w) => w.exited));
      return workers.map((w, i) => ({ code: codes[i], messages: w.messages }));
    }, 5);
    for (const o of outcomes) {
      expect(o.messages.find((m) => m.error)).toBeUndefined();
      expect(o.code).toBe(0);
      const stats = o.messages.find((m) => m.done)?.stats as { aliases: Record<string, { opens: number; leases: number; open: number }> };
      expect(stats.aliases.default?.leases).toBe(100);
      expect(stats.aliases.default?.open).toBe(0);
    }
    expect(peak).toBeLessThanOrEqual(8);
    expect(await counter.waitForCount(0, 2000)).toBe(0);
  });

  test('a worker terminated mid-query: the count returns to 0 within 2 s and the exit is reported', async () => {
    await db.setup();
    counter = db.counter();
    configure({ databases: { default: db.settings() } });
    const spool = prepareWorker();
    const exits: Array<{ leftOpen: number; killed: number }> = [];
    connections.on('workerExit', (e) => exits.push(e));
    const w = runWorker(fixture('long-query-worker.js'), { db: db.name }, spool);
    const { serverId } = await new Promise<{ serverId: number }>((resolve) =>
      w.worker.on('message', (m: { started?: boolean; serverId: number }) => m.started && resolve(m)),
    );
    // The statement is running on the server (SQLite's runs synchronously right after 'started').
    if (db.hasServer) expect(await eventually(() => counter.busy(serverId))).toBe(true);
    expect(await counter.count()).toBe(1);
    const started = Date.now();
    await w.worker.terminate();
    expect(await w.exited).toBe(1); // terminated: not a clean exit, so a pool can report the task failed
    expect(w.messages.some((m) => m.finished)).toBe(false);
    expect(await counter.waitForCount(0, 2000)).toBe(0);
    // The server's part (SQLite's statement runs to its end in the thread, however long that takes
    // on a loaded machine, and the handle closes with it).
    if (db.hasServer) expect(Date.now() - started).toBeLessThan(2000 + 500);
    await w.cleanedUp;
    expect(exits).toHaveLength(1);
    if (db.name === 'mysql') expect(exits[0]?.killed).toBe(1);
    connections.removeAllListeners('workerExit');
  });

  test('one prepareWorker() link shared by two workers: the death of one never touches the other’s connections', async () => {
    await db.setup();
    counter = db.counter();
    configure({ databases: { default: db.settings({ maxAge: null }) } });
    const spool = prepareWorker();
    const cleanedUp = new Map<Worker, Promise<unknown>>();
    const start = () => {
      const worker = new Worker(fixture('idle-worker.js'), { workerData: spool.workerData });
      cleanedUp.set(worker, spool.attach(worker));
      return worker;
    };
    const ask = (w: Worker) =>
      new Promise<{ ok: boolean; stats?: { opens: number; open: number } }>((resolve) => {
        w.once('message', resolve);
        w.postMessage('query');
      });
    const a = start();
    const b = start();
    try {
      expect(await ask(a)).toMatchObject({ ok: true });
      expect(await ask(b)).toMatchObject({ ok: true, stats: { opens: 1, open: 1 } });
      expect(await counter.count()).toBe(2);
      await a.terminate();
      // SQLite keeps a closed connection's file descriptor until the process's last connection
      // to that file closes (closing it would drop the POSIX locks the others hold), so only
      // the servers show the drop here.
      if (db.hasServer) expect(await counter.waitForCount(1, 2000)).toBe(1);
      await cleanedUp.get(a); // the parent's clean-up after A has run
      // B still has its connection: same one, no reconnect.
      expect(await ask(b)).toMatchObject({ ok: true, stats: { opens: 1, open: 1 } });
      if (db.hasServer) expect(await counter.count()).toBe(1);
      await new Promise<number>((resolve) => {
        b.once('exit', resolve);
        b.postMessage('exit');
      });
      expect(await counter.waitForCount(0, 2000)).toBe(0);
    } finally {
      await Promise.all([a.terminate(), b.terminate()]);
    }
  });
});
