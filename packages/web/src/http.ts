/**
 * Plain `node:http`: wrap a request handler so that each request runs in its own scope.
 *
 * ### Examples
 * ```ts
 * import { createServer } from 'node:http';
 * import { sql } from '@spool/connections';
 * import { withScope } from '@spool/web';
 *
 * createServer(withScope(async (req, res) => {
 *   const rows = await sql`SELECT id, name FROM author`;
 *   res.end(JSON.stringify(rows));
 * })).listen(3000);
 * ```
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  answerOverloaded,
  beginRequest,
  isOverloadError,
  requestScopeOf,
  resolveOptions,
  type RequestScope,
  type RequestScopeOptions,
} from './request-scope';

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => unknown;

/** Options of `withScope()`: the request scope's, and how to answer an error. */
export interface WithScopeOptions extends RequestScopeOptions {
  /**
   * Answer an error the handler threw or rejected with (the error handler of a plain server). It
   * runs inside the request's scope, after the error was recorded, so an atomic request rolls back
   * whatever status it sends. Default: a 500 (a 503 with `Retry-After` for a `PoolExhaustedError`),
   * or closing the connection once the response started.
   */
  onError?: ErrorHandler;
}

type ErrorHandler = (error: unknown, req: IncomingMessage, res: ServerResponse) => unknown;

/**
 * Wrap `handler`: a scope per request. An error it throws or rejects with rolls back an atomic
 * request and is answered by `onError` (default: a 500); an error that only says the client went
 * away is dropped quietly, since nobody is left to answer.
 */
export function withScope(handler: RequestHandler, options: WithScopeOptions = {}): (req: IncomingMessage, res: ServerResponse) => void {
  const { onError = answer500, ...scopeOptions } = options ?? {};
  if (typeof onError !== 'function') throw new TypeError(`Option 'onError' must be a function, got ${typeof onError}.`);
  const resolved = resolveOptions(scopeOptions);
  return (req, res) => {
    // The handler runs at once, inside the scope; what it throws or rejects with goes to `failed`.
    // One promise of ours at most (the rejection handler on an async handler's promise).
    beginRequest(req, res, resolved, () => {
      let result: unknown;
      try {
        result = handler(req, res);
      } catch (err) {
        failed(err, req, res, onError);
        return;
      }
      if (isThenable(result)) Promise.resolve(result).then(undefined, (err: unknown) => failed(err, req, res, onError));
    });
  };
}

/**
 * The handler failed: record it (an atomic request rolls back), then answer with `onError`, unless
 * the error only says the client went away (nobody is left to answer). If `onError` itself fails
 * (throws or rejects), the response cannot be trusted any more: a 500, or the socket closed.
 */
function failed(err: unknown, req: IncomingMessage, res: ServerResponse, onError: ErrorHandler): void {
  // The request's scope, registered before the handler ran (found here, on the rare failure path,
  // rather than held by a closure on every request).
  const scope = requestScopeOf(req) as RequestScope;
  let answered: unknown;
  try {
    scope.fail(err);
    if (scope.isDisconnectError(err) || res.destroyed) return;
    answered = onError(err, req, res);
  } catch {
    onErrorFailed(req, res);
    return;
  }
  if (isThenable(answered)) Promise.resolve(answered).then(undefined, () => onErrorFailed(req, res));
}

function onErrorFailed(req: IncomingMessage, res: ServerResponse): void {
  if (!res.headersSent) answer500(undefined, req, res);
  else res.destroy();
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function'
  );
}

function answer500(error: unknown, _req: IncomingMessage, res: ServerResponse): void {
  if (isOverloadError(error)) {
    answerOverloaded(error, res);
    return;
  }
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.statusCode = 500;
  res.setHeader('content-type', 'text/plain; charset=utf-8');
  res.end('Internal Server Error');
}
