/**
 * `atomic()` blocks, as Django's `Atomic` (django/db/transaction.py): the outermost block opens a
 * transaction, nested blocks use savepoints (or merge with `savepoint: false`), a block that
 * throws rolls back to where it began, and `onCommit` hooks run after the outermost commit.
 * Here the state lives on the scope's connection for the alias, not on a thread.
 * @internal
 */
import type { IsolationLevel } from './backends/backend';
import type { DatabaseConnection } from './connection';
import { TransactionManagementError, NotSupportedError } from './errors';
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
  /** In pin: 'transaction' mode, the outermost block leased the connection and returns it. */
  readonly ownsLease: boolean;
}

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

/** Runs transaction-control SQL on a connection (no guards), converting errors. */
export type ControlRunner = (conn: DatabaseConnection, sql: string) => Promise<void>;

/** Django's `Atomic.__enter__`. The caller holds the connection's gate. */
export async function beginBlock(
  run: ControlRunner,
  conn: DatabaseConnection,
  parent: AtomicBlock | undefined,
  options: AtomicOptions,
  ownsLease: boolean,
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
  const block: AtomicBlock = { alias, conn, parent, sid, outermost, aborted: false, ownsLease };
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
  if (!failed && !conn.needsRollback) {
    if (!block.outermost) {
      if (block.sid !== null) {
        try {
          await run(conn, b.releaseSavepointSql(block.sid));
        } catch (err) {
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
    try {
      await run(conn, b.commitSql);
    } catch (err) {
      conn.runOnCommit = [];
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
