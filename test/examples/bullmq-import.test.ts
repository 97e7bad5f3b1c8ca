// examples/worker-import/bullmq.mjs: the import spread over 3 worker processes through Redis
// (BullMQ), on this jest worker's PostgreSQL database. Its own report is checked: every row
// stored, the server-side peak at most processes × concurrency, the count 0 once the workers
// stopped. (The example counts server-side itself, by application_name.)
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { eachDatabase } from '../support/helpers';
import { canConnect } from '../support/local-ports';

const run = promisify(execFile);
const EXAMPLE = join(__dirname, '..', '..', 'examples', 'worker-import', 'bullmq.mjs');

eachDatabase('examples/worker-import/bullmq.mjs', (db) => {
  if (db.name !== 'postgres') {
    test(`the example is for PostgreSQL (${db.name} skipped)`, () => {});
    return;
  }
  test('3 processes × concurrency 2 import 6,000 rows through Redis: peak ≤ 6 server connections, 0 after', async () => {
    if (!(await canConnect(6379))) {
      if (process.env.SPOOL_REQUIRE_REDIS === '1')
        throw new Error('Redis is required (SPOOL_REQUIRE_REDIS=1) but 127.0.0.1:6379 does not answer');
      console.log('BullMQ example skipped: no Redis on 127.0.0.1:6379');
      return;
    }
    await db.setup();
    const c = db.settings().connection as { host: string; port: number; user: string; database: string };
    const url = `postgres://${c.user}@${c.host}:${c.port}/${c.database}`;
    const { stdout } = await run(process.execPath, [EXAMPLE, '--rows', '6000', '--processes', '3', '--concurrency', '2'], {
      env: { ...process.env, DATABASE_URL: url },
      timeout: 90_000,
    });
    expect(stdout).toMatch(/^Imported 6,000 rows in [\d.]+ s: 12 jobs through Redis, 3 processes × concurrency 2/m);
    const figure = (label: string): number => Number(new RegExp(`^  ${label}\\s+(\\d+)`, 'm').exec(stdout)?.[1] ?? NaN);
    expect(figure('before the workers')).toBe(0);
    expect(figure('during the import \\(peak\\)')).toBeGreaterThanOrEqual(1);
    expect(figure('during the import \\(peak\\)')).toBeLessThanOrEqual(6);
    expect(figure('after the workers stopped')).toBe(0);
    const counter = db.counter();
    try {
      expect(await counter.waitForCount(0, 3000)).toBe(0);
    } finally {
      await counter.close();
    }
  }, 120_000);
});
