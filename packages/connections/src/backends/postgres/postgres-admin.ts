/**
 * PostgreSQL server administration: backend pids from `pg_stat_activity`, `pg_terminate_backend`,
 * and the connection limits that apply to the connecting role (`max_connections` less the
 * reserved slots, the role's and the database's `CONNECTION LIMIT`).
 */
import type { BackendAdmin, ServerLimits } from '../backend';
import { serverIds, tightestLimit, type LimitCandidate } from '../tightest-limit';

const CLIENTS = `backend_type = 'client backend' AND pid <> pg_backend_pid()`;

export const postgresAdmin: BackendAdmin = {
  connectionIdSql: 'SELECT pg_backend_pid() AS id',

  async serverVersion(query) {
    const { rows } = await query('SHOW server_version', []);
    return String(rows[0]?.server_version);
  },

  async connections(query, user) {
    const { rows } =
      user === undefined
        ? await query(`SELECT pid FROM pg_stat_activity WHERE usename = current_user AND ${CLIENTS} ORDER BY pid`, [])
        : await query(`SELECT pid FROM pg_stat_activity WHERE usename = $1 AND ${CLIENTS} ORDER BY pid`, [user]);
    return rows.map((r) => Number(r.pid));
  },

  async busy(query, pid) {
    const { rows } = await query(`SELECT pid FROM pg_stat_activity WHERE pid = $1 AND state = 'active'`, [pid]);
    return rows.length > 0;
  },

  async terminate(query, ids, user) {
    const pids = serverIds(ids);
    if (pids.length === 0) return 0;
    // Signal them all in one statement (a pid that is gone, or someone else's, gives no row), then
    // wait up to 1 s for them all to exit, so that callers count what is really left. One by one
    // with pg_terminate_backend(pid, 1000), N backends would cost N waits in turn.
    const { rows } =
      user === undefined
        ? await query(
            `SELECT pid, pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE pid = ANY($1::int[]) AND usename = current_user`,
            [pids],
          )
        : await query(`SELECT pid, pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE pid = ANY($1::int[]) AND usename = $2`, [
            pids,
            user,
          ]);
    const ended = rows.filter((r) => r.ended === true).map((r) => Number(r.pid));
    const deadline = Date.now() + 1000;
    while (ended.length > 0 && Date.now() < deadline) {
      const left = await query('SELECT pid FROM pg_stat_activity WHERE pid = ANY($1::int[])', [ended]);
      if (left.rows.length === 0) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    return ended.length;
  },

  async limits(query): Promise<ServerLimits> {
    const { rows } = await query(
      `SELECT current_setting('max_connections')::int AS max_connections,
              current_setting('superuser_reserved_connections')::int AS superuser_reserved,
              COALESCE(current_setting('reserved_connections', true), '0')::int AS reserved,
              r.rolconnlimit AS role_limit, r.rolsuper AS superuser,
              (SELECT datconnlimit FROM pg_database WHERE datname = current_database()) AS db_limit,
              (SELECT count(*)::int FROM pg_stat_activity WHERE ${CLIENTS}) AS in_use,
              (SELECT count(*)::int FROM pg_stat_activity WHERE usename = current_user AND ${CLIENTS}) AS user_in_use,
              (SELECT count(*)::int FROM pg_stat_activity WHERE datname = current_database() AND ${CLIENTS}) AS db_in_use
         FROM pg_roles r WHERE r.rolname = current_user`,
      [],
    );
    const r = rows[0] ?? {};
    const max = Number(r.max_connections);
    const reserved = r.superuser ? 0 : Number(r.superuser_reserved) + Number(r.reserved);
    const server: LimitCandidate = {
      limit: max - reserved,
      inUse: Number(r.in_use),
      source: reserved > 0 ? `max_connections ${max} − ${reserved} reserved for superusers` : `max_connections ${max}`,
    };
    const candidates: [LimitCandidate, ...LimitCandidate[]] = [server];
    const role = Number(r.role_limit);
    if (role >= 0) candidates.push({ limit: role, inUse: Number(r.user_in_use), source: `the role's CONNECTION LIMIT ${role}` });
    const db = Number(r.db_limit);
    if (db >= 0) candidates.push({ limit: db, inUse: Number(r.db_in_use), source: `the database's CONNECTION LIMIT ${db}` });
    return tightestLimit('PostgreSQL', candidates);
  },
};
