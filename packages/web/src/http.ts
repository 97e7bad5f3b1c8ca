/**
 * Plain `node:http`: wrap a request handler so that each request runs in its own scope.
 *
 * ### Examples
 * ```ts
 * import { createServer } from 'node:http';
 * import { withScope } from '@spool/web';
 *
 * createServer(withScope(async (req, res) => {
 *   const rows = await sql`SELECT id, name FROM author`;
 *   res.end(JSON.stringify(rows));
 * })).listen(3000);
 * ```
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { beginRequest, commitBeforeEnd, resolveOptions, type RequestScopeOptions } from './request-scope';

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => unknown;

/** Wrap `handler`: a scope per request; an error it throws becomes a 500 (and rolls back an atomic request). */
export function withScope(handler: RequestHandler, options: RequestScopeOptions = {}): (req: IncomingMessage, res: ServerResponse) => void {
  const resolved = resolveOptions(options);
  return (req, res) => {
    const scope = beginRequest(req, res, resolved, () => {
      Promise.resolve()
        .then(() => handler(req, res))
        .catch((err: unknown) => {
          if (!res.headersSent) {
            res.statusCode = 500;
            res.end('Internal Server Error');
          } else res.destroy(err as Error);
        });
    });
    if (resolved.atomic) commitBeforeEnd(res, scope);
  };
}
