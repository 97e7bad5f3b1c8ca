/**
 * Express (and any connect-style framework): a scope per request.
 *
 * ### Examples
 * ```ts
 * import express from 'express';
 * import { sql } from '@spool/connections';
 * import { spoolErrors, spoolMiddleware } from '@spool/web';
 *
 * const app = express();
 * app.use(spoolMiddleware({ atomicRequests: true }));
 * app.get('/authors/:id', async (req, res) => {
 *   const [author] = await sql`SELECT * FROM author WHERE id = ${Number(req.params.id)}`; // this request's connection
 *   res.json(author);
 * }); // the connection is released when the response has been sent (or the client went away)
 * app.use(spoolErrors()); // optional on Express 5: keeps client disconnects out of your error handler and logs
 * ```
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { connections } from '@spool/connections';
import { routerPublishesErrors, SPOOL_ERRORS, SPOOL_MIDDLEWARE, watchRouterErrors } from './express-error-channel';
import { answerOverloaded, beginRequest, isOverloadError, requestScopeOf, resolveOptions, type RequestScopeOptions } from './request-scope';

export type NextFunction = (err?: unknown) => void;

let warnedNoErrors = false;

/**
 * A middleware that runs the rest of the request in its own Spool scope. Register it before the
 * routes. With `atomicRequests`, an error raised by a later handler (`next(err)`, a throw, a
 * rejection) rolls the request back whatever status your error handler then sends: on Express 5
 * the middleware learns of it from the router's diagnostics channel; on Express 4 register
 * `spoolErrors()` after the routes.
 */
export function spoolMiddleware(
  options: RequestScopeOptions = {},
): (req: IncomingMessage, res: ServerResponse, next: NextFunction) => void {
  const resolved = resolveOptions(options);
  watchRouterErrors();
  let checked = false;
  const middleware = function spoolRequestScope(req: IncomingMessage, res: ServerResponse, next: NextFunction): void {
    if (!checked) {
      checked = true;
      if (resolved.atomic && !routerPublishesErrors(middleware) && !hasErrorsCompanion(req)) warnNoErrors();
    }
    // `next` runs as is (called with no argument): no function of our own per request.
    beginRequest(req, res, resolved, next);
  };
  Object.defineProperty(middleware, SPOOL_MIDDLEWARE, { value: true });
  return middleware;
}

/**
 * The companion error middleware: register it after your routes and before your own error
 * handlers. It records the error on the request's scope (so an atomic request rolls back, also on
 * Express 4 and other connect-style frameworks whose router publishes no diagnostics), and it
 * stops there the errors that only say the client went away (a statement refused because the
 * request's scope ended with the disconnect): no error handler runs for them and nothing is
 * logged, since nobody is left to answer. A `PoolExhaustedError` (the wait queue was full, or no
 * connection was free within `acquireTimeoutMs`) is answered here with `503 Service Unavailable`
 * and `Retry-After`. Every other error is passed on unchanged.
 */
export function spoolErrors(): (err: unknown, req: IncomingMessage, res: ServerResponse, next: NextFunction) => void {
  const handler = function spoolErrorHandler(err: unknown, req: IncomingMessage, res: ServerResponse, next: NextFunction): void {
    const scope = requestScopeOf(req);
    if (scope) {
      scope.fail(err);
      if (scope.isDisconnectError(err)) return;
    }
    if (isOverloadError(err)) {
      answerOverloaded(err, res);
      return;
    }
    next(err);
  };
  Object.defineProperty(handler, SPOOL_ERRORS, { value: true });
  return handler;
}

/** Is `spoolErrors()` in the app's middleware stack (Express 4: `app._router`, 5: `app.router`)? */
function hasErrorsCompanion(req: IncomingMessage): boolean {
  const app = (req as IncomingMessage & { app?: { router?: unknown; _router?: unknown } }).app;
  const router = (app?.router ?? app?._router) as { stack?: Array<{ handle?: unknown }> } | undefined;
  return (router?.stack ?? []).some((layer) => typeof layer.handle === 'function' && SPOOL_ERRORS in layer.handle);
}

function warnNoErrors(): void {
  if (warnedNoErrors) return;
  warnedNoErrors = true;
  connections.warn(
    'spoolMiddleware({ atomicRequests }): this router does not publish handler errors (Express 4, or Express 5 with router < 2.3), so a request whose error handler answers below 500 would commit. Register app.use(spoolErrors()) after your routes and before your error handlers.',
  );
}
