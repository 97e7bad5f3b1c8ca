/**
 * Cleaning up after worker threads nobody linked: a plain piscina pool or a plain `Worker` whose
 * file configures Spool itself and uses `task()` / `scope()`. When such a worker is terminated
 * mid-query (`pool.destroy()`, `worker.terminate()`), its socket dies with it, but the server
 * runs the statement on: MariaDB/MySQL to its end, PostgreSQL until `client_connection_check_interval`
 * notices. `prepareWorker()` and `@spool/workers` link their workers through a shared registry;
 * this covers the others:
 *
 * - a worker's handler announces each server connection it opens and closes over the
 *   process-wide control channel (`ControlChannel.announce`), with what is needed to reach the
 *   server again (client and connection settings, when they can be cloned);
 * - the thread that created the worker (its handler, once configured) learns of every `Worker`
 *   created in it through Node's `worker_threads` diagnostics channel, and follows its `exit`;
 * - when the worker is gone, that thread ends on the server the connections the worker still
 *   had (the backend's `admin.terminate`, which touches only live connections of the same user),
 *   on a short-lived connection of its own. An announcement that arrives after the exit (the
 *   channel is asynchronous) is acted on at once.
 *
 * Not part of the public API. See the README, "Workers".
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { Worker } from 'node:worker_threads';
import { messages } from './messages';
import { endOnServer } from './server-cleanup';
import type { DriverName, ResolvedDatabaseSettings } from './settings';
import type { SharedBudget } from './shared-budget';

/** Where a connection lives: enough to reach its server again. */
export interface ConnectionTarget {
  readonly client: ResolvedDatabaseSettings['client'];
  readonly driver: DriverName;
  readonly connection: string | Record<string, unknown>;
  readonly connectTimeoutMs: number;
}

/** A worker's announcement of one server connection. */
export interface ConnectionAnnouncement {
  readonly from: number;
  readonly op: 'open' | 'close';
  readonly alias: string;
  readonly serverId: number;
  /** Absent when the settings could not be cloned (a password function): the parent's own settings for the alias are used. */
  readonly target?: ConnectionTarget | undefined;
}

/** How long after a worker's exit its connections are ended: announcements still in flight arrive first. */
const GRACE_MS = 30;
/** How many exited threads are remembered, for announcements that arrive late. */
const REMEMBER_DEAD = 1024;

export class ChildThreads {
  /** Threads created in this thread and still running. */
  private readonly children = new Set<number>();
  /** Children that exited (most recent last), for late announcements. */
  private readonly dead = new Set<number>();
  /** The server connections each child announced and did not close, by `alias:serverId`. */
  private readonly open = new Map<number, Map<string, ConnectionAnnouncement>>();
  private readonly onWorker = (message: unknown): void => this.follow((message as { worker?: Worker })?.worker);
  private watching = false;
  /** Clean-ups in progress (for tests and shutdown). */
  private readonly pending = new Set<Promise<void>>();

  constructor(
    /** The parent's own settings of an alias, for announcements without a target. */
    private readonly ownSettings: (alias: string) => ResolvedDatabaseSettings | undefined,
    private readonly warn: (message: string) => void,
    /** The process-wide budget of this thread, whose units a vanished child gives back. */
    private readonly budget: () => SharedBudget | undefined = () => undefined,
  ) {}

  /** Follow the workers created in this thread from now on. */
  start(): void {
    if (this.watching) return;
    this.watching = true;
    subscribe('worker_threads', this.onWorker);
  }

  /** Stop following (the handler shut down or was reconfigured). Clean-ups in progress finish. */
  stop(): void {
    if (!this.watching) return;
    this.watching = false;
    unsubscribe('worker_threads', this.onWorker);
  }

  /** Wait for the clean-ups in progress. */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /** A worker announced a connection (every thread hears it; only its parent acts on it). */
  announced(a: ConnectionAnnouncement): void {
    if (!this.children.has(a.from) && !this.dead.has(a.from)) return;
    const key = `${a.alias}:${a.serverId}`;
    if (a.op === 'close') {
      this.open.get(a.from)?.delete(key);
      return;
    }
    if (this.dead.has(a.from)) {
      // It opened the connection, then died before its parent heard of it.
      this.track(this.end([a]));
      return;
    }
    let conns = this.open.get(a.from);
    if (conns === undefined) this.open.set(a.from, (conns = new Map()));
    conns.set(key, a);
  }

  private follow(worker: Worker | undefined): void {
    if (worker === undefined || !this.watching) return;
    const tid = worker.threadId;
    this.children.add(tid);
    worker.once('exit', () => {
      this.children.delete(tid);
      this.dead.add(tid);
      if (this.dead.size > REMEMBER_DEAD) this.dead.delete(this.dead.values().next().value as number);
      const timer = setTimeout(() => {
        // Its budget units, if it died holding some (a thread that closed its connections freed its
        // slot itself): a sandboxed processor thread of a job queue (BullMQ's useWorkerThreads),
        // which nobody linked with prepareWorker(), gives them back too.
        this.budget()?.reclaim(tid);
        const left = [...(this.open.get(tid)?.values() ?? [])];
        this.open.delete(tid);
        if (left.length > 0) this.track(this.end(left));
      }, GRACE_MS);
      timer.unref();
    });
  }

  private track(p: Promise<void>): void {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  /** End the announced connections on their servers, one short-lived connection per server and user. */
  private async end(list: readonly ConnectionAnnouncement[]): Promise<void> {
    const groups = new Map<string, { settings: ResolvedDatabaseSettings; ids: number[] }>();
    for (const a of list) {
      const settings = this.settingsFor(a);
      if (settings === undefined) continue;
      const key = JSON.stringify([settings.driver, settings.connection]);
      let g = groups.get(key);
      if (g === undefined) groups.set(key, (g = { settings, ids: [] }));
      g.ids.push(a.serverId);
    }
    await Promise.all(
      [...groups.values()].map(async ({ settings, ids }) => {
        try {
          await endOnServer(settings, ids);
        } catch (err) {
          this.warn(messages.childCleanupFailed(settings.alias, ids, (err as Error)?.message ?? String(err)));
        }
      }),
    );
  }

  private settingsFor(a: ConnectionAnnouncement): ResolvedDatabaseSettings | undefined {
    const own = this.ownSettings(a.alias);
    if (a.target === undefined) return own;
    const base: ResolvedDatabaseSettings = own ?? {
      alias: a.alias,
      client: a.target.client,
      driver: a.target.driver,
      connection: a.target.connection,
      maxAge: 0,
      max: 1,
      acquireTimeoutMs: 5000,
      maxWaiting: null,
      connectTimeoutMs: a.target.connectTimeoutMs,
      healthChecks: false,
      idleTimeoutMs: null,
      leakThresholdMs: null,
      pin: 'scope',
      initSql: [],
      prepareThreshold: null,
      pooler: null,
      test: {},
      inMemory: false,
    };
    return {
      ...base,
      client: a.target.client,
      driver: a.target.driver,
      connection: a.target.connection,
      connectTimeoutMs: a.target.connectTimeoutMs,
      initSql: [],
      prepareThreshold: null,
    };
  }
}

/** The target of a connection opened with `settings`, or undefined when it cannot cross threads. */
export function targetOf(settings: ResolvedDatabaseSettings): ConnectionTarget | undefined {
  const target: ConnectionTarget = {
    client: settings.client,
    driver: settings.driver,
    connection: settings.connection,
    connectTimeoutMs: settings.connectTimeoutMs,
  };
  try {
    structuredClone(target);
    return target;
  } catch {
    return undefined;
  }
}
