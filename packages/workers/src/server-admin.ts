/**
 * The pool's own short-lived connections, in the pool's thread: reading the server's connection
 * limits at start, and closing a dead worker's connections the server still runs.
 *
 * They go through a private `ConnectionHandler` (`maxAge: 0`, one connection per alias, closed
 * at the end of each scope) that draws on the pool's process-wide budget: so even these count
 * against `workers × perWorker` and never push the server-side count above it.
 * @internal
 */
import { ConnectionHandler, PoolExhaustedError, type DatabaseSettings, type Logger, type SharedBudget } from '@spool/connections';

/**
 * How long a kill waits for a unit of the budget before going without. Workers holding idle
 * connections give theirs back at once (budget pressure); a busy pool frees one at its next task end.
 */
const BUDGET_WAIT_MS = 1000;

/** What the pool learnt about one alias's server limits, and how it compares with the pool. */
export interface CapacityReport {
  alias: string;
  /** `'postgresql'` or `'mysql'`; SQLite has no server limit and gets no report. */
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

export interface ServerLimits {
  vendor: string;
  limit: number;
  limitSource: string;
  inUse: number;
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

  /** The server's connection limits for the alias's user; undefined for SQLite. */
  async limits(alias: string): Promise<ServerLimits | undefined> {
    const h = this.h();
    const vendor = h.backend(alias).vendor;
    if (vendor === 'postgresql') {
      return h.scope(async () => {
        const r = (
          await h.query(
            alias,
            `SELECT current_setting('max_connections')::int AS max_connections,
                    current_setting('superuser_reserved_connections')::int AS superuser_reserved,
                    COALESCE(current_setting('reserved_connections', true), '0')::int AS reserved,
                    r.rolconnlimit AS role_limit, r.rolsuper AS superuser,
                    (SELECT datconnlimit FROM pg_database WHERE datname = current_database()) AS db_limit,
                    (SELECT count(*)::int FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()) AS in_use,
                    (SELECT count(*)::int FROM pg_stat_activity WHERE usename = current_user AND backend_type = 'client backend' AND pid <> pg_backend_pid()) AS user_in_use,
                    (SELECT count(*)::int FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()) AS db_in_use
               FROM pg_roles r WHERE r.rolname = current_user`,
            [],
          )
        ).rows[0] as Record<string, unknown>;
        const max = Number(r.max_connections);
        const reserved = r.superuser ? 0 : Number(r.superuser_reserved) + Number(r.reserved);
        const candidates: Array<{ limit: number; inUse: number; source: string }> = [
          {
            limit: max - reserved,
            inUse: Number(r.in_use),
            source: reserved > 0 ? `max_connections ${max} − ${reserved} reserved for superusers` : `max_connections ${max}`,
          },
        ];
        const role = Number(r.role_limit);
        if (role >= 0) candidates.push({ limit: role, inUse: Number(r.user_in_use), source: `the role's CONNECTION LIMIT ${role}` });
        const dbl = Number(r.db_limit);
        if (dbl >= 0) candidates.push({ limit: dbl, inUse: Number(r.db_in_use), source: `the database's CONNECTION LIMIT ${dbl}` });
        return tightest('PostgreSQL', candidates);
      });
    }
    if (vendor === 'mysql') {
      return h.scope(async () => {
        const r = (
          await h.query(
            alias,
            `SELECT @@max_connections AS max_connections, @@max_user_connections AS user_limit,
                    (SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND USER = SUBSTRING_INDEX(CURRENT_USER(), '@', 1)) AS user_in_use,
                    (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'THREADS_CONNECTED') AS threads_connected`,
            [],
          )
        ).rows[0] as Record<string, unknown>;
        const max = Number(r.max_connections);
        const candidates: Array<{ limit: number; inUse: number; source: string }> = [
          { limit: max, inUse: Math.max(0, Number(r.threads_connected ?? 1) - 1), source: `max_connections ${max}` },
        ];
        const user = Number(r.user_limit);
        if (user > 0) candidates.push({ limit: user, inUse: Number(r.user_in_use), source: `max_user_connections ${user} for this user` });
        return tightest('MariaDB/MySQL', candidates);
      });
    }
    return undefined;
  }

  /**
   * Close server connections a dead worker left open (`ids` of `alias`): PostgreSQL
   * `pg_terminate_backend(pid, 1000)` (which waits for the backend to exit), MySQL/MariaDB
   * `KILL CONNECTION`. Only connections still present on the server are touched. Resolves with
   * the number closed.
   */
  async kill(alias: string, ids: readonly number[]): Promise<number> {
    const safe = ids.filter((id) => Number.isSafeInteger(id) && id > 0);
    if (safe.length === 0 || this.h().backend(alias).vendor === 'sqlite') return 0;
    try {
      return await this.killWith(this.h(), alias, safe);
    } catch (err) {
      if (!PoolExhaustedError.is(err)) throw err;
      // Nobody gave a unit back in time (a budget of 1, or every worker busy in long tasks):
      // close them anyway, outside the budget. The dead worker's units are still held, so the
      // count can pass the budget by this one connection, for the few ms the kill takes.
      if (!this.unbudgeted) this.unbudgeted = this.create(false);
      return this.killWith(this.unbudgeted, alias, safe);
    }
  }

  private killWith(h: ConnectionHandler, alias: string, safe: readonly number[]): Promise<number> {
    const vendor = h.backend(alias).vendor;
    return h.scope(async () => {
      let killed = 0;
      for (const id of safe) {
        if (vendor === 'postgresql') {
          // Only a backend of this user still alive: a gone pid gives no warning and no row.
          const sel = `SELECT pid FROM pg_stat_activity WHERE pid = $1 AND usename = current_user`;
          const alive = (await h.query(alias, sel, [id])).rows.length > 0;
          if (!alive) continue;
          try {
            await h.query(alias, `SELECT pg_terminate_backend($1::int, 1000)`, [id]);
          } catch {
            // PostgreSQL < 14 has no timeout argument.
            await h.query(alias, `SELECT pg_terminate_backend($1::int)`, [id]);
          }
          killed += 1;
        } else {
          const sel = `SELECT ID FROM information_schema.PROCESSLIST WHERE ID = ?`;
          const alive = (await h.query(alias, sel, [id])).rows.length > 0;
          if (!alive) continue;
          try {
            // An integer checked above; KILL takes no placeholder.
            await h.query(alias, `KILL CONNECTION ${id}`, []);
            killed += 1;
          } catch {
            /* it ended meanwhile */
          }
        }
      }
      return killed;
    });
  }

  async close(): Promise<void> {
    const handlers = [this.handler, this.unbudgeted];
    this.handler = undefined;
    this.unbudgeted = undefined;
    for (const h of handlers) if (h) await h.shutdown({ deadlineMs: 1000 });
  }
}

function tightest(vendor: string, candidates: Array<{ limit: number; inUse: number; source: string }>): ServerLimits {
  let best = candidates[0] as { limit: number; inUse: number; source: string };
  for (const c of candidates) if (c.limit - c.inUse < best.limit - best.inUse) best = c;
  return { vendor, limit: best.limit, limitSource: best.source, inUse: best.inUse };
}
