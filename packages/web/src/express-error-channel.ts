/**
 * How `spoolMiddleware()` sees the errors of the handlers that run after it. Express routes a
 * handler's error (`next(err)`, a throw, a rejected promise) straight to the error-handling
 * middleware registered after the routes, never back through earlier middleware, so the request
 * scope cannot catch it on the way. Express 5's router (`router` >= 2.3) publishes every such
 * error, once, where it originates, on the `express.router.request` tracing channel of
 * `node:diagnostics_channel`: its public hook for observability tools. Subscribing there needs no
 * patching and no registration order, and the error is recorded before any error handler runs,
 * so an atomic request rolls back whatever status the error handler then sends.
 *
 * Older routers (Express 4) publish nothing: there, `spoolErrors()` registered after the routes
 * does the same job, and `spoolMiddleware()` warns once if it is missing.
 * @internal
 */
import diagnostics from 'node:diagnostics_channel';
import type { IncomingMessage } from 'node:http';
import { requestScopeOf } from './request-scope';

/** Marks the functions of this package, to recognise them in the router's events and stack. */
export const SPOOL_MIDDLEWARE = Symbol.for('spool.web.middleware');
export const SPOOL_ERRORS = Symbol.for('spool.web.errors');

interface RouterTraceContext {
  req: IncomingMessage;
  handler?: unknown;
  error?: unknown;
}

let subscribed = false;
/** Our middleware functions that a router announced on the channel (so it publishes its errors). */
const traced = new WeakSet<object>();

/** Subscribe once per process (the channel is process-wide; requests not ours are ignored). */
export function watchRouterErrors(): void {
  if (subscribed) return;
  subscribed = true;
  const channel = diagnostics.tracingChannel<unknown, RouterTraceContext>('express.router.request');
  channel.subscribe({
    start(ctx) {
      const handler = ctx.handler;
      if (typeof handler === 'function' && SPOOL_MIDDLEWARE in handler) traced.add(handler);
    },
    end() {},
    asyncStart() {},
    asyncEnd() {},
    error(ctx) {
      requestScopeOf(ctx.req)?.fail(ctx.error);
    },
  });
}

/**
 * Does the router that calls `middleware` publish its errors? Known from its first call: the
 * router announces a handler on the channel just before calling it.
 */
export function routerPublishesErrors(middleware: object): boolean {
  return traced.has(middleware);
}
