/**
 * Configuration: the database comes from `DATABASE_URL` (PostgreSQL or MariaDB/MySQL), else a
 * SQLite file next to where the app runs, so that the example needs no set-up.
 */
import { resolve } from 'node:path';
import type { DatabaseSettings } from '@spool/connections';

/**
 * `postgres://…` / `postgresql://…` → pg; `mysql://…` / `mariadb://…` → mysql2;
 * `sqlite:path` or nothing → better-sqlite3 (default `./shop.db`).
 */
export function databaseFromUrl(url = process.env.DATABASE_URL): DatabaseSettings {
  if (!url || url.startsWith('sqlite:')) {
    const filename = url ? url.replace(/^sqlite:(\/\/)?/, '') : 'shop.db';
    return { client: 'better-sqlite3', connection: { filename: resolve(filename) } };
  }
  const scheme = url.slice(0, url.indexOf(':'));
  if (scheme === 'postgres' || scheme === 'postgresql') return { client: 'pg', connection: url };
  if (scheme === 'mysql' || scheme === 'mariadb') return { client: 'mysql2', connection: url.replace(/^mariadb:/, 'mysql:') };
  throw new Error(`DATABASE_URL: unsupported scheme '${scheme}:'. Use postgres://, mysql://, mariadb:// or sqlite:<file>.`);
}

/**
 * The connection settings for production: keep connections for a minute between requests
 * (`maxAge`) and check a reused one before its first use (`healthChecks`). Spool's default,
 * `maxAge: 0`, opens a connection per request as Django does; `SHOP_MAX_AGE=0` restores it.
 */
export function productionSettings(db: DatabaseSettings): DatabaseSettings {
  const maxAge = process.env.SHOP_MAX_AGE === undefined ? 60 : Number(process.env.SHOP_MAX_AGE);
  return { ...db, maxAge, healthChecks: maxAge !== 0 };
}
