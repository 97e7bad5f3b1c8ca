// Acceptance scenario 13: using(alias), routers' order and fallback, unknown alias, missing
// default, scope end releases every alias, atomic({ using }) rolls back that alias only (docs/acceptance.md).
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  atomic,
  ConfigError,
  configure,
  ConnectionRouter,
  connections,
  scope,
  shutdown,
  sql,
  type DatabaseSettings,
} from '@spool/connections';
import { ConnectionCounter, forTests } from '@spool/testing';
import type { TestDatabase } from '@spool/testing';
import { eachDatabase } from '../support/helpers';

class Boom extends Error {}

describe('routers', () => {
  const A = { name: 'A' };
  const B = { name: 'B' };
  test('tried in order; the first non-null answer wins; fallback is the instance alias, then default', () => {
    const calls: string[] = [];
    const router = new ConnectionRouter([
      { dbForRead: () => (calls.push('r1'), null) },
      { dbForRead: (m) => (calls.push('r2'), m === A ? 'replica' : undefined), dbForWrite: () => 'primary' },
      { dbForRead: () => (calls.push('r3'), 'never-for-A') },
    ]);
    expect(router.dbForRead(A)).toBe('replica');
    expect(calls).toEqual(['r1', 'r2']);
    expect(router.dbForRead(B)).toBe('never-for-A');
    expect(router.dbForWrite(B)).toBe('primary');
    const empty = new ConnectionRouter([]);
    expect(empty.dbForRead(A)).toBe('default');
    expect(empty.dbForWrite(A, { instanceAlias: 'other' })).toBe('other');
  });

  test('allowRelation and allowMigrate: first opinion wins, then Django’s defaults', () => {
    const router = new ConnectionRouter([
      { allowRelation: (a, b) => (a === b ? true : null), allowMigrate: (db) => (db === 'replica' ? false : null) },
    ]);
    expect(router.allowRelation(A, A)).toBe(true);
    expect(router.allowRelation(A, B, { aliasA: 'default', aliasB: 'other' })).toBe(false);
    expect(router.allowRelation(A, B, { aliasA: 'default', aliasB: 'default' })).toBe(true);
    expect(router.allowMigrate('replica', 'app')).toBe(false);
    expect(router.allowMigrate('default', 'app')).toBe(true);
  });

  test('configured routers are reachable through connections.router', () => {
    configure({
      databases: {
        default: { client: 'better-sqlite3', connection: ':memory:' },
        replica: { client: 'better-sqlite3', connection: ':memory:' },
      },
      routers: [{ dbForRead: () => 'replica' }],
    });
    expect(connections.router.dbForRead({})).toBe('replica');
    expect(connections.router.dbForWrite({})).toBe('default');
    return shutdown();
  });
});

function otherFor(db: TestDatabase): { settings: DatabaseSettings; counter: ConnectionCounter | undefined } {
  if (db.name !== 'sqlite') return { settings: db.settings(), counter: undefined };
  const file = join(tmpdir(), `spool-other-${process.pid}-${process.env.JEST_WORKER_ID ?? 0}.db`);
  return {
    settings: { client: 'better-sqlite3', connection: { filename: file } },
    counter: new ConnectionCounter({ kind: 'sqlite', file }),
  };
}

eachDatabase('multiple databases', (db) => {
  let counter: ConnectionCounter;
  let other: ReturnType<typeof otherFor>;
  const both = async () => (await counter.count()) + ((await other.counter?.count()) ?? 0);

  beforeAll(async () => {
    await db.setup();
    counter = db.counter();
    other = otherFor(db);
    configure({ databases: { default: db.settings(), other: other.settings } });
    await scope(async () => {
      for (const s of [sql, sql.using('other')]) {
        await s`DROP TABLE IF EXISTS spool_multi`;
        await s`CREATE TABLE spool_multi (name VARCHAR(50))`;
      }
    });
    await shutdown();
  });
  beforeEach(() => configure({ databases: { default: db.settings(), other: other.settings } }));
  afterEach(() => shutdown());
  afterAll(async () => {
    configure({ databases: { default: db.settings(), other: other.settings } });
    await scope(async () => {
      await sql`DROP TABLE IF EXISTS spool_multi`;
      await sql.using('other')`DROP TABLE IF EXISTS spool_multi`;
    });
    await shutdown();
    await counter.close();
  });

  test('using(alias) runs on its own connection; scope end releases every alias', async () => {
    await scope(async () => {
      await sql`SELECT 1`;
      await sql.using('other')`SELECT 1`;
      expect(await both()).toBe(2);
      const stats = connections.stats().aliases;
      expect(stats.default?.leased).toBe(1);
      expect(stats.other?.leased).toBe(1);
    });
    expect(await counter.waitForCount(0)).toBe(0);
    expect((await other.counter?.waitForCount(0)) ?? 0).toBe(0);
  });

  test('atomic({ using: "other" }) rolls back other only', async () => {
    await scope(async () => {
      await sql`DELETE FROM spool_multi`;
      await sql.using('other')`DELETE FROM spool_multi`;
      await atomic(async () => {
        await sql`INSERT INTO spool_multi (name) VALUES (${'kept'})`;
        await expect(
          atomic(
            async () => {
              await sql.using('other')`INSERT INTO spool_multi (name) VALUES (${'gone'})`;
              // A default-alias query inside the other-alias block joins default's transaction.
              await sql`INSERT INTO spool_multi (name) VALUES (${'kept-too'})`;
              throw new Boom();
            },
            { using: 'other' },
          ),
        ).rejects.toBeInstanceOf(Boom);
      });
      const d = (await sql<{ name: string }>`SELECT name FROM spool_multi ORDER BY name`).map((r) => r.name);
      const o = await sql.using('other')`SELECT name FROM spool_multi`;
      if (db.name === 'sqlite') {
        expect(d).toEqual(['kept', 'kept-too']);
        expect(o).toEqual([]);
      } else {
        // Same server database under two aliases: other's row was rolled back, default's kept.
        expect(d).toEqual(['kept', 'kept-too']);
        expect(o.map((r) => r.name)).toEqual(['kept', 'kept-too']);
      }
    });
  });

  test('unknown alias and missing default are ConfigErrors that name them', async () => {
    const err = await scope(() => sql.using('nope')`SELECT 1`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toBe("The connection 'nope' doesn't exist. Configured aliases: 'default', 'other'.");
    expect(() => configure({ databases: { main: db.settings() } })).toThrow(
      "The 'databases' setting must define a 'default' alias (found 'main'). Queries without using(alias) run on 'default'.",
    );
  });
});

eachDatabase('test mirrors', (db) => {
  afterEach(() => shutdown());
  test('a mirror alias reads the mirrored test database over its own connection', async () => {
    await db.setup();
    const counter = db.counter();
    configure(
      forTests({
        databases: {
          default: db.settings(),
          replica: { client: 'pg', connection: 'postgres://nowhere.invalid/prod', maxAge: null, test: { mirror: 'default' } },
        },
      }),
    );
    await scope(async () => {
      await sql`DROP TABLE IF EXISTS spool_mirror`;
      await sql`CREATE TABLE spool_mirror (name VARCHAR(20))`;
      await sql`INSERT INTO spool_mirror (name) VALUES (${'seen'})`;
      expect(await sql.using('replica')`SELECT name FROM spool_mirror`).toEqual([{ name: 'seen' }]);
      if (db.hasServer) expect(await counter.count()).toBe(2); // its own connection
      await sql`DROP TABLE spool_mirror`;
    });
    expect(connections.stats().aliases.replica?.open).toBe(1); // maxAge null: kept idle
    await shutdown();
    expect(await counter.waitForCount(0)).toBe(0);
    await counter.close();
  });
});
