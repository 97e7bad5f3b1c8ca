// openScope().run(fn) awaits a thenable that fn returns inside the scope, as scope(fn) does: a
// lazy query (sql`…`, a query set) runs on the handle's connection, not the root scope's. With
// max: 1 and the handle holding the only connection, the old behaviour (a bare
// AsyncLocalStorage.run) waited for a second connection and failed with PoolExhaustedError.
import { connections, openScope, PoolExhaustedError, sql } from '@spool/connections';
import { attachToScope, scopeAttachment } from '@spool/connections/internal';
import { configureFor, eachDatabase, useDatabase } from '../support/helpers';
import { throughPooler } from '../support/pgbouncer';

eachDatabase('openScope().run()', { pgbouncer: true }, (db) => {
  const counter = useDatabase(db);

  // Its subject is the connection the handle keeps between runs: none is kept with pin: 'transaction'.
  (throughPooler(db) ? test.skip : test)('a lazy query returned by fn runs inside the scope, on its connection (max: 1)', async () => {
    configureFor(db, { max: 1, acquireTimeoutMs: 1000 });
    const handle = openScope({ name: 'by hand' });
    try {
      // The handle leases the only connection and keeps it.
      await handle.run(async () => {
        await sql`SELECT 1 AS one`;
      });
      const held = handle.connections();
      expect(held).toHaveLength(1);
      const rows = await handle.run(() => sql<{ two: number }>`SELECT 2 AS two`);
      expect(rows.map((r) => Number(r.two))).toEqual([2]);
      expect(handle.connections()).toEqual(held);
      // Outside the handle, the root scope would need a second connection: the budget says no.
      await expect(sql`SELECT 3 AS three`.then((r) => r)).rejects.toBeInstanceOf(PoolExhaustedError);
    } finally {
      await handle.end();
    }
    expect(connections.stats().aliases.default?.leased).toBe(0);
    await connections.closeAll();
    expect(await counter.waitForCount(0)).toBe(0);
  });

  test('the thenable is called inside the scope; plain values and promises come back as they are', async () => {
    configureFor(db);
    const handle = openScope();
    try {
      const lazy = { then: (resolve: (v: number | undefined) => void) => resolve(connections.currentScope()?.id) };
      expect(await handle.run(() => lazy)).toBe(handle.id);
      expect(handle.run(() => 42)).toBe(42);
      await expect(handle.run(() => Promise.resolve('p'))).resolves.toBe('p');
      await expect(handle.run(() => Promise.reject(new Error('no')))).rejects.toThrow('no');
      expect(() =>
        handle.run(() => {
          throw new Error('sync');
        }),
      ).toThrow('sync');
    } finally {
      await handle.end();
    }
  });

  // @spool/web finds a request's state from code running in the request's scope this way.
  test('attachToScope: what is attached to a scope is found from code running in it, not from a child scope or outside', async () => {
    configureFor(db);
    const handle = openScope();
    const other = openScope();
    const state = { request: 1 };
    try {
      attachToScope(handle, state);
      expect(handle.run(() => scopeAttachment(connections.currentScope()))).toBe(state);
      // After an await in the scope, and on a query's continuation.
      await handle.run(async () => {
        await sql`SELECT 1 AS one`;
        expect(scopeAttachment(connections.currentScope())).toBe(state);
      });
      expect(other.run(() => scopeAttachment(connections.currentScope()))).toBeUndefined();
      await expect(handle.run(() => connections.scope(() => scopeAttachment(connections.currentScope())))).resolves.toBeUndefined();
      expect(scopeAttachment(connections.currentScope())).toBeUndefined();
      expect(scopeAttachment(undefined)).toBeUndefined();
      expect(() => attachToScope({ id: 1 } as never, state)).toThrow(TypeError);
      attachToScope(handle, undefined);
      expect(handle.run(() => scopeAttachment(connections.currentScope()))).toBeUndefined();
    } finally {
      await handle.end();
      await other.end();
    }
  });
});
