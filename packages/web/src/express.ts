/**
 * Express (and any connect-style framework): a scope per request.
 *
 * ### Examples
 * ```ts
 * import express from 'express';
 * import { spoolMiddleware } from '@spool/web';
 *
 * const app = express();
 * app.use(spoolMiddleware({ atomicRequests: true }));
 * app.get('/authors/:id', async (req, res) => {
 *   const [author] = await sql`SELECT * FROM author WHERE id = ${req.params.id}`; // this request's connection
 *   res.json(author);
 * }); // the connection is released when the response has been sent (or the client went away)
 * ```
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { beginRequest, commitBeforeEnd, resolveOptions, type RequestScopeOptions } from './request-scope';

export type NextFunction = (err?: unknown) => void;

/** A middleware that runs the rest of the request in its own Spool scope. */
export function spoolMiddleware(
  options: RequestScopeOptions = {},
): (req: IncomingMessage, res: ServerResponse, next: NextFunction) => void {
  const resolved = resolveOptions(options);
  return function spoolRequestScope(req, res, next) {
    const scope = beginRequest(req, res, resolved, () => next());
    if (resolved.atomic) commitBeforeEnd(res, scope);
  };
}
