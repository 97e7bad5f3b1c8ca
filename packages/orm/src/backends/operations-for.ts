/** The operations of each vendor (one instance each: they hold no state), and of an alias's server. */
import { connections, type Vendor } from '@spool/connections';
import type { BaseOperations } from './base-operations';
import { MysqlOperations } from './mysql-operations';
import { PostgresOperations } from './postgres-operations';
import { SqliteOperations } from './sqlite-operations';

const BY_VENDOR: Readonly<Record<Vendor, BaseOperations>> = Object.freeze({
  postgresql: new PostgresOperations(),
  mysql: new MysqlOperations(),
  sqlite: new SqliteOperations(),
});

/** The ORM's operations for `vendor`. */
export function operationsFor(vendor: Vendor): BaseOperations {
  return BY_VENDOR[vendor];
}

/** The ORM's operations for `alias`, with the features of its server's version once a connection to it was opened. */
export function operationsForAlias(alias: string): BaseOperations {
  return operationsFor(connections.backend(alias).vendor).forServer(connections.serverVersion(alias));
}

/**
 * The ORM's operations for `alias`'s server: where features depend on the server's version and
 * no connection was opened yet, one statement (`SELECT 1`) opens one first.
 */
export async function serverOperationsFor(alias: string): Promise<BaseOperations> {
  const ops = operationsFor(connections.backend(alias).vendor);
  if (connections.serverVersion(alias) === undefined && ops.featuresDependOnServerVersion) {
    await connections.query(alias, 'SELECT 1', []);
  }
  return ops.forServer(connections.serverVersion(alias));
}
