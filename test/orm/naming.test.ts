// Columns named the SQL way (issue 9): tables and columns the ORM creates are snake_case
// (`page_count`, `author_id`, many-to-many `nm_book_tags` with `nm_book_id`), so raw SQL written
// the usual way works against them; `dbColumn` overrides one name; a model may take another
// strategy (the attribute-named columns of Spool 0.1, or one of yours); two fields meeting on one
// column are refused when the model is defined.
import { ConfigError, sql } from '@spool/connections';
import {
  AttributeNamingStrategy,
  CharField,
  DateTimeField,
  ForeignKey,
  IntegerField,
  ManyToManyField,
  Model,
  ModelDefinitionError,
  UnderscoreNamingStrategy,
  ref,
  setNamingStrategy,
} from '@spool/orm';
import { checkModels, defineApp, introspectionFor } from '@spool/orm/migrations';
import { eachDatabase } from '../support/helpers';
import { inTx, useTables } from './support';

class NmAuthor extends Model.define(
  {
    fullName: new CharField({ maxLength: 100 }),
    createdAt: new DateTimeField({ autoNowAdd: true }),
  },
  { dbTable: 'nm_author' },
) {}

class NmTag extends Model.define({ label: new CharField({ maxLength: 30 }) }, { dbTable: 'nm_tag' }) {}

class NmBook extends Model.define(
  {
    title: new CharField({ maxLength: 100 }),
    pageCount: new IntegerField(),
    author: new ForeignKey(() => NmAuthor, { onDelete: 'cascade', relatedName: 'books' }),
    coAuthor: new ForeignKey(() => NmAuthor, { onDelete: 'setNull', null: true, relatedName: 'coAuthored' }),
    legacyCode: new CharField({ maxLength: 10, null: true, dbColumn: 'LegacyCODE' }),
    tags: new ManyToManyField(() => NmTag, { relatedName: 'books' }),
  },
  { dbTable: 'nm_book' },
) {}

/** A model pointing at itself through a many-to-many: the through table's columns get `from_` / `to_`. */
class NmPage extends Model.define({ linksTo: new ManyToManyField(ref<NmPage>('self')) }, { dbTable: 'nm_page' }) {}

/** The columns of Spool 0.1, for a database created that way. */
class NmLegacyNote extends Model.define(
  {
    bodyText: new CharField({ maxLength: 100 }),
    writtenBy: new ForeignKey(() => NmAuthor, { onDelete: 'cascade', relatedName: 'legacyNotes' }),
  },
  { dbTable: 'nm_legacy_note', namingStrategy: new AttributeNamingStrategy() },
) {}

/** A strategy of one's own: prefixed tables, `c_` columns, `<field>_ref` keys, `<table>__<field>` join tables. */
class HouseNaming extends UnderscoreNamingStrategy {
  override tableName(modelName: string): string {
    return `nm_house_${super.tableName(modelName)}`;
  }
  override columnName(fieldName: string): string {
    return `c_${super.columnName(fieldName)}`;
  }
  override foreignKeyColumnName(fieldName: string): string {
    return `${super.columnName(fieldName)}_ref`;
  }
  override joinTableName(sourceTable: string, fieldName: string): string {
    return `${sourceTable}__${super.columnName(fieldName)}`;
  }
  override joinColumnName(modelName: string, side: 'from' | 'to' | undefined): string {
    return `${side ? `${side}_` : ''}${super.tableName(modelName)}_ref`;
  }
}
const house = new HouseNaming();

class Shelf extends Model.define({ roomName: new CharField({ maxLength: 30 }) }, { namingStrategy: house }) {}
class ShelfItem extends Model.define(
  {
    itemName: new CharField({ maxLength: 30 }),
    shelf: new ForeignKey(() => Shelf, { onDelete: 'cascade', relatedName: 'items' }),
    neighbours: new ManyToManyField(() => Shelf, { relatedName: 'nearItems' }),
  },
  { namingStrategy: house },
) {}

const MODELS = [NmAuthor, NmTag, NmBook, NmPage, NmLegacyNote, Shelf, ShelfItem];

const columnsOf = (table: string) => introspectionFor('default').columns(table);

describe('naming: model definition', () => {
  test('snake_case columns and tables by default; attribute names unchanged', () => {
    const meta = NmBook.$meta;
    expect(meta.fields.map((f) => [f.name, f.attname, f.column])).toEqual([
      ['id', 'id', 'id'],
      ['title', 'title', 'title'],
      ['pageCount', 'pageCount', 'page_count'],
      ['author', 'authorId', 'author_id'],
      ['coAuthor', 'coAuthorId', 'co_author_id'],
      ['legacyCode', 'legacyCode', 'LegacyCODE'],
    ]);
    class BookReview extends Model.define({ starCount: new IntegerField() }) {}
    expect(BookReview.$meta.dbTable).toBe('book_review');
    expect(NmBook.$meta.throughFor(NmBook.$meta.field('tags') as never).dbTable).toBe('nm_book_tags');
  });

  test('two fields mapping to the same column are refused, naming both and where each column came from', () => {
    expect(() => Model.define({ createdAt: new IntegerField(), created_at: new IntegerField() }, { name: 'Clash1' })).toThrow(
      new ModelDefinitionError(
        "Clash1: fields 'createdAt' and 'created_at' map to the same column 'created_at' ('createdAt' is named by UnderscoreNamingStrategy; 'created_at' is named by UnderscoreNamingStrategy). Give one of them another dbColumn, or rename it.",
      ),
    );
    expect(() =>
      Model.define(
        { author: new ForeignKey(() => NmAuthor, { onDelete: 'cascade' }), authorKey: new IntegerField({ dbColumn: 'author_id' }) },
        { name: 'Clash2' },
      ),
    ).toThrow(
      "Clash2: fields 'author' and 'authorKey' map to the same column 'author_id' ('author' is named by UnderscoreNamingStrategy; 'authorKey' has dbColumn 'author_id'). Give one of them another dbColumn, or rename it.",
    );
    // Case matters nowhere: MariaDB and SQLite compare column names without it.
    expect(() => Model.define({ a: new IntegerField({ dbColumn: 'Code' }), code: new IntegerField() }, { name: 'Clash3' })).toThrow(
      "Clash3: fields 'a' and 'code' map to the same column 'code'",
    );
    class Flat extends UnderscoreNamingStrategy {
      override columnName(): string {
        return 'value';
      }
    }
    expect(() => Model.define({ a: new IntegerField(), b: new IntegerField() }, { name: 'Clash4', namingStrategy: new Flat() })).toThrow(
      "Clash4: fields 'id' and 'a' map to the same column 'value' ('id' is named by Flat; 'a' is named by Flat). Give one of them another dbColumn, or rename it.",
    );
  });

  test('a strategy is checked: its methods when given, its names when used', () => {
    expect(() =>
      Model.define({ a: new IntegerField() }, { name: 'Bad1', namingStrategy: { columnName: (n: string) => n } as never }),
    ).toThrow(
      new ConfigError(
        'Bad1: namingStrategy lacks the method(s) tableName, foreignKeyColumnName, joinTableName, joinColumnName (extend UnderscoreNamingStrategy).',
      ),
    );
    class Dashes extends UnderscoreNamingStrategy {
      override columnName(n: string): string {
        return `col-${n}`;
      }
      override tableName(n: string): string {
        return `t-${n}`;
      }
    }
    expect(() => Model.define({ a: new IntegerField() }, { name: 'Bad2', namingStrategy: new Dashes() })).toThrow(
      'Bad2.id: column name "col-id" (from Dashes) must be an identifier (letters, digits, underscore; at most 64 characters).',
    );
    const Bad3 = Model.define(
      { key: new IntegerField({ primaryKey: true, dbColumn: 'key' }) },
      { name: 'Bad3', namingStrategy: new Dashes() },
    );
    expect(() => Bad3.$meta.dbTable).toThrow('Bad3: the table name "t-Bad3" (from Dashes) is not a valid identifier; set dbTable.');
  });

  test('setNamingStrategy() after models were defined is refused, naming them', () => {
    expect(() => setNamingStrategy(new AttributeNamingStrategy())).toThrow(ConfigError);
    expect(() => setNamingStrategy(new AttributeNamingStrategy())).toThrow(
      /^setNamingStrategy\(\) must run before the models are defined: (\w+, )*NmBook(, \w+)* and \d+ more already named their columns with UnderscoreNamingStrategy\. Call it in a module imported before your models, or give each model its own \{ namingStrategy \}\.$/,
    );
    expect(() => setNamingStrategy({} as never)).toThrow(
      'setNamingStrategy(): namingStrategy lacks the method(s) tableName, columnName, foreignKeyColumnName, joinTableName, joinColumnName (extend UnderscoreNamingStrategy).',
    );
  });
});

describe('naming: spool check', () => {
  test('names PostgreSQL would cut (models.E018) and a many-to-many table on another table (fields.E340)', async () => {
    // 53 characters, 64 once snake_cased: accepted by the definition (64 is every database's
    // identifier limit but PostgreSQL's), reported by the check.
    const longName = 'theLongAttributeNameThatGrowsOnceSnakeCasedByTheRules';
    const ChkTag = Model.define({ label: new CharField({ maxLength: 10 }) }, { name: 'ChkTag', dbTable: 'nm_chk_tag' });
    const ChkPair = Model.define(
      { [longName]: new IntegerField(), tags: new ManyToManyField(() => ChkTag) },
      { name: 'ChkPair', dbTable: 'nm_chk_pair' },
    );
    const ChkPairTags = Model.define({ n: new IntegerField() }, { name: 'ChkPairTags', dbTable: 'nm_chk_pair_tags' });
    const messages = await checkModels([defineApp({ label: 'chk', models: [ChkTag, ChkPairTags, ChkPair] })]);
    expect(messages.map((m) => [m.id, m.obj, m.message])).toEqual([
      [
        'fields.E340',
        'chk.ChkPair.tags',
        "The field's intermediary table 'nm_chk_pair_tags' clashes with the table name of chk.ChkPairTags.",
      ],
      [
        'models.E018',
        `chk.ChkPair.${longName}`,
        "The column name 'the_long_attribute_name_that_grows_once_snake_cased_by_the_rules' is 64 characters long; PostgreSQL keeps only 63.",
      ],
    ]);
  });
});

eachDatabase('naming: columns the SQL way', (db) => {
  useTables(db, MODELS);

  test('the tables the ORM creates have snake_case columns; dbColumn is kept as given', () =>
    inTx(async () => {
      expect((await columnsOf('nm_author')).map((c) => c.name)).toEqual(['id', 'full_name', 'created_at']);
      expect((await columnsOf('nm_book')).map((c) => c.name)).toEqual([
        'id',
        'title',
        'page_count',
        'author_id',
        'co_author_id',
        'LegacyCODE',
      ]);
      expect((await columnsOf('nm_book_tags')).map((c) => c.name)).toEqual(['id', 'nm_book_id', 'nm_tag_id']);
      expect((await columnsOf('nm_page_links_to')).map((c) => c.name)).toEqual(['id', 'from_nm_page_id', 'to_nm_page_id']);
      const fks = [...(await introspectionFor('default').constraints('nm_book')).values()].filter((c) => c.foreignKey);
      expect(fks.map((c) => [c.columns, c.foreignKey]).sort()).toEqual([
        [['author_id'], { table: 'nm_author', column: 'id' }],
        [['co_author_id'], { table: 'nm_author', column: 'id' }],
      ]);
    }));

  test('raw SQL with snake_case names reads and writes what the ORM wrote, and the other way round', () =>
    inTx(async () => {
      const ann = await NmAuthor.objects.create({ fullName: 'Ann Archer' });
      const bob = await NmAuthor.objects.create({ fullName: 'Bob Brown' });
      const book = await NmBook.objects.create({ title: 'Alpha', pageCount: 120, author: ann, coAuthor: bob, legacyCode: 'A-1' });
      const python = await NmTag.objects.create({ label: 'python' });
      await book.tags.add(python);
      // Unquoted identifiers: PostgreSQL folds them to lower case, which snake_case columns are.
      const rows = await sql<{ title: string; full_name: string; page_count: number; label: string }>`
        SELECT b.title, a.full_name, b.page_count, t.label
        FROM nm_book b
        JOIN nm_author a ON a.id = b.author_id
        JOIN nm_book_tags bt ON bt.nm_book_id = b.id
        JOIN nm_tag t ON t.id = bt.nm_tag_id
        WHERE b.co_author_id = ${bob.id} AND a.created_at IS NOT NULL`;
      expect(rows.map((r) => ({ ...r, page_count: Number(r.page_count) }))).toEqual([
        { title: 'Alpha', full_name: 'Ann Archer', page_count: 120, label: 'python' },
      ]);
      await sql`UPDATE nm_book SET page_count = page_count + 1, author_id = ${bob.id} WHERE co_author_id = ${bob.id}`;
      await sql`INSERT INTO nm_book (title, page_count, author_id) VALUES (${'Beta'}, ${7}, ${ann.id})`;
      const fresh = await NmBook.objects.orderBy('title').values('title', 'pageCount', 'authorId', 'coAuthorId', 'legacyCode');
      expect(fresh).toEqual([
        { title: 'Alpha', pageCount: 121, authorId: bob.id, coAuthorId: bob.id, legacyCode: 'A-1' },
        { title: 'Beta', pageCount: 7, authorId: ann.id, coAuthorId: null, legacyCode: null },
      ]);
      // raw(): columns named as the fields' columns fill the attributes.
      const raw = await NmBook.objects.raw(sql`SELECT * FROM nm_book WHERE page_count > ${100}`);
      expect(raw.map((b) => [b.title, b.pageCount, b.authorId, b.coAuthorId, b.legacyCode])).toEqual([
        ['Alpha', 121, bob.id, bob.id, 'A-1'],
      ]);
      // Lookups across the relations, both ways (reverse ones are untyped here: no declarations), use the same columns.
      expect(await NmBook.objects.filter({ tags__label: 'python', coAuthor__fullName: 'Bob Brown' }).count()).toBe(1);
      expect(await NmAuthor.objects.filter({ books__tags__label: 'python' } as never).valuesList('fullName', { flat: true })).toEqual([
        'Bob Brown',
      ]);
      expect(await NmTag.objects.filter({ books__coAuthor__fullName: 'Bob Brown' } as never).count()).toBe(1);
    }));

  test('a self-referencing many-to-many: from_/to_ columns, both directions', () =>
    inTx(async () => {
      const [a, b, c] = [await NmPage.objects.create({}), await NmPage.objects.create({}), await NmPage.objects.create({})];
      await a.linksTo.add(b, c);
      const rows = await sql<{ n: number }>`SELECT count(*) AS n FROM nm_page_links_to WHERE from_nm_page_id = ${a.id}`;
      expect(Number(rows[0]?.n)).toBe(2);
      expect((await a.linksTo.all()).map((p) => p.id).sort()).toEqual([b.id, c.id].sort());
    }));

  test('AttributeNamingStrategy: the columns of Spool 0.1 (attribute names), for one model', () =>
    inTx(async () => {
      expect((await columnsOf('nm_legacy_note')).map((c) => c.name)).toEqual(['id', 'bodyText', 'writtenById']);
      const ann = await NmAuthor.objects.create({ fullName: 'Ann' });
      await NmLegacyNote.objects.create({ bodyText: 'hello', writtenBy: ann });
      const rows = await sql`SELECT ${sql.id('bodyText')} AS body FROM nm_legacy_note WHERE ${sql.id('writtenById')} = ${ann.id}`;
      expect(rows).toEqual([{ body: 'hello' }]);
      expect(await NmAuthor.objects.filter({ legacyNotes__bodyText: 'hello' } as never).count()).toBe(1);
      expect(await NmLegacyNote.objects.filter({ writtenBy__fullName: 'Ann' }).values('bodyText', 'writtenById')).toEqual([
        { bodyText: 'hello', writtenById: ann.id },
      ]);
    }));

  test('a strategy of ones own names tables, columns, keys and join tables; queries follow it', () =>
    inTx(async () => {
      expect([Shelf.$meta.dbTable, ShelfItem.$meta.dbTable]).toEqual(['nm_house_shelf', 'nm_house_shelf_item']);
      expect((await columnsOf('nm_house_shelf')).map((c) => c.name)).toEqual(['c_id', 'c_room_name']);
      expect((await columnsOf('nm_house_shelf_item')).map((c) => c.name)).toEqual(['c_id', 'c_item_name', 'shelf_ref']);
      expect((await columnsOf('nm_house_shelf_item__neighbours')).map((c) => c.name)).toEqual(['c_id', 'shelf_item_ref', 'shelf_ref']);
      const hall = await Shelf.objects.create({ roomName: 'hall' });
      const attic = await Shelf.objects.create({ roomName: 'attic' });
      const lamp = await ShelfItem.objects.create({ itemName: 'lamp', shelf: hall });
      await lamp.neighbours.add(attic);
      expect(await ShelfItem.objects.filter({ shelf__roomName: 'hall', neighbours__roomName: 'attic' }).count()).toBe(1);
      expect(await Shelf.objects.filter({ items__itemName: 'lamp' } as never).valuesList('roomName', { flat: true })).toEqual(['hall']);
      expect(await Shelf.objects.filter({ nearItems__itemName: 'lamp' } as never).valuesList('roomName', { flat: true })).toEqual([
        'attic',
      ]);
      const rows = await sql<{ item_name: string }>`
        SELECT i.c_item_name AS item_name FROM nm_house_shelf_item i JOIN nm_house_shelf s ON s.c_id = i.shelf_ref WHERE s.c_room_name = ${'hall'}`;
      expect(rows).toEqual([{ item_name: 'lamp' }]);
    }));
});
