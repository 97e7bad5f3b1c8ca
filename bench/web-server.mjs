// The server of bench/web.mjs: one list endpoint (GET /books?min=N: 20 books with more than N
// pages, by id, as JSON), written with Spool (middleware + ORM) or with plain knex, on Express.
// Settings come from the environment: WEB_LIB=spool|knex, WEB_DB=postgres|mysql, WEB_MAX_AGE
// (seconds or 'null'), WEB_PIN=scope|transaction, WEB_ATOMIC=1, WEB_POOL (connections, default 10).
import { createRequire } from 'node:module';

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
  app.get('/books', async (req, res, next) => {
    try {
      res.json(
        await knex('bench_web_book')
          .select('id', 'title', 'pages')
          .where('pages', '>', Number(req.query.min ?? 0))
          .orderBy('id')
          .limit(20),
      );
    } catch (err) {
      next(err);
    }
  });
} else {
  const { configure } = require('@spool/connections');
  const { Model, CharField, IntegerField } = require('@spool/orm');
  const { spoolMiddleware, spoolErrors } = require('@spool/web');
  class Book extends Model.define({ title: new CharField({ maxLength: 200 }), pages: new IntegerField() }, { dbTable: 'bench_web_book' }) {}
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
  app.get('/books', async (req, res, next) => {
    try {
      res.json(
        await Book.objects
          .filter({ pages__gt: Number(req.query.min ?? 0) })
          .orderBy('id')
          .slice(0, 20)
          .values('id', 'title', 'pages'),
      );
    } catch (err) {
      next(err);
    }
  });
  app.use(spoolErrors());
}

const server = app.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening on http://127.0.0.1:${server.address().port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
