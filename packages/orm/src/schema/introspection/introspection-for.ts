/** The introspection of an alias's backend. */
import { connections } from '@spool/connections';
import type { Introspection } from './introspection';
import { MysqlIntrospection } from './mysql-introspection';
import { PostgresIntrospection } from './postgres-introspection';
import { SqliteIntrospection } from './sqlite-introspection';

const BY_VENDOR = { postgresql: PostgresIntrospection, mysql: MysqlIntrospection, sqlite: SqliteIntrospection } as const;

export function introspectionFor(alias = 'default'): Introspection {
  return new BY_VENDOR[connections.backend(alias).vendor](alias);
}
