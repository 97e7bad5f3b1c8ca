// bench/web.mjs: requests/s of a list endpoint (bench/web-server.mjs: 20 rows by filter, as JSON)
// under autocannon, Spool's middleware + ORM against the same handler with plain knex, on
// PostgreSQL and MariaDB: maxAge 0 and null, pin 'scope' and 'transaction', atomicRequests on,
// with the peak number of server connections the server process held during the run (polled
// every 25 ms from a monitoring connection). Each configuration runs in its own server process;
// the configurations are interleaved over rounds (knex and Spool at maxAge null back to back, the
// rest rotated) and the median is reported; the ratio to knex is the median of each round's ratio
// to that round's knex (every round's ratio is in the JSON). Writes bench/results/web.json.
//
//   node bench/web.mjs      BENCH_DATABASES=postgres,mysql  BENCH_WEB_SECONDS=5  BENCH_WEB_ROUNDS=3  BENCH_WEB_CONNECTIONS=50
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { benchDatabases, here, median, mysqlUrl, pgUrl, table, writeResults, fmt } from './lib.mjs';

const require = createRequire(import.meta.url);
const autocannon = require('autocannon');
const knexFactory = require('knex');
const SECONDS = Number(process.env.BENCH_WEB_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_WEB_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_WEB_CONNECTIONS ?? 50);
const WEB_USER = 'spool_bench_web';

const CONFIGS = {
  knex: { WEB_LIB: 'knex' },
  'spool maxAge null': { WEB_LIB: 'spool', WEB_MAX_AGE: 'null' },
  'spool maxAge 0': { WEB_LIB: 'spool', WEB_MAX_AGE: '0' },
  "spool maxAge null pin 'transaction'": { WEB_LIB: 'spool', WEB_MAX_AGE: 'null', WEB_PIN: 'transaction' },
  "spool maxAge 0 pin 'transaction'": { WEB_LIB: 'spool', WEB_MAX_AGE: '0', WEB_PIN: 'transaction' },
  'spool maxAge null atomicRequests': { WEB_LIB: 'spool', WEB_MAX_AGE: 'null', WEB_ATOMIC: '1' },
};

function start(env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(here, 'web-server.mjs')], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve({ url: m[1], stop: () => new Promise((r) => (child.once('exit', r), child.kill('SIGTERM'))) });
    });
    child.once('exit', (code) => reject(new Error(`the server exited (${code}) before listening:\n${out}`)));
  });
}

async function benchDatabase(db) {
  const admin = knexFactory({
    client: db === 'postgres' ? 'pg' : 'mysql2',
    connection: db === 'postgres' ? pgUrl : mysqlUrl,
    pool: { min: 0, max: 1 },
  });
  let serverUrl;
  let count;
  if (db === 'postgres') {
    serverUrl = pgUrl;
    count = async () =>
      Number((await admin.raw(`SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = ?`, [WEB_USER])).rows[0].n);
  } else {
    // A user of its own, so that its sessions can be counted among the other clients'.
    await admin.raw(`CREATE USER IF NOT EXISTS '${WEB_USER}'@'%'`);
    await admin.raw(`GRANT ALL ON test.* TO '${WEB_USER}'@'%'`);
    serverUrl = mysqlUrl.replace(/\/\/[^@]*@/, `//${WEB_USER}@`);
    count = async () =>
      Number((await admin.raw(`SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = ?`, [WEB_USER]))[0][0].n);
  }
  await admin.schema.dropTableIfExists('bench_web_book');
  await admin.schema.createTable('bench_web_book', (t) => {
    t.increments('id');
    t.string('title', 200).notNullable();
    t.integer('pages').notNullable();
  });
  for (let i = 0; i < 2000; i += 500)
    await admin('bench_web_book').insert(Array.from({ length: 500 }, (_, j) => ({ title: `Book ${i + j}`, pages: (i + j) % 500 })));
  const env = { WEB_DB: db, WEB_PG_URL: serverUrl, WEB_MYSQL_URL: serverUrl };
  const names = Object.keys(CONFIGS);
  const runs = Object.fromEntries(names.map((n) => [n, { rps: [], peak: [], p99: [] }]));
  // knex and Spool at maxAge null (the pair the target compares) run back to back in every round,
  // in alternating order; the other configurations follow, rotated. A machine that drifts over a
  // round (2 cores shared by autocannon, the server and the database) then moves the pair together.
  const [base, pair, ...rest] = names;
  for (let r = 0; r < ROUNDS; r++) {
    const order = [...(r % 2 === 0 ? [base, pair] : [pair, base]), ...rest.map((_, j) => rest[(r + j) % rest.length])];
    for (const name of order) {
      const app = await start({ ...env, ...CONFIGS[name] });
      try {
        const url = `${app.url}/books?min=250`;
        const check = await (await fetch(url)).json();
        if (!Array.isArray(check) || check.length !== 20)
          throw new Error(`${name}: unexpected response ${JSON.stringify(check).slice(0, 200)}`);
        await autocannon({ url, connections: CONNECTIONS, duration: 1 }); // warm-up
        let peak = 0;
        let polling = true;
        const poller = (async () => {
          while (polling) {
            peak = Math.max(peak, await count());
            await new Promise((res) => setTimeout(res, 25));
          }
        })();
        const res = await autocannon({ url, connections: CONNECTIONS, duration: SECONDS });
        polling = false;
        await poller;
        if (res.non2xx > 0 || res.errors > 0) throw new Error(`${name}: ${res.non2xx} non-2xx responses, ${res.errors} errors`);
        runs[name].rps.push(res.requests.average);
        runs[name].peak.push(peak);
        runs[name].p99.push(res.latency.p99);
      } finally {
        await app.stop();
      }
    }
  }
  await admin.schema.dropTableIfExists('bench_web_book');
  await admin.destroy();
  const out = {};
  for (const n of names)
    out[n] = {
      rps: median(runs[n].rps),
      peakConnections: Math.max(...runs[n].peak),
      p99ms: median(runs[n].p99),
      // The median of each round's ratio to that round's knex (paired), not a ratio of medians.
      toKnex: median(runs[n].rps.map((rps, r) => rps / runs.knex.rps[r])),
      roundsToKnex: runs[n].rps.map((rps, r) => rps / runs.knex.rps[r]),
    };
  return out;
}

const results = {};
for (const db of benchDatabases().filter((d) => d !== 'sqlite')) {
  results[db] = await benchDatabase(db);
  table(
    `Web list endpoint: ${db} (autocannon, ${CONNECTIONS} connections, ${SECONDS} s × ${ROUNDS} rounds; requests/s median, median of per-round ratios to knex)`,
    Object.entries(results[db]).map(([config, r]) => ({
      config,
      'req/s': fmt(r.rps),
      'vs knex': r.toKnex.toFixed(2),
      'per round': r.roundsToKnex.map((x) => x.toFixed(2)).join(' '),
      'p99 ms': r.p99ms,
      'peak server conns': r.peakConnections,
    })),
    ['config', 'req/s', 'vs knex', 'per round', 'p99 ms', 'peak server conns'],
  );
}
writeResults('web', { seconds: SECONDS, rounds: ROUNDS, connections: CONNECTIONS, results });
