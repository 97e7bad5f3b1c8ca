/**
 * `stats()`: the counters and gauges of a thread per alias, and of every thread of the process
 * (gathered over the control channel) with their sum. See the README, "Observability".
 */
import { isMainThread, threadId } from 'node:worker_threads';
import type { AliasStats } from './alias-pool';
import type { HandlerState } from './handler-state';

export interface StatsOptions {
  /** Gather the stats of every thread of the process (returns a promise). */
  everywhere?: boolean;
  /** How long to wait for other threads to answer. Default 500 ms. */
  timeoutMs?: number;
}

/** Stats of one thread. */
export interface ThreadStats {
  threadId: number;
  isMainThread: boolean;
  /** Has this thread been configured (a worker not started yet reports false)? */
  configured: boolean;
  /** Scopes running now, and started in all. */
  scopes: { active: number; started: number };
  aliases: Record<string, AliasStats>;
}

/** Stats of every thread, and their sum per alias. */
export interface ProcessStats {
  threads: ThreadStats[];
  totals: Record<string, AliasStats>;
}

/** This thread's stats. */
export function threadStats(state: HandlerState): ThreadStats {
  return {
    threadId,
    isMainThread,
    configured: state.configured,
    scopes: { active: state.scopeCounts.active, started: state.scopeCounts.started },
    aliases: Object.fromEntries([...state.pools.values()].map((p) => [p.alias, p.stats()])),
  };
}

/** Every thread's stats (this one first), gathered over the control channel. */
export async function processStats(state: HandlerState, timeoutMs: number): Promise<ProcessStats> {
  const local = threadStats(state);
  const others = (await gather(state, 'stats', timeoutMs)) as ThreadStats[];
  const threads = [local, ...others];
  return { threads, totals: sumStats(threads) };
}

/** Ask every other thread of the process (no-op for a handler without the control channel). */
export async function gather(state: HandlerState, op: 'stats' | 'closeAll', timeoutMs: number): Promise<unknown[]> {
  if (!state.control) return [];
  const answers = await state.control.request(op, timeoutMs);
  return [...answers.values()];
}

/** Sum per-alias stats over threads (counters and gauges alike). */
export function sumStats(threads: readonly ThreadStats[]): Record<string, AliasStats> {
  const totals: Record<string, AliasStats> = {};
  for (const t of threads) {
    for (const [alias, s] of Object.entries(t.aliases)) {
      const acc = totals[alias];
      if (!acc) {
        totals[alias] = { ...s };
        continue;
      }
      for (const key of Object.keys(s) as Array<keyof AliasStats>) {
        if (key === 'alias') continue;
        (acc[key] as number) += s[key] as number;
      }
    }
  }
  return totals;
}
