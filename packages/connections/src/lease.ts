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
import { assertBlocksOpen, blockFor, type Context } from './context';
import { messages } from './messages';
import { rollbackQuietly } from './release-rules';
import type { RootScope } from './root-scope';

/** Does code in `ctx` lease a connection of `pool` for one use (and so return it at `release`)? */
function leasesPerUse(ctx: Context, pool: AliasPool): boolean {
  return pool.settings.pin === 'transaction' && blockFor(ctx, pool.alias) === undefined;
}

/**
 * The connection code in `ctx` uses for `pool`'s alias (gate not taken). With `mayQueue`, undefined
 * when the scope's first lease of the alias must wait in the pool's queue: the caller queues a
 * waiter of its own (`Scope.waitWith`).
 */
export function connectionFor(ctx: Context, pool: AliasPool): DatabaseConnection | Promise<DatabaseConnection>;
export function connectionFor(ctx: Context, pool: AliasPool, mayQueue: true): DatabaseConnection | Promise<DatabaseConnection> | undefined;
export function connectionFor(
  ctx: Context,
  pool: AliasPool,
  mayQueue = false,
): DatabaseConnection | Promise<DatabaseConnection> | undefined {
  if (ctx.block !== undefined) {
    // An ended scope says so first: its blocks were abandoned with it.
    ctx.scope.assertActive(pool.alias);
    assertBlocksOpen(ctx, pool.alias);
  }
  if (pool.settings.pin === 'scope') return ctx.scope.connection(pool, mayQueue);
  ctx.scope.assertActive(pool.alias);
  const block = blockFor(ctx, pool.alias);
  if (block !== undefined) return block.conn;
  ctx.scope.usesPerUse(pool);
  return pool.lease(ctx.scope);
}

/** What the drain warning says of a statement whose SQL the lease path was not told. */
const STATEMENT_LABEL = '(a statement)';

/**
 * The connection code in `ctx` uses for `pool`'s alias, with its gate taken. `sql` names the
 * statement in the drain warning, should the scope end while it waits. Throws (synchronously)
 * when the scope has ended or `ctx` belongs to an atomic block that has ended; the promise rejects when leasing fails or the scope ends meanwhile.
 */
export function acquire(
  ctx: Context,
  pool: AliasPool,
  sql = STATEMENT_LABEL,
  kind: 'statement' | 'block' = 'statement',
): DatabaseConnection | Promise<DatabaseConnection> {
  const got = connectionFor(ctx, pool);
  if (got instanceof DatabaseConnection) {
    const wait = got.enter(ctx);
    if (wait === undefined) return got;
    return issued(ctx, pool.alias, sql, kind, got, wait, undefined);
  }
  return issued(ctx, pool.alias, sql, kind, undefined, got, undefined);
}

/**
 * Record on the scope that a statement was issued and waits (for a lease or the gate), until it
 * has its connection: the scope's end drains such statements before refusing anything
 * (`Scope.drain`). A connection the scope holds shows the statement running on it (its gate);
 * one leased for this use alone (`pin: 'transaction'`) is no connection of the scope's, so the
 * statement stays recorded until it gives that connection back (`release`, `giveBack`). Only the
 * slow path pays for it: `conn` with the promise of its gate, or the promise of a connection
 * whose gate is then taken; then `run` (if given) on the connection, from the same promise
 * callback (a statement that waits costs one promise less: `ConnectionHandler.query`).
 */
export function issued<T>(
  ctx: Context,
  alias: string,
  sql: string,
  kind: 'statement' | 'block',
  conn: DatabaseConnection | undefined,
  waiting: Promise<DatabaseConnection> | Promise<void>,
  run: ((conn: DatabaseConnection) => Promise<T>) | undefined,
): Promise<T> {
  const scope = ctx.scope;
  const statement = scope.issue(alias, sql);
  const has = (c: DatabaseConnection): T | Promise<T> => {
    // An atomic() block is not drained (a block its scope abandoned rolls back, see the README).
    if (kind === 'statement' && leasesPerUse(ctx, c.pool)) c.issued = { scope, statement };
    else scope.started(statement);
    return run === undefined ? (c as T) : run(c);
  };
  const failed = (err: unknown): never => {
    scope.started(statement);
    throw err;
  };
  if (conn !== undefined) return (waiting as Promise<void>).then(() => has(conn), failed);
  return (waiting as Promise<DatabaseConnection>).then((c) => {
    const wait = c.enter(ctx);
    return wait === undefined ? has(c) : wait.then(() => has(c), failed);
  }, failed);
}

/**
 * Give back what `acquire(ctx, …)` gave: the gate, and the connection itself when it was leased
 * for one use (the promise settles once the pool took it back). The root scope's connection
 * restarts its idle timer.
 */
export function release(conn: DatabaseConnection, ctx: Context): Promise<void> | undefined {
  conn.leave();
  if (leasesPerUse(ctx, conn.pool)) return perUseDone(conn);
  if (ctx.scope.kind === 'root') (ctx.scope as RootScope).touch(conn);
  return undefined;
}

/**
 * Give back a connection leased for one use without touching the gate (its holder no longer
 * holds the gate, e.g. an `atomic()` block whose end failed to take it). No-op otherwise.
 */
export function giveBack(conn: DatabaseConnection, ctx: Context): Promise<void> | undefined {
  return leasesPerUse(ctx, conn.pool) ? perUseDone(conn) : undefined;
}

/**
 * A connection leased for one use goes back to its pool; the statement that leased it is done. One
 * that left a transaction open (a raw BEGIN in a multi-statement text, a procedure) is rolled
 * back first, with a warning: the next scope to take it must not run inside that transaction.
 */
function perUseDone(conn: DatabaseConnection): Promise<void> {
  const issued = conn.issued;
  conn.issued = undefined;
  if (conn.broken === undefined && conn.blocks.length === 0 && conn.backend.inTransaction(conn.raw) === true) {
    return rollBackLeftOpen(conn).then(() => {
      const released = conn.pool.release(conn, true);
      issued?.scope.started(issued.statement);
      return released;
    });
  }
  const released = conn.pool.release(conn, true);
  issued?.scope.started(issued.statement);
  return released;
}

async function rollBackLeftOpen(conn: DatabaseConnection): Promise<void> {
  conn.pool.host.warn(messages.transactionLeftOpenPerUse(conn.alias));
  await rollbackQuietly(conn);
}
