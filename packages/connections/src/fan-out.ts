/**
 * In-thread fan-out, the analogue of `executor.map` inside a Django view: every item runs in its
 * own child scope with its own connection, at most `concurrency` at a time, and each item's
 * connection is released when that item ends. See the README, "Scopes".
 */
import { ConfigError } from './errors';
import { messages } from './messages';
import type { DetachedResult, ScopeOptions } from './scopes';

/** Options of `fanOut()`. */
export interface FanOutOptions {
  /** Items at a time. Default: this thread's `max` for `using`. */
  concurrency?: number;
  /** The alias whose budget bounds the default concurrency. Default `'default'`. */
  using?: string;
  /** Child scopes are named `name[i]`. */
  name?: string;
  /**
   * Never reject: resolve with one `{ ok: true, value } | { ok: false, error }` per item, in input
   * order, once every item has settled. Default false: the first failure rejects (after the items
   * already started have settled; no new ones start).
   */
  settled?: boolean;
}

/**
 * Run `fn` on every item, each through `inScope` (a new child scope), `limit` at a time. Resolves
 * with the results in input order; the first failure rejects once the items already started
 * have settled (no new ones start). With `settled`, never rejects: one outcome per item.
 */
export async function fanOut<T, R>(
  items: Iterable<T>,
  fn: (item: T, index: number) => R | Promise<R>,
  options: FanOutOptions,
  limit: number,
  inScope: (fn: () => R | Promise<R>, options: ScopeOptions) => Promise<R>,
): Promise<R[] | Array<DetachedResult<R>>> {
  const list = [...items];
  if (!Number.isInteger(limit) || limit < 1) {
    throw new ConfigError(messages.badOption('fanOut concurrency', 'an integer >= 1', limit), { option: 'concurrency' });
  }
  const outcomes = new Array<DetachedResult<R>>(list.length);
  let next = 0;
  let failed = false;
  const runner = async (): Promise<void> => {
    while (next < list.length && !(failed && !options.settled)) {
      const i = next++;
      try {
        const value = await inScope(() => fn(list[i] as T, i), { name: options.name ? `${options.name}[${i}]` : undefined });
        outcomes[i] = { ok: true, value };
      } catch (error) {
        outcomes[i] = { ok: false, error };
        failed = true;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, list.length) }, runner));
  if (options.settled) return outcomes;
  const firstFailure = outcomes.find((o) => o && !o.ok);
  if (firstFailure && !firstFailure.ok) throw firstFailure.error;
  return outcomes.map((o) => (o as { value: R }).value);
}
