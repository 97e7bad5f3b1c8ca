// inspectdb round trip: the models `spool inspectdb` writes for a migrated schema describe that
// schema exactly. Built into a schema by the same schema editor, they give the same statements
// (tables, column types, NULL, unique, indexes, foreign keys, constraint and index names) as the
// models that made it, on every database; a `makemigrations` for them then finds nothing more.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import { scope } from '@spool/connections';
import { inspect } from '@spool/cli';
import {
  AttributeNamingStrategy,
  BigIntegerField,
  BooleanField,
  CharField,
  DateField,
  DateTimeField,
  DecimalField,
  FloatField,
  ForeignKey,
  Index,
  IntegerField,
  JSONField,
  ManyToManyField,
  Model,
  OneToOneField,
  TextField,
  UUIDField,
  UniqueConstraint,
} from '@spool/orm';
import { Autodetector, NonInteractiveQuestioner, ProjectState, defineApp, schemaEditorFor, type ModelState } from '@spool/orm/migrations';
import { configureFor, eachDatabase, useDatabase } from '../support/helpers';
import { MigrationProject, resetTables } from './support';

function models(): unknown[] {
  const RtAuthor = Model.define(
    {
      name: new CharField({ maxLength: 100 }),
      email: new CharField({ maxLength: 200, unique: true, null: true }),
      bio: new TextField({ null: true }),
      age: new IntegerField({ dbIndex: true }),
      active: new BooleanField({ default: true }),
      joinedAt: new DateTimeField({ null: true }),
    },
    { name: 'RtAuthor' },
  );
  const RtTag = Model.define({ label: new CharField({ maxLength: 30 }) }, { name: 'RtTag' });
  const RtBook = Model.define(
    {
      title: new CharField({ maxLength: 200 }),
      pages: new BigIntegerField(),
      price: new DecimalField({ maxDigits: 8, decimalPlaces: 2, null: true }),
      score: new FloatField({ null: true }),
      published: new DateField({ null: true }),
      updated: new DateTimeField(),
      code: new UUIDField({ unique: true }),
      extra: new JSONField({ null: true }),
      author: new ForeignKey(() => RtAuthor, { onDelete: 'cascade' }),
      editor: new ForeignKey(() => RtAuthor, { onDelete: 'setNull', null: true, relatedName: 'edited' }),
      tags: new ManyToManyField(() => RtTag),
    },
    {
      name: 'RtBook',
      uniqueTogether: [['title', 'pages']],
      indexes: [new Index({ fields: ['-updated', 'title'], name: 'rt_book_updated_title_idx' })],
      constraints: [new UniqueConstraint({ fields: ['author', 'title'], name: 'rt_book_author_title_uniq' })],
    } as never,
  );
  const RtCover = Model.define(
    { book: new OneToOneField(() => RtBook, { onDelete: 'cascade' }), url: new CharField({ maxLength: 300 }) },
    { name: 'RtCover' },
  );
  // A table with Spool 0.1's attribute-named columns ("displayName", "ownerId").
  const RtLegacy = Model.define(
    { displayName: new CharField({ maxLength: 50 }), owner: new ForeignKey(() => RtAuthor, { onDelete: 'cascade' }) },
    { name: 'RtLegacy', namingStrategy: new AttributeNamingStrategy() },
  );
  return [RtAuthor, RtTag, RtBook, RtCover, RtLegacy];
}

/** Every CREATE statement the schema editor makes for the models of a state, sorted. */
async function schemaOf(state: ProjectState): Promise<string[]> {
  const editor = schemaEditorFor('default', { collect: true });
  for (const ms of state.models.values() as Iterable<ModelState>) await editor.createModel(state.apps.meta(ms.key));
  return editor.statements.map((s) => s.sql).sort();
}

eachDatabase('migrations: inspectdb round trip', (db) => {
  useDatabase(db);
  let project: MigrationProject;
  let dir: string;

  beforeAll(async () => {
    configureFor(db);
    await resetTables('default', ['rt_'], ['roundtrip']);
    project = new MigrationProject('roundtrip', models());
    await project.makemigrations();
    await project.migrate('default');
    dir = mkdtempSync(join(tmpdir(), 'spool-inspect-'));
  });
  beforeEach(() => configureFor(db));
  afterAll(() => {
    project?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the inspected models make the same schema as the models that created it', async () => {
    const tables = ['rt_author', 'rt_book', 'rt_book_tags', 'rt_cover', 'rt_legacy', 'rt_tag'];
    const { source, models: found } = await scope(() => inspect('default', tables));
    expect(found.map((m) => m.className)).toEqual(['RtAuthor', 'RtBook', 'RtBookTags', 'RtCover', 'RtLegacy', 'RtTag']);
    // Fields are named in camelCase after the columns; dbColumn only where the default naming differs.
    expect(source).toContain(`joinedAt: new DateTimeField({ null: true }),`);
    expect(source).toContain(`rtBook: new ForeignKey(ref<RtBook>(() => RtBook), { onDelete: 'doNothing' }),`);
    expect(source).toContain(`displayName: new CharField({ maxLength: 50, dbColumn: 'displayName' }),`);
    expect(source).toContain(`owner: new ForeignKey(ref<RtAuthor>(() => RtAuthor), { onDelete: 'doNothing', dbColumn: 'ownerId' }),`);
    expect(source).toContain(
      `author: new ForeignKey(ref<RtAuthor>(() => RtAuthor), { onDelete: 'doNothing', relatedName: 'rtBookAuthorSet' }),`,
    );
    expect(source).toContain(`book: new OneToOneField(ref<RtBook>(() => RtBook), { onDelete: 'doNothing' }),`);
    expect(source).toContain(`new UniqueConstraint({ fields: ['author', 'title'], name: 'rt_book_author_title_uniq' })`);
    expect(source).toContain(`new Index({ fields: ['-updated', 'title'], name: 'rt_book_updated_title_idx' })`);
    // The file is TypeScript to edit: compile it (types erased) and load it as a user's module.
    const js = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    const file = join(dir, `inspected-${db.name}.cjs`);
    // The generated file imports '@spool/orm' as a user's module would; point it at this build.
    writeFileSync(file, js.replace(/require\("@spool\/orm"\)/g, `require(${JSON.stringify(require.resolve('@spool/orm'))})`));
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const inspected = require(file) as Record<string, unknown>;
    const app = defineApp({ label: 'roundtrip', models: inspected, migrations: join(dir, 'none') });
    const inspectedState = await ProjectState.fromApps([app]);
    const migratedState = (await project.loader()).graph.makeState();
    expect(await scope(() => schemaOf(inspectedState))).toEqual(await scope(() => schemaOf(migratedState)));
    // And their own first migration leaves nothing for makemigrations --check.
    const empty = new ProjectState();
    const first = await new Autodetector(empty, inspectedState, new NonInteractiveQuestioner()).detect();
    const after = first.get('roundtrip') ?? [];
    let state = empty;
    for (const op of after) {
      state = state.clone();
      op.stateForwards('roundtrip', state);
    }
    const again = await new Autodetector(state, inspectedState, new NonInteractiveQuestioner()).detect();
    expect(again.get('roundtrip') ?? []).toEqual([]);
  });
});
