/**
 * One scope per request (see README.md): opened when the request arrives, ended exactly once when the
 * response has been sent or the client went away — also for streamed responses. With
 * `atomicRequests`, the request runs in `atomic()` (Django's `ATOMIC_REQUESTS`): committed before
 * the response is completed, rolled back when the handler failed (threw, rejected, or passed an
 * error on), when `rollbackWhen(status)` says so (default: a 5xx), or when the client disconnected
 * first.
 * @internal
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  atomic,
  connections,
  currentScope,
  openScope,
  PoolExhaustedError,
  ScopeEndedError,
  setRollback,
  type ScopeHandle,
} from '@spool/connections';
import { attachToScope, scopeAttachment } from '@spool/connections/internal';
import { RequestAbortedError } from './request-aborted-error';

/** Options shared by every integration. */
export interface RequestScopeOptions {
  /**
   * Run each request in `atomic()` (Django's `ATOMIC_REQUESTS`): commit before the response
   * completes; roll back when the handler throws, rejects or passes an error on (whatever status
   * the error handler then sends), when `rollbackWhen(status)` says so (default: status >= 500),
   * or when the client disconnects first. `{ using: 'other' }` picks the alias. Default false.
   */
  atomicRequests?: boolean | { using?: string };
  /**
   * Roll back an atomic request that did not fail with this final status. Default: `status >= 500`.
   * A request whose handler failed is rolled back whatever this says.
   */
  rollbackWhen?: (status: number) => boolean;
  /** The scope's name, shown in leak reports and `PoolExhaustedError`. Default: `'METHOD /path'`. */
  name?: (req: IncomingMessage) => string;
}

export interface ResolvedRequestOptions {
  atomic: { using: string } | undefined;
  rollbackWhen: (status: number) => boolean;
  name: (req: IncomingMessage) => string;
}

const KEYS = ['atomicRequests', 'rollbackWhen', 'name'];

export function resolveOptions(options: RequestScopeOptions = {}): ResolvedRequestOptions {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`The Spool request scope options must be an object, got ${options === null ? 'null' : typeof options}.`);
  }
  for (const key of Object.keys(options)) {
    if (!KEYS.includes(key)) {
      throw new TypeError(`Unknown option '${key}' for the Spool request scope. Valid options: ${KEYS.map((k) => `'${k}'`).join(', ')}.`);
    }
  }
  const a = options.atomicRequests;
  if (a !== undefined && typeof a !== 'boolean' && (typeof a !== 'object' || a === null)) {
    throw new TypeError(`Option 'atomicRequests' must be a boolean or { using: alias }, got ${typeof a}.`);
  }
  for (const key of ['rollbackWhen', 'name'] as const) {
    if (options[key] !== undefined && typeof options[key] !== 'function') {
      throw new TypeError(`Option '${key}' must be a function, got ${typeof options[key]}.`);
    }
  }
  return {
    atomic: a ? { using: (typeof a === 'object' && a.using) || 'default' } : undefined,
    rollbackWhen: options.rollbackWhen ?? ((status) => status >= 500),
    name: options.name ?? defaultName,
  };
}

/** `'METHOD /path'` (the URL without its query string). */
function defaultName(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const query = url.indexOf('?');
  return `${req.method ?? 'GET'} ${query < 0 ? url : url.slice(0, query)}`;
}

/** What an integration gets back to finish the request's atomic block before sending. */
export interface RequestScope {
  readonly handle: ScopeHandle;
  /** The first error the handler threw, rejected with or passed on (`next(err)`); undefined if none. */
  readonly error: unknown;
  /** Did the client go away before the response was complete? */
  readonly clientGone: boolean;
  /** Aborted (with a `RequestAbortedError`) when the client goes away, just before the scope ends. */
  readonly signal: AbortSignal;
  /**
   * Record that the handler failed: an atomic request then rolls back whatever status is sent.
   * The first error is kept.
   */
  fail(error: unknown): void;
  /**
   * For atomic requests: decide commit/rollback from the failure and the final status, and wait
   * for it, before the response completes. Resolves at once for plain requests. Rejects when
   * COMMIT failed.
   */
  settle(status: number): Promise<void>;
  /**
   * Is `error` only the consequence of the client having gone away (a statement refused because
   * the request's scope ended with the disconnect)? Such errors are not application errors: the
   * integrations keep them out of error logs.
   */
  isDisconnectError(error: unknown): boolean;
}

/**
 * `Retry-After` (seconds) sent with the 503 that answers a `PoolExhaustedError`. One second: a
 * shed request found `maxWaiting` scopes ahead of it, which the budget serves in about
 * `maxWaiting / max` hold times (100 by default: a second at 10 ms a request); clients that honour
 * it come back once that queue has moved, rather than at once into the same full queue.
 */
export const RETRY_AFTER_SECONDS = 1;

/** Is `error` the database saying "overloaded, retry later" (queue full, or no connection in time)? */
export function isOverloadError(error: unknown): error is PoolExhaustedError {
  return PoolExhaustedError.is(error);
}

/** Answer an overload error: 503 Service Unavailable with `Retry-After`, unless the response has started. */
export function answerOverloaded(error: PoolExhaustedError, res: ServerResponse): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.statusCode = 503;
  res.setHeader('retry-after', String(RETRY_AFTER_SECONDS));
  res.setHeader('content-type', 'text/plain; charset=utf-8');
  res.end(
    `Service Unavailable: ${error.queueFull ? 'too many requests are waiting for the database' : 'no database connection was free in time'}. Retry later.`,
  );
}

/**
 * Each request's scope is kept on the request object itself, under a symbol, rather than in a
 * WeakMap: a WeakMap entry per request is an ephemeron the garbage collector must trace, and it
 * cost more than the rest of the request scope together (about 7 µs of CPU per request in
 * bench/web-overhead.mjs, most of it in GC). The property goes with the request.
 */
const REQUEST_SCOPE = Symbol('spool.web.requestScope');

type WithRequestScope = { [REQUEST_SCOPE]?: RequestScope };
// The same is attached to the request's scope (`attachToScope`), for `requestSignal()` from inside
// a handler, until the scope ends. Not a Map by scope id: its entries' churn (one in, one out per
// request) left its rehashed tables in the old generation referencing requests, which then
// survived every scavenge until a full GC (server CPU per request grew with the requests in flight).

/**
 * The `AbortSignal` of the request the calling code serves (found through its scope): aborted,
 * with a `RequestAbortedError` as its reason, when the client goes away before the response is
 * complete, just before the request's scope ends. Pass `req` to look it up by request instead.
 * Outside a request, a signal that never aborts.
 *
 * ### Examples
 * ```ts
 * import { sql } from '@spool/connections';
 * import { requestSignal } from '@spool/web';
 *
 * app.get('/report', async (req, res) => {
 *   const signal = requestSignal();
 *   const rows = [];
 *   for (const id of [1, 2, 3]) {
 *     if (signal.aborted) return; // the client went away: stop here, quietly
 *     rows.push(...(await sql`SELECT * FROM author WHERE id = ${id}`));
 *   }
 *   res.json(rows);
 * });
 * ```
 */
export function requestSignal(req?: object): AbortSignal {
  const scope = req ? (req as WithRequestScope)[REQUEST_SCOPE] : scopeOfCaller();
  return scope?.signal ?? NEVER;
}

const NEVER = new AbortController().signal;

function scopeOfCaller(): RequestScope | undefined {
  return scopeAttachment(currentScope()) as RequestScope | undefined;
}

/** A request as observers (the debug page) see it. */
export interface ObservedRequest {
  readonly scopeId: number;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly startedAt: number;
  readonly scope: RequestScope;
}

/** Told when a request's scope opens and when it has ended. Listeners must not throw. @internal */
export interface RequestObserver {
  started(request: ObservedRequest): void;
  ended(request: ObservedRequest): void;
}

/** @internal */
export const requestObservers = new Set<RequestObserver>();

/** The scope `beginRequest()` opened for `req` (an `IncomingMessage`, or Fastify's request), if any. */
export function requestScopeOf(req: object): RequestScope | undefined {
  return (req as WithRequestScope)[REQUEST_SCOPE];
}

/**
 * Open the request's scope and run `proceed` (the rest of the request) inside it, and inside its
 * atomic block when configured (then `res.end()` waits for the block: `commitBeforeEnd`). The scope
 * ends when `res` closes (sent or aborted), after the atomic block settled.
 *
 * This runs once per request, so it allocates little (measured in instructions per request,
 * bench/web-instructions.mjs): one object of a class (no getters or closures of its own), one
 * bound 'close' listener, no `AbortController` until someone reads the signal, and no promise on
 * a plain request's way in or out.
 */
export function beginRequest(
  req: IncomingMessage,
  res: ServerResponse,
  options: ResolvedRequestOptions,
  proceed: () => unknown,
): RequestScope {
  const scope = new ActiveRequest(openScope({ name: options.name(req) }), req, res, options);
  (req as WithRequestScope)[REQUEST_SCOPE] = scope;
  attachToScope(scope.handle, scope);
  if (requestObservers.size > 0) scope.observe();
  if (!options.atomic) {
    // 'close' comes once, after 'finish' or when the client went away: the scope's one end.
    res.on('close', onPlainClose.bind(scope));
    scope.handle.run(proceed);
    return scope;
  }
  commitBeforeEnd(res, scope);
  scope.runAtomic(options.atomic.using, proceed);
  res.on('close', onAtomicClose.bind(scope));
  return scope;
}

const SETTLED: Promise<void> = Promise.resolve();

/** A request's scope: `RequestScope` as a class, its state in fields (one object per request). */
class ActiveRequest implements RequestScope {
  #failure: { error: unknown } | undefined = undefined;
  #clientGone = false;
  /** Created when someone reads `signal` (most handlers never do). */
  #controller: AbortController | undefined = undefined;
  /** Why the scope ended early (the client went away), for a signal created after the fact. */
  #abortReason: RequestAbortedError | undefined = undefined;
  #closed = false;
  #observed: ObservedRequest | undefined = undefined;
  /** Atomic requests: commit (true) or roll back, once known; and the block's outcome. */
  #decide: ((commit: boolean) => void) | undefined = undefined;
  #block: Promise<void> | undefined = undefined;

  constructor(
    readonly handle: ScopeHandle,
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly options: ResolvedRequestOptions,
  ) {}

  get error(): unknown {
    return this.#failure?.error;
  }

  get clientGone(): boolean {
    return this.#clientGone;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#abortReason !== undefined) this.#controller.abort(this.#abortReason);
    }
    return this.#controller.signal;
  }

  fail(error: unknown): void {
    if (!this.#failure) this.#failure = { error };
    // Whoever answers (our integrations, or Express's and Fastify's default error handlers,
    // which take the status from the error's statusCode, 503) says when to come back.
    if (isOverloadError(error) && !this.res.headersSent) this.res.setHeader('retry-after', String(RETRY_AFTER_SECONDS));
  }

  settle(status: number): Promise<void> {
    if (this.#decide === undefined || this.#block === undefined) return SETTLED;
    this.#decide(this.#failure === undefined && !this.options.rollbackWhen(status));
    return this.#block;
  }

  isDisconnectError(error: unknown): boolean {
    return (
      RequestAbortedError.is(error) ||
      (ScopeEndedError.is(error) && (RequestAbortedError.is(error.reason) || (this.#clientGone && error.reason === undefined)))
    );
  }

  observe(): void {
    this.#observed = { scopeId: this.handle.id, req: this.req, res: this.res, startedAt: Date.now(), scope: this };
    for (const o of requestObservers) o.started(this.#observed);
  }

  /**
   * `res` closed: the first time only. 'close' after 'finish' is a normal end; before it, the
   * client went away: tell the handler (its signal) before its scope ends. Returns false when the
   * close was already handled.
   */
  closed(): boolean {
    if (this.#closed) return false;
    this.#closed = true;
    if (this.res.writableFinished) return true;
    this.#clientGone = true;
    this.#abortReason = new RequestAbortedError(this.handle.name ?? this.options.name(this.req));
    this.#controller?.abort(this.#abortReason);
    return true;
  }

  /** End the scope (idempotent). */
  end(): Promise<void> {
    attachToScope(this.handle, undefined);
    // A client that went away is the scope's end reason: its signal carries it, and so does the
    // ScopeEndedError of any statement the handler issues afterwards.
    const ended = this.handle.end(this.#abortReason);
    const observed = this.#observed;
    if (observed === undefined) return ended;
    return ended.then(() => {
      for (const o of requestObservers) o.ended(observed);
    });
  }

  /** Run `proceed` in the scope, inside `atomic()` on `using`; committed or rolled back per `settle()`. */
  runAtomic(using: string, proceed: () => unknown): void {
    const decided = new Promise<boolean>((resolve) => (this.#decide = resolve));
    const block = this.handle.run(() =>
      atomic(
        async () => {
          proceed();
          if (!(await decided)) setRollback(true, { using });
        },
        { using },
      ),
    );
    // The request's own error path reports a failed COMMIT (commitBeforeEnd turns it into a 500);
    // here it only must not be an unhandled rejection. A block that could not finish because the
    // client went away is the expected outcome of a disconnect, not an error.
    this.#block = block.then(
      () => undefined,
      (err: unknown) => {
        if (!this.#clientGone) connections.emit('error', { error: err, alias: using, scopeId: this.handle.id });
        throw err;
      },
    );
    this.#block.catch(() => undefined);
  }

  /** The atomic request's `res` closed. */
  atomicClosed(): void {
    const decide = this.#decide as (commit: boolean) => void;
    const block = this.#block as Promise<void>;
    if (this.#clientGone) {
      // End the scope before anything else: from now on no statement of this request can start
      // (a handler that does not know yet gets ScopeEndedError); the one in flight finishes, then
      // the transaction is rolled back and the connection released. Deciding first would leave a
      // window between the ROLLBACK and the scope's end in which the handler's next statement
      // would run on the connection in autocommit, and commit.
      const ended = this.end();
      decide(false);
      void block.catch(() => undefined).finally(() => ended);
      return;
    }
    decide(false); // no-op: a finished response decided in settle()
    void block.catch(() => undefined).finally(() => this.end());
  }
}

/** A plain request's 'close' listener (`this`: its scope). */
function onPlainClose(this: ActiveRequest): void {
  if (this.closed()) void this.end();
}

/** An atomic request's 'close' listener (`this`: its scope). */
function onAtomicClose(this: ActiveRequest): void {
  if (this.closed()) this.atomicClosed();
}

/**
 * Delay `res.end()` until the atomic block settled (committed or rolled back), so that a client
 * never sees a success whose transaction did not commit. If COMMIT fails and nothing was sent
 * yet, the response becomes a 500.
 */
export function commitBeforeEnd(res: ServerResponse, scope: RequestScope): void {
  const end = res.end;
  let called = false;
  res.end = function patchedEnd(this: ServerResponse, ...args: unknown[]) {
    if (called) return (end as (...a: unknown[]) => ServerResponse).apply(this, args);
    called = true;
    res.end = end;
    scope.settle(res.statusCode).then(
      () => (end as (...a: unknown[]) => ServerResponse).apply(res, args),
      () => {
        if (res.destroyed) return;
        if (!res.headersSent) {
          res.statusCode = 500;
          res.setHeader('content-type', 'text/plain; charset=utf-8');
          (end as (chunk: string) => ServerResponse).call(res, 'Internal Server Error: the transaction could not be committed.');
        } else (end as () => ServerResponse).call(res);
      },
    );
    return res;
  } as typeof res.end;
}
