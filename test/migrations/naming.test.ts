// Migrations follow the models' naming, and say it explicitly: a new migration records every
// column the naming strategy gives (`dbColumn: 'author_id'`, `dbColumn: 'page_count'`), so a
// migration file means the same whatever the strategy becomes. Upgrading from Spool 0.1's
// attribute-named columns (`authorId`, `pageCount`) is one `makemigrations`: an AlterField per
// renamed column, applied in place (rows, foreign keys and many-to-many rows kept), reversible;
// afterwards raw snake_case SQL works and nothing is left to detect. On every database.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IntegrityError, atomic, scope, sql } from '@spool/connections';
import { AttributeNamingStrategy, CharField, ForeignKey, IntegerField, ManyToManyField, Model, type NamingStrategy } from '@spool/orm';
import { introspectionFor } from '@spool/orm/migrations';
import { configureFor, eachDatabase, useDatabase } from '../support/helpers';
import { MigrationProject, resetTables } from './support';

/** The library models under a naming strategy (undefined: the default, snake_case). */
function library(namingStrategy?: NamingStrategy) {
  const naming = namingStrategy ? { namingStrategy } : {};
  const MnAuthor = Model.define({ fullName: new CharField({ maxLength: 100 }) }, { name: 'MnAuthor', dbTable: 'mn_author', ...naming });
  const MnTag = Model.define({ label: new CharField({ maxLength: 30 }) }, { name: 'MnTag', dbTable: 'mn_tag', ...naming });
  const MnBook = Model.define(
    {
      title: new CharField({ maxLength: 100 }),
      pageCount: new IntegerField(),
      author: new ForeignKey(() => MnAuthor, { onDelete: 'cascade' }),
      tags: new ManyToManyField(() => MnTag),
    },
    { name: 'MnBook', dbTable: 'mn_book', ...naming },
  );
  return { MnAuthor, MnTag, MnBook, list: [MnAuthor, MnTag, MnBook] as unknown[] };
}

const columns = (table: string) => scope(async () => (await introspectionFor('default').columns(table)).map((c) => c.name));

eachDatabase('migrations: column naming', (db) => {
  useDatabase(db);
  let project: MigrationProject;
  const files = () => readdirSync(join(project.dir, 'naming')).sort();
  const source = (i: number) => readFileSync(join(project.dir, 'naming', files()[i] as string), 'utf8');

  beforeAll(async () => {
    configureFor(db);
    await resetTables('default', ['mn_'], ['naming', 'naming2']);
    project = new MigrationProject('naming', library(new AttributeNamingStrategy()).list);
    await project.makemigrations();
    await project.migrate('default');
  });
  beforeEach(() => configureFor(db));
  afterAll(() => project?.remove());

  test('a new project: the initial migration records the snake_case columns and creates them', async () => {
    const fresh = new MigrationProject('naming2', library().list);
    try {
      await fresh.makemigrations();
      const file = readFileSync(join(fresh.dir, 'naming2', readdirSync(join(fresh.dir, 'naming2'))[0] as string), 'utf8');
      expect(file).toContain(`pageCount: f.IntegerField({ dbColumn: 'page_count' })`);
      expect(file).toContain(`author: f.ForeignKey({ to: 'naming2.MnAuthor', onDelete: 'cascade', dbColumn: 'author_id' })`);
      expect(file).toContain(`fullName: f.CharField({ maxLength: 100, dbColumn: 'full_name' })`);
      expect(file).toContain(`dbTable: 'mn_book_tags', throughColumns: ['mn_book_id', 'mn_tag_id']`);
      const statements = (await scope(() => fresh.sql('default', '0001'))).join('\n');
      const q = (s: string) => (db.name === 'mysql' ? `\`${s}\`` : `"${s}"`);
      for (const c of ['full_name', 'page_count', 'author_id', 'mn_book_id', 'mn_tag_id']) expect(statements).toContain(q(c));
      expect(statements).not.toMatch(/pageCount|authorId|fullName/);
    } finally {
      fresh.remove();
    }
  });

  test("upgrading from Spool 0.1's columns: one AlterField per renamed column, applied in place, reversible", async () => {
    expect(source(0)).toContain(`author: f.ForeignKey({ to: 'naming.MnAuthor', onDelete: 'cascade', dbColumn: 'authorId' })`);
    expect(await columns('mn_book')).toEqual(['id', 'title', 'pageCount', 'authorId']);
    const old = library(new AttributeNamingStrategy());
    await scope(async () => {
      const ann = await old.MnAuthor.objects.create({ fullName: 'Ann Archer' });
      const book = await old.MnBook.objects.create({ title: 'Alpha', pageCount: 120, author: ann });
      await book.tags.add(await old.MnTag.objects.create({ label: 'python' }));
    });

    project.setModels(library().list);
    const { drafts } = await project.makemigrations();
    expect(drafts.flatMap((d) => d.operations.map((o) => o.describe())).sort()).toEqual([
      'Alter field author on MnBook',
      'Alter field fullName on MnAuthor',
      'Alter field pageCount on MnBook',
    ]);
    expect(source(1)).toContain(`dbColumn: 'author_id'`);
    const statements = await scope(() => project.sql('default', '0002'));
    for (const [from, to] of [
      ['fullName', 'full_name'],
      ['pageCount', 'page_count'],
      ['authorId', 'author_id'],
    ])
      expect(statements.some((s) => new RegExp(`RENAME COLUMN .${from}. TO .${to}.`).test(s))).toBe(true);

    await project.migrate('default');
    expect(await columns('mn_author')).toEqual(['id', 'full_name']);
    expect(await columns('mn_book')).toEqual(['id', 'title', 'page_count', 'author_id']);
    expect(await project.pendingChanges()).toEqual([]);
    // The rows are where they were, and raw SQL reads them by the new names.
    const rows = await scope(
      () => sql`SELECT b.title, b.page_count, a.full_name, t.label FROM mn_book b
        JOIN mn_author a ON a.id = b.author_id JOIN mn_book_tags bt ON bt.mn_book_id = b.id JOIN mn_tag t ON t.id = bt.mn_tag_id`,
    );
    expect(rows.map((r) => ({ ...r, page_count: Number(r.page_count) }))).toEqual([
      { title: 'Alpha', page_count: 120, full_name: 'Ann Archer', label: 'python' },
    ]);
    // The foreign key still holds, on the renamed column.
    const fks = await scope(async () =>
      [...(await introspectionFor('default').constraints('mn_book')).values()].filter((c) => c.foreignKey),
    );
    expect(fks.map((c) => [c.columns, c.foreignKey])).toEqual([[['author_id'], { table: 'mn_author', column: 'id' }]]);
    const broken = await scope(() => atomic(() => sql`INSERT INTO mn_book (title, page_count, author_id) VALUES ('x', 1, 999999)`)).catch(
      (e: unknown) => e,
    );
    expect(IntegrityError.is(broken)).toBe(true);
    // The models of today read them too.
    const now = library();
    const books = await scope(() =>
      now.MnBook.objects.filter({ author__fullName: 'Ann Archer', tags__label: 'python' }).values('title', 'pageCount'),
    );
    expect(books).toEqual([{ title: 'Alpha', pageCount: 120 }]);

    // Unapplying renames them back.
    await project.migrate('default', '0001');
    expect(await columns('mn_book')).toEqual(['id', 'title', 'pageCount', 'authorId']);
    await project.migrate('default');
    expect(await columns('mn_book')).toEqual(['id', 'title', 'page_count', 'author_id']);
  });
});
