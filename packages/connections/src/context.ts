/**
 * What `AsyncLocalStorage` carries: the scope the code runs in and the innermost `atomic()`
 * block it runs inside (blocks of every alias form one chain through `parent`).
 * Not part of the public API (`@spool/connections/internal` reaches what others need).
 */
import type { AtomicBlock } from './atomic';
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
