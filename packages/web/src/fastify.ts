/**
 * Fastify: a plugin that gives every request its own scope (registered without encapsulation,
 * so it covers every route).
 *
 * ### Examples
 * ```ts
 * import Fastify from 'fastify';
 * import { spoolPlugin } from '@spool/web';
 *
 * const app = Fastify();
 * await app.register(spoolPlugin, { atomicRequests: true });
 * app.get('/authors', async () => sql`SELECT id, name FROM author`);
 * ```
 * With `atomicRequests`, the transaction commits in `onSend`, before the reply is sent; a failed
 * COMMIT becomes an error reply.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { beginRequest, commitBeforeEnd, resolveOptions, type RequestScope, type RequestScopeOptions } from './request-scope';

interface FastifyRequestLike {
  raw: IncomingMessage;
}
interface FastifyReplyLike {
  raw: ServerResponse;
  statusCode: number;
}
interface FastifyLike {
  addHook(name: 'onRequest', hook: (req: FastifyRequestLike, reply: FastifyReplyLike, done: (err?: Error) => void) => void): unknown;
  addHook(name: 'onSend', hook: (req: FastifyRequestLike, reply: FastifyReplyLike, payload: unknown) => Promise<unknown>): unknown;
}

const scopes = new WeakMap<object, RequestScope>();

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
    const scope = beginRequest(request.raw, reply.raw, opts, () => next());
    scopes.set(request, scope);
    // Replies written to reply.raw (hijacked) skip onSend: settle before the raw end too.
    if (opts.atomic) commitBeforeEnd(reply.raw, scope);
  });
  if (opts.atomic) {
    fastify.addHook('onSend', async (request, reply, payload) => {
      await scopes.get(request)?.settle(reply.statusCode);
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
