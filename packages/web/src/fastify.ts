/**
 * Fastify: a plugin that gives every request its own scope (registered without encapsulation,
 * so it covers every route).
 *
 * ### Examples
 * ```ts
 * import Fastify from 'fastify';
 * import { sql } from '@spool/connections';
 * import { spoolPlugin } from '@spool/web';
 *
 * const app = Fastify();
 * await app.register(spoolPlugin, { atomicRequests: true });
 * app.get('/authors', async () => sql`SELECT id, name FROM author`);
 * ```
 * With `atomicRequests`, the transaction commits in `onSend`, before the reply is sent; a failed
 * COMMIT becomes an error reply. An error from the handler or a hook (Fastify's `onError`) rolls
 * the request back, whatever status your error handler then sends. A `PoolExhaustedError` (the
 * wait queue was full, or no connection was free in time) is answered `503 Service Unavailable`
 * with `Retry-After` (unless your error handler sets another status).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  beginRequest,
  isOverloadError,
  requestScopeOf,
  resolveOptions,
  RETRY_AFTER_SECONDS,
  type RequestScopeOptions,
} from './request-scope';

interface FastifyRequestLike {
  raw: IncomingMessage;
}
interface FastifyReplyLike {
  raw: ServerResponse;
  statusCode: number;
  code(status: number): unknown;
  header(name: string, value: string): unknown;
}
interface FastifyLike {
  addHook(name: 'onRequest', hook: (req: FastifyRequestLike, reply: FastifyReplyLike, done: (err?: Error) => void) => void): unknown;
  addHook(name: 'onSend', hook: (req: FastifyRequestLike, reply: FastifyReplyLike, payload: unknown) => Promise<unknown>): unknown;
  addHook(name: 'onError', hook: (req: FastifyRequestLike, reply: FastifyReplyLike, error: Error) => Promise<void>): unknown;
}

/** HTTP 499 (nginx's "client closed request"): below 500, so Fastify logs it at info level, not as an error. */
const CLIENT_CLOSED_REQUEST = 499;

/** The Fastify plugin. */
export function spoolPlugin(fastify: FastifyLike, options: RequestScopeOptions, done: (err?: Error) => void): void {
  let resolved;
  try {
    resolved = resolveOptions(stripFastifyOptions(options));
  } catch (err) {
    done(err as Error);
    return;
  }
  const opts = resolved;
  fastify.addHook('onRequest', (request, reply, next) => {
    // An atomic request's raw end waits for the block too (beginRequest), so replies written to
    // reply.raw (hijacked), which skip onSend, are settled as well.
    beginRequest(request.raw, reply.raw, opts, next);
  });
  fastify.addHook('onError', async (request, reply, error) => {
    const scope = requestScopeOf(request.raw);
    if (!scope) return;
    scope.fail(error);
    // The client went away: nobody reads this reply, and it is not a server error.
    if (scope.isDisconnectError(error)) reply.code(CLIENT_CLOSED_REQUEST);
    // The database is overloaded (queue full, or no connection in time): retry later.
    else if (isOverloadError(error)) {
      reply.code(503);
      reply.header('retry-after', String(RETRY_AFTER_SECONDS));
    }
  });
  if (opts.atomic) {
    fastify.addHook('onSend', async (request, reply, payload) => {
      await requestScopeOf(request.raw)?.settle(reply.statusCode);
      return payload;
    });
  }
  done();
}

/** Fastify passes its own keys (prefix, logLevel…) along with the plugin's options. */
function stripFastifyOptions(options: RequestScopeOptions): RequestScopeOptions {
  const given = (options ?? {}) as Record<string, unknown>;
  const own: Record<string, unknown> = {};
  for (const key of ['atomicRequests', 'rollbackWhen', 'name']) if (key in given) own[key] = given[key];
  return own as RequestScopeOptions;
}

// Like fastify-plugin: do not encapsulate, so the hooks apply to every route of the app.
Object.assign(spoolPlugin, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: '@spool/web',
});
