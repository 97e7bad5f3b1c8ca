// Connections and routing: queries run on the current scope's connection; using(alias) picks a
// database; routers decide reads and writes; instances remember the database they came from,
// and their saves and related managers go back to it. Raw SQL maps rows to instances.
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connections, scope, shutdown, sql, type Router } from '@spool/connections';
import { SchemaEditor, FieldError } from '@spool/orm';
import { captureQueries } from '@spool/testing';
import { configureFor, eachDatabase } from '../support/helpers';
import { ALL_MODELS, Author, Book, Publisher, Tag } from './models';

const otherFile = (): string => {
  const dir = join(tmpdir(), `spool-orm-other-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  return join(dir, `other-${process.env.JEST_WORKER_ID ?? '0'}.db`);
};

eachDatabase('routing, using() and raw SQL', (db) => {
  const routed: string[] = [];
  const tagsElsewhere: Router = {
    dbForRead: (model) => (model === Tag ? 'other' : null),
    dbForWrite: (model) => (model === Tag ? 'other' : null),
  };

  beforeAll(async () => {
    await db.setup();
    configureFor(
      db,
      {},
      { other: { client: 'better-sqlite3', connection: { filename: otherFile() } } },
      { routers: [tagsElsewhere, { dbForRead: (m: unknown) => void routed.push((m as { name: string }).name) }] },
    );
    await scope(async () => {
      for (const alias of ['default', 'other']) {
        const editor = new SchemaEditor(alias);
        await editor.deleteModels(ALL_MODELS, { ifExists: true });
        await editor.createModels(ALL_MODELS);
      }
    });
  });
  afterAll(async () => {
    await scope(async () => {
      for (const alias of ['default', 'other']) await new SchemaEditor(alias).deleteModels(ALL_MODELS, { ifExists: true });
    });
    await shutdown();
  });

  test('using(alias) runs on that database; instances remember it and save back to it', () =>
    scope(async () => {
      const p = await Publisher.objects.using('other').create({ name: 'Elsewhere' });
      expect(p.$state.db).toBe('other');
      expect(await Publisher.objects.filter({ name: 'Elsewhere' }).count()).toBe(0);
      expect(await Publisher.objects.using('other').filter({ name: 'Elsewhere' }).count()).toBe(1);
      const loaded = await Publisher.objects.using('other').get({ name: 'Elsewhere' });
      loaded.country = 'fr';
      const { queries } = await captureQueries(() => loaded.$save());
      expect(queries.map((q) => q.alias)).toEqual(['other']);
      expect((await Publisher.objects.using('other').get({ pk: p.id })).country).toBe('fr');
      await loaded.$delete();
      expect(await Publisher.objects.using('other').count()).toBe(0);
      expect(() => Publisher.objects.using('nope')).toThrow('nope');
    }));

  test('routers decide where a model reads and writes; the fallback is the default alias', () =>
    scope(async () => {
      routed.length = 0;
      const t = await Tag.objects.create({ name: 'routed' });
      expect(t.$state.db).toBe('other');
      const { queries } = await captureQueries(() => Tag.objects.filter({ name: 'routed' }).fetchAll());
      expect(queries.map((q) => q.alias)).toEqual(['other']);
      const a = await Author.objects.create({ name: 'Default' });
      expect(a.$state.db).toBe('default');
      const read = await captureQueries(() => Author.objects.all().fetchAll());
      expect(read.queries.map((q) => q.alias)).toEqual(['default']);
      expect(routed).toContain('Author');
      await t.$delete();
      await a.$delete();
    }));

  test('related managers use the database of their instance', () =>
    scope(async () => {
      const author = await Author.objects.using('other').create({ name: 'Far' });
      await Book.objects.using('other').create({ title: 'Far book', author });
      const { result, queries } = await captureQueries(() => author.books.all().fetchAll());
      expect(result.map((b) => b.title)).toEqual(['Far book']);
      expect(queries.map((q) => q.alias)).toEqual(['other']);
      const prefetched = await Author.objects.using('other').prefetchRelated('books').fetchAll();
      expect(prefetched[0]?.books.items.map((b) => b.title)).toEqual(['Far book']);
      await author.$delete();
    }));

  test('raw SQL maps rows to instances; template values are bound parameters', () =>
    scope(async () => {
      const ann = await Author.objects.create({ name: "O'Brien; DROP TABLE orm_author; --", age: 40 });
      await Author.objects.create({ name: 'Other', age: 20 });
      const name = "O'Brien; DROP TABLE orm_author; --";
      const rows = await Author.objects.raw(sql`SELECT id, name, age, 2 * age AS doubled FROM orm_author WHERE name = ${name} ORDER BY id`);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toBeInstanceOf(Author);
      expect(rows[0]?.name).toBe(name);
      expect(rows[0]?.id).toBe(ann.id);
      expect(Number((rows[0] as unknown as { doubled: number }).doubled)).toBe(80);
      expect(rows[0]?.$state).toEqual({ adding: false, db: 'default' });
      // Instances from raw SQL work like any other.
      rows[0]!.age = 41;
      await rows[0]!.$save({ updateFields: ['age'] });
      expect((await Author.objects.get({ pk: ann.id })).age).toBe(41);
      expect(await Author.objects.count()).toBe(2);
      await expect(Promise.resolve().then(() => Author.objects.raw('SELECT 1' as never))).rejects.toThrow(
        'raw() takes a sql`...` template',
      );
      await Author.objects.all().delete();
    }));

  test('every ORM query runs on the scope connection: one connection per scope and alias', async () => {
    const before = connections.stats().aliases.default?.opens ?? 0;
    await scope(async () => {
      await Author.objects.count();
      await Publisher.objects.count();
      await Book.objects.filter({ author__name: 'x' }).count();
    });
    expect((connections.stats().aliases.default?.opens ?? 0) - before).toBeLessThanOrEqual(1);
    expect(FieldError).toBeDefined();
  });
});
