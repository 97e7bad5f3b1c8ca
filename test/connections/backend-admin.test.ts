// The backends' admin part (connection ids, live connections, terminate, limits, version): the
// one place that knows each server's administration SQL. The handler, @spool/workers and
// @spool/testing all go through it; here it is checked against the server's own view, read by
// the monitoring connection.
import { ConnectionHandler, connections, scope, type AdminQuery, type BackendAdmin } from '@spool/connections';
import { backendId, configureFor, eachDatabase, useDatabase } from '../support/helpers';

/** A private handler on the same database and user, to administer from a second connection. */
function adminHandler(settings: Parameters<ConnectionHandler['configure']>[0]): { h: ConnectionHandler; q: AdminQuery } {
  const h = new ConnectionHandler({ control: false });
  h.configure(settings);
  return { h, q: (text, bindings) => h.query('default', text, bindings) };
}

eachDatabase('backend admin', (db) => {
  const counter = useDatabase(db);

  if (!db.hasServer) {
    test('SQLite has no server, hence no admin part', () => {
      configureFor(db);
      expect(connections.backend('default').admin).toBeUndefined();
      expect(connections.backend('default').features.hasServerConnections).toBe(false);
    });
    return;
  }

  test("connectionIdSql returns the id the scope's connection reports, which the server lists", async () => {
    configureFor(db);
    const admin = connections.backend('default').admin as BackendAdmin;
    await scope(async (s) => {
      const id = Number((await connections.query('default', admin.connectionIdSql, [])).rows[0]?.id);
      expect(id).toBeGreaterThan(0);
      expect(s.connections()).toEqual([{ alias: 'default', serverId: id }]);
      expect(await counter.serverIds()).toEqual([id]);
    });
  });

  test('serverVersion() reads the version the server reported at connect', async () => {
    configureFor(db);
    const admin = connections.backend('default').admin as BackendAdmin;
    const version = await scope(() => admin.serverVersion((text, b) => connections.query('default', text, b)));
    expect(version).toMatch(/^\d+\.\d+/);
    const reported = connections.serverVersion('default') as string;
    // MariaDB's handshake may prefix the version with '5.5.5-' for old clients.
    expect(reported.replace(/^5\.5\.5-/, '')).toBe(version);
  });

  test("connections() lists the user's other live connections, not the querying one", async () => {
    configureFor(db, { maxAge: null });
    const { h, q } = adminHandler({ databases: { default: db.settings() } });
    try {
      const admin = h.backend('default').admin as BackendAdmin;
      const held = await scope(() => backendId(db));
      const seen = await h.scope(async () => {
        const own = Number((await q(admin.connectionIdSql, [])).rows[0]?.id);
        return { own, list: await admin.connections(q) };
      });
      expect(seen.list).toEqual([held]);
      expect(seen.list).not.toContain(seen.own);
    } finally {
      await h.shutdown();
    }
  });

  test('terminate() ends live connections of the user only, and reports how many', async () => {
    configureFor(db, { maxAge: null });
    const { h, q } = adminHandler({ databases: { default: db.settings() } });
    const other = await db.role('adm_other');
    const stranger = new ConnectionHandler({ control: false });
    stranger.configure({ databases: { default: other.settings({ maxAge: null }) } });
    const otherCounter = other.counter();
    try {
      const admin = h.backend('default').admin as BackendAdmin;
      const mine = await scope(() => backendId(db));
      const theirs = await stranger.scope(async () => {
        const r = await stranger.query('default', admin.connectionIdSql, []);
        return Number(r.rows[0]?.id);
      });
      expect(await counter.count()).toBe(1);
      expect(await otherCounter.count()).toBe(1);

      const ended = await h.scope(() => admin.terminate(q, [theirs, mine, 0, -1, 1.5, 2 ** 60]));
      expect(ended).toBe(1);
      expect(await counter.waitForCount(0, 2000)).toBe(0);
      // Someone else's connection is left alone.
      expect(await otherCounter.count()).toBe(1);
      // An id that is gone is not counted again.
      expect(await h.scope(() => admin.terminate(q, [mine]))).toBe(0);
    } finally {
      await stranger.shutdown();
      await otherCounter.close();
      await h.shutdown();
    }
  });

  test('limits() names the limit that binds first for the user', async () => {
    const role = await db.role('adm_lim', { connectionLimit: 7 });
    const { h, q } = adminHandler({ databases: { default: role.settings() } });
    try {
      const admin = h.backend('default').admin as BackendAdmin;
      const limits = await h.scope(() => admin.limits(q));
      expect(limits).toEqual({
        vendor: db.name === 'postgres' ? 'PostgreSQL' : 'MariaDB/MySQL',
        limit: 7,
        limitSource: db.name === 'postgres' ? "the role's CONNECTION LIMIT 7" : 'max_user_connections 7 for this user',
        inUse: 0,
      });
    } finally {
      await h.shutdown();
    }
  });
});
