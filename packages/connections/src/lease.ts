/**
 * The one lease path: which connection code running in a context uses for an alias, and how it
 * gives it back. Statements (`sql`, the ORM), `atomic()` blocks and knex builders all come here,
 * as every query of Kysely goes through its connection provider (acquire, use, release).
 *
 * - `pin: 'scope'` (the default): the scope's connection, leased on its first use and kept until
 *   the scope ends (`Scope.connection`);
 * - `pin: 'transaction'`: inside an `atomic()` block on the alias, the block's connection;
 *   outside one, a connection leased for this one use and returned to the pool at `release()`.
 *
 * `acquire()` also takes the connection's gate (one statement at a time, and none slipping into
 * another context's transaction: `DatabaseConnection.enter`). On the hot path (a connection
 * already held, gate free) it returns the connection itself: no promise, no allocation.
 */
import type { AliasPool } from './alias-pool';
import { DatabaseConnection } from './connection';
import { blockFor, type Context } from './context';
import type { RootScope } from './root-scope';

/** Does code in `ctx` lease a connection of `pool` for one use (and so return it at `release`)? */
function leasesPerUse(ctx: Context, pool: AliasPool): boolean {
  return pool.settings.pin === 'transaction' && blockFor(ctx, pool.alias) === undefined;
}

/** The connection code in `ctx` uses for `pool`'s alias (gate not taken). */
export function connectionFor(ctx: Context, pool: AliasPool): DatabaseConnection | Promise<DatabaseConnection> {
  if (pool.settings.pin === 'scope') return ctx.scope.connection(pool);
  ctx.scope.assertActive(pool.alias);
  const block = blockFor(ctx, pool.alias);
  if (block !== undefined) return block.conn;
  ctx.scope.usesPerUse(pool);
  return pool.lease(ctx.scope);
}

/**
 * The connection code in `ctx` uses for `pool`'s alias, with its gate taken. Throws (synchronously)
 * when the scope has ended; the promise rejects when leasing fails or the scope ends meanwhile.
 */
export function acquire(ctx: Context, pool: AliasPool): DatabaseConnection | Promise<DatabaseConnection> {
  const got = connectionFor(ctx, pool);
  if (got instanceof DatabaseConnection) return enter(got, ctx);
  return got.then((conn) => enter(conn, ctx));
}

function enter(conn: DatabaseConnection, ctx: Context): DatabaseConnection | Promise<DatabaseConnection> {
  const wait = conn.enter(ctx);
  return wait === undefined ? conn : wait.then(() => conn);
}

/**
 * Give back what `acquire(ctx, …)` gave: the gate, and the connection itself when it was leased
 * for one use (the promise settles once the pool took it back). The root scope's connection
 * restarts its idle timer.
 */
export function release(conn: DatabaseConnection, ctx: Context): Promise<void> | undefined {
  conn.leave();
  if (leasesPerUse(ctx, conn.pool)) return conn.pool.release(conn, true);
  if (ctx.scope.kind === 'root') (ctx.scope as RootScope).touch(conn);
  return undefined;
}

/**
 * Give back a connection leased for one use without touching the gate (its holder no longer
 * holds the gate, e.g. an `atomic()` block whose end failed to take it). No-op otherwise.
 */
export function giveBack(conn: DatabaseConnection, ctx: Context): Promise<void> | undefined {
  return leasesPerUse(ctx, conn.pool) ? conn.pool.release(conn, true) : undefined;
}
