// The server of bench/web.mjs: one list endpoint (GET /books?min=N: 20 books with more than N
// pages, by id, as JSON), written with Spool (middleware + ORM) or with plain knex, on Express.
// Settings come from the environment: WEB_LIB=spool|knex, WEB_DB=postgres|mysql, WEB_MAX_AGE
// (seconds or 'null'), WEB_PIN=scope|transaction, WEB_ATOMIC=1, WEB_POOL (connections, default 10).
import { createRequire } from 'node:module';
import { knexListHandler, spoolListHandler } from './list-endpoint.mjs';

const require = createRequire(import.meta.url);
const express = require('express');
const env = process.env;
const db = env.WEB_DB ?? 'postgres';
const pool = Number(env.WEB_POOL ?? 10);
const client = db === 'postgres' ? 'pg' : 'mysql2';
const connection =
  db === 'postgres' ? { connectionString: env.WEB_PG_URL, application_name: 'spool_bench_web' } : { uri: env.WEB_MYSQL_URL };
const app = express();
app.set('etag', false);

if (env.WEB_LIB === 'knex') {
  const knex = require('knex')({
    client,
    connection: db === 'postgres' ? connection : env.WEB_MYSQL_URL,
    pool: { min: 0, max: pool },
  });
  app.get('/books', knexListHandler(knex, 'bench_web_book'));
} else {
  const { configure } = require('@spool/connections');
  const { spoolMiddleware, spoolErrors } = require('@spool/web');
  configure({
    databases: {
      default: {
        client,
        connection,
        max: pool,
        maxAge: env.WEB_MAX_AGE === 'null' ? null : Number(env.WEB_MAX_AGE ?? 0),
        pin: env.WEB_PIN === 'transaction' ? 'transaction' : 'scope',
      },
    },
  });
  app.use(spoolMiddleware({ atomicRequests: env.WEB_ATOMIC === '1' }));
  app.get('/books', spoolListHandler(require, 'bench_web_book'));
  app.use(spoolErrors());
}

const server = app.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening on http://127.0.0.1:${server.address().port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
