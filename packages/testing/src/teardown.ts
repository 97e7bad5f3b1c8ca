/**
 * Test-suite teardown (acceptance scenario 18, docs/acceptance.md): assert that no scope still holds a connection,
 * naming the scopes that do and where they leased, and that the server-side count is zero.
 */
import { connections as defaultHandler, type ConnectionHandler } from '@spool/connections';
import { handlerState, recordScopeSites } from '@spool/connections/internal';
import type { ConnectionCounter } from './connection-counter';

// The teardown check names where each scope still holding a connection was opened: record scope
// sites in this thread while the test helpers are loaded (production records them only when a
// report can use them, see `captureStacks`).
recordScopeSites(true);

export class LeakedConnectionsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LeakedConnectionsError';
  }
}

/**
 * Throw `LeakedConnectionsError` if a scope of `handler` still holds a connection (naming it and
 * its leasing stack), or if a counter still sees open connections after `graceMs`.
 */
export async function assertNoLeakedConnections(
  options: { handler?: ConnectionHandler; counters?: ConnectionCounter[]; graceMs?: number } = {},
): Promise<void> {
  const handler = options.handler ?? defaultHandler;
  const problems: string[] = [];
  if (handler.configured) {
    for (const alias of handler.aliases()) {
      const pool = handlerState(handler).pools.get(alias);
      for (const h of pool?.holders() ?? []) {
        problems.push(
          `scope #${h.scopeId}${h.scopeName ? ` '${h.scopeName}'` : ''} still holds a connection to '${alias}' (for ${h.heldForMs} ms)` +
            (h.leasedAt ? `, leased at:\n${h.leasedAt}` : ''),
        );
      }
    }
  }
  for (const counter of options.counters ?? []) {
    const n = await counter.waitForCount(0, options.graceMs ?? 2000);
    if (n !== 0) problems.push(`${n} connection(s) still open on the server for ${JSON.stringify(counter.target)}`);
  }
  if (problems.length > 0) throw new LeakedConnectionsError(`Connections leaked at teardown:\n- ${problems.join('\n- ')}`);
}
