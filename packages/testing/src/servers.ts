/** Admin URLs of the test servers (trust auth on a developer machine or CI). */
export const pgAdminUrl = (): string => process.env.SPOOL_TEST_PG_URL ?? 'postgres://root@127.0.0.1:5432/test';
export const mysqlAdminUrl = (): string => process.env.SPOOL_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
