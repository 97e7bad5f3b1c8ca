// Instructions per operation of `scope(() => sql\`SELECT 1\`)` against the driver's own pool, counted
// by callgrind (deterministic on a loaded machine). Run a loop of N operations with C callers in one
// process; the instruction count per op is (count(N2) - count(N1)) / (N2 - N1), so start-up cancels.
//   variants: raw, raw-als (the raw pool with an AsyncLocalStorage in use), scope, scope-noprep, scope-await, empty
// --c is the number of concurrent callers (10 by default: one per connection, nobody waits; 100 or
// 1000: the callers beyond the ten wait in the pool's queue). Before the counted loop, the child
// warms up at that concurrency (--warm operations, by default 5 per caller and at least 1,000), so
// that the waiting path is compiled before the N1 and N2 runs diverge: otherwise its JIT work
// lands in the difference, and varies with the timing of V8's background compiler (without it,
// PostgreSQL scope: 89k instructions per op at c=10 and 320k at c=100; with it, 60-64k at c=10
// and at c=1000 alike).
//   node bench/scope-instructions.mjs --db=postgres,mysql --variants=raw,scope --n1=500 --n2=2500 --c=10 [--from=/checkout]
//   (child) node bench/scope-instructions.mjs --child --db=postgres --variant=scope --n=500 --c=10
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { callgrindInstructions, cliArgs, mysqlUrl, pgUrl } from './lib.mjs';

const file = fileURLToPath(import.meta.url);
const args = cliArgs();
const MAX = 10;

async function child() {
  const local = createRequire(file);
  const from = args.from;
  const require = (m) => (from && m.startsWith('@spool/') ? createRequire(join(from, 'package.json'))(m) : local(m));
  const db = args.db;
  const n = Number(args.n);
  const c = Number(args.c ?? 10);
  let op;
  let close;
  if (args.variant === 'raw-als') {
    // The raw pool in a process where an AsyncLocalStorage is in use (as in every process running
    // Spool): on Node 20 each promise then costs a promise hook; what Spool cannot remove.
    const { AsyncLocalStorage } = await import('node:async_hooks');
    new AsyncLocalStorage().enterWith({});
  }
  if (args.variant === 'raw' || args.variant === 'raw-als') {
    if (db === 'postgres') {
      const pg = require('pg');
      const pool = new pg.Pool({ connectionString: pgUrl, max: MAX, connectionTimeoutMillis: 120_000 });
      op = () => pool.query('SELECT 1 AS one').then((r) => r.rows);
      close = () => pool.end();
    } else {
      const mysql = require('mysql2');
      // A long connect timeout, as for pg and Spool: under callgrind on a loaded machine the default 10 s expires.
      const pool = mysql.createPool({ uri: mysqlUrl, connectionLimit: MAX, connectTimeout: 120_000 });
      op = () => new Promise((res, rej) => pool.query('SELECT 1 AS one', (e, r) => (e ? rej(e) : res(r))));
      close = () => new Promise((r) => pool.end(r));
    }
  } else {
    const spool = require('@spool/connections');
    spool.configure({
      databases: {
        default: {
          client: db === 'postgres' ? 'pg' : 'mysql2',
          connection: db === 'postgres' ? pgUrl : mysqlUrl,
          max: MAX,
          maxAge: null,
          connectTimeoutMs: 120_000,
          acquireTimeoutMs: 600_000,
          ...(args.variant === 'scope-noprep' ? { prepareThreshold: null } : {}),
        },
      },
    });
    const { scope, sql } = spool;
    if (args.variant === 'scope' || args.variant === 'scope-noprep') op = () => scope(() => sql`SELECT 1 AS one`);
    else if (args.variant === 'scope-await')
      op = () =>
        scope(async () => {
          const rows = await sql`SELECT 1 AS one`;
          return rows;
        });
    else if (args.variant === 'empty') op = () => scope(() => 1);
    close = () => spool.shutdown();
  }
  // Warm: open every connection, JIT (at the concurrency measured: the waiting path too).
  await Promise.all(Array.from({ length: MAX }, () => op()));
  for (let i = 0; i < 200; i++) await op();
  const loop = async (count) => {
    let left = count;
    const worker = async () => {
      while (left > 0) {
        left -= 1;
        await op();
      }
    };
    await Promise.all(Array.from({ length: c }, worker));
  };
  await loop(Number(args.warm ?? Math.max(1000, 5 * c)));
  await loop(n);
  await close();
}

function count(db, variant, n, c, from) {
  return callgrindInstructions([
    process.execPath,
    file,
    '--child',
    `--db=${db}`,
    `--variant=${variant}`,
    `--n=${n}`,
    `--c=${c}`,
    ...(args.warm !== undefined ? [`--warm=${args.warm}`] : []),
    ...(from ? [`--from=${from}`] : []),
  ]);
}

if (args.child) await child();
else {
  const dbs = String(args.db ?? 'postgres,mysql').split(',');
  const variants = String(args.variants ?? 'raw,scope').split(',');
  const n1 = Number(args.n1 ?? 500);
  const n2 = Number(args.n2 ?? 2500);
  const c = Number(args.c ?? 10);
  const froms = args.from ? String(args.from).split(',') : [undefined];
  for (const db of dbs)
    for (const variant of variants)
      for (const from of variant === 'raw' ? [undefined] : froms) {
        const a = count(db, variant, n1, c, from);
        const b = count(db, variant, n2, c, from);
        console.log(`${db}\t${variant}${from ? ` (${from})` : ''}\tc=${c}\t${Math.round((b - a) / (n2 - n1))} instr/op`);
      }
}
