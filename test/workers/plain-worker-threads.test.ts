// For users of plain worker_threads (or another pool library): task() gives each call its own
// scope, released when it settles; the parent links the worker with prepareWorker()/attach().
import { Worker } from 'node:worker_threads';
import { configure, prepareWorker, shutdown } from '@spool/connections';
import { eachDatabase } from '../support/helpers';
import { fixture } from './helpers';

eachDatabase('task() in a plain worker_threads worker', (db) => {
  afterEach(() => shutdown());

  test('each message runs in its own scope; with maxAge 0 nothing stays open between messages; throws reach the caller', async () => {
    await db.setup();
    const role = await db.role('wkp');
    const counter = role.counter();
    configure({ databases: { default: role.settings({ maxAge: 0 }) } });
    const link = prepareWorker();
    const worker = new Worker(fixture('plain-worker.js'), { workerData: { ...link.workerData } });
    const cleanedUp = link.attach(worker);
    const ask = (msg: unknown) =>
      new Promise<Record<string, unknown>>((resolve) => {
        worker.once('message', resolve);
        worker.postMessage(msg);
      });
    for (let i = 0; i < 5; i++) {
      expect(await ask({ i })).toEqual({ ok: i });
      expect(await counter.waitForCount(0, 1000)).toBe(0);
    }
    expect(await ask({ i: 5, fail: true })).toEqual({ error: 'message 5 failed' });
    expect(await counter.waitForCount(0, 1000)).toBe(0);
    const { stats } = (await ask('stats')) as { stats: { opens: number; closes: number; leases: number; open: number } };
    expect(stats).toMatchObject({ opens: 6, closes: 6, leases: 6, open: 0 });
    worker.postMessage('exit');
    expect(await new Promise((r) => worker.once('exit', r))).toBe(0);
    expect((await cleanedUp).leftOpen).toBe(0);
    await counter.close();
  });
});
