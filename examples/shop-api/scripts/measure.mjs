// Requests per second of the shop API with Spool's default connection settings (maxAge: 0, a
// connection opened per request, as Django's CONN_MAX_AGE = 0) and with the production settings
// of src/settings.ts (maxAge: 60, healthChecks: true), measured with autocannon on the same
// machine, one after the other. Needs the build (npm run build at the root) and a migrated
// database (`npm run measure` runs spool migrate first).
//
//   DATABASE_URL=postgres://user@127.0.0.1/shop node scripts/measure.mjs [--duration 10] [--connections 10]
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const duration = option('duration', 10);
const connections = option('connections', 10);

/** Start the app with `env`, resolve with its URL and a stop function. */
function start(env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(here, '..', 'dist', 'server.js')], {
      env: { ...process.env, PORT: '0', ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve({ url: m[1], stop: () => new Promise((r) => (child.once('exit', r), child.kill('SIGTERM'))) });
    });
    child.once('exit', (code) => reject(new Error(`the app exited (${code}) before listening:\n${out}`)));
  });
}

async function measure(label, env) {
  const app = await start(env);
  try {
    const list = await (await fetch(`${app.url}/products?pageSize=1`)).json();
    const path = `/products/${list.items[0].id}`; // the detail page: 2 queries per request
    await autocannon({ url: `${app.url}${path}`, connections, duration: 2 }); // warm-up
    const r = await autocannon({ url: `${app.url}${path}`, connections, duration });
    if (r.non2xx > 0 || r.errors > 0)
      throw new Error(`${label}: ${r.non2xx} non-2xx responses and ${r.errors} errors: the figures would not mean anything`);
    const row = {
      label,
      reqPerSec: Math.round(r.requests.average),
      p50ms: r.latency.p50,
      p99ms: r.latency.p99,
      non2xx: r.non2xx,
      errors: r.errors,
    };
    console.log(JSON.stringify(row));
    return row;
  } finally {
    await app.stop();
  }
}

const rows = [];
rows.push(await measure('maxAge: 0 (default)', { SHOP_MAX_AGE: '0' }));
rows.push(await measure('maxAge: 60, healthChecks', { SHOP_MAX_AGE: '60' }));
rows.push(await measure('maxAge: 0 (default), again', { SHOP_MAX_AGE: '0' }));
rows.push(await measure('maxAge: 60, healthChecks, again', { SHOP_MAX_AGE: '60' }));
console.log(`\n${process.env.DATABASE_URL ?? 'sqlite'}: GET /products/:id, ${connections} connections, ${duration} s each`);
console.table(rows);
