/**
 * One scope per request (see README.md): opened when the request arrives, ended exactly once when the
 * response has been sent or the client went away — also for streamed responses. With
 * `atomicRequests`, the request runs in `atomic()` (Django's `ATOMIC_REQUESTS`): committed before
 * the response is completed, rolled back when the status says the request failed or the client
 * disconnected first.
 * @internal
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { atomic, connections, openScope, setRollback, type ScopeHandle } from '@spool/connections';

/** Options shared by every integration. */
export interface RequestScopeOptions {
  /**
   * Run each request in `atomic()`: commit before the response completes, roll back when
   * `rollbackWhen(status)` says so (default: status >= 500) or the client disconnects first.
   * `{ using: 'other' }` picks the alias. Default false.
   */
  atomicRequests?: boolean | { using?: string };
  /** Roll back an atomic request with this final status. Default: `status >= 500`. */
  rollbackWhen?: (status: number) => boolean;
  /** The scope's name, shown in leak reports and `PoolExhaustedError`. Default: `'METHOD /path'`. */
  name?: (req: IncomingMessage) => string;
}

export interface ResolvedRequestOptions {
  atomic: { using: string } | undefined;
  rollbackWhen: (status: number) => boolean;
  name: (req: IncomingMessage) => string;
}

const KEYS = ['atomicRequests', 'rollbackWhen', 'name'];

export function resolveOptions(options: RequestScopeOptions = {}): ResolvedRequestOptions {
  for (const key of Object.keys(options)) {
    if (!KEYS.includes(key)) {
      throw new TypeError(`Unknown option '${key}' for the Spool request scope. Valid options: ${KEYS.map((k) => `'${k}'`).join(', ')}.`);
    }
  }
  const a = options.atomicRequests;
  if (a !== undefined && typeof a !== 'boolean' && (typeof a !== 'object' || a === null)) {
    throw new TypeError(`Option 'atomicRequests' must be a boolean or { using: alias }, got ${typeof a}.`);
  }
  for (const key of ['rollbackWhen', 'name'] as const) {
    if (options[key] !== undefined && typeof options[key] !== 'function') {
      throw new TypeError(`Option '${key}' must be a function, got ${typeof options[key]}.`);
    }
  }
  return {
    atomic: a ? { using: (typeof a === 'object' && a.using) || 'default' } : undefined,
    rollbackWhen: options.rollbackWhen ?? ((status) => status >= 500),
    name: options.name ?? ((req) => `${req.method ?? 'GET'} ${(req.url ?? '/').split('?')[0]}`),
  };
}

/** What an integration gets back to finish the request's atomic block before sending. */
export interface RequestScope {
  readonly handle: ScopeHandle;
  /**
   * For atomic requests: decide commit/rollback from the final status and wait for it, before
   * the response completes. Resolves at once for plain requests. Rejects when COMMIT failed.
   */
  settle(status: number): Promise<void>;
}

/**
 * Open the request's scope and run `proceed` (the rest of the request) inside it, and inside its
 * atomic block when configured. The scope ends when `res` closes (sent or aborted), after the
 * atomic block settled.
 */
export function beginRequest(
  req: IncomingMessage,
  res: ServerResponse,
  options: ResolvedRequestOptions,
  proceed: () => unknown,
): RequestScope {
  const handle = openScope({ name: options.name(req) });
  if (!options.atomic) {
    res.once('close', () => void handle.end());
    handle.run(proceed);
    return { handle, settle: () => Promise.resolve() };
  }
  const using = options.atomic.using;
  let decide!: (commit: boolean) => void;
  const decided = new Promise<boolean>((resolve) => (decide = resolve));
  const block = handle.run(() =>
    atomic(
      async () => {
        proceed();
        if (!(await decided)) setRollback(true, { using });
      },
      { using },
    ),
  );
  // The request's own error path reports it; here it only must not be unhandled.
  const settledBlock = block.then(
    () => undefined,
    (err: unknown) => {
      connections.emit('error', { error: err, alias: using, scopeId: handle.id });
      throw err;
    },
  );
  settledBlock.catch(() => undefined);
  res.once('close', () => {
    decide(false); // no-op when already decided; a client that went away first rolls back
    void settledBlock.catch(() => undefined).finally(() => handle.end());
  });
  return {
    handle,
    settle(status) {
      decide(!options.rollbackWhen(status));
      return settledBlock;
    },
  };
}

/**
 * Delay `res.end()` until the atomic block settled (committed or rolled back), so that a client
 * never sees a success whose transaction did not commit. If COMMIT fails and nothing was sent
 * yet, the response becomes a 500.
 */
export function commitBeforeEnd(res: ServerResponse, scope: RequestScope): void {
  const end = res.end;
  let called = false;
  res.end = function patchedEnd(this: ServerResponse, ...args: unknown[]) {
    if (called) return (end as (...a: unknown[]) => ServerResponse).apply(this, args);
    called = true;
    res.end = end;
    scope.settle(res.statusCode).then(
      () => (end as (...a: unknown[]) => ServerResponse).apply(res, args),
      () => {
        if (!res.headersSent) {
          res.statusCode = 500;
          res.setHeader('content-type', 'text/plain; charset=utf-8');
          (end as (chunk: string) => ServerResponse).call(res, 'Internal Server Error: the transaction could not be committed.');
        } else (end as () => ServerResponse).call(res);
      },
    );
    return res;
  } as typeof res.end;
}
