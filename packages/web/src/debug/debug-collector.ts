/**
 * What the debug page shows, gathered in this thread: samples of `stats({ everywhere: true })`
 * (every thread, every alias) taken while a page is open, the recent requests with the queries
 * their scopes ran (from the `query` events), leaks with their stacks, and pool waits. Bounded
 * ring buffers: the collector never grows with traffic.
 * @internal
 */
import type { ConnectionHandler, LeakEvent, LeaseEvent, QueryEvent, ThreadStats } from '@spool/connections';
import { requestObservers, type ObservedRequest, type RequestObserver } from '../request-scope';

/** The figures of one alias in one thread, as the page shows them. */
export type AliasFigures = Pick<
  ThreadStats['aliases'][string],
  'open' | 'leased' | 'idle' | 'opening' | 'waiting' | 'max' | 'waits' | 'timeouts' | 'leaks' | 'queries' | 'errors'
>;

export interface ThreadSample {
  threadId: number;
  isMainThread: boolean;
  aliases: Record<string, AliasFigures>;
}

/** One reading of `stats({ everywhere: true })`. */
export interface StatsSample {
  seq: number;
  at: number;
  threads: ThreadSample[];
}

export interface QueryRecord {
  sql: string;
  durationMs: number;
  alias: string;
  connectionId: number;
  serverId: number;
  inTransaction: boolean;
  transactionControl: boolean;
  error: string | undefined;
}

export interface RequestRecord {
  id: number;
  scopeId: number;
  method: string;
  url: string;
  status: number;
  startedAt: number;
  durationMs: number;
  clientGone: boolean;
  error: string | undefined;
  queries: QueryRecord[];
  /** Queries beyond the per-request cap, counted but not kept. */
  droppedQueries: number;
}

/** A leak event as the page shows it: the event's fields (copied one by one, so what is sent is chosen here) and when. */
export interface LeakRecord extends LeakEvent {
  at: number;
}

export interface WaitRecord {
  at: number;
  alias: string;
  scopeId: number;
  waitedMs: number;
}

/** Everything a page gets when it connects. */
export interface DebugSnapshot {
  intervalMs: number;
  samples: StatsSample[];
  requests: RequestRecord[];
  leaks: LeakRecord[];
  waits: WaitRecord[];
}

export type DebugEvent =
  | { type: 'sample'; data: StatsSample }
  | { type: 'request'; data: RequestRecord }
  | { type: 'leak'; data: LeakRecord }
  | { type: 'wait'; data: WaitRecord };

export interface CollectorOptions {
  /** How often to sample stats while a page is open. Default 1000 ms. */
  intervalMs: number;
  /** Samples kept (the chart's width). Default 300. */
  maxSamples: number;
  /** Requests kept. Default 50. */
  maxRequests: number;
  /** Queries kept per request. Default 100. */
  maxQueriesPerRequest: number;
  /** Requests not to record (the debug page's own), asked when they end. */
  ignore: (req: ObservedRequest['req']) => boolean;
}

const FIGURES = ['open', 'leased', 'idle', 'opening', 'waiting', 'max', 'waits', 'timeouts', 'leaks', 'queries', 'errors'] as const;

export class DebugCollector {
  private readonly samples: StatsSample[] = [];
  private readonly requests: RequestRecord[] = [];
  private readonly leaks: LeakRecord[] = [];
  private readonly waits: WaitRecord[] = [];
  private readonly open = new Map<number, RequestRecord>();
  private readonly subscribers = new Set<(event: DebugEvent) => void>();
  private timer: NodeJS.Timeout | undefined;
  private sampling = false;
  private seq = 0;
  private nextRequestId = 0;
  private readonly observer: RequestObserver;
  private readonly onQuery = (e: QueryEvent): void => this.query(e);
  private readonly onLeak = (e: LeakEvent): void => this.leak(e);
  private readonly onLease = (e: LeaseEvent): void => this.lease(e);

  constructor(
    private readonly handler: ConnectionHandler,
    readonly options: CollectorOptions,
  ) {
    this.observer = { started: (r) => this.started(r), ended: (r) => this.ended(r) };
    requestObservers.add(this.observer);
    handler.on('query', this.onQuery);
    handler.on('leak', this.onLeak);
    handler.on('lease', this.onLease);
  }

  /** Stop listening (the collector is then inert). */
  close(): void {
    requestObservers.delete(this.observer);
    this.handler.off('query', this.onQuery);
    this.handler.off('leak', this.onLeak);
    this.handler.off('lease', this.onLease);
    this.stopSampling();
    this.subscribers.clear();
  }

  snapshot(): DebugSnapshot {
    return {
      intervalMs: this.options.intervalMs,
      samples: [...this.samples],
      requests: [...this.requests],
      leaks: [...this.leaks],
      waits: [...this.waits],
    };
  }

  /** Receive events; sampling runs while anyone is subscribed. Returns the unsubscribe function. */
  subscribe(fn: (event: DebugEvent) => void): () => void {
    this.subscribers.add(fn);
    if (!this.timer) {
      this.timer = setInterval(() => void this.sample(), this.options.intervalMs);
      this.timer.unref(); // a debug page never keeps the process alive
    }
    return () => {
      this.subscribers.delete(fn);
      if (this.subscribers.size === 0) this.stopSampling();
    };
  }

  /** Take one sample now (also what the interval does); resolves with it. */
  async sample(): Promise<StatsSample | undefined> {
    if (this.sampling) return undefined;
    this.sampling = true;
    try {
      const stats = await this.handler.stats({ everywhere: true, timeoutMs: Math.min(500, this.options.intervalMs) });
      const sample: StatsSample = {
        seq: ++this.seq,
        at: Date.now(),
        threads: stats.threads
          .filter((t) => Object.keys(t.aliases).length > 0)
          .map((t) => ({ threadId: t.threadId, isMainThread: t.isMainThread, aliases: pickFigures(t.aliases) }))
          .sort((a, b) => a.threadId - b.threadId),
      };
      push(this.samples, sample, this.options.maxSamples);
      this.broadcast({ type: 'sample', data: sample });
      return sample;
    } catch {
      return undefined; // not configured (yet, or any more): nothing to show
    } finally {
      this.sampling = false;
    }
  }

  private stopSampling(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private broadcast(event: DebugEvent): void {
    for (const fn of this.subscribers) fn(event);
  }

  private started(r: ObservedRequest): void {
    this.open.set(r.scopeId, {
      id: ++this.nextRequestId,
      scopeId: r.scopeId,
      method: r.req.method ?? 'GET',
      url: (r.req as { originalUrl?: string }).originalUrl ?? r.req.url ?? '/',
      status: 0,
      startedAt: r.startedAt,
      durationMs: 0,
      clientGone: false,
      error: undefined,
      queries: [],
      droppedQueries: 0,
    });
  }

  private ended(r: ObservedRequest): void {
    const record = this.open.get(r.scopeId);
    if (!record) return;
    this.open.delete(r.scopeId);
    // The page's own requests are known only once served (their scope opens first).
    if (this.options.ignore(r.req)) return;
    record.status = r.res.statusCode;
    record.durationMs = Date.now() - r.startedAt;
    record.clientGone = r.scope.clientGone;
    const error = r.scope.error;
    record.error = error === undefined ? undefined : error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    push(this.requests, record, this.options.maxRequests);
    this.broadcast({ type: 'request', data: record });
  }

  private query(e: QueryEvent): void {
    const record = e.scopeId === undefined ? undefined : this.open.get(e.scopeId);
    if (!record) return;
    if (record.queries.length >= this.options.maxQueriesPerRequest) {
      record.droppedQueries += 1;
      return;
    }
    record.queries.push({
      sql: e.sql,
      durationMs: Math.round(e.durationMs * 1000) / 1000,
      alias: e.alias,
      connectionId: e.connectionId,
      serverId: e.serverId,
      inTransaction: e.inTransaction,
      transactionControl: e.transactionControl,
      error: e.error ? `${e.error.name}: ${e.error.message}` : undefined,
    });
  }

  private leak(e: LeakEvent): void {
    const record: LeakRecord = {
      at: Date.now(),
      alias: e.alias,
      scopeId: e.scopeId,
      scopeName: e.scopeName,
      connectionId: e.connectionId,
      heldMs: e.heldMs,
      stack: e.stack,
    };
    push(this.leaks, record, 50);
    this.broadcast({ type: 'leak', data: record });
  }

  private lease(e: LeaseEvent): void {
    if (e.waitedMs <= 0) return;
    const record: WaitRecord = { at: Date.now(), alias: e.alias, scopeId: e.scopeId, waitedMs: Math.round(e.waitedMs) };
    push(this.waits, record, 50);
    this.broadcast({ type: 'wait', data: record });
  }
}

function pickFigures(aliases: ThreadStats['aliases']): Record<string, AliasFigures> {
  const out: Record<string, AliasFigures> = {};
  for (const [alias, s] of Object.entries(aliases)) {
    const f = {} as Record<(typeof FIGURES)[number], number>;
    for (const key of FIGURES) f[key] = s[key];
    out[alias] = f;
  }
  return out;
}

function push<T>(list: T[], item: T, max: number): void {
  list.push(item);
  if (list.length > max) list.splice(0, list.length - max);
}
