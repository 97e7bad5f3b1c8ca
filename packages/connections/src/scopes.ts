/**
 * Opening and running scopes: `scope(fn)`, `openScope()` for frameworks that cannot wrap a
 * function, and `detach(fn)` for fire-and-forget work. The scope runs in `AsyncLocalStorage`;
 * its end releases what it leased (`Scope.end`). See the README, "Scopes".
 */
import type { HandlerState } from './handler-state';
import { messages } from './messages';
import type { Scope, ScopeKind } from './scope';

/** Options of `scope()`. */
export interface ScopeOptions {
  /** A name shown in leak reports, `PoolExhaustedError` and events. */
  name?: string;
}

/** What `scope(fn)` passes to `fn`, and what `currentScope()` returns. */
export interface ScopeInfo {
  readonly id: number;
  readonly name: string | undefined;
  readonly kind: ScopeKind;
  /** Aliases this scope holds a connection to, with the server-side id of each. */
  connections(): Array<{ alias: string; serverId: number }>;
  /**
   * Aborted when the scope ends, before its later statements are refused: with the reason its
   * ender gave (`ScopeHandle.end(reason)`; for a request whose client went away, `@spool/web`'s
   * `RequestAbortedError`), else a `ScopeEndedError`. Check it between statements, or pass it to
   * what you await (`fetch(url, { signal })`).
   */
  readonly signal: AbortSignal;
}

/** What `run(fn)` returns: `fn`'s value, or a promise of it when `fn` returned a thenable. */
export type RunResult<T> = T extends PromiseLike<infer U> ? Promise<U> : T;

/** A scope opened without a callback, for frameworks that cannot wrap a function. */
export interface ScopeHandle extends ScopeInfo {
  /**
   * Run `fn` inside the scope. When `fn` returns a thenable (a lazy `sql` query, a query set), it
   * is awaited inside the scope too, as `scope(fn)` does, and `run` returns a promise of its value.
   */
  run<T>(fn: () => T): RunResult<T>;
  /** Make the rest of the current synchronous execution and its continuations run in the scope (`enterWith`). */
  enter(): void;
  /**
   * End the scope: statements issued from it afterwards fail with `ScopeEndedError` (carrying
   * `reason`), those issued before finish first (within `drainMs`), then its connections are
   * released. `reason` (why it ended, e.g. the client went away) aborts `signal`. Idempotent.
   */
  end(reason?: unknown): Promise<void>;
}

/** The outcome of detached work. */
export type DetachedResult<T> = { ok: true; value: T } | { ok: false; error: unknown };

/**
 * Run `fn` in a new scope (a child of the calling one, if any); release its connections when `fn`
 * settles. Written with plain promise callbacks: a scope whose connection goes straight back to
 * its pool ends without a promise of its own (`Scope.endNow`).
 */
export function runScope<T>(state: HandlerState, fn: (scope: ScopeInfo) => T | Promise<T>, options: ScopeOptions): Promise<T> {
  const s = state.newScope(options.name, 'scope');
  try {
    // The scope is its own context (`Scope.scope`, `Scope.block`): no store object of its own.
    return state.als.run(s, callInScope, s, fn);
  } catch (err) {
    return endedThenReject(s, err);
  }
}

/**
 * Call `fn` inside the scope's context and end the scope when it settles. A lazy thenable it
 * returns (sql`…`) has its `then()` called here, inside the scope: it starts its work when called.
 * The end is attached to that very `then()`: no promise of the scope's own.
 */
function callInScope<T>(s: Scope, fn: (scope: ScopeInfo) => T | Promise<T>): Promise<T> {
  const value = fn(scopeInfo(s));
  if (isThenable<T>(value)) {
    // Bound functions rather than closures: no context object, two words less each (a scope waiting
    // for its connection holds them).
    const settled = value.then(endedThenOf.bind(s) as (v: T) => T | Promise<T>, endedThenRejectOf.bind(s));
    return settled instanceof Promise ? settled : Promise.resolve(settled);
  }
  const ended = s.endNow();
  return ended === undefined ? Promise.resolve(value as T) : ended.then(() => value as T);
}

/** End `s`, then yield `value`. */
function endedThen<T>(s: Scope, value: T): T | Promise<T> {
  const ended = s.endNow();
  return ended === undefined ? value : ended.then(() => value);
}

/** `endedThen` with the scope as `this`. */
function endedThenOf<T>(this: Scope, value: T): T | Promise<T> {
  return endedThen(this, value);
}

/** `endedThenReject` with the scope as `this`. */
function endedThenRejectOf(this: Scope, err: unknown): Promise<never> {
  return endedThenReject(this, err);
}

/** End `s`, then reject with `err`. */
function endedThenReject(s: Scope, err: unknown): Promise<never> {
  const ended = s.endNow();
  if (ended === undefined) return Promise.reject(err);
  return ended.then(() => Promise.reject(err));
}

/**
 * A scope to run code in by hand: `run(fn)` or `enter()`, then `end()`. The handle is one object
 * of a class (its methods on the prototype): a web framework opens one per request.
 */
export function openScope(state: HandlerState, options: ScopeOptions): ScopeHandle {
  return new ScopeHandleView(state, state.newScope(options.name, 'scope'));
}

/** `fn()` inside the scope (`ScopeHandle.run`): a thenable it returns is awaited there too. */
function runInScope<T>(fn: () => T): RunResult<T> {
  const value = fn();
  // Call then() here, inside the scope: a lazy thenable starts its work when it is called.
  if (isThenable(value)) return new Promise((resolve, reject) => value.then(resolve, reject)) as RunResult<T>;
  return value as RunResult<T>;
}

function isThenable<T>(value: unknown): value is PromiseLike<T> {
  return (
    (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function'
  );
}

/** Run `fn` in a fresh scope that inherits nothing from the caller; never rejects, reports failures. */
export function detach<T>(state: HandlerState, fn: () => T | Promise<T>, options: ScopeOptions): Promise<DetachedResult<T>> {
  const s = state.newScope(options.name ?? 'detached', 'detached');
  return state.als.run(s, async (): Promise<DetachedResult<T>> => {
    try {
      return { ok: true, value: await fn() };
    } catch (error) {
      state.warn(messages.detachedFailed(s.describe(), (error as Error)?.stack ?? String(error)));
      state.events.emit('error', { scopeId: s.id, error });
      return { ok: false, error };
    } finally {
      await s.end();
    }
  });
}

/** The scope the calling code runs in, if any. */
export function currentScope(state: HandlerState): ScopeInfo | undefined {
  const ctx = state.als.getStore();
  return ctx ? scopeInfo(ctx.scope) : undefined;
}

/** The public view of a scope. */
export function scopeInfo(s: Scope): ScopeInfo {
  return new ScopeView(s);
}

/** `ScopeInfo` as a class: its methods live on the prototype, so a view costs one small object. */
class ScopeView implements ScopeInfo {
  readonly id: number;
  readonly name: string | undefined;
  readonly kind: ScopeKind;
  readonly #scope: Scope;

  constructor(s: Scope) {
    this.id = s.id;
    this.name = s.name;
    this.kind = s.kind;
    this.#scope = s;
  }

  connections(): Array<{ alias: string; serverId: number }> {
    return [...this.#scope.conns.values()].map((c) => ({ alias: c.alias, serverId: c.serverId }));
  }

  // A getter: the AbortController is only created for scopes whose signal someone reads.
  get signal(): AbortSignal {
    return this.#scope.signal;
  }

  /** The scope behind a view (`ScopeInfo` or `ScopeHandle`) of this module; undefined for any other object. */
  static scopeOf(view: object): Scope | undefined {
    return #scope in view ? view.#scope : undefined;
  }
}

/**
 * Attach `value` to the scope of `view` (a `ScopeHandle` or `ScopeInfo`; undefined detaches), for
 * code running in it to find again (`scopeAttachment(currentScope())`). `@spool/web` attaches each
 * request's state to the request's scope this way. Attached to the scope object itself, rather
 * than kept in a registry by scope id: a `Map` that entries join and leave once per request
 * rehashes every few requests, and each table it leaves behind still references the entries it
 * held; once such a table is in the old generation, the young objects it references (the
 * requests, with everything they reach) survive every scavenge until the next full GC, which made
 * each request's server CPU grow with the number of requests in flight.
 */
export function attachToScope(view: ScopeInfo, value: unknown): void {
  const s = ScopeView.scopeOf(view);
  if (s === undefined) throw new TypeError('attachToScope: not a scope of @spool/connections (a ScopeHandle or ScopeInfo).');
  s.attachment = value;
}

/** What was attached to the scope of `view` (`attachToScope`); undefined when nothing was, or without a view. */
export function scopeAttachment(view: ScopeInfo | undefined): unknown {
  return view === undefined ? undefined : ScopeView.scopeOf(view)?.attachment;
}

/** `ScopeHandle` as a class: `run`, `enter` and `end` on the prototype, no closures per handle. */
class ScopeHandleView extends ScopeView implements ScopeHandle {
  readonly #state: HandlerState;
  readonly #s: Scope;

  constructor(state: HandlerState, s: Scope) {
    super(s);
    this.#state = state;
    this.#s = s;
  }

  run<T>(fn: () => T): RunResult<T> {
    // The scope is its own context (`Scope.scope`, `Scope.block`).
    return this.#state.als.run(this.#s, runInScope, fn) as RunResult<T>;
  }

  enter(): void {
    this.#state.als.enterWith(this.#s);
  }

  end(reason?: unknown): Promise<void> {
    return this.#s.end(reason);
  }
}
