/**
 * `spoolDebug()`: the opt-in debug page. Mounted under a path, it serves
 *
 * - `GET /`         the page (self-contained HTML)
 * - `GET /events`   server-sent events: a `snapshot` first, then `sample`, `request`, `leak`, `wait`
 * - `GET /snapshot` the same data as JSON, once
 *
 * It is **off unless enabled** (`enabled: true`, or `SPOOL_DEBUG=1` in the environment), and it
 * refuses non-local clients (403) unless you pass `authorize(req)`. A request that came through a
 * proxy (`X-Forwarded-For` or `Forwarded`) never counts as local.
 *
 * ### Examples
 * ```ts
 * import express from 'express';
 * import { spoolDebug, spoolMiddleware } from '@spool/web';
 *
 * const app = express();
 * app.use(spoolMiddleware());
 * app.use('/_spool', spoolDebug({ enabled: process.env.NODE_ENV !== 'production' }));
 * ```
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { connections as defaultHandler, type ConnectionHandler } from '@spool/connections';
import { DebugCollector, type DebugEvent } from './debug-collector';
import { debugPageHtml } from './debug-page';

export interface SpoolDebugOptions {
  /** Serve the page. Default: `process.env.SPOOL_DEBUG === '1'`; otherwise the handler passes (`next()`, or a 404). */
  enabled?: boolean;
  /**
   * Who may see the page. Default: local clients only (127.0.0.1, ::1, and no proxy header). A
   * function replaces that rule: return true to let the request in (e.g. check a session).
   */
  authorize?: (req: IncomingMessage) => boolean | Promise<boolean>;
  /**
   * The path the page is served under, for `node:http` (Express and Fastify strip their mount
   * path themselves). Default `'/_spool'`.
   */
  mount?: string;
  /** How often connection stats are sampled while a page is open. Default 1000 ms. */
  intervalMs?: number;
  /** Samples kept for the chart. Default 300 (5 minutes at 1 s). */
  maxSamples?: number;
  /** The handler to observe. Default: this thread's (`connections`). */
  handler?: ConnectionHandler;
  /** The page's title. */
  title?: string;
}

export type DebugRequestHandler = (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => void;

const KEYS = ['enabled', 'authorize', 'mount', 'intervalMs', 'maxSamples', 'handler', 'title'];
const LOCAL = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

/** One collector per handler, shared by every page mounted on it. */
const collectors = new WeakMap<ConnectionHandler, DebugCollector>();

/**
 * The debug page as a connect-style handler: `app.use('/_spool', spoolDebug({ enabled: true }))`
 * (Express), `spoolDebug({ enabled: true })(req, res)` for the requests under `mount`
 * (`node:http`), or `spoolDebugPlugin` (Fastify).
 */
export function spoolDebug(options: SpoolDebugOptions = {}): DebugRequestHandler & { readonly collector: DebugCollector | undefined } {
  const o = validate(options);
  const enabled = o.enabled ?? process.env.SPOOL_DEBUG === '1';
  const mount = (o.mount ?? '/_spool').replace(/\/+$/, '');
  const handler = o.handler ?? defaultHandler;
  let collector: DebugCollector | undefined;
  if (enabled) {
    collector = collectors.get(handler);
    if (!collector) {
      collector = new DebugCollector(handler, {
        intervalMs: o.intervalMs ?? 1000,
        maxSamples: o.maxSamples ?? 300,
        maxRequests: 50,
        maxQueriesPerRequest: 100,
        ignore: isDebugRequest,
      });
      collectors.set(handler, collector);
    }
  }
  const page = debugPageHtml(o.title);
  const serve: DebugRequestHandler = (req, res, next) => {
    if (!collector) {
      if (next) return next();
      res.statusCode = 404;
      res.end();
      return;
    }
    markDebugRequest(req);
    const c = collector;
    void allowed(req, o.authorize).then(
      (ok) => {
        if (!ok) return refuse(res, o.authorize !== undefined);
        route(req, res, subPath(req, mount), c, page);
      },
      (err: unknown) => (next ? next(err) : refuse(res, true)),
    );
  };
  return Object.assign(serve, { collector });
}

function route(req: IncomingMessage, res: ServerResponse, path: string, collector: DebugCollector, page: string): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD' }).end();
    return;
  }
  if (path === '' && !res.headersSent) {
    // The page's relative URLs ('events') need the trailing slash.
    const original = (req as { originalUrl?: string }).originalUrl ?? req.url ?? '/';
    const [pathname, query] = original.split('?');
    res.writeHead(301, { location: `${pathname}/${query ? `?${query}` : ''}` }).end();
    return;
  }
  if (path === '/') {
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      // Everything is inline; nothing may be loaded from elsewhere.
      'content-security-policy':
        "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'; img-src data:",
      'x-content-type-options': 'nosniff',
    });
    res.end(req.method === 'HEAD' ? undefined : page);
    return;
  }
  if (path === '/snapshot') {
    void collector.sample().then(() => {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
      res.end(JSON.stringify(collector.snapshot()));
    });
    return;
  }
  if (path === '/events') {
    streamEvents(req, res, collector);
    return;
  }
  res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found: the debug page serves /, /events and /snapshot.');
}

function streamEvents(req: IncomingMessage, res: ServerResponse, collector: DebugCollector): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  const send = (event: string, data: unknown): void => void res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  send('snapshot', collector.snapshot());
  const unsubscribe = collector.subscribe((e: DebugEvent) => send(e.type, e.data));
  void collector.sample(); // a first sample now rather than after one interval
  const heartbeat = setInterval(() => void res.write(': keep-alive\n\n'), 15_000);
  heartbeat.unref();
  const stop = (): void => {
    clearInterval(heartbeat);
    unsubscribe();
  };
  req.once('close', stop);
  res.once('close', stop);
}

async function allowed(req: IncomingMessage, authorize: SpoolDebugOptions['authorize']): Promise<boolean> {
  if (authorize) return (await authorize(req)) === true;
  const proxied = req.headers['x-forwarded-for'] !== undefined || req.headers.forwarded !== undefined;
  return !proxied && LOCAL.has(req.socket.remoteAddress ?? '');
}

function refuse(res: ServerResponse, custom: boolean): void {
  if (res.headersSent) return void res.destroy();
  res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(
    custom
      ? 'Forbidden: the authorize() check given to spoolDebug() refused this request.'
      : 'Forbidden: the Spool debug page only answers local clients (127.0.0.1, ::1, not through a proxy). Pass spoolDebug({ authorize(req) { … } }) to let others in.',
  );
}

/** The path below the page's mount point: '' (the mount itself), '/', '/events', … */
function subPath(req: IncomingMessage, mount: string): string {
  const url = (req.url ?? '/').split('?')[0] as string;
  // Express and Fastify (through the plugin) give the path below their mount point.
  if ((req as { baseUrl?: string }).baseUrl !== undefined || (req as { spoolDebugPath?: string }).spoolDebugPath !== undefined) {
    const own = (req as { spoolDebugPath?: string }).spoolDebugPath;
    if (own !== undefined) return own;
    const original = ((req as { originalUrl?: string }).originalUrl ?? '').split('?')[0] as string;
    return url === '/' && !original.endsWith('/') ? '' : url;
  }
  if (url === mount) return '';
  return url.startsWith(`${mount}/`) ? url.slice(mount.length) : url;
}

const DEBUG_REQUEST = Symbol.for('spool.web.debugRequest');

function markDebugRequest(req: IncomingMessage): void {
  (req as unknown as Record<symbol, boolean>)[DEBUG_REQUEST] = true;
}

/** Was `req` served by the debug page (marked before its scope ends)? */
function isDebugRequest(req: IncomingMessage): boolean {
  return (req as unknown as Record<symbol, boolean>)[DEBUG_REQUEST] === true;
}

function validate(options: SpoolDebugOptions): SpoolDebugOptions {
  if (options === null || typeof options !== 'object') throw new TypeError('spoolDebug() options must be an object.');
  for (const key of Object.keys(options)) {
    if (!KEYS.includes(key)) {
      throw new TypeError(`Unknown option '${key}' for spoolDebug(). Valid options: ${KEYS.map((k) => `'${k}'`).join(', ')}.`);
    }
  }
  if (options.enabled !== undefined && typeof options.enabled !== 'boolean') {
    throw new TypeError(`spoolDebug() option 'enabled' must be a boolean, got ${typeof options.enabled}.`);
  }
  if (options.authorize !== undefined && typeof options.authorize !== 'function') {
    throw new TypeError(`spoolDebug() option 'authorize' must be a function, got ${typeof options.authorize}.`);
  }
  for (const key of ['intervalMs', 'maxSamples'] as const) {
    const v = options[key];
    if (v !== undefined && !(Number.isInteger(v) && v >= (key === 'intervalMs' ? 50 : 2))) {
      throw new TypeError(`spoolDebug() option '${key}' must be an integer >= ${key === 'intervalMs' ? 50 : 2}, got ${String(v)}.`);
    }
  }
  if (options.mount !== undefined && (typeof options.mount !== 'string' || !options.mount.startsWith('/'))) {
    throw new TypeError(`spoolDebug() option 'mount' must be a path starting with '/', got ${String(options.mount)}.`);
  }
  return options;
}

interface FastifyDebugLike {
  get(
    path: string,
    handler: (
      request: { raw: IncomingMessage; url: string; params: unknown },
      reply: { raw: ServerResponse; hijack(): unknown; callNotFound(): unknown },
    ) => unknown,
  ): unknown;
}

/**
 * The debug page for Fastify: `await app.register(spoolDebugPlugin, { prefix: '/_spool', enabled: true })`.
 * Options as `spoolDebug()`'s (without `mount`: the prefix is the mount).
 */
export function spoolDebugPlugin(fastify: FastifyDebugLike, options: SpoolDebugOptions, done: (err?: Error) => void): void {
  let handle: ReturnType<typeof spoolDebug>;
  try {
    const own: Record<string, unknown> = {};
    for (const key of KEYS) if (key !== 'mount' && key in (options ?? {})) own[key] = (options as Record<string, unknown>)[key];
    handle = spoolDebug(own as SpoolDebugOptions);
  } catch (err) {
    done(err as Error);
    return;
  }
  const serve =
    (path: string) => (request: { raw: IncomingMessage }, reply: { raw: ServerResponse; hijack(): unknown; callNotFound(): unknown }) => {
      if (!handle.collector) return reply.callNotFound();
      reply.hijack();
      (request.raw as { spoolDebugPath?: string }).spoolDebugPath = path;
      handle(request.raw, reply.raw);
      return undefined;
    };
  fastify.get('/', (request, reply) => serve(request.url.split('?')[0]?.endsWith('/') ? '/' : '')(request, reply));
  fastify.get('/*', (request, reply) => serve(`/${(request.params as Record<string, string>)['*'] ?? ''}`)(request, reply));
  done();
}
