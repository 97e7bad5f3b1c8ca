/**
 * Ending connections on the server from a connection of one's own: for statements whose client
 * is gone or was cut off (a vanished worker thread, a connection forced at shutdown's deadline),
 * which the server would otherwise run on (MariaDB/MySQL to their end, PostgreSQL until
 * `client_connection_check_interval` notices). Uses the backend's `admin.terminate`, which ends
 * only live connections of the connecting user. Not part of the public API.
 */
import { backendFor } from './backends';
import type { ResolvedDatabaseSettings } from './settings';

/**
 * End the server connections `ids` of the server and user of `settings`, on a short-lived
 * connection opened for it. Resolves with how many were ended; rejects when the server cannot be
 * reached. A no-op for backends without a server (SQLite).
 */
export async function endOnServer(settings: ResolvedDatabaseSettings, ids: readonly number[]): Promise<number> {
  const backend = backendFor(settings.driver);
  const admin = backend.admin;
  if (admin === undefined || ids.length === 0) return 0;
  const raw = await backend.open({ ...settings, initSql: [], prepareThreshold: null }, () => {});
  try {
    return await admin.terminate((sql, bindings) => backend.query(raw, sql, bindings), ids);
  } finally {
    await backend.close(raw);
  }
}
