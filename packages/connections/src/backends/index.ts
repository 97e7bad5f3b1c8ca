/**
 * Backends by driver name. The backends are small and load no driver themselves: each driver
 * package is loaded on first use (`load-driver.ts`), so only the configured ones need be installed.
 */
import type { Backend } from './backend';
import type { DriverName } from '../settings';
import { mysqlBackend } from './mysql/mysql-backend';
import { postgresBackend } from './postgres/postgres-backend';
import { sqliteBackend } from './sqlite/sqlite-backend';

const backends: Record<DriverName, Backend> = {
  pg: postgresBackend,
  mysql2: mysqlBackend,
  'better-sqlite3': sqliteBackend,
};

/** The backend of a driver. */
export function backendFor(driver: DriverName): Backend {
  return backends[driver];
}

export type {
  AdminQuery,
  Backend,
  BackendAdmin,
  Features,
  IsolationLevel,
  QueryOptions,
  TemporalParser,
  QueryResult,
  RawConnection,
  ServerLimits,
  Vendor,
} from './backend';
export { ISOLATION_LEVELS } from './backend';
