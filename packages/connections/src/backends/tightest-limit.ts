import type { ServerLimits } from './backend';

/** One limit a server applies, with the connections that count against it now. */
export interface LimitCandidate {
  limit: number;
  inUse: number;
  source: string;
}

/** The limit with the least room left (the first one given wins a tie). */
export function tightestLimit(vendor: string, candidates: readonly [LimitCandidate, ...LimitCandidate[]]): ServerLimits {
  let best = candidates[0];
  for (const c of candidates) if (c.limit - c.inUse < best.limit - best.inUse) best = c;
  return { vendor, limit: best.limit, limitSource: best.source, inUse: best.inUse };
}

/** Ids that can name a server connection (positive safe integers), so they are safe in SQL text too. */
export function serverIds(ids: readonly number[]): number[] {
  return ids.filter((id) => Number.isSafeInteger(id) && id > 0);
}
