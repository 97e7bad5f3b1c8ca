// At start the pool compares workers × perWorker (capped by the budget) with the server's
// connection limits and warns clearly. PostgreSQL and MariaDB only (SQLite has no server limit).
import { configure, shutdown } from '@spool/connections';
import { WorkerPool } from '@spool/workers';
import { captureWarnings, eachDatabase } from '../support/helpers';
import { fixture } from './helpers';

eachDatabase('WorkerPool capacity check', (db) => {
  afterEach(() => shutdown());

  test('16 workers against a role limited to 10 connections: a clear warning; a budget of 8 fits', async () => {
    await db.setup();
    const role = await db.role('wkc', { connectionLimit: 10 });
    const { logger, messages } = captureWarnings();
    configure({ databases: { default: role.settings() }, logger });
    const pool = new WorkerPool({ filename: fixture('query-task.js'), workers: 16 });
    const [report] = await pool.checkCapacity();
    await pool.close();
    if (!db.hasServer) {
      expect(report).toBeUndefined();
      expect(messages).toEqual([]);
      return;
    }
    const vendor = db.name === 'postgres' ? 'PostgreSQL' : 'MariaDB/MySQL';
    const source = db.name === 'postgres' ? "the role's CONNECTION LIMIT 10" : 'max_user_connections 10 for this user';
    expect(report).toMatchObject({ alias: 'default', vendor, planned: 16, limit: 10, limitSource: source, inUse: 0, ok: false });
    expect(messages).toEqual([
      `WorkerPool: up to 16 connection(s) to 'default' (16 worker(s) × 1), but the ${vendor} server accepts at most 10 for this user (${source}). ` +
        `Tasks may fail with "too many connections". Use fewer workers, or share fewer connections between them: budget: { default: 10 }.`,
    ]);

    const quiet = captureWarnings();
    configure({ databases: { default: role.settings() }, logger: quiet.logger });
    const capped = new WorkerPool({ filename: fixture('query-task.js'), workers: 16, budget: { default: 8 } });
    const [ok] = await capped.checkCapacity();
    await capped.close();
    expect(ok).toMatchObject({ planned: 8, limit: 10, ok: true });
    expect(quiet.messages).toEqual([]);
  });
});
