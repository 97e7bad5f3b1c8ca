// The fault matrix, part 4 (issue 13): SIGTERM during load. The service stops starting work and
// calls shutdown({ deadlineMs }): scopes that end in time release their connections, the rest
// (long statements, a transaction that never ends) are forced at the deadline, rolled back, and
// named in the report; shutdown resolves within the deadline plus a small bound, and nothing is
// left on the server.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { configureFor, eachDatabase, useDatabase } from '../support/helpers';
import { connections, scope, sql } from '@spool/connections';

const DEADLINE_MS = 1000;
const GRACE_MS = 1000;

interface Out {
  report: { closed: number; forced: number; forcedScopes: string[] };
  signalledAt: number;
  doneAt: number;
  finished: number;
  failed: number;
  committed: number[];
  unknown: number[];
  hooked: number[];
  blocksFailed: number;
  stuckOutcome: string;
}

function runUntilSigterm(settings: unknown, db: string): Promise<{ code: number | null; out: Out | undefined; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(__dirname, '..', 'fixtures', 'sigterm-script.js')], {
      env: { ...process.env, SPOOL_SETTINGS: JSON.stringify(settings), SPOOL_DEADLINE_MS: String(DEADLINE_MS), SPOOL_DB: db },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d;
      if (stdout.startsWith('ready\n') && !child.killed) {
        stdout = stdout.slice(6);
        child.kill('SIGTERM');
      }
    });
    child.stderr.on('data', (d) => (stderr += d));
    const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('exit', (code) => {
      clearTimeout(killer);
      const line = stdout.trim().split('\n').pop();
      resolve({ code, out: line ? (JSON.parse(line) as Out) : undefined, stderr });
    });
  });
}

eachDatabase('fault matrix: SIGTERM during load', (db) => {
  const counter = useDatabase(db);

  test(`shutdown({ deadlineMs: ${DEADLINE_MS} }) drains, forces the rest at the deadline, reports them, leaves nothing on the server`, async () => {
    configureFor(db, { maxAge: 0 });
    await scope(async () => {
      await sql`DROP TABLE IF EXISTS sigterm_row`;
      await sql`CREATE TABLE sigterm_row (id INTEGER PRIMARY KEY)`;
    });
    await connections.shutdown();
    const { code, out, stderr } = await runUntilSigterm(db.settings({ maxAge: null, max: 10 }), db.name);
    expect(code).toBe(0);
    expect(out).toBeDefined();
    const o = out as Out;
    expect(o.finished).toBeGreaterThan(0);
    // Forced: the transaction that never ends, and (on servers) the three long statements.
    const forced = db.hasServer ? 4 : 1;
    expect(o.report.forced).toBe(forced);
    expect(o.report.forcedScopes.filter((s) => /stuck-transaction/.test(s))).toHaveLength(1);
    if (db.hasServer) expect(o.report.forcedScopes.filter((s) => /long-\d/.test(s))).toHaveLength(3);
    expect(stderr).toMatch(/\[spool\] shutdown\(\): \d+ connection\(s\) were still leased after \d+ ms and were closed/);
    // The deadline is the deadline (plus a bounded close of the forced connections).
    const tookMs = o.doneAt - o.signalledAt;
    expect(tookMs).toBeGreaterThanOrEqual(DEADLINE_MS - 5);
    expect(tookMs).toBeLessThan(DEADLINE_MS + GRACE_MS);
    // Nothing lost silently, no hook for a rolled-back block: the forced transaction failed, its row
    // and hook are not there; every block that committed (while loaded or in the drain) has its row
    // and ran its hook once; no other row, unless its COMMIT was reported as of unknown outcome.
    // (Its function never settles, so neither can its promise: 'pending', or rejected; never resolved.)
    expect(o.stuckOutcome).not.toBe('resolved');
    if (db.hasServer) expect(o.committed.length).toBeGreaterThan(0);
    expect([...o.hooked].sort((a, b) => a - b)).toEqual([...o.committed].sort((a, b) => a - b));
    configureFor(db, { maxAge: 0 });
    const rows = (await scope(() => sql`SELECT id FROM sigterm_row`)).map((r) => Number((r as { id: unknown }).id));
    await connections.shutdown();
    const present = new Set(rows);
    expect(present.has(0)).toBe(false);
    for (const id of o.committed) expect(present.has(id)).toBe(true);
    const allowed = new Set([...o.committed, ...o.unknown]);
    expect(rows.filter((id) => !allowed.has(id))).toEqual([]);
    expect(await counter.waitForCount(0, 3000)).toBe(0);
  }, 60_000);
});
