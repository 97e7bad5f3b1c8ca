/**
 * @spool/web: every web request gets its own Spool scope, ended exactly once when the response
 * has been sent or the client disconnected; `atomicRequests` wraps requests in `atomic()`.
 */
export { spoolErrors, spoolMiddleware, type NextFunction } from './express';
export { spoolPlugin } from './fastify';
export { withScope, type RequestHandler, type WithScopeOptions } from './http';
export { requestSignal, type RequestScopeOptions } from './request-scope';
export { RequestAbortedError } from './request-aborted-error';
export { spoolDebug, spoolDebugPlugin, type DebugRequestHandler, type SpoolDebugOptions } from './debug/spool-debug';
export type {
  DebugSnapshot,
  RequestRecord,
  QueryRecord,
  LeakRecord,
  WaitRecord,
  StatsSample,
  ThreadSample,
  AliasFigures,
} from './debug/debug-collector';
