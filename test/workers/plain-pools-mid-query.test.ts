// Issue 13: a worker of a plain piscina pool (or a plain Worker) whose file configures Spool
// itself and uses task(), terminated mid-query, must leave no statement running on the server.
// Before: `pool.destroy()` during 8 long queries returned while all 8 backends still ran them
// (MariaDB to their end; PostgreSQL until client_connection_check_interval noticed, which these
// tests turn off so that only Spool's clean-up can end them). Now each worker's handler announces
// its server connections to the thread that created it, which ends them on the server when the
// worker is gone. Checked on the server: pg_stat_activity / the processlist.
import { Worker } from 'node:worker_threads';
import { configure, shutdown, type DatabaseSettings } from '@spool/connections';
import type { ConnectionCounter, TestDatabase } from '@spool/testing';
import { Piscina } from 'piscina';
import { eachDatabase, eventually } from '../support/helpers';
import { fixture } from './helpers';

const WORKERS = 8;

/** Settings a worker configures itself with; PostgreSQL's own check for vanished clients off. */
function workerSettings(db: TestDatabase, settings: DatabaseSettings): DatabaseSettings {
  if (db.name !== 'postgres') return settings;
  return {
    ...settings,
    connection: { ...(settings.connection as Record<string, unknown>), options: '-c client_connection_check_interval=0' },
  };
}

/** Server connections of the role that are running a statement. */
async function busyCount(counter: ConnectionCounter): Promise<number> {
  let n = 0;
  for (const id of await counter.serverIds()) if (await counter.busy(id)) n += 1;
  return n;
}

eachDatabase('plain piscina and plain workers terminated mid-query', (db) => {
  if (!db.hasServer) {
    test('SQLite has no server: a native statement ends with its thread', () => {});
    return;
  }
  let counter: ConnectionCounter;
  let settings: DatabaseSettings;
  beforeAll(async () => {
    await db.setup();
    const role = await db.role('wkq');
    counter = role.counter();
    settings = role.settings({ maxAge: null });
  });
  afterEach(() => shutdown());
  afterAll(() => counter.close());

  test(`plain piscina: destroy() during ${WORKERS} long statements leaves none running on the server`, async () => {
    // The main thread's handler is configured (it follows the workers created from now on).
    configure({ databases: { default: settings } });
    const pool = new Piscina({
      filename: fixture('self-configured-task.js'),
      minThreads: WORKERS,
      maxThreads: WORKERS,
      workerData: { settings: workerSettings(db, settings), db: db.name },
    });
    const runs = Array.from({ length: WORKERS }, () =>
      pool.run({ op: 'long' }).then(
        () => 'finished',
        (e: unknown) => e,
      ),
    );
    expect(await eventually(async () => (await busyCount(counter)) === WORKERS, 30_000, 50)).toBe(true);
    const started = Date.now();
    await pool.destroy();
    for (const r of await Promise.all(runs)) expect(r).toBeInstanceOf(Error);
    // Ended on the server well before the 30 s statements would have.
    expect(await eventually(async () => (await counter.count()) === 0, 5000, 25)).toBe(true);
    const tookMs = Date.now() - started;
    expect(tookMs).toBeLessThan(5000);
    console.log(`${db.name}: ${WORKERS} statements ended ${tookMs} ms after destroy() was called`);
  }, 60_000);

  test('plain worker_threads: terminate() mid-query leaves no statement running on the server', async () => {
    configure({ databases: { default: settings } });
    const workers = Array.from(
      { length: 3 },
      () =>
        new Worker(fixture('self-configured-task.js'), {
          workerData: { settings: workerSettings(db, settings), db: db.name, plain: true },
        }),
    );
    expect(await eventually(async () => (await busyCount(counter)) === workers.length, 30_000, 50)).toBe(true);
    await Promise.all(workers.map((w) => w.terminate()));
    expect(await eventually(async () => (await counter.count()) === 0, 5000, 25)).toBe(true);
  }, 60_000);
});
