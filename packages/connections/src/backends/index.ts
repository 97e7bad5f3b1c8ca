/**
 * Backends by driver name, loaded on first use (knex's name → loader map): only the configured
 * drivers need be installed.
 * @internal
 */
import type { Backend } from './backend';
import type { DriverName } from '../settings';

const loaders: Record<DriverName, () => Backend> = {
  pg: () => (require('./postgres') as typeof import('./postgres')).postgresBackend,
  mysql2: () => (require('./mysql') as typeof import('./mysql')).mysqlBackend,
  'better-sqlite3': () => (require('./sqlite') as typeof import('./sqlite')).sqliteBackend,
};

export function backendFor(driver: DriverName): Backend {
  return loaders[driver]();
}

export type { Backend, Features, IsolationLevel, QueryOptions, QueryResult, RawConnection, Vendor } from './backend';
export { ISOLATION_LEVELS } from './backend';
