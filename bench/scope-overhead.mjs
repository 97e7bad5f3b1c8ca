// Per-scope overhead: a scope that runs one `SELECT 1` (lease + query + release) against the same
// query through the raw driver on one open connection, the raw driver opening a connection per
// operation, and plain knex (pool acquire + release), for maxAge 0 and maxAge null, on each
// database. Ratios are taken from one run with the cases interleaved.
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { benchDatabases, fmt, interleave, mysqlUrl, pgUrl, ratio, settingsFor, table, writeResults } from './lib.mjs';

const require = createRequire(import.meta.url);
const spool = require('@spool/connections');
const knexLib = require('knex');
const pg = require('pg');
const mysql = require('mysql2');
const Database = require('better-sqlite3');

const sqliteFile = join(tmpdir(), `spool-bench-${process.pid}.db`);

function rawDriver(db) {
  if (db === 'sqlite') {
    const conn = new Database(sqliteFile);
    conn.pragma('journal_mode = WAL');
    const stmt = conn.prepare('SELECT 1 AS one');
    return { query: async () => stmt.all(), close: async () => conn.close() };
  }
  if (db === 'postgres') {
    const c = new pg.Client({ connectionString: pgUrl });
    const ready = c.connect();
    return { ready, query: () => c.query('SELECT 1 AS one'), close: () => c.end() };
  }
  const c = mysql.createConnection({ uri: mysqlUrl });
  return {
    query: () => new Promise((res, rej) => c.query('SELECT 1 AS one', (e, r) => (e ? rej(e) : res(r)))),
    close: () => new Promise((res) => c.end(res)),
  };
}

async function rawConnectPerOp(db) {
  if (db === 'sqlite') {
    const conn = new Database(sqliteFile);
    conn.prepare('SELECT 1 AS one').all();
    conn.close();
    return;
  }
  if (db === 'postgres') {
    const c = new pg.Client({ connectionString: pgUrl });
    await c.connect();
    await c.query('SELECT 1 AS one');
    await c.end();
    return;
  }
  const c = mysql.createConnection({ uri: mysqlUrl });
  await new Promise((res, rej) => c.query('SELECT 1 AS one', (e, r) => (e ? rej(e) : res(r))));
  await new Promise((res) => c.end(res));
}

const results = {};
const rows = [];
for (const db of benchDatabases()) {
  const raw = rawDriver(db);
  await raw.ready;
  const knex = knexLib({ ...settingsFor(db, sqliteFile), useNullAsDefault: true, pool: { min: 1, max: 1 } });
  const keep = new spool.ConnectionHandler();
  keep.configure({ databases: { default: { ...settingsFor(db, sqliteFile), maxAge: null, max: 1 } } });
  const close = new spool.ConnectionHandler();
  close.configure({ databases: { default: { ...settingsFor(db, sqliteFile), maxAge: 0, max: 1 } } });

  const cases = {
    'raw driver (one connection)': async (n) => {
      for (let i = 0; i < n; i++) await raw.query();
    },
    'knex (pool acquire/release)': async (n) => {
      for (let i = 0; i < n; i++) await knex.raw('SELECT 1 AS one');
    },
    'spool scope, maxAge null': async (n) => {
      for (let i = 0; i < n; i++) await keep.scope(() => keep.sql`SELECT 1 AS one`);
    },
    'raw driver, connect per op': async (n) => {
      for (let i = 0; i < Math.ceil(n / 10); i++) await rawConnectPerOp(db);
    },
    'spool scope, maxAge 0': async (n) => {
      for (let i = 0; i < Math.ceil(n / 10); i++) await close.scope(() => close.sql`SELECT 1 AS one`);
    },
  };
  const perOpScale = { 'raw driver, connect per op': 10, 'spool scope, maxAge 0': 10 };
  const opsPerSec = await interleave(cases);
  for (const k of Object.keys(perOpScale)) opsPerSec[k] /= perOpScale[k];
  const base = opsPerSec['raw driver (one connection)'];
  const baseOpen = opsPerSec['raw driver, connect per op'];
  results[db] = opsPerSec;
  for (const [name, v] of Object.entries(opsPerSec)) {
    rows.push({
      db,
      case: name,
      'ops/s': fmt(v),
      'vs raw': ratio(v, name.includes('connect per op') || name.includes('maxAge 0') ? baseOpen : base),
      'vs knex': name.includes('maxAge 0') || name.includes('connect per op') ? '' : ratio(v, opsPerSec['knex (pool acquire/release)']),
    });
  }
  await raw.close();
  await knex.destroy();
  await keep.shutdown();
  await close.shutdown();
}
table('Per-scope overhead: lease + SELECT 1 + release (maxAge 0 rows compare to a raw connect-per-op baseline)', rows, [
  'db',
  'case',
  'ops/s',
  'vs raw',
  'vs knex',
]);
writeResults('connections', { results });
for (const s of ['', '-wal', '-shm']) rmSync(sqliteFile + s, { force: true });
