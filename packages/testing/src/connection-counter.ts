/**
 * Counts a user's connections as the server sees them, from a separate monitoring connection:
 * `pg_stat_activity` on PostgreSQL, the processlist on MariaDB/MySQL, and for SQLite the open
 * file handles on the database file (in `/proc/self/fd`, which covers every thread). Leak tests
 * assert these numbers, not Spool's own counters. The monitoring connection is the driver's own
 * (not Spool's, which is what is under test); the SQL is the backends' admin part.
 */
import { readdirSync, readlinkSync } from 'node:fs';
import type { AdminQuery, BackendAdmin } from '@spool/connections';
import { backendFor } from '@spool/connections/internal';
import { mysqlDriver, pgDriver } from './drivers';
import { mysqlAdminUrl, pgAdminUrl } from './servers';

export type CounterTarget = { kind: 'postgres' | 'mysql'; user: string } | { kind: 'sqlite'; file: string };

interface Monitor {
  query: AdminQuery;
  close(): Promise<void>;
}

/** The admin part of the backend that serves `kind`. */
function adminOf(kind: 'postgres' | 'mysql'): BackendAdmin {
  return backendFor(kind === 'postgres' ? 'pg' : 'mysql2').admin as BackendAdmin;
}

export class ConnectionCounter {
  private monitor: Promise<Monitor> | undefined;

  constructor(readonly target: CounterTarget) {}

  /** Connections open now. */
  async count(): Promise<number> {
    return (await this.serverIds()).length;
  }

  /**
   * Server-side ids of the open connections (PostgreSQL pids, MySQL thread ids; for SQLite the
   * file descriptor numbers).
   */
  async serverIds(): Promise<number[]> {
    const t = this.target;
    if (t.kind === 'sqlite') return sqliteHandles(t.file);
    const m = await this.connect();
    return adminOf(t.kind).connections(m.query, t.user);
  }

  /** Is connection `serverId` running a statement now? (False for SQLite, whose statements run in JavaScript's thread.) */
  async busy(serverId: number): Promise<boolean> {
    const t = this.target;
    if (t.kind === 'sqlite') return false;
    const m = await this.connect();
    return adminOf(t.kind).busy(m.query, serverId);
  }

  /** Wait until `predicate(count)` holds, polling, up to `timeoutMs`; resolves with the last count. */
  async waitFor(predicate: (count: number) => boolean, timeoutMs = 5000, intervalMs = 25): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    let n = await this.count();
    while (!predicate(n) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, intervalMs));
      n = await this.count();
    }
    return n;
  }

  /** Wait until the count is exactly `n` (or the timeout); resolves with the last count. */
  waitForCount(n: number, timeoutMs = 5000): Promise<number> {
    return this.waitFor((c) => c === n, timeoutMs);
  }

  /**
   * Sample the count every `intervalMs` while `work` runs; resolves with the work's result and the
   * peak seen (the true peak may fall between samples; the budget tests also check `stats()`).
   *
   * `confirmAbove: n`: a sample above `n` (a budget, say) is read again at once, and only the ids
   * present in both reads count. A connection a pool really holds lives for at least a connect and
   * a statement, so it is in both; one the server lists for a moment only (a thread still tearing
   * down after its client closed, say) is not. `unconfirmed` holds the samples above `n` whose
   * confirmation read less, with the ids of both reads, for the test to report.
   */
  async peakDuring<T>(
    work: () => Promise<T>,
    intervalMs = 10,
    options: { confirmAbove?: number } = {},
  ): Promise<{ result: T; peak: number; samples: number; unconfirmed: Array<{ first: number[]; again: number[] }> }> {
    let peak = 0;
    let samples = 0;
    let running = true;
    const unconfirmed: Array<{ first: number[]; again: number[] }> = [];
    const sampler = (async () => {
      while (running) {
        const ids = await this.serverIds();
        let n = ids.length;
        samples += 1;
        if (options.confirmAbove !== undefined && n > options.confirmAbove) {
          const again = await this.serverIds();
          const both = ids.filter((id) => again.includes(id)).length;
          if (both < n) unconfirmed.push({ first: ids, again });
          n = both;
        }
        if (n > peak) peak = n;
        await new Promise((r) => setTimeout(r, intervalMs));
      }
    })();
    try {
      const result = await work();
      return { result, peak, samples, unconfirmed };
    } finally {
      running = false;
      await sampler;
    }
  }

  /**
   * End a connection of the target user server-side (`pg_terminate_backend`, waiting for the
   * backend to exit / `KILL CONNECTION`). Resolves with whether it was live and is now ended.
   */
  async terminate(serverId: number): Promise<boolean> {
    const t = this.target;
    if (t.kind === 'sqlite') throw new Error('SQLite has no server connections to terminate');
    const m = await this.connect();
    return (await adminOf(t.kind).terminate(m.query, [serverId], t.user)) === 1;
  }

  /** Close the monitoring connection. */
  async close(): Promise<void> {
    const m = this.monitor;
    this.monitor = undefined;
    if (m) await (await m).close();
  }

  private connect(): Promise<Monitor> {
    if (!this.monitor) this.monitor = openMonitor(this.target.kind as 'postgres' | 'mysql').then(serialised);
    return this.monitor;
  }
}

/** One query at a time on the monitoring connection, whatever the callers do. */
function serialised(m: Monitor): Monitor {
  let tail: Promise<unknown> = Promise.resolve();
  return {
    query: (sql, params) => {
      const run = tail.then(() => m.query(sql, params));
      tail = run.catch(() => undefined);
      return run;
    },
    close: () => tail.then(() => m.close()),
  };
}

async function openMonitor(kind: 'postgres' | 'mysql'): Promise<Monitor> {
  if (kind === 'postgres') {
    const pg = pgDriver();
    const c = new pg.Client({ connectionString: pgAdminUrl(), application_name: 'spool-monitor' });
    await c.connect();
    c.on('error', () => {});
    (c as unknown as { unref(): void }).unref();
    return {
      query: async (sql, params) => {
        (c as unknown as { ref(): void }).ref();
        try {
          return { rows: (await c.query(sql, params as unknown[])).rows };
        } finally {
          (c as unknown as { unref(): void }).unref();
        }
      },
      close: () => c.end(),
    };
  }
  const mysql = mysqlDriver();
  const c = await mysql.createConnection({ uri: mysqlAdminUrl() });
  c.on('error', () => {});
  const stream = (c as unknown as { connection: { stream: { ref(): void; unref(): void } } }).connection.stream;
  stream.unref();
  return {
    query: async (sql, params) => {
      stream.ref();
      try {
        const [rows] = await c.query(sql, params as unknown[]);
        return { rows: rows as Array<Record<string, unknown>> };
      } finally {
        stream.unref();
      }
    },
    close: () => c.end(),
  };
}

/** File descriptors of this process open on `file` (the main database file, not -wal/-shm). */
export function sqliteHandles(file: string): number[] {
  const out: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc/self/fd');
  } catch {
    return out;
  }
  for (const fd of entries) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === file) out.push(Number(fd));
    } catch {
      /* closed meanwhile */
    }
  }
  return out;
}
