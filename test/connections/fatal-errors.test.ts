// Issue 13, first break: an error that ends the session must discard the connection, whatever
// the driver calls it, so that the next scope never inherits a dead one (`maxAge: null` keeps
// connections between scopes, which is when it matters). Socket errors are OperationalError.
// The faults are real: a statement over MariaDB's max_allowed_packet, a TCP reset of the
// socket (a proxy between Spool and the server), a backend terminated by the administrator,
// and a SQLite file that is no longer a database.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connections, DatabaseError, InterfaceError, OperationalError, scope, sql, type DatabaseSettings } from '@spool/connections';
import type { TestDatabase } from '@spool/testing';
import { faultProxy, type FaultProxy } from '../support/fault-proxy';
import { backendId, configureFor, eachDatabase, eventually, latch, useDatabase } from '../support/helpers';

/** The error a statement failed with (or 'ok'). */
const outcome = (p: PromiseLike<unknown>): Promise<unknown> =>
  Promise.resolve(p).then(
    () => 'ok',
    (e: unknown) => e,
  );

/** Settings of `db` with the connection going through `proxy`. */
function through(db: TestDatabase, proxy: FaultProxy, overrides: Partial<DatabaseSettings>): DatabaseSettings {
  const s = db.settings(overrides);
  return { ...s, connection: { ...(s.connection as Record<string, unknown>), host: '127.0.0.1', port: proxy.port } };
}

const sleepSql = (db: TestDatabase): string => (db.name === 'postgres' ? 'SELECT pg_sleep(3)' : 'SELECT SLEEP(3)');

eachDatabase('fatal errors discard the connection', (db) => {
  const counter = useDatabase(db);

  if (db.name === 'mysql') {
    test('a statement over max_allowed_packet: OperationalError, and the next scope gets a fresh connection (maxAge null)', async () => {
      configureFor(db, { maxAge: null });
      const { p1, limit } = await scope(async () => {
        const rows = await sql<{ limit: number }>`SELECT @@max_allowed_packet AS \`limit\``;
        return { p1: await backendId(db), limit: Number(rows[0]?.limit) };
      });
      if (limit > 64 * 1024 * 1024) {
        console.log(`skipped: max_allowed_packet is ${limit} bytes, too large to exceed in a test`);
        return;
      }
      const big = 'x'.repeat(limit + 1);
      const err = await outcome(scope(() => sql`SELECT LENGTH(${big}) AS n`));
      expect(err).toBeInstanceOf(OperationalError);
      expect((err as OperationalError).vendorCode).toBe(1153);
      // The server closed the session after its error: the connection was discarded at scope end.
      expect(connections.stats().aliases.default).toMatchObject({ open: 0, idle: 0 });
      for (let i = 0; i < 5; i++) {
        const p = await scope(() => backendId(db));
        expect(p).not.toBe(p1);
      }
      expect(connections.stats().aliases.default).toMatchObject({ open: 1, opens: 2, errors: 1 });
    });
  }

  if (db.name === 'postgres') {
    test('a backend terminated by the administrator (57P01, FATAL): OperationalError, the connection discarded', async () => {
      configureFor(db, { maxAge: null });
      const result = await scope(async () => {
        const pid = await backendId(db);
        const running = outcome(sql`SELECT pg_sleep(5)`);
        expect(await eventually(() => counter.busy(pid), 5000)).toBe(true);
        await counter.terminate(pid);
        return { pid, err: await running };
      });
      expect(result.err).toBeInstanceOf(OperationalError);
      expect(['57P01', undefined]).toContain((result.err as OperationalError).sqlState);
      expect(connections.stats().aliases.default).toMatchObject({ open: 0 });
      const next = await scope(() => backendId(db));
      expect(next).not.toBe(result.pid);
    });
  }

  if (db.hasServer) {
    describe('socket faults (a TCP proxy resets the connection)', () => {
      let proxy: FaultProxy;
      beforeEach(async () => {
        const c = db.settings().connection as { host: string; port: number };
        proxy = await faultProxy(c.host, c.port);
      });
      afterEach(() => proxy.close());

      test('reset between two statements of a scope: OperationalError or unusable, then a fresh connection for the next scope', async () => {
        connections.configure({ databases: { default: through(db, proxy, { maxAge: null }) } });
        const first = await scope(async () => {
          const p = await backendId(db);
          await proxy.reset();
          const err = await outcome(sql`SELECT 1`);
          return { p, err };
        });
        // Either the driver saw the reset first (the statement is refused: the connection is
        // unusable, with the socket error as cause) or the statement met it (OperationalError).
        const err = first.err as Error;
        if (InterfaceError.is(err)) expect(err.cause).toBeInstanceOf(OperationalError);
        else expect(err).toBeInstanceOf(OperationalError);
        expect(connections.stats().aliases.default).toMatchObject({ open: 0 });
        const next = await scope(() => backendId(db));
        expect(next).not.toBe(first.p);
        expect(await counter.waitFor((n) => n === 1, 5000)).toBe(1);
      });

      test('reset mid-query: the socket error is an OperationalError; the next scope works; the server count returns to 0', async () => {
        connections.configure({ databases: { default: through(db, proxy, { maxAge: null }) } });
        const started = latch();
        const result = scope(async () => {
          const p = await backendId(db);
          const running = outcome(connections.query('default', sleepSql(db), []));
          started.fire();
          return { p, err: await running };
        });
        await started.fired;
        const pid = (await counter.serverIds())[0] as number;
        expect(await eventually(() => counter.busy(pid), 5000)).toBe(true);
        await proxy.reset();
        const { p, err } = await result;
        expect(err).toBeInstanceOf(OperationalError);
        expect(String((err as OperationalError).vendorCode ?? (err as Error).message)).toMatch(
          /ECONNRESET|EPIPE|PROTOCOL_CONNECTION_LOST|Connection terminated/,
        );
        expect(connections.stats().aliases.default).toMatchObject({ open: 0 });
        expect(await scope(() => backendId(db))).not.toBe(p);
        await connections.closeAll();
        expect(await counter.waitForCount(0, 8000)).toBe(0);
      });

      test('reset while idle in the pool: the connection is dropped before any scope leases it', async () => {
        connections.configure({ databases: { default: through(db, proxy, { maxAge: null }) } });
        const p1 = await scope(() => backendId(db));
        expect(connections.stats().aliases.default).toMatchObject({ idle: 1 });
        await proxy.reset();
        expect(await eventually(() => connections.stats().aliases.default?.open === 0, 5000)).toBe(true);
        // No scope failed: the next one opens a fresh connection.
        expect(await scope(() => backendId(db))).not.toBe(p1);
      });
    });
  }

  if (db.name === 'sqlite') {
    test('a file that is no longer a database (SQLITE_NOTADB): the handle is closed, the next scope reopens', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'spool-fatal-'));
      const file = join(dir, 'probe.db');
      const settings = db.settings({ maxAge: null });
      connections.configure({
        databases: { default: { ...settings, connection: { ...(settings.connection as object), filename: file } } },
      });
      try {
        await scope(() => sql`CREATE TABLE fatal_probe (id INTEGER PRIMARY KEY)`);
        await scope(() => sql`INSERT INTO fatal_probe (id) VALUES (1)`);
        expect(connections.stats().aliases.default).toMatchObject({ open: 1, idle: 1 });
        // Overwrite the database and its WAL under the open handle: SQLite finds no database header.
        for (const f of [file, `${file}-wal`, `${file}-shm`]) writeFileSync(f, Buffer.alloc(8192, 0x5a));
        const err = await outcome(scope(() => sql`SELECT COUNT(*) AS n FROM fatal_probe`));
        expect(err).toBeInstanceOf(DatabaseError);
        expect((err as DatabaseError).vendorCode).toBe('SQLITE_NOTADB');
        expect(connections.stats().aliases.default).toMatchObject({ open: 0 });
        // A fresh file: the next scope opens a new handle and works.
        for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
        expect(await scope(() => sql`SELECT 1 AS one`)).toEqual([{ one: 1 }]);
        expect(connections.stats().aliases.default).toMatchObject({ open: 1, opens: 2 });
      } finally {
        await connections.closeAll();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
