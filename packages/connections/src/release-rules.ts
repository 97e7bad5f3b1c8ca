/**
 * The release rules, first half: what happens to a connection when the scope holding it ends.
 * Statements still running on it finish first; waiters of the ended scope are refused; a
 * transaction left open is rolled back with a warning naming the scope; a session left altered
 * (MySQL `autocommit` off) makes the connection unusable. Then its pool applies the second half
 * (`AliasPool.release`): close it when unusable, too old for `maxAge` or the pool is closing,
 * else hand it to a waiting scope or keep it idle. See the README, "Release rules".
 */
import type { DatabaseConnection } from './connection';
import { InterfaceError } from './errors';
import { messages } from './messages';
import type { Scope } from './scope';

/** Release `conn` from `scope` at the scope's end (or the root scope's idle timeout). Never rejects. */
export async function releaseFromScope(scope: Scope, conn: DatabaseConnection): Promise<void> {
  const host = conn.pool.host;
  // Drain: a statement in flight (a forgotten await) finishes before the connection moves on.
  const wait = conn.enter(null);
  if (wait) await wait;
  try {
    conn.rejectWaiters(scope, () => scope.endedError(conn.alias));
    if (conn.blocks.length > 0) {
      for (const b of conn.blocks) {
        b.aborted = true;
        b.ended = 'rolled back';
      }
      conn.blocks.length = 0;
      conn.needsRollback = false;
      conn.runOnCommit = [];
      // A scope ended with a reason (its client went away) was expected to roll back: no warning.
      if (scope.reason === undefined) host.warn(messages.scopeEndedInTransaction(scope.describe(), conn.alias));
      await rollbackQuietly(conn);
    } else if (!conn.broken && conn.backend.inTransaction(conn.raw)) {
      host.warn(messages.forgottenTransaction(scope.describe(), conn.alias));
      await rollbackQuietly(conn);
    }
    // Autocommit left changed: the next scope must not inherit it (Django closes such connections).
    if (!conn.broken && conn.backend.sessionAltered?.(conn.raw)) {
      const message = messages.autocommitChanged(scope.describe(), conn.alias);
      host.warn(message);
      conn.markBroken(new InterfaceError(message, { alias: conn.alias }));
    }
  } finally {
    conn.busy = false;
  }
  await conn.pool.release(conn);
}

/**
 * `releaseFromScope` without a promise when nothing needs a round trip: no statement running, no
 * atomic block or transaction left open. Returns undefined when the connection is back in its pool
 * (handed on or idle), else the promise of the release.
 */
export function releaseFromScopeNow(scope: Scope, conn: DatabaseConnection): Promise<void> | undefined {
  if (conn.busy || conn.blocks.length > 0 || (!conn.broken && conn.backend.inTransaction(conn.raw))) return releaseFromScope(scope, conn);
  if (conn.waiting > 0) conn.rejectWaiters(scope, () => scope.endedError(conn.alias));
  // Autocommit left changed: the next scope must not inherit it (Django closes such connections).
  if (!conn.broken && conn.backend.sessionAltered?.(conn.raw)) {
    const message = messages.autocommitChanged(scope.describe(), conn.alias);
    conn.pool.host.warn(message);
    conn.markBroken(new InterfaceError(message, { alias: conn.alias }));
  }
  return conn.pool.releaseNow(conn);
}

/** Roll back on a connection that is still usable; a failure makes it unusable (closed at release). */
export async function rollbackQuietly(conn: DatabaseConnection): Promise<void> {
  if (conn.broken) return;
  try {
    conn.backend.setRef(conn.raw, true);
    await conn.backend.query(conn.raw, conn.backend.rollbackSql, []);
  } catch (err) {
    conn.markBroken(err as Error);
  } finally {
    conn.backend.setRef(conn.raw, false);
  }
}
