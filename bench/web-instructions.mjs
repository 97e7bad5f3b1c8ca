// Instructions per request of a web server, counted by valgrind's callgrind (repeatable on a loaded
// machine, where wall-clock A/B runs of the same server move by ±25 %). The server runs under
// `valgrind --tool=callgrind` in a child process; this process is its client: keep-alive
// connections send a warm-up of requests, then callgrind's counters are zeroed
// (`callgrind_control -z`), exactly N requests are sent, and the counters are dumped
// (`callgrind_control -d`). Instructions per request = the dump's total / N: the server process
// only (every thread, GC and libuv included), not the client.
//
// Variants (each a node:http server answering one `SELECT 1 AS one` as JSON, or the list endpoint of
// bench/web-server.mjs):
//   raw          node:http + the driver's own pool (pg.Pool, mysql2 createPool), by hand
//   scope        node:http, the handler calls scope(() => sql`SELECT 1 AS one`)
//   scope-noprep the same with prepareThreshold: null (PostgreSQL: the simple query protocol, as the raw pool)
//   scope-async  node:http, scope(async () => send(res, await sql`SELECT 1 AS one`)): withScope's handler, no request scope
//   open         node:http, a bare openScope() ended on res 'close' (no request scope object)
//   withScope    @spool/web withScope(async handler)
//   express-raw  Express + the driver's pool           express   Express + spoolMiddleware()
//   fastify-raw  Fastify + the driver's pool           fastify   Fastify + spoolPlugin
//   list-knex    bench/web-server.mjs's list endpoint, plain knex (Express)
//   list-spool   the same through spoolMiddleware + the ORM, maxAge null (list-spool-noprep: prepareThreshold null)
//
//   node bench/web-instructions.mjs --db=postgres,mysql --variants=raw,withScope --n=2000 --warm=1000
//        --connections=10 [--from=/other/checkout (its built Spool instead of this one's)] [--repeat=2]
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cliArgs, mysqlUrl, pgUrl } from './lib.mjs';
import { knexListHandler, spoolListHandler } from './list-endpoint.mjs';

const file = fileURLToPath(import.meta.url);
const args = cliArgs();
const MAX = 10;
const LIST_TABLE = 'bench_web_instr_book';

// ---- the server (runs under valgrind) ---------------------------------------------------------------

function rawPool(require, db) {
  if (db === 'postgres') {
    const pg = require('pg');
    const pool = new pg.Pool({ connectionString: pgUrl, max: MAX });
    return () => pool.query('SELECT 1 AS one').then((r) => r.rows);
  }
  const mysql = require('mysql2');
  const pool = mysql.createPool({ uri: mysqlUrl, connectionLimit: MAX });
  return () => new Promise((res, rej) => pool.query('SELECT 1 AS one', (e, r) => (e ? rej(e) : res(r))));
}

async function serve(variant, db, from) {
  const local = createRequire(file);
  // Spool's packages from another checkout when asked (an A/B of two builds), the rest from here.
  const require = (m) => (from && m.startsWith('@spool/') ? createRequire(join(from, 'package.json'))(m) : local(m));
  const client = db === 'postgres' ? 'pg' : 'mysql2';
  const connection = db === 'postgres' ? pgUrl : mysqlUrl;
  const spool = () => {
    const c = require('@spool/connections');
    // `*-noprep`: PostgreSQL statements never prepared (prepareThreshold null), to see what the
    // extended protocol of a named statement costs against the raw pool's simple query.
    const noprep = variant.endsWith('-noprep') ? { prepareThreshold: null } : {};
    c.configure({ databases: { default: { client, connection, max: MAX, maxAge: null, ...noprep } } });
    return c;
  };
  const send = (res, rows) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(rows));
  };
  const fail = (res) => {
    res.statusCode = 500;
    res.end();
  };
  let server;
  if (variant === 'raw') {
    const op = rawPool(require, db);
    server = http.createServer((_req, res) =>
      op().then(
        (rows) => send(res, rows),
        () => fail(res),
      ),
    );
  } else if (variant === 'scope' || variant === 'scope-noprep') {
    const { scope, sql } = spool();
    server = http.createServer((_req, res) =>
      scope(() => sql`SELECT 1 AS one`).then(
        (rows) => send(res, rows),
        () => fail(res),
      ),
    );
  } else if (variant === 'scope-async') {
    // scope() around an async handler that awaits the sql thenable (withScope's handler shape, no request scope).
    const { scope, sql } = spool();
    server = http.createServer((_req, res) => scope(async () => send(res, await sql`SELECT 1 AS one`)).catch(() => fail(res)));
  } else if (variant === 'open') {
    const { openScope, sql } = spool();
    server = http.createServer((_req, res) => {
      const handle = openScope();
      res.once('close', () => void handle.end());
      handle.run(async () => send(res, await sql`SELECT 1 AS one`)).catch(() => fail(res));
    });
  } else if (variant === 'withScope') {
    const { sql } = spool();
    const { withScope } = require('@spool/web');
    server = http.createServer(withScope(async (_req, res) => send(res, await sql`SELECT 1 AS one`)));
  } else if (variant === 'express' || variant === 'express-raw') {
    const app = require('express')();
    app.set('etag', false);
    if (variant === 'express') {
      const { sql } = spool();
      const { spoolMiddleware, spoolErrors } = require('@spool/web');
      app.use(spoolMiddleware());
      app.get('/', async (_req, res, next) => {
        try {
          res.json(await sql`SELECT 1 AS one`);
        } catch (err) {
          next(err);
        }
      });
      app.use(spoolErrors());
    } else {
      const op = rawPool(require, db);
      app.get('/', async (_req, res, next) => {
        try {
          res.json(await op());
        } catch (err) {
          next(err);
        }
      });
    }
    server = http.createServer(app);
  } else if (variant === 'fastify' || variant === 'fastify-raw') {
    const app = require('fastify')();
    if (variant === 'fastify') {
      const { sql } = spool();
      await app.register(require('@spool/web').spoolPlugin);
      app.get('/', async () => sql`SELECT 1 AS one`);
    } else {
      const op = rawPool(require, db);
      app.get('/', async () => op());
    }
    await app.ready();
    server = app.server;
  } else if (variant === 'list-knex' || variant === 'list-spool' || variant === 'list-spool-noprep') {
    const app = require('express')();
    app.set('etag', false);
    if (variant === 'list-knex') {
      const knex = require('knex')({ client, connection, pool: { min: 0, max: MAX } });
      app.get('/', knexListHandler(knex, LIST_TABLE));
    } else {
      spool();
      const { spoolMiddleware, spoolErrors } = require('@spool/web');
      app.use(spoolMiddleware());
      app.get('/', spoolListHandler(require, LIST_TABLE));
      app.use(spoolErrors());
    }
    server = http.createServer(app);
  } else throw new Error(`unknown variant ${variant}`);
  server.keepAliveTimeout = 600_000;
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  process.stdout.write(`port ${server.address().port}\n`);
}

// ---- the client ---------------------------------------------------------------------------------------

/** Send exactly `n` requests over `connections` keep-alive sockets; every answer must be a 200. */
async function load(port, path, n, connections) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  let sent = 0;
  let bad = 0;
  const one = () =>
    new Promise((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path, agent }, (res) => {
          if (res.statusCode !== 200) bad++;
          res.resume();
          res.on('end', resolve);
        })
        .on('error', reject);
    });
  const worker = async () => {
    while (sent < n) {
      sent++;
      await one();
    }
  };
  await Promise.all(Array.from({ length: Math.min(connections, n) }, worker));
  agent.destroy();
  if (bad > 0) throw new Error(`${bad} of ${n} answers were not 200`);
}

function totalOf(out) {
  // The dump's "totals:" (or "summary:") line: instructions (Ir), the only event collected.
  const text = readFileSync(out, 'utf8');
  const m = /^(?:totals|summary):\s+(\d+)/m.exec(text);
  if (!m) throw new Error(`no totals in ${out}`);
  return Number(m[1]);
}

async function measure(variant, db, { n, warm, connections, from, dir }) {
  const tag = `${variant}-${db}-${Date.now()}`;
  const outBase = join(dir, `${tag}.out`);
  const child = spawn(
    'valgrind',
    [
      '--tool=callgrind',
      '--dump-instr=no',
      `--callgrind-out-file=${outBase}`,
      process.execPath,
      // No background threads: JIT compilation and GC run on the main thread, at points fixed by the
      // work done rather than by the scheduler, so the counts repeat (they vary by ±20 % without).
      '--single-threaded',
      file,
      '--serve',
      `--variant=${variant}`,
      `--db=${db}`,
      ...(from ? [`--from=${from}`] : []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const port = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /port (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`server exited (${code}):\n${out}\n${err.slice(-3000)}`)));
  });
  const path = variant.startsWith('list') ? '/?min=250' : '/';
  await load(port, path, warm, connections);
  const z = spawnSync('callgrind_control', ['-z', String(child.pid)], { encoding: 'utf8' });
  if (z.status !== 0) throw new Error(`callgrind_control -z: ${z.stdout}${z.stderr}`);
  await load(port, path, n, connections);
  const d = spawnSync('callgrind_control', ['-d', String(child.pid)], { encoding: 'utf8' });
  if (d.status !== 0) throw new Error(`callgrind_control -d: ${d.stdout}${d.stderr}`);
  const dumps = readdirSync(dir).filter((f) => f.startsWith(`${tag}.out`) && f !== `${tag}.out`);
  let total = 0;
  for (const f of dumps) total += totalOf(join(dir, f));
  await new Promise((r) => {
    child.once('exit', r);
    child.kill('SIGKILL');
  });
  for (const f of readdirSync(dir).filter((f) => f.startsWith(tag))) rmSync(join(dir, f));
  return total / n;
}

async function prepareList(db) {
  const knex = createRequire(file)('knex')({
    client: db === 'postgres' ? 'pg' : 'mysql2',
    connection: db === 'postgres' ? pgUrl : mysqlUrl,
    pool: { min: 0, max: 1 },
  });
  await knex.schema.dropTableIfExists(LIST_TABLE);
  await knex.schema.createTable(LIST_TABLE, (t) => {
    t.increments('id');
    t.string('title', 200).notNullable();
    t.integer('pages').notNullable();
  });
  for (let i = 0; i < 2000; i += 500)
    await knex(LIST_TABLE).insert(Array.from({ length: 500 }, (_, j) => ({ title: `Book ${i + j}`, pages: (i + j) % 500 })));
  return knex;
}

if (args.serve) {
  await serve(String(args.variant), String(args.db), typeof args.from === 'string' ? args.from : undefined);
} else {
  const dbs = String(args.db ?? 'postgres,mysql').split(',');
  const variants = String(args.variants ?? 'raw,scope,open,withScope,express-raw,express,fastify-raw,fastify').split(',');
  const opts = {
    n: Number(args.n ?? 2000),
    warm: Number(args.warm ?? 1000),
    connections: Number(args.connections ?? 10),
    from: typeof args.from === 'string' ? args.from : undefined,
    dir: '/tmp/spool-web-instr',
  };
  mkdirSync(opts.dir, { recursive: true });
  const repeat = Number(args.repeat ?? 1);
  const results = {};
  for (const db of dbs) {
    const admin = variants.some((v) => v.startsWith('list')) ? await prepareList(db) : undefined;
    for (const variant of variants) {
      for (let r = 0; r < repeat; r++) {
        const perReq = await measure(variant, db, opts);
        (results[`${db} ${variant}`] ??= []).push(Math.round(perReq));
        console.log(
          `${db} ${variant}${opts.from ? ` (${opts.from})` : ''}: ${Math.round(perReq).toLocaleString('en')} instructions/request`,
        );
      }
    }
    if (admin) {
      await admin.schema.dropTableIfExists(LIST_TABLE);
      await admin.destroy();
    }
  }
  console.log(JSON.stringify(results));
}
