/**
 * The drivers the helpers talk to the test servers with. They are optional peer dependencies,
 * loaded on first use: a run on SQLite alone needs neither `pg` nor `mysql2`.
 */

/** node-postgres. */
export function pgDriver(): typeof import('pg') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional peer, loaded on first use
  return require('pg') as typeof import('pg');
}

/** mysql2's promise API. */
export function mysqlDriver(): typeof import('mysql2/promise') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional peer, loaded on first use
  return require('mysql2/promise') as typeof import('mysql2/promise');
}

/** Throws when better-sqlite3 cannot be loaded (not installed, or built for another Node). */
export function loadSqliteDriver(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional peer, loaded on first use
  require('better-sqlite3');
}
