/**
 * What `AsyncLocalStorage` carries: the scope the code runs in and the innermost `atomic()`
 * block it runs inside (blocks of every alias form one chain through `parent`).
 * Not part of the public API (`@spool/connections/internal` reaches what others need).
 */
import type { AtomicBlock } from './atomic';
import { AtomicBlockEndedError, ScopeEndedError } from './errors';
import { messages } from './messages';
import type { Scope } from './scope';

export interface Context {
  readonly scope: Scope;
  readonly block: AtomicBlock | undefined;
}

/** The innermost block of `alias` that `ctx` runs inside, if any. */
export function blockFor(ctx: Context, alias: string): AtomicBlock | undefined {
  for (let b = ctx.block; b !== undefined; b = b.parent) if (b.alias === alias) return b;
  return undefined;
}

/**
 * Refuse a statement on `alias` from code whose context belongs to an `atomic()` block that has
 * ended (committed, rolled back, or abandoned because its scope ended). Run anyway, it would go
 * to the connection outside any transaction and commit on its own: what its block rolled back,
 * or after what its block committed (the README, "Atomic blocks": a late statement never
 * commits what its block rolled back). Only blocks of `alias` count: a block on another
 * alias never held this alias's statements.
 */
export function assertBlocksOpen(ctx: Context, alias: string): void {
  for (let b = ctx.block; b !== undefined; b = b.parent) {
    if (b.alias !== alias || (b.ended === undefined && !b.aborted)) continue;
    // Abandoned because its scope ended: say that (ScopeEndedError), it is the cause.
    if (b.aborted) throw new ScopeEndedError(messages.scopeEnded(ctx.scope.describe(), alias), { alias });
    throw new AtomicBlockEndedError(messages.atomicBlockEnded(alias, ctx.scope.describe(), b.ended ?? 'rolled back'), { alias });
  }
}
