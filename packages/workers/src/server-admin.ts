/**
 * The pool's own short-lived connections, in the pool's thread: reading the server's connection
 * limits at start, and closing a dead worker's connections the server still runs. The SQL is the
 * backends' (`admin.limits`, `admin.terminate` of `@spool/connections`); this file only decides
 * which connection runs it.
 *
 * They go through a private `ConnectionHandler` (`maxAge: 0`, one connection per alias, closed
 * at the end of each scope) that draws on the pool's process-wide budget: so even these count
 * against `workers × perWorker` and never push the server-side count above it.
 * @internal
 */
import {
  ConnectionHandler,
  PoolExhaustedError,
  type BackendAdmin,
  type DatabaseSettings,
  type Logger,
  type ServerLimits,
  type SharedBudget,
} from '@spool/connections';

/**
 * How long a kill waits for a unit of the budget before going without. Workers holding idle
 * connections give theirs back at once (budget pressure); a busy pool frees one at its next task end.
 */
const BUDGET_WAIT_MS = 1000;

/** What the pool learnt about one alias's server limits, and how it compares with the pool. */
export interface CapacityReport {
  alias: string;
  /** `'PostgreSQL'` or `'MariaDB/MySQL'`; SQLite has no server limit and gets no report. */
  vendor: string;
  /** At most this many connections of the pool at once: min(workers × perWorker, budget). */
  planned: number;
  /** The most connections the server accepts for this user, all clients together. */
  limit: number;
  /** What sets `limit`, in words. */
  limitSource: string;
  /** Connections of this user (PostgreSQL: of the server when it is the tighter limit) open at the check, other than the check's own. */
  inUse: number;
  /** `planned <= limit - inUse`. */
  ok: boolean;
  /** The warning given when not ok. */
  warning?: string;
}

export class ServerAdmin {
  private handler: ConnectionHandler | undefined;
  private unbudgeted: ConnectionHandler | undefined;

  constructor(
    private readonly databases: Record<string, DatabaseSettings>,
    private readonly budget: SharedBudget | undefined,
    private readonly logger: Logger | undefined,
  ) {}

  /** The budgeted handler: its connection takes a unit of the pool's budget (waiting at most `BUDGET_WAIT_MS`). */
  private h(): ConnectionHandler {
    if (!this.handler) this.handler = this.create(true);
    return this.handler;
  }

  private create(budgeted: boolean): ConnectionHandler {
    const databases: Record<string, DatabaseSettings> = {};
    for (const [alias, db] of Object.entries(this.databases)) {
      databases[alias] = {
        ...db,
        max: 1,
        maxAge: 0,
        healthChecks: false,
        leakThresholdMs: null,
        pin: 'scope',
        idleTimeoutMs: 1000,
        ...(budgeted && this.budget ? { acquireTimeoutMs: BUDGET_WAIT_MS } : {}),
      };
    }
    // A private handler: it must not answer process-wide stats requests or budget pressure.
    const h = new ConnectionHandler({ control: false });
    h.configure({
      databases,
      captureStacks: false,
      ...(budgeted && this.budget ? { sharedBudget: this.budget } : {}),
      ...(this.logger ? { logger: this.logger } : {}),
    });
    return h;
  }

  /** The server's connection limits for the alias's user; undefined when it has no server (SQLite). */
  async limits(alias: string): Promise<ServerLimits | undefined> {
    const h = this.h();
    const admin = h.backend(alias).admin;
    if (admin === undefined) return undefined;
    return h.scope(() => admin.limits((sql, bindings) => h.query(alias, sql, bindings)));
  }

  /**
   * End server connections a dead worker left open (`ids` of `alias`) with the backend's
   * `admin.terminate` (only those still live for this user are touched). Resolves with the number ended.
   * `budgeted: false` (the pool is closing) goes outside the budget at once.
   */
  async kill(alias: string, ids: readonly number[], budgeted = true): Promise<number> {
    if (ids.length === 0 || this.h().backend(alias).admin === undefined) return 0;
    if (!budgeted) {
      if (!this.unbudgeted) this.unbudgeted = this.create(false);
      return this.killWith(this.unbudgeted, alias, ids);
    }
    try {
      return await this.killWith(this.h(), alias, ids);
    } catch (err) {
      if (!PoolExhaustedError.is(err)) throw err;
      // Nobody gave a unit back in time (a budget of 1, or every worker busy in long tasks):
      // close them anyway, outside the budget. The dead worker's units are still held, so the
      // count can pass the budget by this one connection, for the few ms the kill takes.
      if (!this.unbudgeted) this.unbudgeted = this.create(false);
      return this.killWith(this.unbudgeted, alias, ids);
    }
  }

  private killWith(h: ConnectionHandler, alias: string, ids: readonly number[]): Promise<number> {
    const admin = h.backend(alias).admin as BackendAdmin;
    return h.scope(() => admin.terminate((sql, bindings) => h.query(alias, sql, bindings), ids));
  }

  async close(): Promise<void> {
    const handlers = [this.handler, this.unbudgeted];
    this.handler = undefined;
    this.unbudgeted = undefined;
    for (const h of handlers) if (h) await h.shutdown({ deadlineMs: 1000 });
  }
}
