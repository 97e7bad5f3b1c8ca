/**
 * The HTTP layer: an Express app. Every request runs in its own Spool scope (`spoolMiddleware`):
 * its queries share one connection, leased on the first query and released when the response has
 * been sent or the client went away. Errors are mapped to statuses in one place (http-errors.ts).
 */
import express, { type Express } from 'express';
import { spoolDebug, spoolErrors, spoolMiddleware } from '@spool/web';
import type { WorkerPool } from '@spool/workers';
import { httpErrors } from './http-errors';
import type { ConfirmOrderArgs, ConfirmOrderResult } from './jobs';
import { categories } from './routes/categories';
import { orders } from './routes/orders';
import { products } from './routes/products';

export interface AppOptions {
  /** The pool that runs background jobs (jobs.ts). */
  pool: WorkerPool<ConfirmOrderArgs, ConfirmOrderResult>;
  /** Where a failed background job is reported. Default: console.error. */
  onJobError?: (err: unknown) => void;
}

export function createApp({ pool, onJobError = (err) => console.error('[shop] background job failed:', err) }: AppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(spoolMiddleware());
  // The live connections page, at /_spool/ for local clients; on with SPOOL_DEBUG=1.
  app.use('/_spool', spoolDebug());
  app.use(express.json({ limit: '100kb' }));
  app.get('/health', (_req, res) => void res.json({ ok: true }));
  app.use('/categories', categories);
  app.use('/products', products);
  app.use('/orders', orders(pool, onJobError));
  app.use(spoolErrors()); // client disconnects stop here, out of the logs
  app.use(httpErrors());
  return app;
}
