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
    name: options.name ?? ((req) => `${req.method ?? 'GET'} ${(req.url ?? '/').split('?')[0]}`),
  };
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

const requestScopes = new WeakMap<object, RequestScope>();
/** The same, by scope id, for `requestSignal()` from inside a handler. */
const scopesById = new Map<number, RequestScope>();

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
  const scope = req ? requestScopes.get(req) : scopeOfCaller();
  return scope?.signal ?? NEVER;
}

const NEVER = new AbortController().signal;

function scopeOfCaller(): RequestScope | undefined {
  const id = currentScope()?.id;
  return id === undefined ? undefined : scopesById.get(id);
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
  return requestScopes.get(req);
}

/**
 * Open the request's scope and run `proceed` (the rest of the request) inside it, and inside its
 * atomic block when configured. The scope ends when `res` closes (sent or aborted), after the
 * atomic block settled.
 */
export function beginRequest(
  req: IncomingMessage,
  res: ServerResponse,
  options: ResolvedRequestOptions,
  proceed: () => unknown,
): RequestScope {
  const handle = openScope({ name: options.name(req) });
  let failure: { error: unknown } | undefined;
  let clientGone = false;
  const controller = new AbortController();
  let settle: (status: number) => Promise<void> = () => Promise.resolve();
  const scope: RequestScope = {
    handle,
    get error() {
      return failure?.error;
    },
    get clientGone() {
      return clientGone;
    },
    signal: controller.signal,
    fail(error) {
      if (!failure) failure = { error };
      // Whoever answers (our integrations, or Express's and Fastify's default error handlers,
      // which take the status from the error's statusCode, 503) says when to come back.
      if (isOverloadError(error) && !res.headersSent) res.setHeader('retry-after', String(RETRY_AFTER_SECONDS));
    },
    settle: (status) => settle(status),
    isDisconnectError: (error) =>
      RequestAbortedError.is(error) ||
      (ScopeEndedError.is(error) && (RequestAbortedError.is(error.reason) || (clientGone && error.reason === undefined))),
  };
  requestScopes.set(req, scope);
  scopesById.set(handle.id, scope);
  const observed: ObservedRequest | undefined =
    requestObservers.size > 0 ? { scopeId: handle.id, req, res, startedAt: Date.now(), scope } : undefined;
  if (observed) for (const o of requestObservers) o.started(observed);
  const end = (): Promise<void> => {
    scopesById.delete(handle.id);
    // A client that went away is the scope's end reason: its signal carries it, and so does the
    // ScopeEndedError of any statement the handler issues afterwards.
    return handle.end(clientGone ? controller.signal.reason : undefined).then(() => {
      if (observed) for (const o of requestObservers) o.ended(observed);
    });
  };
  const closed = (): void => {
    // 'close' after 'finish' is a normal end; before it, the client went away: tell the handler
    // (its signal) before its scope ends.
    if (res.writableFinished) return;
    clientGone = true;
    controller.abort(new RequestAbortedError(options.name(req)));
  };
  if (!options.atomic) {
    res.once('close', () => {
      closed();
      void end();
    });
    handle.run(proceed);
    return scope;
  }
  const using = options.atomic.using;
  let decide!: (commit: boolean) => void;
  const decided = new Promise<boolean>((resolve) => (decide = resolve));
  const block = handle.run(() =>
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
  const settledBlock = block.then(
    () => undefined,
    (err: unknown) => {
      if (!clientGone) connections.emit('error', { error: err, alias: using, scopeId: handle.id });
      throw err;
    },
  );
  settledBlock.catch(() => undefined);
  settle = (status) => {
    decide(failure === undefined && !options.rollbackWhen(status));
    return settledBlock;
  };
  res.once('close', () => {
    closed();
    if (clientGone) {
      // End the scope before anything else: from now on no statement of this request can start
      // (a handler that does not know yet gets ScopeEndedError); the one in flight finishes, then
      // the transaction is rolled back and the connection released. Deciding first would leave a
      // window between the ROLLBACK and the scope's end in which the handler's next statement
      // would run on the connection in autocommit, and commit.
      const ended = end();
      decide(false);
      void settledBlock.catch(() => undefined).finally(() => ended);
      return;
    }
    decide(false); // no-op: a finished response decided in settle()
    void settledBlock.catch(() => undefined).finally(end);
  });
  return scope;
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
