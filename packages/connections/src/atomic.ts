/**
 * `atomic()` blocks, as Django's `Atomic` (django/db/transaction.py): the outermost block opens a
 * transaction, nested blocks use savepoints (or merge with `savepoint: false`), a block that
 * throws rolls back to where it began, and `onCommit` hooks run after the outermost commit.
 * Here the state lives on the scope's connection for the alias, not on a thread. `runAtomic`
 * takes the connection by the one lease path and sends BEGIN/COMMIT/… through the one statement
 * boundary. See the README, "Atomic blocks".
 */
import type { IsolationLevel } from './backends/backend';
import type { DatabaseConnection } from './connection';
import { blockFor, type Context } from './context';
import { CommitOutcomeUnknownError, type DatabaseError, NotSupportedError, OperationalError, TransactionManagementError } from './errors';
import type { HandlerState } from './handler-state';
import { acquire, giveBack, release } from './lease';
import { messages } from './messages';

/** One `atomic()` block in progress. */
export interface AtomicBlock {
  readonly alias: string;
  readonly conn: DatabaseConnection;
  /** The enclosing block of the code that opened this one (any alias). */
  readonly parent: AtomicBlock | undefined;
  /** Savepoint name, or null for the outermost block and for merged blocks. */
  readonly sid: string | null;
  readonly outermost: boolean;
  /** The scope ended under the block and rolled it back. */
  aborted: boolean;
  /**
   * How the block ended, once it has: a statement issued from its context afterwards is refused
   * (`AtomicBlockEndedError`), never run in autocommit (`assertBlocksOpen` in context.ts).
   */
  ended: BlockOutcome | undefined;
}

/** How an `atomic()` block ended. */
export type BlockOutcome = 'committed' | 'released' | 'rolled back';

/** A hook registered with `onCommit`, with the savepoints active when it was registered. */
export interface CommitHook {
  readonly sids: ReadonlySet<string>;
  readonly fn: () => unknown;
  readonly robust: boolean;
}

/** Options of `atomic()`. */
export interface AtomicOptions {
  /** The alias whose transaction this is. Default `'default'`. */
  using?: string;
  /** Nested blocks create a savepoint (default true); `false` merges into the outer block. */
  savepoint?: boolean;
  /** Throw if this block is nested in another (it must be the outermost). */
  durable?: boolean;
  /** Isolation level of the transaction (outermost block only). */
  isolationLevel?: IsolationLevel;
}

/** Runs transaction-control SQL on a connection whose gate the caller holds (`StatementBoundary.control`). */
export type ControlRunner = (conn: DatabaseConnection, sql: string) => Promise<unknown>;

/** Django's `Atomic.__enter__`. The caller holds the connection's gate. */
export async function beginBlock(
  run: ControlRunner,
  conn: DatabaseConnection,
  parent: AtomicBlock | undefined,
  options: AtomicOptions,
): Promise<AtomicBlock> {
  const alias = conn.alias;
  const outermost = conn.blocks.length === 0;
  if (options.durable && !outermost) throw new TransactionManagementError(messages.durableNested(alias), { alias });
  const level = options.isolationLevel;
  if (level !== undefined) {
    if (!outermost) throw new TransactionManagementError(messages.isolationNested(alias), { alias });
    const supported = conn.backend.features.isolationLevels;
    if (!supported.includes(level)) {
      throw new NotSupportedError(messages.isolationUnsupported(alias, level, supported), { alias });
    }
  }
  let sid: string | null = null;
  if (outermost) {
    conn.needsRollback = false;
    conn.rollbackCause = undefined;
    conn.runOnCommit = [];
    for (const sql of conn.backend.beginSql(level)) {
      await run(conn, sql);
    }
  } else if (options.savepoint !== false && !conn.needsRollback) {
    conn.savepointSeq += 1;
    sid = `spool_sp_${conn.id}_${conn.savepointSeq}`;
    await run(conn, conn.backend.savepointSql(sid));
  }
  const block: AtomicBlock = { alias, conn, parent, sid, outermost, aborted: false, ended: undefined };
  conn.blocks.push(block);
  return block;
}

/**
 * Django's `Atomic.__exit__`. The caller holds the gate. Returns the hooks to run when the
 * outermost block committed. Throws when COMMIT (or RELEASE) fails, after rolling back.
 */
export async function endBlock(run: ControlRunner, conn: DatabaseConnection, block: AtomicBlock, failed: boolean): Promise<CommitHook[]> {
  const top = conn.blocks.pop();
  if (top !== block) throw new Error(`internal: atomic blocks ended out of order on '${conn.alias}'`);
  const b = conn.backend;
  // From here on, statements issued from the block's context are refused (the gate is held, so
  // none can run before the outcome is known; a failed COMMIT turns it into 'rolled back').
  block.ended = failed || conn.needsRollback ? 'rolled back' : block.outermost ? 'committed' : 'released';
  if (!failed && !conn.needsRollback) {
    if (!block.outermost) {
      if (block.sid !== null) {
        try {
          await run(conn, b.releaseSavepointSql(block.sid));
        } catch (err) {
          block.ended = 'rolled back';
          try {
            await run(conn, b.rollbackToSavepointSql(block.sid));
            dropHooks(conn, block.sid);
          } catch {
            conn.needsRollback = true;
          }
          throw err;
        }
      }
      return [];
    }
    // A connection already known to be lost never sends the COMMIT (the server rolls back).
    const lostBefore = conn.broken !== undefined;
    try {
      await run(conn, b.commitSql);
    } catch (err) {
      block.ended = 'rolled back';
      conn.runOnCommit = [];
      // Lost while the COMMIT was on its way or its answer was: the server may have committed.
      if (!lostBefore && conn.broken !== undefined) {
        const e = err as DatabaseError;
        throw new CommitOutcomeUnknownError(messages.commitOutcomeUnknown(conn.alias, e.message), {
          alias: conn.alias,
          cause: err,
          sql: b.commitSql,
          sqlState: e.sqlState,
          vendorCode: e.vendorCode,
        });
      }
      try {
        await run(conn, b.rollbackSql);
      } catch (rollbackError) {
        conn.markBroken(rollbackError as Error);
      }
      throw err;
    }
    const hooks = conn.runOnCommit;
    conn.runOnCommit = [];
    return hooks;
  }
  // Roll back what this block did.
  conn.needsRollback = false;
  if (!block.outermost) {
    if (block.sid === null) {
      // Merged into the outer block: only the whole transaction can be rolled back.
      conn.needsRollback = true;
    } else {
      try {
        await run(conn, b.rollbackToSavepointSql(block.sid));
        await run(conn, b.releaseSavepointSql(block.sid));
        dropHooks(conn, block.sid);
        conn.rollbackCause = undefined;
      } catch {
        conn.needsRollback = true;
      }
    }
    return [];
  }
  conn.runOnCommit = [];
  conn.rollbackCause = undefined;
  try {
    await run(conn, b.rollbackSql);
  } catch (err) {
    // A connection that cannot roll back is closed at release rather than reused.
    conn.markBroken(err as Error);
  }
  // The block returned normally (a nested failure was caught inside it), but its connection died
  // meanwhile: resolving would read as a commit. (A rollback asked for with setRollback(true) on
  // a live connection stays silent, as in Django.)
  if (!failed && conn.broken) {
    throw new OperationalError(messages.transactionLost(conn.alias, conn.broken.message), { alias: conn.alias, cause: conn.broken });
  }
  return [];
}

/** Forget hooks registered inside a savepoint that was rolled back. */
function dropHooks(conn: DatabaseConnection, sid: string): void {
  conn.runOnCommit = conn.runOnCommit.filter((h) => !h.sids.has(sid));
}

/** Savepoints of `alias` active around code whose innermost block is `block`. */
export function activeSavepoints(block: AtomicBlock | undefined, alias: string): Set<string> {
  const sids = new Set<string>();
  for (let b = block; b !== undefined; b = b.parent) if (b.alias === alias && b.sid !== null) sids.add(b.sid);
  return sids;
}

/**
 * Run `fn` in an atomic block on `options.using` (default `'default'`) for code in the calling
 * context: commit when it resolves, roll back and rethrow when it throws. `fn` runs in a context
 * whose innermost block is this one, so every query inside it joins the transaction.
 */
export async function runAtomic<T, H>(
  state: HandlerState,
  fn: (handle: H) => T | Promise<T>,
  options: AtomicOptions,
  handle: (alias: string) => H,
): Promise<T> {
  const alias = options.using ?? 'default';
  const ctx = state.context(alias);
  const control = state.statements.control;
  const conn = await acquire(ctx, state.pool(alias), 'atomic() (BEGIN)', 'block');
  let block: AtomicBlock;
  try {
    block = await beginBlock(control, conn, ctx.block, options);
  } catch (err) {
    await release(conn, ctx);
    throw err;
  }
  // The gate goes back while `fn` runs: its statements take it one by one.
  conn.leave();
  const inner: Context = { scope: ctx.scope, block };
  let result: T | undefined;
  let failure: { error: unknown } | undefined;
  try {
    result = await state.als.run(inner, async () => fn(handle(alias)));
  } catch (error) {
    failure = { error };
  }
  let hooks: CommitHook[];
  try {
    if (block.aborted) throw failure?.error ?? aborted(ctx, alias);
    const wait = conn.enter(inner);
    if (wait) await wait;
    try {
      if (block.aborted) throw failure?.error ?? aborted(ctx, alias);
      hooks = await endBlock(control, conn, block, failure !== undefined);
    } finally {
      conn.leave();
    }
  } finally {
    // A connection this block leased for itself (pin: 'transaction') goes back to its pool.
    await giveBack(conn, ctx);
  }
  if (failure) throw failure.error;
  if (hooks.length > 0) await runHooks(state, alias, hooks);
  return result as T;
}

/** The scope ended under the block and rolled it back. */
function aborted(ctx: Context, alias: string): TransactionManagementError {
  return new TransactionManagementError(messages.scopeEndedInTransaction(ctx.scope.describe(), alias), { alias });
}

/** Run commit hooks in order; a robust hook that throws is reported and the rest still run. */
async function runHooks(state: HandlerState, alias: string, hooks: CommitHook[]): Promise<void> {
  while (hooks.length > 0) {
    const hook = hooks.shift() as CommitHook;
    if (hook.robust) {
      try {
        await hook.fn();
      } catch (error) {
        state.warn(`${messages.onCommitFailed(alias)} ${(error as Error)?.stack ?? String(error)}`);
        state.events.emit('error', { alias, error, hook: 'onCommit' });
      }
    } else {
      await hook.fn();
    }
  }
}

/** The innermost block on `alias` the calling code runs in. */
function currentBlock(state: HandlerState, alias: string): AtomicBlock | undefined {
  const ctx = state.als.getStore();
  return ctx ? blockFor(ctx, alias) : undefined;
}

/** `onCommit()`: keep `fn` for after the commit of the current transaction on `alias`, or run it now outside one. */
export function onCommit(state: HandlerState, alias: string, fn: () => unknown, robust: boolean): Promise<void> {
  const block = currentBlock(state, alias);
  if (block === undefined) {
    state.settingsFor(alias);
    return runHooks(state, alias, [{ sids: new Set(), fn, robust }]);
  }
  block.conn.runOnCommit.push({ sids: activeSavepoints(block, alias), fn, robust });
  return Promise.resolve();
}

/** The innermost block on `alias`, or `TransactionManagementError` outside one (for `setRollback` / `getRollback`). */
export function requireBlock(state: HandlerState, alias: string): AtomicBlock {
  const block = currentBlock(state, alias);
  if (!block) throw new TransactionManagementError(messages.rollbackFlagOutside(alias), { alias });
  return block;
}

/** Is the calling code inside an atomic block on `alias`? */
export function inAtomicBlock(state: HandlerState, alias: string): boolean {
  return currentBlock(state, alias) !== undefined;
}
