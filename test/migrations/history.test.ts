// A model history of ten migrations (the ten kinds of change of the migrations issue, the data
// migration written by hand) migrates forward from an empty database, `makemigrations
// --check` finds nothing left, unapplies part of the way and all the way to zero, and forward
// again, on every database; rows written along the way survive the renames, the type change, the
// SQLite table rebuilds and the data migration.
import { scope, sql, connections } from '@spool/connections';
import { BigIntegerField, CharField, ForeignKey, Index, IntegerField, ManyToManyField, Model, UniqueConstraint } from '@spool/orm';
import { IntegrityError } from '@spool/connections';
import { introspectionFor } from '@spool/orm/migrations';
import { configureFor, eachDatabase, useDatabase } from '../support/helpers';
import { MigrationProject, ORM_MIGRATIONS, resetTables } from './support';

/** The models at step `n` (1..10) of the history. */
function modelsAt(n: number): unknown[] {
  const Author = Model.define(
    {
      name: new CharField({ maxLength: 100 }),
      ...(n < 8 ? { age: new IntegerField({ null: true }) } : {}),
    },
    { name: n >= 9 ? 'MigWriter' : 'MigAuthor' },
  );
  const Tag = n >= 10 ? Model.define({ name: new CharField({ maxLength: 50 }) }, { name: 'MigTag' }) : undefined;
  const titleField = n >= 4 ? 'name' : 'title';
  const Book = Model.define(
    {
      [titleField]: new CharField({ maxLength: 200 }),
      pages: n >= 5 ? new BigIntegerField() : new IntegerField(),
      ...(n >= 2 ? { rating: new IntegerField({ default: 3 }) } : {}),
      ...(n >= 3 ? { author: new ForeignKey(() => Author, { null: true, onDelete: 'setNull' }) } : {}),
      ...(n >= 10 ? { tags: new ManyToManyField(() => Tag as unknown as typeof Author) } : {}),
    } as unknown as Record<string, CharField>,
    {
      name: 'MigBook',
      ...(n >= 6
        ? {
            indexes: [new Index({ fields: ['-rating', 'name'], name: 'mig_book_rating_name_idx' })],
            constraints: [new UniqueConstraint({ fields: ['author', 'name'], name: 'mig_book_author_name_uniq' })],
          }
        : {}),
    } as never,
  );
  return [Author, Book, ...(Tag ? [Tag] : [])];
}

/** The data migration (step 7), written by hand as a user would after `makemigrations --empty`. */
function dataMigration(after: string): string {
  return `const { Migration, RunCode } = require(${JSON.stringify(ORM_MIGRATIONS)});
module.exports = new Migration({
  dependencies: [['library', ${JSON.stringify(after)}]],
  operations: [
    new RunCode({
      code: async ({ apps, alias }) => {
        const Book = apps.getModel('library', 'MigBook');
        await Book.objects.using(alias).filter({ pages__gt: 300 }).update({ rating: 5 });
      },
      reverseCode: RunCode.noop,
    }),
  ],
});
`;
}

const rows = async <T = Record<string, unknown>>(text: string): Promise<T[]> =>
  scope(async () => (await connections.query('default', text, [])).rows as T[]);
const columnsOf = (table: string) => scope(async () => (await introspectionFor('default').columns(table)).map((c) => c.name));
const tablesNow = () => scope(async () => (await introspectionFor('default').tableNames()).filter((t) => t.startsWith('mig_')));

eachDatabase('migrations: a ten-step model history', (db) => {
  useDatabase(db);
  let project: MigrationProject;

  beforeAll(async () => {
    configureFor(db);
    await resetTables('default', ['mig_'], ['library']);
    project = new MigrationProject('library', modelsAt(1));
  });
  beforeEach(() => configureFor(db));
  afterAll(() => project?.remove());

  test('each step makes the expected migration and applies it, keeping the data', async () => {
    const q = (name: string) => connections.backend('default').quoteIdentifier(name);
    // 1. create
    let made = await project.makemigrations();
    expect(made.drafts.map((d) => d.name)).toEqual(['0001_initial']);
    expect(made.drafts[0]?.operations.map((o) => o.describe())).toEqual(['Create model MigAuthor', 'Create model MigBook']);
    await project.migrate('default');
    await scope(async () => {
      await sql`INSERT INTO mig_author (name, age) VALUES (${'Ann'}, ${40}), (${'Bob'}, ${null})`;
      await sql`INSERT INTO mig_book (title, pages) VALUES (${'Short'}, ${100}), (${'Long'}, ${350}), (${'Huge'}, ${500})`;
    });

    // 2. add a field with a default: existing rows get it, the column keeps no default
    project.setModels(modelsAt(2));
    made = await project.makemigrations();
    expect(made.drafts[0]?.name).toBe('0002_mig_book_rating');
    await project.migrate('default');
    expect((await rows<{ rating: number }>(`SELECT rating FROM mig_book ORDER BY id`)).map((r) => Number(r.rating))).toEqual([3, 3, 3]);
    await expect(scope(() => sql`INSERT INTO mig_book (title, pages) VALUES (${'No rating'}, ${1})`)).rejects.toThrow(IntegrityError);

    // 3. add a nullable foreign key
    project.setModels(modelsAt(3));
    made = await project.makemigrations();
    expect(made.drafts[0]?.operations.map((o) => o.describe())).toEqual(['Add field author to MigBook']);
    await project.migrate('default');
    const authorCol = (await columnsOf('mig_book')).find((c) => c.toLowerCase().startsWith('author')) as string;
    await rows(`UPDATE mig_book SET ${q(authorCol)} = (SELECT id FROM mig_author WHERE name = 'Ann')`);

    // 4. rename a field: never guessed; the flag says it, the column follows and keeps its data
    project.setModels(modelsAt(4));
    const probe = Object.create(project, { write: { value: () => undefined } }) as MigrationProject;
    await expect(probe.makemigrations()).rejects.toThrow(
      "It is impossible to add the non-nullable field 'name' to MigBook without a default: the existing rows need a value.",
    );
    const guessed = await probe.makemigrations({ defaults: ['library.MigBook.name="?"'] });
    expect(guessed.drafts[0]?.operations.map((o) => o.describe())).toEqual([
      'Remove field title from MigBook',
      'Add field name to MigBook',
    ]);
    expect(guessed.notes.join('\n')).toContain('--rename-field library.MigBook.title=name');
    made = await project.makemigrations({ fields: ['library.MigBook.title=name'] });
    expect(made.drafts[0]?.operations.map((o) => o.describe())).toEqual(['Rename field title on MigBook to name']);
    await project.migrate('default');
    expect((await rows<{ name: string }>(`SELECT name FROM mig_book ORDER BY id`)).map((r) => r.name)).toEqual(['Short', 'Long', 'Huge']);

    // 5. alter a field's type: integer → bigint, values kept, big values fit
    project.setModels(modelsAt(5));
    made = await project.makemigrations();
    expect(made.drafts[0]?.operations.map((o) => o.describe())).toEqual(['Alter field pages on MigBook']);
    await project.migrate('default');
    await rows(`UPDATE mig_book SET pages = 3000000000 WHERE name = 'Huge'`);
    expect((await rows<{ pages: unknown }>(`SELECT pages FROM mig_book ORDER BY id`)).map((r) => Number(r.pages))).toEqual([
      100, 350, 3000000000,
    ]);

    // 6. add an index and a unique constraint
    project.setModels(modelsAt(6));
    made = await project.makemigrations();
    expect(made.drafts[0]?.operations.map((o) => o.describe())).toEqual([
      'Create index mig_book_rating_name_idx on -rating, name on model MigBook',
      'Create constraint mig_book_author_name_uniq on model MigBook',
    ]);
    await project.migrate('default');
    const constraints = await scope(() => introspectionFor('default').constraints('mig_book'));
    expect(constraints.get('mig_book_rating_name_idx')?.orders).toEqual(['DESC', 'ASC']);
    expect(constraints.get('mig_book_author_name_uniq')?.unique).toBe(true);
    await expect(
      rows(
        `INSERT INTO mig_book (name, pages, rating, ${q(authorCol)}) SELECT 'Short', 1, 1, ${q(authorCol)} FROM mig_book WHERE name = 'Short'`,
      ),
    ).rejects.toThrow(IntegrityError);

    // 7. a data migration with RunCode on the historical models
    project.write('0007_ratings', dataMigration(await project.leaf()));
    await project.migrate('default');
    expect(
      (await rows<{ name: string; rating: number }>(`SELECT name, rating FROM mig_book ORDER BY id`)).map((r) => [
        r.name,
        Number(r.rating),
      ]),
    ).toEqual([
      ['Short', 3],
      ['Long', 5],
      ['Huge', 5],
    ]);

    // 8. remove a field
    project.setModels(modelsAt(8));
    made = await project.makemigrations();
    expect(made.drafts[0]?.operations.map((o) => o.describe())).toEqual(['Remove field age from MigAuthor']);
    await project.migrate('default');
    expect(await columnsOf('mig_author')).toEqual(['id', 'name']);

    // 9. rename a model (its table follows; the foreign key follows the model)
    project.setModels(modelsAt(9));
    made = await project.makemigrations({ models: ['library.MigAuthor=MigWriter'] });
    expect(made.drafts[0]?.operations.map((o) => o.describe())).toEqual([
      'Rename model MigAuthor to MigWriter',
      'Rename table for MigWriter to mig_writer',
    ]);
    await project.migrate('default');
    expect(await tablesNow()).toEqual(['mig_book', 'mig_writer']);
    expect(
      await rows<{ name: string; author: string }>(
        `SELECT b.name, w.name AS author FROM mig_book b JOIN mig_writer w ON w.id = b.${q(authorCol)} ORDER BY b.id`,
      ),
    ).toEqual([
      { name: 'Short', author: 'Ann' },
      { name: 'Long', author: 'Ann' },
      { name: 'Huge', author: 'Ann' },
    ]);

    // 10. add a many-to-many (and the model it points to)
    project.setModels(modelsAt(10));
    made = await project.makemigrations();
    expect(made.drafts[0]?.operations.map((o) => o.describe())).toEqual(['Create model MigTag', 'Add field tags to MigBook']);
    await project.migrate('default');
    expect(await tablesNow()).toEqual(['mig_book', 'mig_book_tags', 'mig_tag', 'mig_writer']);
    await rows(`INSERT INTO mig_tag (name) VALUES ('db')`);
    await rows(`INSERT INTO mig_book_tags (mig_book_id, mig_tag_id) SELECT b.id, t.id FROM mig_book b, mig_tag t WHERE b.name = 'Long'`);

    // makemigrations --check: the models and the migrations agree
    expect(await project.pendingChanges()).toEqual([]);
    const loader = await project.loader();
    expect(loader.graph.leafNodes('library')).toEqual(['library.0010_mig_tag_mig_book_tags']);
  });

  test('unapplying to step 3 reverses renames, the type change and the constraints with the data kept; forward again', async () => {
    // A value that does not fit the old column type stops the unapply (PostgreSQL and MariaDB
    // check it; SQLite's integer holds it), naming the operation and its SQL.
    if (db.name !== 'sqlite') {
      const err = await project.migrate('default', '0003').catch((e: unknown) => e as Error);
      expect((err as Error).message).toMatch(
        /^Unapplying library\.0005_alter_mig_book_pages failed at operation 1 of 1 \(Alter field pages on MigBook\): .*\nSQL: ALTER TABLE /,
      );
      // 0010 to 0006 were unapplied (each migration is its own transaction); 0005 stays applied.
      expect(
        (await rows<{ name: string }>(`SELECT name FROM spool_migrations WHERE app = 'library' ORDER BY id`)).map((r) =>
          r.name.slice(0, 4),
        ),
      ).toEqual(['0001', '0002', '0003', '0004', '0005']);
      expect((await rows<{ name: string }>(`SELECT name FROM mig_book ORDER BY id`)).map((r) => r.name)).toEqual(['Short', 'Long', 'Huge']);
    }
    await rows(`UPDATE mig_book SET pages = 3000000 WHERE name = 'Huge'`);
    const result = await project.migrate('default', '0003');
    expect(result.steps.map((s) => s.migration.slice(8, 12))).toEqual(
      db.name === 'sqlite' ? ['0010', '0009', '0008', '0007', '0006', '0005', '0004'] : ['0005', '0004'],
    );
    expect(await tablesNow()).toEqual(['mig_author', 'mig_book']);
    expect(await columnsOf('mig_author')).toEqual(['id', 'name', 'age']);
    expect(
      (await rows<{ title: string; pages: unknown; rating: number }>(`SELECT title, pages, rating FROM mig_book ORDER BY id`)).map((r) => [
        r.title,
        Number(r.pages),
        Number(r.rating),
      ]),
    ).toEqual([
      ['Short', 100, 3],
      ['Long', 350, 5],
      ['Huge', 3000000, 5],
    ]);
    const forward = await project.migrate('default');
    expect(forward.steps).toHaveLength(7);
    expect((await rows<{ name: string }>(`SELECT name FROM mig_book ORDER BY id`)).map((r) => r.name)).toEqual(['Short', 'Long', 'Huge']);
    expect(await tablesNow()).toEqual(['mig_book', 'mig_book_tags', 'mig_tag', 'mig_writer']);
  });

  test('back to zero leaves no table; forward again rebuilds the schema from empty', async () => {
    const back = await project.migrate('default', null);
    expect(back.steps).toHaveLength(10);
    expect(await tablesNow()).toEqual([]);
    const again = await project.migrate('default');
    expect(again.steps).toHaveLength(10);
    expect(await tablesNow()).toEqual(['mig_book', 'mig_book_tags', 'mig_tag', 'mig_writer']);
    expect((await project.migrate('default')).nothingToDo).toBe(true);
    expect(await project.pendingChanges()).toEqual([]);
  });
});
