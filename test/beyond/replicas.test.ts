// Beyond one machine (issue 13): a primary/replica router. Reads go to the replica alias, writes
// to `default`; once a scope has written, its reads go to the primary for the rest of the scope
// (read your writes), and so do reads inside atomic(). Two aliases on the local servers: the
// replica is a second connection set (its own connections, as a replica would have) to the
// same database, so the rows agree and the alias each query ran on tells where it was routed.
import { atomic, builder, ConfigError, connections, currentScope, PrimaryReplicaRouter, scope, shutdown, sql } from '@spool/connections';
import { SchemaEditor } from '@spool/orm';
import { captureQueries } from '@spool/testing';
import { eachDatabase } from '../support/helpers';
import { Publisher } from '../orm/models';

eachDatabase('primary/replica routing', (db) => {
  const router = new PrimaryReplicaRouter({ primary: 'default', replicas: ['replica'] });
  beforeAll(async () => {
    await db.setup();
    connections.configure({
      databases: { default: db.settings({ maxAge: null }), replica: db.settings({ maxAge: null }) },
      routers: [router],
    });
    await scope(async () => {
      const editor = new SchemaEditor('default');
      await editor.deleteModels([Publisher], { ifExists: true });
      await editor.createModels([Publisher]);
    });
  });
  afterAll(async () => {
    await scope(() => new SchemaEditor('default').deleteModels([Publisher], { ifExists: true }));
    await shutdown();
  });

  /** The aliases the statements of `fn` ran on, this scope's only (concurrent scopes run too). */
  const aliases = async (fn: () => Promise<unknown>): Promise<string[]> => {
    const id = currentScope()?.id;
    return (await captureQueries(fn)).queries.filter((q) => q.scopeId === id).map((q) => q.alias);
  };

  test('reads go to the replica until the scope writes; then to the primary for the rest of the scope; a new scope reads the replica again', async () => {
    await scope(async () => {
      expect(await aliases(() => Publisher.objects.filter({ name: 'Nobody' }).count())).toEqual(['replica']);
      expect(await aliases(() => Publisher.objects.create({ name: 'Primary Press' }))).toEqual(['default']);
      // Read your writes: the row is read where it was written.
      let found = 0;
      expect(
        await aliases(async () => {
          found = await Publisher.objects.filter({ name: 'Primary Press' }).count();
        }),
      ).toEqual(['default']);
      expect(found).toBe(1);
    });
    await scope(async () => {
      expect(await aliases(() => Publisher.objects.filter({ name: 'Primary Press' }).count())).toEqual(['replica']);
    });
  });

  test('reads inside atomic() go to the primary, before any write', async () => {
    await scope(async () => {
      await atomic(async () => {
        expect(await aliases(() => Publisher.objects.filter({ name: 'x' }).count())).toEqual(['default']);
      });
      // After the block, without a write, reads go back to the replica.
      expect(await aliases(() => Publisher.objects.filter({ name: 'x' }).count())).toEqual(['replica']);
    });
  });

  test('concurrent scopes are sticky independently', async () => {
    const [writer, reader] = await Promise.all([
      scope(async () => {
        await Publisher.objects.create({ name: 'Writer Press' });
        return aliases(() => Publisher.objects.filter({ name: 'Writer Press' }).count());
      }),
      scope(() => aliases(() => Publisher.objects.filter({ name: 'Writer Press' }).count())),
    ]);
    expect(writer).toEqual(['default']);
    expect(reader).toEqual(['replica']);
  });

  test('a raw sql write on the primary makes the scope read from the primary, as an ORM write does; a raw read does not', async () => {
    await scope(async () => {
      await sql`SELECT count(*) AS n FROM orm_publisher`;
      await sql`/* a comment first */ SELECT 1 AS one FROM orm_publisher WHERE name = ${'INSERT'}`;
      await sql`EXPLAIN SELECT * FROM orm_publisher`;
      // Plain reads of the primary leave the scope on the replica.
      expect(await aliases(() => Publisher.objects.filter({ name: 'Raw Press' }).count())).toEqual(['replica']);
      await sql`INSERT INTO orm_publisher (name) VALUES (${'Raw Press'})`;
      let found = 0;
      expect(
        await aliases(async () => {
          found = await Publisher.objects.filter({ name: 'Raw Press' }).count();
        }),
      ).toEqual(['default']);
      expect(found).toBe(1);
    });
    // A new scope starts on the replica again.
    await scope(async () => expect(await aliases(() => Publisher.objects.filter({ name: 'Raw Press' }).count())).toEqual(['replica']));
  });

  const rawWrites: Array<[string, () => PromiseLike<unknown>]> = [
    ['UPDATE', () => sql`UPDATE orm_publisher SET country = ${'fr'} WHERE name = ${'nobody'}`],
    ['DELETE', () => sql`DELETE FROM orm_publisher WHERE name = ${'nobody'}`],
    ['SELECT … FOR UPDATE', () => sql`SELECT id FROM orm_publisher WHERE name = ${'nobody'} FOR UPDATE`],
    ['a DDL statement', () => sql`CREATE INDEX IF NOT EXISTS orm_publisher_country_ix ON orm_publisher (country)`],
  ];
  // SQLite has no row locks (FOR UPDATE is a syntax error there).
  test.each(rawWrites.filter(([name]) => db.name !== 'sqlite' || !name.includes('FOR UPDATE')))(
    '%s through raw sql makes the scope sticky',
    async (_name, statement) => {
      await scope(async () => {
        await statement();
        expect(await aliases(() => Publisher.objects.filter({ name: 'x' }).count())).toEqual(['default']);
      });
    },
  );

  test('a knex builder() write on the primary makes the scope sticky too', async () => {
    await scope(async () => {
      await builder('default').table('orm_publisher').where({ name: 'nobody' }).update({ country: 'uk' });
      expect(await aliases(() => Publisher.objects.filter({ name: 'x' }).count())).toEqual(['default']);
    });
  });

  test('inside atomic(): a raw write is read back inside the block (uncommitted, only the primary sees it) and the scope stays on the primary after it', async () => {
    await scope(async () => {
      await atomic(async () => {
        await sql`INSERT INTO orm_publisher (name) VALUES (${'Block Press'})`;
        // Uncommitted: the replica's connection could not see it.
        const [seen] = await scope(
          () => sql.using('replica')<{ n: number }>`SELECT count(*) AS n FROM orm_publisher WHERE name = ${'Block Press'}`,
        );
        expect(Number(seen?.n)).toBe(0);
        let found = 0;
        expect(
          await aliases(async () => {
            found = await Publisher.objects.filter({ name: 'Block Press' }).count();
          }),
        ).toEqual(['default']);
        expect(found).toBe(1);
      });
      // After the block: still the primary (the scope wrote there).
      expect(await aliases(() => Publisher.objects.filter({ name: 'x' }).count())).toEqual(['default']);
    });
  });

  test('a raw write on the replica alias does not make the scope read from the primary (it did not write there)', async () => {
    await scope(async () => {
      await sql.using('replica')`UPDATE orm_publisher SET country = ${'us'} WHERE name = ${'nobody'}`;
      expect(await aliases(() => Publisher.objects.filter({ name: 'x' }).count())).toEqual(['replica']);
    });
  });

  test('bad options are a ConfigError naming the option', () => {
    expect(() => new PrimaryReplicaRouter({ replicas: [] })).toThrow(ConfigError);
    expect(() => new PrimaryReplicaRouter({ replicas: [] })).toThrow(
      "new PrimaryReplicaRouter(): option 'replicas' must be a non-empty array of alias names, got [].",
    );
    expect(router.allowMigrate('replica')).toBe(false);
    expect(router.allowMigrate('default')).toBe(true);
  });
});
