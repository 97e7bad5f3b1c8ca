/**
 * @spool/testing: the database matrix the suites loop over, server-side connection counting, and
 * teardown checks. Tests talk to real databases; these helpers only choose and observe them.
 */
export { ConnectionCounter, sqliteHandles, type CounterTarget } from './connection-counter';
export {
  TEST_DATABASES,
  beginTestRun,
  endTestRun,
  matrix,
  probe,
  requestedDatabases,
  resolveMatrix,
  testDatabase,
  testDatabases,
  withAdmin,
  type TestDatabase,
  type TestDatabaseName,
  type TestRole,
} from './matrix';
export { mysqlAdminUrl, pgAdminUrl } from './servers';
export { LeakedConnectionsError, assertNoLeakedConnections } from './teardown';
export { forTests } from './test-settings';
export { QueryCountError, assertNumQueries, captureQueries, type CaptureOptions, type CapturedQuery } from './query-counter';
export { useTestDatabase, type TestDatabaseOptions, type TestDatabases } from './test-database';
export { inTestTransaction, transactionalTest, type TestTransactionOptions, type TransactionalTest } from './test-transaction';
export { captureOnCommitCallbacks, type CaptureOnCommitOptions } from './on-commit-capture';
