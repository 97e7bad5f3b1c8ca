'use strict';
// Build time (scripts/bundle-dist.mjs): makes dist/bundle/<bundle>.code-cache, the V8 code cache
// of a bundle, after running what a first query runs, so that the compiled code of those
// functions is in the cache too (V8 caches every function compiled by then). SQLite in memory:
// nothing to connect to. When a step fails (e.g. better-sqlite3 not installed), the cache holds
// what was compiled until then; a cache is only ever a cache.
//   node scripts/code-cache-warm.cjs <dist/bundle dir> <bundle name>
const { join } = require('node:path');

const [dir, bundle] = process.argv.slice(2);
const load = require(join(dir, 'cached-require.js'));
const memory = { client: 'better-sqlite3', connection: { filename: ':memory:' } };

const warm = {
  // @spool/connections: its entries, then a scope, a statement and a builder query.
  async connections(mod) {
    for (const entry of Object.values(mod)) entry();
    const { configure, scope, sql, builder, shutdown } = mod.index();
    configure({ databases: { default: memory } });
    await scope(async () => {
      await sql`CREATE TABLE warm (id INTEGER PRIMARY KEY, name TEXT NOT NULL)`;
      await sql`INSERT INTO warm (name) VALUES (${'a'})`;
      await sql`SELECT id, name FROM warm WHERE id = ${1}`;
      await builder()('warm').select('id').where('id', 1).first();
    });
    await shutdown();
  },
  // @spool/orm: its entries, then a model's first get(), filter() and create().
  async orm(mod) {
    for (const entry of Object.values(mod)) entry();
    const { Model, CharField, IntegerField } = mod.index();
    const { configure, scope, sql, shutdown } = require('@spool/connections');
    class Warm extends Model.define({ name: new CharField({ maxLength: 50 }), n: new IntegerField() }, { dbTable: 'warm' }) {}
    configure({ databases: { default: memory } });
    await scope(async () => {
      await sql`CREATE TABLE warm (id INTEGER PRIMARY KEY, name TEXT NOT NULL, n INTEGER NOT NULL)`;
      await Warm.objects.create({ name: 'a', n: 1 });
      await Warm.objects.get({ id: 1 });
      await Warm.objects.filter({ n: 1 }).orderBy('id').first();
    });
    await shutdown();
  },
  // knex: a query compiled for each of Spool's three clients (no connection, no driver loaded).
  async 'knex-bundle'(knex) {
    for (const client of ['better-sqlite3', 'pg', 'mysql2']) {
      const k = knex({ client, useNullAsDefault: true });
      k('t').select('id', 'a').where('id', 1).first().toSQL();
      k('t').insert({ a: 1 }).toSQL();
      k('t').update({ a: 1 }).where('id', 1).toSQL();
      k('t').where('id', 1).del().toSQL();
    }
  },
};

load
  .produce(`${bundle}.js`, async (exports) => {
    try {
      await warm[bundle](exports);
    } catch (err) {
      console.warn(`code-cache-warm: ${bundle}: ${err.message} (the cache holds what was compiled until then)`);
    }
  })
  .then(() => process.exit(0));
