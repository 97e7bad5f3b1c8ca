/**
 * The end of a thread's connections: `closeAll()` (idle ones), `shutdown()` (all, with a
 * deadline for the scopes still holding some) and `destroyAll()` (synchronously, when the thread
 * exits). See the README, "Shutdown".
 */
import type { HandlerState } from './handler-state';
import { OperationalError } from './errors';
import { messages } from './messages';
import { endOnServer } from './server-cleanup';

export interface ShutdownReport {
  /** Connections closed in all. */
  closed: number;
  /** Connections still leased at the deadline, closed anyway (transactions rolled back). */
  forced: number;
  /** The scopes that held them. */
  forcedScopes: string[];
}

/** Close this thread's idle connections, and the root scope's when not in use. Resolves with the number closed. */
export async function closeIdle(state: HandlerState): Promise<number> {
  if (state.root) await state.root.releaseIdle();
  let closed = 0;
  for (const pool of state.pools.values()) closed += await pool.closeIdle();
  return closed;
}

/**
 * Stop leasing, wait up to `deadlineMs` for scopes to release their connections, then close
 * everything (rolling back open transactions) and report what had to be forced.
 */
export async function shutdown(state: HandlerState, deadlineMs: number): Promise<ShutdownReport> {
  if (!state.settings) return { closed: 0, forced: 0, forcedScopes: [] };
  state.shuttingDown = true;
  const before = totalCloses(state);
  for (const pool of state.pools.values()) await pool.shutdown();
  const root = state.root;
  if (root) {
    root.stopTimers();
    state.root = undefined;
    await root.end();
  }
  // Poll, within the deadline, for the scopes still running to release what they hold.
  const deadline = Date.now() + deadlineMs;
  while (Date.now() < deadline && [...state.pools.values()].some((p) => p.leased().length > 0)) {
    await new Promise((r) => setTimeout(r, 10));
  }
  // The deadline is the deadline: what is still leased is closed now, all at once. A connection
  // with a statement in flight is cut off (a polite goodbye would wait for the statement) and the
  // statement is ended on the server, which would otherwise run it on; an idle one in a
  // transaction says goodbye, and the server rolls the transaction back.
  const forcedScopes: string[] = [];
  let forced = 0;
  await Promise.all(
    [...state.pools.values()].map(async (pool) => {
      const running: number[] = [];
      const closing = pool.leased().map((conn) => {
        forced += 1;
        if (conn.holder) forcedScopes.push(conn.holder.describe());
        conn.markBroken(new OperationalError(messages.shuttingDown(conn.alias), { alias: conn.alias }));
        conn.blocks.forEach((b) => (b.aborted = true));
        if (conn.busy && pool.backend.admin !== undefined) running.push(conn.serverId);
        return pool.close(conn, 'shutdown', conn.busy);
      });
      await Promise.all(closing);
      if (running.length > 0) {
        await endOnServer(pool.settings, running).catch((err: unknown) =>
          state.warn(messages.forcedCleanupFailed(pool.alias, running, (err as Error)?.message ?? String(err))),
        );
      }
    }),
  );
  const closed = totalCloses(state) - before;
  if (forced > 0) state.warn(messages.shutdownForced(forced, deadlineMs));
  state.control?.close();
  state.control = undefined;
  // Stop following new worker threads; finish ending what vanished workers left on the servers.
  state.children?.stop();
  await state.children?.settled();
  state.shared?.releaseSlot();
  state.unhookExit();
  return { closed, forced, forcedScopes };
}

/**
 * Close every connection at once, synchronously (thread exit). In a worker whose parent cleans up
 * after it (worker registry), connections with a statement in flight are left to the parent.
 */
export function destroyAll(state: HandlerState): void {
  for (const pool of state.pools.values()) pool.destroyAll(state.registry !== undefined);
  state.control?.close();
  state.shared?.releaseSlot();
}

/** Open connections of every alias (leased and idle). */
export function openConnections(state: HandlerState): number {
  let n = 0;
  for (const p of state.pools.values()) n += p.stats().open;
  return n;
}

function totalCloses(state: HandlerState): number {
  let n = 0;
  for (const p of state.pools.values()) n += p.counters.closes;
  return n;
}
