/**
 * The lock that keeps two processes from migrating one database at once. PostgreSQL: a
 * session advisory lock; MariaDB: `GET_LOCK()` (named after the database). SQLite has no
 * session locks: the executor holds an immediate (write) transaction for the whole run instead.
 * The lock is held by the connection of the executor's scope, so every statement of the run
 * uses that connection.
 */
import { connections, type Vendor } from '@spool/connections';
import { MigrationLockError } from './errors';

/** The lock's name (PostgreSQL hashes it into an advisory lock key). */
export const LOCK_NAME = 'spool_migrations';

export interface MigrationLock {
  /** Wait for the lock (calling `onWait` once if it has to wait), at most `timeoutMs`. */
  acquire(timeoutMs: number, onWait?: () => void): Promise<void>;
  release(): Promise<void>;
}

class PostgresLock implements MigrationLock {
  constructor(private readonly alias: string) {}

  private async tryLock(): Promise<boolean> {
    const r = await connections.query(this.alias, `SELECT pg_try_advisory_lock(hashtext($1)) AS ok`, [LOCK_NAME]);
    return (r.rows[0] as { ok: boolean }).ok === true;
  }

  async acquire(timeoutMs: number, onWait?: () => void): Promise<void> {
    if (await this.tryLock()) return;
    onWait?.();
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      if (await this.tryLock()) return;
    }
    throw new MigrationLockError(
      `Another process held the migration lock on '${this.alias}' for more than ${timeoutMs} ms. Try again when it is done, or raise the lock timeout.`,
      { alias: this.alias },
    );
  }

  async release(): Promise<void> {
    await connections.query(this.alias, `SELECT pg_advisory_unlock(hashtext($1))`, [LOCK_NAME]);
  }
}

class MysqlLock implements MigrationLock {
  constructor(private readonly alias: string) {}

  private readonly name = `LEFT(CONCAT('${LOCK_NAME}.', DATABASE()), 64)`;

  private async get(seconds: number): Promise<boolean> {
    const r = await connections.query(this.alias, `SELECT GET_LOCK(${this.name}, ?) AS ok`, [seconds]);
    return Number((r.rows[0] as { ok: unknown }).ok) === 1;
  }

  async acquire(timeoutMs: number, onWait?: () => void): Promise<void> {
    if (await this.get(0)) return;
    onWait?.();
    if (await this.get(Math.max(1, Math.ceil(timeoutMs / 1000)))) return;
    throw new MigrationLockError(
      `Another process held the migration lock on '${this.alias}' for more than ${timeoutMs} ms. Try again when it is done, or raise the lock timeout.`,
      { alias: this.alias },
    );
  }

  async release(): Promise<void> {
    await connections.query(this.alias, `SELECT RELEASE_LOCK(${this.name})`, []);
  }
}

/** The session lock of each database that has one (SQLite locks with a transaction). */
const LOCKS: Partial<Record<Vendor, new (alias: string) => MigrationLock>> = { postgresql: PostgresLock, mysql: MysqlLock };

/** The session lock for `alias`, or undefined for SQLite (which locks with a transaction). */
export function migrationLock(alias: string): MigrationLock | undefined {
  const Lock = LOCKS[connections.backend(alias).vendor];
  return Lock === undefined ? undefined : new Lock(alias);
}
