/**
 * MariaDB/MySQL server administration: thread ids from the processlist, `KILL CONNECTION`, and
 * the connection limits (`max_connections`, the user's `max_user_connections`).
 */
import type { AdminQuery, BackendAdmin, ServerLimits } from '../backend';
import { serverIds, tightestLimit, type LimitCandidate } from '../tightest-limit';

/** The connecting user's name as the processlist shows it (`CURRENT_USER()` is `name@host`). */
const CURRENT = `SUBSTRING_INDEX(CURRENT_USER(), '@', 1)`;

/** Is `id` a live thread of `user` (default: the connecting user)? */
async function alive(query: AdminQuery, id: number, user: string | undefined): Promise<boolean> {
  const { rows } =
    user === undefined
      ? await query(`SELECT ID FROM information_schema.PROCESSLIST WHERE ID = ? AND USER = ${CURRENT}`, [id])
      : await query('SELECT ID FROM information_schema.PROCESSLIST WHERE ID = ? AND USER = ?', [id, user]);
  return rows.length > 0;
}

export const mysqlAdmin: BackendAdmin = {
  connectionIdSql: 'SELECT CONNECTION_ID() AS id',

  async serverVersion(query) {
    const { rows } = await query('SELECT VERSION() AS version', []);
    return String(rows[0]?.version);
  },

  async connections(query, user) {
    const { rows } =
      user === undefined
        ? await query(
            `SELECT ID AS id FROM information_schema.PROCESSLIST WHERE USER = ${CURRENT} AND ID <> CONNECTION_ID() ORDER BY ID`,
            [],
          )
        : await query('SELECT ID AS id FROM information_schema.PROCESSLIST WHERE USER = ? AND ID <> CONNECTION_ID() ORDER BY ID', [user]);
    return rows.map((r) => Number(r.id));
  },

  async busy(query, id) {
    const { rows } = await query(`SELECT ID FROM information_schema.PROCESSLIST WHERE ID = ? AND COMMAND IN ('Query', 'Execute')`, [id]);
    return rows.length > 0;
  },

  async terminate(query, ids, user) {
    let ended = 0;
    for (const id of serverIds(ids)) {
      if (!(await alive(query, id, user))) continue;
      try {
        // KILL takes no placeholder: `id` is a positive safe integer (serverIds).
        await query(`KILL CONNECTION ${id}`, []);
        ended += 1;
      } catch {
        /* it ended between the check and the kill */
      }
    }
    return ended;
  },

  async limits(query): Promise<ServerLimits> {
    const { rows } = await query(
      `SELECT @@max_connections AS max_connections, @@max_user_connections AS user_limit,
              (SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND USER = ${CURRENT}) AS user_in_use,
              (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'THREADS_CONNECTED') AS threads_connected`,
      [],
    );
    const r = rows[0] ?? {};
    const max = Number(r.max_connections);
    const candidates: [LimitCandidate, ...LimitCandidate[]] = [
      { limit: max, inUse: Math.max(0, Number(r.threads_connected ?? 1) - 1), source: `max_connections ${max}` },
    ];
    const user = Number(r.user_limit);
    if (user > 0) candidates.push({ limit: user, inUse: Number(r.user_in_use), source: `max_user_connections ${user} for this user` });
    return tightestLimit('MariaDB/MySQL', candidates);
  },
};
