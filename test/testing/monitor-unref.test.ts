// @spool/testing's monitoring connection does not keep the event loop alive: a script that counts
// connections (and reads busy state) on each server and never closes its counter exits by itself,
// at once, as a test file that forgets counter.close() must not hang jest's worker. Its socket is
// referenced only while a query runs.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { DATABASES } from '../support/helpers';

const run = promisify(execFile);
const servers = DATABASES.filter((d) => d.hasServer);

(servers.length > 0 ? test : test.skip)(
  'a counter left open does not keep the process alive (PostgreSQL, MariaDB)',
  async () => {
    const kinds = JSON.stringify(servers.map((d) => d.name));
    const script = `
    const { ConnectionCounter } = require('@spool/testing');
    (async () => {
      for (const kind of ${kinds}) {
        const c = new ConnectionCounter({ kind, user: 'root' });
        const n = await c.count();
        await c.busy(1);
        console.log(kind + ' ' + n);
      }
      // No c.close(): the monitoring connections stay open, unreferenced.
      setTimeout(() => { console.log('still alive'); process.exit(3); }, 10_000).unref();
    })().catch((e) => { console.error(e); process.exit(2); });
  `;
    const { stdout } = await run(process.execPath, ['-e', script], { cwd: __dirname, timeout: 30_000 });
    expect(stdout.trim().split('\n')).toEqual(servers.map((d) => expect.stringMatching(new RegExp(`^${d.name} \\d+$`))));
    // It exited on its own (code 0): the guard, 10 s after the counting, would have exited with 3 and failed the run.
  },
  60_000,
);
