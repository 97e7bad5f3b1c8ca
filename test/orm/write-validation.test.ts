// Values are validated at the write boundary (issue 9): create(), $save() (insert and update),
// bulkCreate(), getOrCreate() and updateOrCreate() check every value as update() does, and a value
// no database can store unchanged is a ValidationError naming the model and the field, the same on
// all three databases, before any SQL is sent. Django's answers differ per database here (NULL, a
// silent U+FFFD, str(dict), DataError...): Spool refuses them everywhere, deliberately (README,
// "Differences from Django").
import { captureQueries } from '@spool/testing';
import { ValidationError } from '@spool/orm';
import { eachDatabase } from '../support/helpers';
import { djangoAnswer } from '../django-reference/reference';
import { Book, Sample } from './models';
import { inTx, useTables } from './support';

const circular: Record<string, unknown> = { a: 1 };
circular.self = circular;

/** One bad value per case: the field, the value, the message (after "<field>: "), Django's answer where it has one. */
const CASES: ReadonlyArray<{ name: string; field: string; value: unknown; message: RegExp; django?: string }> = [
  { name: 'an invalid Date', field: 'at', value: new Date('nope'), message: /^Invalid Date value has an invalid format/ },
  {
    name: 'an impossible instant',
    field: 'at',
    value: '2021-13-01 00:00',
    message: /^"2021-13-01 00:00" value has an invalid format/,
    django: 'values.datetime_invalid_string',
  },
  {
    name: 'NaN in a FloatField',
    field: 'ratio',
    value: Number.NaN,
    message: /^NaN value must be a finite float/,
    django: 'values.float_nan',
  },
  {
    name: 'Infinity in a FloatField',
    field: 'ratio',
    value: Number.POSITIVE_INFINITY,
    message: /^Infinity value must be a finite float/,
    django: 'values.float_infinity',
  },
  {
    name: 'an object in a CharField',
    field: 'label',
    value: { a: 1 },
    message: /^\{"a":1\} value must be a string\./,
    django: 'values.char_object',
  },
  {
    name: 'a lone surrogate in a TextField',
    field: 'body',
    value: 'a\uD800b',
    message: /^The text has a lone UTF-16 surrogate \(U\+D800 at index 1\), which no database can store/,
    django: 'values.text_lone_surrogate',
  },
  {
    name: 'a lone surrogate in a CharField',
    field: 'label',
    value: '\uDC00',
    message: /^The text has a lone UTF-16 surrogate \(U\+DC00 at index 0\)/,
  },
  {
    name: 'a bigint in a JSONField',
    field: 'doc',
    value: { n: 2n ** 64n },
    message: /^Value must be valid JSON: \$\.n is a bigint \(18446744073709551616n\), which JSON cannot represent/,
    django: 'values.json_big_number',
  },
  {
    name: 'a circular value in a JSONField',
    field: 'doc',
    value: circular,
    message: /^Value must be valid JSON: \$\.self is a circular reference\./,
    django: 'values.json_circular',
  },
  {
    name: 'NaN inside a JSONField',
    field: 'doc',
    value: { x: [1, Number.NaN] },
    message: /^Value must be valid JSON: \$\.x\[1\] is NaN, which JSON cannot represent\.$/,
    django: 'values.json_nan',
  },
  {
    name: 'a Set in a JSONField',
    field: 'doc',
    value: new Set([1, 2]),
    message: /^Value must be valid JSON: \$ is a Set, not a plain object: convert it first \(JSON would store \{\}\)\.$/,
    django: 'values.json_not_serialisable',
  },
  {
    name: 'an unsafe integer in an IntegerField',
    field: 'small',
    value: 2 ** 53 + 2,
    message: /^9007199254740994 is beyond the safe integer range of a JavaScript number/,
  },
  { name: 'a fraction in an IntegerField', field: 'small', value: 42.7, message: /^42\.7 value must be an integer\./ },
  {
    name: 'an IntegerField beyond 32 bits',
    field: 'small',
    value: 2 ** 31,
    message: /^Ensure this value is between -2147483648 and 2147483647 \(the column's range\)\.$/,
    django: 'values.integer_beyond_2_31',
  },
  {
    name: 'a CharField longer than maxLength',
    field: 'label',
    value: 'x'.repeat(21),
    message: /^Ensure this value has at most 20 characters \(it has 21\)\.$/,
    django: 'values.char_too_long',
  },
  {
    name: 'a DecimalField with more places than the column',
    field: 'amount',
    value: '12.3456',
    message: /^Ensure that there are no more than 3 decimal places\.$/,
    django: 'values.decimal_too_many_places',
  },
  {
    name: 'a float with more places than a DecimalField',
    field: 'amount',
    value: 0.1 + 0.2,
    message: /^Ensure that there are no more than 3 decimal places\.$/,
  },
  {
    name: 'a DecimalField with more digits than the column',
    field: 'amount',
    value: '12345678.9',
    message: /^Ensure that there are no more than 7 digits before the decimal point and 10 in total\.$/,
    django: 'values.decimal_too_many_digits',
  },
  // Found by probing beyond the catalogue (each stored by one database and refused by another, or
  // changed silently): refused the same way everywhere.
  {
    name: 'a number in exponent notation with more digits than a DecimalField (1e21: SQLite stored the text "1e+21")',
    field: 'amount',
    value: 1e21,
    message: /^Ensure that there are no more than 7 digits before the decimal point and 10 in total\.$/,
  },
  {
    name: 'a small number in exponent notation in a DecimalField (1e-7: was rounded to 0.000 on every database)',
    field: 'amount',
    value: 1e-7,
    message: /^Ensure that there are no more than 3 decimal places\.$/,
  },
  {
    name: 'decimal text in exponent notation beyond the places ("1e-7")',
    field: 'amount',
    value: '1e-7',
    message: /^Ensure that there are no more than 3 decimal places\.$/,
  },
  {
    name: 'a lone surrogate in a JSONField string (SQLite stored it, PostgreSQL and MariaDB refused it differently)',
    field: 'doc',
    value: { tags: ['ok', 'a\uD800'] },
    message: /^Value must be valid JSON: \$\.tags\[1\] is a string that cannot be stored: The text has a lone UTF-16 surrogate/,
  },
  {
    name: 'a lone surrogate in a JSONField key',
    field: 'doc',
    value: { ['k\uDC00']: 1 },
    message: /^Value must be valid JSON: \$ has a key that cannot be stored \("k\\udc00"\): The text has a lone UTF-16 surrogate/,
  },
  {
    name: 'an instant after the year 9999 (SQLite stored "+010000-…", PostgreSQL and MariaDB refused it)',
    field: 'at',
    value: new Date('+010000-01-01T00:00:00Z'),
    message: /^\+010000-01-01T00:00:00\.000Z value has an invalid format\. .*in the years 1 to 9999\.$/,
  },
  {
    name: 'an instant before the year 1',
    field: 'at',
    value: '-000001-01-01T00:00:00Z',
    message: /^"-000001-01-01T00:00:00Z" value has an invalid format\./,
  },
  {
    name: 'a date after the year 9999',
    field: 'day',
    value: new Date('+010000-01-01T00:00:00Z'),
    message: /^\+010000-01-01T00:00:00\.000Z value has an invalid date format\./,
  },
];

/** Each write path: set up (outside the captured queries), then the write itself. */
type Writer = (field: string, value: unknown) => Promise<() => Promise<unknown>>;
const WRITERS: Record<string, Writer> = {
  'create()': async (field, value) => () => Sample.objects.create({ [field]: value } as never),
  '$save() of a new instance': async (field, value) => () => new Sample({ [field]: value } as never).$save(),
  '$save() of a changed instance (UPDATE)': async (field, value) => {
    const s = await Sample.objects.create({ label: 'x' });
    return () => {
      (s as unknown as Record<string, unknown>)[field] = value;
      return s.$save();
    };
  },
  'bulkCreate()': async (field, value) => () => Sample.objects.bulkCreate([{ label: 'x' }, { [field]: value } as never]),
  'getOrCreate()': async (field, value) => () => Sample.objects.getOrCreate({ label: 'y' }, { [field]: value } as never),
  'updateOrCreate()': async (field, value) => () => Sample.objects.updateOrCreate({ label: 'y' }, { [field]: value } as never),
  'update()': async (field, value) => () => Sample.objects.filter({ label: 'x' }).update({ [field]: value } as never),
};

eachDatabase('values validated at the write boundary', (db) => {
  useTables(db);

  for (const c of CASES) {
    test(`${c.name}: a ValidationError naming Sample.${c.field} from every write path, nothing written`, () =>
      inTx(async () => {
        if (c.django !== undefined) {
          // What Django does with it on this database (an error, or a silently changed value).
          const answer = djangoAnswer(c.django, db.name);
          expect(answer.error !== undefined || answer.value !== undefined).toBe(true);
        }
        const before = await Sample.objects.count();
        for (const [path, setUp] of Object.entries(WRITERS)) {
          const write = await setUp(c.field, c.value);
          const { queries, result } = await captureQueries(async () => {
            try {
              await write();
              return undefined;
            } catch (err) {
              return err;
            }
          });
          const err = result as ValidationError;
          expect(ValidationError.is(err)).toBe(true);
          expect(err.model).toBe('Sample');
          expect(Object.keys(err.errors)).toEqual([c.field]);
          expect(err.errors[c.field]?.[0]?.message).toMatch(
            path === 'bulkCreate()' ? new RegExp(`^object 2 of 2: ${c.message.source.replace(/^\^/, '')}`) : c.message,
          );
          expect(err.message).toMatch(new RegExp(`^Sample: validation failed\\. ${c.field}: `));
          // No INSERT or UPDATE was sent (getOrCreate/updateOrCreate look the row up first).
          expect(queries.filter((q) => /^\s*(insert|update)/i.test(q.sql))).toEqual([]);
        }
        expect(await Sample.objects.count()).toBe(before + 1); // the '$save() of a changed instance' row, saved before
      }));
  }

  test('values are normalised as update() normalises them, and the instance holds what the database returns', () =>
    inTx(async () => {
      const s = await Sample.objects.create({ small: '42' as never, label: 42 as never, other: 'ABCDEF01-2345-6789-ABCD-EF0123456789' });
      expect([s.small, s.label, s.other]).toEqual([42, '42', 'abcdef01-2345-6789-abcd-ef0123456789']);
      const back = await Sample.objects.get({ pk: s.id });
      expect([back.small, back.label, back.other]).toEqual([42, '42', 'abcdef01-2345-6789-abcd-ef0123456789']);
    }));

  test('several wrong fields: one ValidationError listing each; a foreign key is named, not its target key', () =>
    inTx(async () => {
      const err = await Book.objects.create({ title: { t: 1 }, pages: Number.NaN, authorId: 'x' } as never).then(
        () => undefined,
        (e: unknown) => e as ValidationError,
      );
      if (!ValidationError.is(err)) throw new Error('expected a ValidationError');
      expect(err.model).toBe('Book');
      expect(Object.keys(err.errors).sort()).toEqual(['author', 'pages', 'title']);
      expect(err.errors.author?.[0]?.message).toBe('"x" value must be an integer.');
    }));
});
