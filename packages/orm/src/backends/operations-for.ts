/** The operations of each vendor (one instance each: they hold no state). */
import type { Vendor } from '@spool/connections';
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
