/**
 * The process: configure the database, check that its migrations are applied, seed an empty
 * database, start the worker pool and the HTTP server; on SIGTERM/SIGINT stop accepting
 * requests, let the pool finish, close every connection.
 *
 *   npm start                                        SQLite (./shop.db): migrate, then serve
 *   DATABASE_URL=postgres://user@host/db npm start   PostgreSQL
 *   DATABASE_URL=mysql://user@host/db npm start      MariaDB / MySQL
 */
import type { AddressInfo } from 'node:net';
import { configure, scope, shutdown } from '@spool/connections';
import { createApp } from './app';
import { createJobsPool } from './jobs-pool';
import { unappliedMigrations } from './migrations-status';
import { Category } from './models';
import { seed } from './seed';
import { databaseFromUrl, productionSettings } from './settings';

async function main(): Promise<void> {
  configure({ databases: { default: productionSettings(databaseFromUrl()) } });
  const unapplied = await unappliedMigrations();
  if (unapplied.length > 0) {
    console.error(
      `shop-api: unapplied migrations on this database (${unapplied.join(', ')}). Run npm run migrate (npx spool migrate) first.`,
    );
    process.exitCode = 1;
    await shutdown();
    return;
  }
  if (!(await scope(() => Category.objects.exists(), { name: 'first run?' }))) await seed();
  const pool = createJobsPool();
  const server = createApp({ pool }).listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? '127.0.0.1', () => {
    const { address, port } = server.address() as AddressInfo;
    console.log(`shop-api listening on http://${address}:${port} (try /products, /categories)`);
  });
  const stop = (): void => {
    server.close();
    server.closeIdleConnections();
    void pool
      .close({ deadlineMs: 5_000 })
      .then(() => shutdown({ deadlineMs: 5_000 }))
      .then(() => console.log('shop-api stopped: no connection left open'));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
