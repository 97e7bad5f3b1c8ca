// Acceptance scenarios 8 (unscoped work: root scope, idleTimeoutMs, strict mode, exits on its own)
// and 17 (a script that configures, queries and returns exits by itself within 1 s) (docs/acceptance.md).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { connections, NoScopeError, scope, sql } from '@spool/connections';
import { configureFor, eachDatabase, useDatabase } from '../support/helpers';

const fixture = (name: string) => join(__dirname, '..', 'fixtures', name);

/** Run a script in a child process; `exitedAt` is when it exited (wall clock, as the script's own `doneAt`). */
function runScript(file: string, settings: unknown): Promise<{ code: number | null; exitedAt: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [file], { env: { ...process.env, SPOOL_SETTINGS: JSON.stringify(settings) } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.on('exit', (code) => {
      clearTimeout(killer);
      resolve({ code, exitedAt: Date.now(), stdout, stderr });
    });
  });
}

eachDatabase('unscoped work and process exit', (db) => {
  const counter = useDatabase(db);

  test('a query outside any scope runs in the root scope, which keeps one connection until idleTimeoutMs', async () => {
    configureFor(db, { idleTimeoutMs: 400 });
    expect(await sql`SELECT 1 AS one`).toEqual([{ one: 1 }]);
    expect(await sql`SELECT 2 AS two`).toEqual([{ two: 2 }]);
    expect(connections.stats().aliases.default).toMatchObject({ opens: 1, open: 1, leased: 1 });
    expect(await counter.count()).toBe(1);
    expect(await counter.waitForCount(0, 3000)).toBe(0);
    expect(connections.stats().aliases.default).toMatchObject({ open: 0, closes: 1 });
    // Used again, it opens again.
    await sql`SELECT 3`;
    expect(connections.stats().aliases.default?.opens).toBe(2);
  });

  test('strict mode: a query outside any scope throws NoScopeError, inside a scope it runs', async () => {
    configureFor(db, {}, {}, { strict: true });
    const err = await sql`SELECT 1`.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(NoScopeError);
    expect((err as Error).message).toBe(
      "A query on 'default' ran outside any scope while strict mode is on. Wrap the work in scope(async () => …) (a request, a task), or configure({ strict: false }) to let it run in the thread's root scope.",
    );
    expect(await scope(() => sql`SELECT 1 AS one`)).toEqual([{ one: 1 }]);
    expect(await counter.waitForCount(0, 1000)).toBe(0);
  });

  test('a script that queries outside any scope and returns exits on its own within 1 s; its connection closes', async () => {
    const r = await runScript(fixture('unscoped-script.js'), db.settings());
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { rows: unknown; doneAt: number };
    expect(out.rows).toEqual([{ one: 1 }]);
    // Nothing keeps it alive once its work is done (node's own start-up, however slow on a
    // loaded machine, is not Spool's to guarantee).
    expect(r.exitedAt - out.doneAt).toBeLessThan(1000);
    expect(await counter.waitForCount(0, 2000)).toBe(0);
  });

  test.each([0, null])('a script that runs a scope (maxAge %p) and returns exits on its own within 1 s', async (maxAge) => {
    const r = await runScript(fixture('scoped-script.js'), db.settings({ maxAge }));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { stats: unknown; doneAt: number };
    expect(out.stats).toMatchObject({ leases: 1, opens: 1 });
    expect(r.exitedAt - out.doneAt).toBeLessThan(1000);
    expect(await counter.waitForCount(0, 2000)).toBe(0);
  });

  test('a worker that queries outside any scope exits on its own; its connection closes with it', async () => {
    const worker = new Worker(fixture('unscoped-script.js'), {
      env: { ...process.env, SPOOL_SETTINGS: JSON.stringify(db.settings({ idleTimeoutMs: 60_000 })) },
      stdout: true,
    });
    let out = '';
    worker.stdout.on('data', (d) => (out += d));
    const code = await new Promise<number>((resolve) => worker.once('exit', resolve));
    expect(code).toBe(0);
    expect(JSON.parse(out).stats).toMatchObject({ open: 1 }); // it had not timed out: the exit closed it
    expect(await counter.waitForCount(0, 2000)).toBe(0);
  });
});
