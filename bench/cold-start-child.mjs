// One cold start for bench/cold-start.mjs: load the library, connect, run the first query, and
// print the milliseconds since the process started (performance.now()) at the first result and
// the process's CPU milliseconds (user + system) by then; `result`: the milliseconds at the result
// in hand (for Spool inside the scope, before the scope's end closes the connection).
//   node bench/cold-start-child.mjs <spool|knex|raw> <sqlite|postgres|mysql> <sqlite file>
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const [lib, db, file] = process.argv.slice(2);
const pgUrl = process.env.SPOOL_TEST_PG_URL ?? 'postgres://root@127.0.0.1:5432/test';
const mysqlUrl = process.env.SPOOL_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
let name;
let done;
let result;
if (lib === 'spool') {
  const { configure, scope, shutdown } = require('@spool/connections');
  const { Model, CharField, IntegerField } = require('@spool/orm');
  class Cold extends Model.define({ name: new CharField({ maxLength: 50 }), n: new IntegerField() }, { dbTable: 'bench_cold' }) {}
  const client = db === 'sqlite' ? 'better-sqlite3' : db === 'postgres' ? 'pg' : 'mysql2';
  configure({
    databases: { default: { client, connection: db === 'sqlite' ? { filename: file } : db === 'postgres' ? pgUrl : mysqlUrl } },
  });
  name = await scope(async () => {
    const row = await Cold.objects.get({ id: 1 });
    result = performance.now(); // the result in hand, inside the scope
    return row.name;
  });
  // `ms` below is after scope() resolved: with maxAge 0 (the default) that includes closing the
  // connection at the scope's end, which knex (its pool keeps the connection) does not do here.
  done = shutdown;
} else if (lib === 'knex') {
  const knex = require('knex')({
    client: db === 'sqlite' ? 'better-sqlite3' : db === 'postgres' ? 'pg' : 'mysql2',
    connection: db === 'sqlite' ? { filename: file } : db === 'postgres' ? pgUrl : mysqlUrl,
    useNullAsDefault: true,
  });
  name = (await knex('bench_cold').select('id', 'name', 'n').where('id', 1).first()).name;
  done = () => knex.destroy();
} else if (db === 'sqlite') {
  const d = new (require('better-sqlite3'))(file);
  name = d.prepare('SELECT id, name, n FROM bench_cold WHERE id = ?').get(1).name;
  done = async () => d.close();
} else if (db === 'postgres') {
  const c = new (require('pg').Client)({ connectionString: pgUrl });
  await c.connect();
  name = (await c.query('SELECT id, name, n FROM bench_cold WHERE id = $1', [1])).rows[0].name;
  done = () => c.end();
} else {
  const c = require('mysql2').createConnection({ uri: mysqlUrl });
  name = await new Promise((res, rej) =>
    c.query('SELECT id, name, n FROM bench_cold WHERE id = ?', [1], (e, r) => (e ? rej(e) : res(r[0].name))),
  );
  done = () => new Promise((r) => c.end(() => r()));
}
const ms = performance.now();
result ??= ms;
const { user, system } = process.cpuUsage(); // CPU of the process so far: steadier than ms on a loaded machine
if (name !== 'cold') throw new Error(`cold start: unexpected result ${name}`);
process.stdout.write(`${JSON.stringify({ ms, result, cpu: (user + system) / 1000 })}\n`);
await done();
