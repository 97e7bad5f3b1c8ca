/**
 * The process: configure the database, create the schema on first run, start the worker pool and
 * the HTTP server; on SIGTERM/SIGINT stop accepting requests, let the pool finish, close every
 * connection.
 *
 *   npm start                                        SQLite (./shop.db), no set-up
 *   DATABASE_URL=postgres://user@host/db npm start   PostgreSQL
 *   DATABASE_URL=mysql://user@host/db npm start      MariaDB / MySQL
 */
import type { AddressInfo } from 'node:net';
import { configure, shutdown } from '@spool/connections';
import { createApp } from './app';
import { createJobsPool } from './jobs-pool';
import { ensureSchema } from './schema';
import { seed } from './seed';
import { databaseFromUrl, productionSettings } from './settings';

async function main(): Promise<void> {
  configure({ databases: { default: productionSettings(databaseFromUrl()) } });
  if (await ensureSchema()) await seed();
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
