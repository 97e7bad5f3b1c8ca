// Model definition: names that cannot be fields (the instance API is $-prefixed and JavaScript
// reserves some names), clashes between fields, columns, methods and reverse accessors, unknown
// options, relation targets that cannot be resolved. Each message names what was wrong.
import {
  CharField,
  ForeignKey,
  IntegerField,
  Model,
  ModelDefinitionError,
  ReverseForeignKey,
  SpoolError,
  ManyToManyField,
  ref,
} from '@spool/orm';

const define =
  (fields: Record<string, unknown>, options: Record<string, unknown> = {}) =>
  () =>
    Model.define(fields as never, options as never);

describe('model definition', () => {
  test('instance methods are $-prefixed: fields named like them are allowed, $ and _ prefixes are not', () => {
    // `save`, `delete`, `clean` are ordinary field names in Spool (the API is $save, $delete, ...).
    class Task extends Model.define(
      { save: new CharField({ maxLength: 5 }), delete: new IntegerField({ default: 0 }), clean: new IntegerField({ null: true }) },
      { name: 'Task' },
    ) {}
    const t = new Task({ save: 'yes' });
    expect(t.save).toBe('yes');
    expect(typeof t.$save).toBe('function');
    expect(t.delete).toBe(0);
    expect(define({ $save: new CharField({ maxLength: 1 }) })).toThrow(
      "field name '$save' must start with a letter and contain only letters, digits and underscores (names starting with '$' or '_' are reserved for Spool's instance API).",
    );
    expect(define({ _state: new CharField({ maxLength: 1 }) })).toThrow(ModelDefinitionError);
  });

  test('reserved names, __ and trailing underscores are rejected when the model is defined', () => {
    for (const name of ['pk', 'then', 'constructor', 'toJSON', 'objects', 'DoesNotExist']) {
      expect(define({ [name]: new CharField({ maxLength: 1 }) }, { name: 'M' })).toThrow(
        `M: '${name}' is a reserved word that cannot be used as a field name.`,
      );
    }
    expect(define({ a__b: new CharField({ maxLength: 1 }) })).toThrow("field name 'a__b' cannot contain '__' (it separates lookups).");
    expect(define({ a_: new CharField({ maxLength: 1 }) })).toThrow("field name 'a_' cannot end with an underscore.");
  });

  test('clashes: attribute names, columns, two primary keys, implicit id, reused field objects', () => {
    const author = () => Model.define({ n: new CharField({ maxLength: 1 }) });
    const A = author();
    expect(define({ owner: new ForeignKey(() => A, { onDelete: 'cascade' }), ownerId: new IntegerField() }, { name: 'M' })).toThrow(
      "M.owner: its attribute 'ownerId' clashes with the field 'ownerId'.",
    );
    expect(define({ a: new IntegerField({ dbColumn: 'x' }), b: new IntegerField({ dbColumn: 'x' }) }, { name: 'M' })).toThrow(
      "M: fields 'a' and 'b' map to the same column 'x' ('a' has dbColumn 'x'; 'b' has dbColumn 'x'). Give one of them another dbColumn, or rename it.",
    );
    expect(define({ a: new IntegerField({ primaryKey: true }), b: new IntegerField({ primaryKey: true }) }, { name: 'M' })).toThrow(
      "M: only one primary key is allowed ('a' and 'b').",
    );
    expect(define({ id: new IntegerField() }, { name: 'M' })).toThrow("M: a field named 'id' must be the primary key (primaryKey: true)");
    const f = new IntegerField();
    Model.define({ f }, { name: 'First' });
    expect(define({ f }, { name: 'Second' })).toThrow(
      'Second.f: this field object already belongs to First.f. Create a new field for each model.',
    );
    expect(define({ x: 'nope' }, { name: 'M' })).toThrow(
      'M.x is not a field (got string). Use a field class: new CharField({ maxLength: 100 }).',
    );
  });

  test('a method of the subclass with the name of a field is rejected on first use', () => {
    class Bad extends Model.define({ title: new CharField({ maxLength: 5 }) }, { dbTable: 'bad' }) {
      // @ts-expect-error -- TypeScript rejects it too: the field is a string property
      title(): string {
        return 'x';
      }
    }
    expect(() => new Bad({ title: 'a' })).toThrow('Bad.title is both a field and a method or accessor of the class. Rename one of them.');
  });

  test('options are validated: unknown keys, bad identifiers, required field options', () => {
    expect(define({}, { dbTabel: 'x' })).toThrow(
      "Unknown model option 'dbTabel'. Valid options: name, dbTable, namingStrategy, ordering, uniqueTogether, constraints, indexes, getLatestBy.",
    );
    expect(define({}, { dbTable: 'x; drop table y' })).toThrow('dbTable "x; drop table y" must be an identifier');
    expect(define({ a: new IntegerField() }, { name: 'M', ordering: ['nope'] })).toThrow(
      "Cannot resolve keyword 'nope' into field of M (in ordering).",
    );
    expect(() => new CharField({} as never)).toThrow('CharField: maxLength must be a positive integer, got undefined.');
    expect(() => new IntegerField({ nul: true } as never)).toThrow(
      "IntegerField: unknown option 'nul'. Valid options: blank, choices, dbColumn, dbIndex, default, editable, helpText, null, primaryKey, unique, validators, verboseName.",
    );
    expect(() => new ForeignKey(() => Model, {} as never)).toThrow(
      "ForeignKey: onDelete must be one of 'cascade', 'protect', 'restrict', 'setNull', 'setDefault', 'doNothing', got undefined.",
    );
    expect(() => new ForeignKey(() => Model, { onDelete: 'setNull' })).toThrow("ForeignKey: onDelete 'setNull' needs null: true.");
    expect(() => new IntegerField({ dbColumn: 'a"b' })).not.toThrow();
    expect(define({ a: new IntegerField({ dbColumn: 'a"b' }) }, { name: 'M' })).toThrow('M.a: column name "a\\"b" must be an identifier');
  });

  test('relations that cannot be resolved, and reverse declarations that do not match, are reported on first use', () => {
    class Orphan extends Model.define(
      {
        parent: new ForeignKey(
          ref<Orphan>(() => undefined),
          { onDelete: 'cascade' },
        ),
      },
      { dbTable: 'orphan' },
    ) {}
    const e = (() => {
      try {
        Orphan.objects.filter({ parent__id: 1 });
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(ModelDefinitionError.is(e)).toBe(true);
    expect(SpoolError.is(e)).toBe(true);
    expect((e as Error).message).toBe('Orphan.parent: the related model must be a model class (from Model.define()), got undefined.');

    class Writer extends Model.define(
      { name: new CharField({ maxLength: 5 }), works: new ReverseForeignKey<Work>(() => Work, 'writer') },
      { dbTable: 'writer' },
    ) {}
    class Work extends Model.define({ author: new ForeignKey(() => Writer, { onDelete: 'cascade' }) }, { dbTable: 'work' }) {}
    expect(() => Writer.objects.filter({ works__id: 1 } as never)).toThrow(
      'Writer.works declares the reverse of Work.writer, which does not exist. Fields of Work: id, author.',
    );
    expect(Work).toBeDefined();
  });

  test('two unnamed reverse relations to the same model clash, as in Django', () => {
    class Person extends Model.define({ name: new CharField({ maxLength: 5 }) }, { dbTable: 'person' }) {}
    class Letter extends Model.define(
      { from: new ForeignKey(() => Person, { onDelete: 'cascade' }), to: new ForeignKey(() => Person, { onDelete: 'cascade' }) },
      { dbTable: 'letter' },
    ) {}
    // Letter's class has not been used yet: its name (hence the reverse names) is unknown, and Spool says so.
    expect(() => Person.$meta.related()).toThrow(
      'is used through a relation before its class was, so its reverse accessor on Person is unknown',
    );
    expect(Letter.$meta.name).toBe('Letter');
    expect(() => Person.$meta.related()).toThrow(
      "Reverse query name 'letter' of Letter.to clashes with Letter.from on Person. Give one of them a relatedName.",
    );
  });

  test('tables default to the class name in snake_case; many-to-many tables to <table>_<field>', () => {
    class BookReview extends Model.define({
      text: new CharField({ maxLength: 5 }),
      labels: new ManyToManyField(ref<BookReview>('self')),
    }) {}
    expect(BookReview.$meta.dbTable).toBe('book_review');
    expect(BookReview.$meta.name).toBe('BookReview');
    const through = BookReview.$meta.throughFor(BookReview.$meta.manyToMany[0]!);
    expect(through.dbTable).toBe('book_review_labels');
    expect(through.fields.map((f) => f.column)).toEqual(['id', 'from_book_review_id', 'to_book_review_id']);
  });
});
