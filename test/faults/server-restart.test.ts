// The fault matrix, part 3 (issue 13): the database server restarts in the middle of 1,000
// scopes run as tasks across a worker pool. On a PRIVATE server (initdb / mariadb-install-db in
// a temporary directory, spare port), never the machine's shared ones. Spool recovers without a
// process restart: every task settles (none lost), tasks that fail while the server is away
// fail with a typed error, and once it is back each worker fails at most one scope (a connection
// it kept from before the restart) before all succeed again; the server-side count is 0 after
// close().
import { configure, shutdown } from '@spool/connections';
import { WorkerPool } from '@spool/workers';
import { privateMariadb, privatePostgres, type PrivateServer } from '../support/private-servers';
import { eachDatabase } from '../support/helpers';
import { fixture } from '../workers/helpers';

const TASKS = 1000;
const WORKERS = 4;
const RESTART_AFTER = 300;

interface Outcome {
  startedAt: number;
  ok: boolean;
  error?: Error;
}

eachDatabase('fault matrix: the server restarts under load', (db) => {
  if (!db.hasServer) {
    test('SQLite has no server to restart', () => {});
    return;
  }
  let server: PrivateServer | undefined;
  let skipped: string | undefined;
  beforeAll(async () => {
    const s = db.name === 'postgres' ? await privatePostgres() : await privateMariadb();
    if (typeof s === 'string') {
      skipped = s;
      console.log(`server restart on ${db.name}: skipped, ${s}`);
    } else server = s;
  }, 120_000);
  afterAll(async () => {
    await shutdown();
    await server?.destroy();
  }, 60_000);

  test(`${TASKS} tasks on ${WORKERS} workers, the server restarted after ${RESTART_AFTER}: none lost, at most one failed scope per worker once it is back, count 0`, async () => {
    if (skipped !== undefined || server === undefined) return;
    const srv = server;
    configure({ databases: { default: srv.settings({ maxAge: null, connectTimeoutMs: 2000 }) } });
    const pool = new WorkerPool({ filename: fixture('query-task.js'), workers: WORKERS, checkCapacity: false });
    const outcomes: Outcome[] = [];
    let next = 0;
    let backAt = Infinity;
    let restart: Promise<void> | undefined;
    const runner = async (): Promise<void> => {
      while (next < TASKS) {
        const i = next++;
        if (i === RESTART_AFTER) {
          restart = (async () => {
            await srv.stop();
            await srv.start();
            backAt = Date.now();
          })();
        }
        const startedAt = Date.now();
        try {
          await pool.run({ i, db: db.name, op: 'query', ms: 2 });
          outcomes.push({ startedAt, ok: true });
        } catch (error) {
          outcomes.push({ startedAt, ok: false, error: error as Error });
          // A task failing at once while the server is away: do not spin through the queue.
          if (backAt === Infinity) await new Promise((r) => setTimeout(r, 20));
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: WORKERS }, runner));
      await restart;
      // None lost: every task settled.
      expect(outcomes.length).toBe(TASKS);
      const failures = outcomes.filter((o) => !o.ok);
      // Every failure is typed: the server going away, refusing connections, or shutting down.
      for (const f of failures) expect(f.error?.name).toMatch(/^(OperationalError|InterfaceError)$/);
      // Once the server is back, at most one failed scope per worker.
      const afterBack = failures.filter((o) => o.startedAt >= backAt);
      expect(afterBack.length).toBeLessThanOrEqual(WORKERS);
      // The restart did happen in the middle, and work resumed after it.
      expect(backAt).toBeLessThan(Infinity);
      expect(outcomes.filter((o) => o.ok && o.startedAt >= backAt).length).toBeGreaterThan(100);
      console.log(
        `${db.name} restart: ${TASKS} tasks, ${failures.length} failed while the server was away or just back (${afterBack.length} after it was back)`,
      );
    } finally {
      await pool.close({ deadlineMs: 5000 });
    }
    expect(await srv.count()).toBe(0);
  }, 90_000);
});
