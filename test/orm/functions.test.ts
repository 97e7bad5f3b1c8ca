// Database functions (Django's django.db.models.functions) on three databases: text, null
// handling, math, Cast, Extract/Trunc on dates and instants (UTC), Now; in annotate, filter (both
// sides), orderBy, values and update. Expected rows are Django 3.2's answers on the same data.
import {
  Abs,
  Cast,
  Ceil,
  CharField,
  Coalesce,
  Concat,
  Count,
  DateField,
  ExtractDay,
  ExtractHour,
  ExtractIsoWeekDay,
  ExtractIsoYear,
  ExtractMinute,
  ExtractMonth,
  ExtractQuarter,
  ExtractSecond,
  ExtractWeek,
  ExtractWeekDay,
  ExtractYear,
  F,
  FieldError,
  FloatField,
  Floor,
  Func,
  Greatest,
  IntegerField,
  LTrim,
  Least,
  Left,
  Length,
  Lower,
  Mod,
  Now,
  NullIf,
  Power,
  RTrim,
  Replace,
  Right,
  Round,
  StrIndex,
  Substr,
  TextField,
  Trim,
  TruncDate,
  TruncDay,
  TruncHour,
  TruncMinute,
  TruncMonth,
  TruncQuarter,
  TruncSecond,
  TruncWeek,
  TruncYear,
  Upper,
  Value,
  Q,
  IntegerField as IntegerFieldClass,
  CharField as CharFieldClass,
  registerLookup,
} from '@spool/orm';
import { captureQueries } from '@spool/testing';
import { eachDatabase } from '../support/helpers';
import { Author, Book, Sample } from './models';
import { inTx, seedLibrary, useTables } from './support';

const iso = (d: unknown) => (d instanceof Date ? d.toISOString() : d);

async function seedSamples() {
  await Sample.objects.create({ small: 1, at: new Date('2021-01-03T23:59:58.500Z'), ratio: 2.5 });
  await Sample.objects.create({ small: 2, at: new Date('2024-02-29T12:34:56.789Z'), ratio: -3.5 });
  await Sample.objects.create({ small: 3, at: null, ratio: null });
}

eachDatabase('database functions', (db) => {
  useTables(db);

  test('text functions (Django 3.2 values); StrIndex follows MariaDB collations there', () =>
    inTx(async () => {
      await seedLibrary();
      const qs = Author.objects
        .annotate({
          lower: Lower('name'),
          upper: Upper('name'),
          length: Length('name'),
          idx: StrIndex('name', new Value('a')),
          left: Left('name', 3),
          right: Right('name', 3),
          sub: Substr('name', 2, 3),
          sub2: Substr('name', 5),
          rep: Replace('name', new Value('a'), new Value('4')),
          concat: Concat('name', new Value(' <'), 'email', new Value('>')),
        })
        .orderBy('id');
      const rows = await qs.valuesList('lower', 'upper', 'length', 'idx', 'left', 'right', 'sub', 'sub2', 'rep', 'concat');
      expect(rows).toEqual([
        [
          'ann archer',
          'ANN ARCHER',
          10,
          db.name === 'mysql' ? 1 : 0,
          'Ann',
          'her',
          'nn ',
          'Archer',
          'Ann Archer',
          'Ann Archer <ann@example.com>',
        ],
        ['bob brown', 'BOB BROWN', 9, 0, 'Bob', 'own', 'ob ', 'Brown', 'Bob Brown', 'Bob Brown <bob@example.com>'],
        ['cat carter', 'CAT CARTER', 10, 2, 'cat', 'ter', 'at ', 'carter', 'c4t c4rter', 'cat carter <>'],
        ['dan drake', 'DAN DRAKE', 9, 2, 'Dan', 'ake', 'an ', 'Drake', 'D4n Dr4ke', 'Dan Drake <dan@example.com>'],
      ]);
      const trimmed = await Author.objects
        .filter({ name: 'Ann Archer' })
        .annotate({ t: Trim(new Value('  x y  ')), l: LTrim(new Value('  x y  ')), r: RTrim(new Value('  x y  ')) })
        .valuesList('t', 'l', 'r');
      expect(trimmed).toEqual([['x y', 'x y  ', '  x y']]);
      // The annotation's SQL, per dialect.
      const { queries } = await captureQueries(() =>
        Author.objects
          .annotate({ n: Length('name'), c: Concat('name', new Value('!')) })
          .filter({ n__gt: 9 })
          .valuesList('c', { flat: true })
          .fetchAll(),
      );
      const sql = queries[0]?.sql;
      if (db.name === 'postgres')
        expect(sql).toBe(
          'select CONCAT(("orm_author"."name")::text, ($1)::text) as "c" from "orm_author" where LENGTH("orm_author"."name") > $2 order by "orm_author"."name" asc',
        );
      else if (db.name === 'mysql')
        expect(sql).toBe(
          "select CONCAT_WS('', `orm_author`.`name`, ?) as `c` from `orm_author` where CHAR_LENGTH(`orm_author`.`name`) > ? order by `orm_author`.`name` asc",
        );
      else
        expect(sql).toBe(
          "select COALESCE(`orm_author`.`name`, '') || COALESCE(?, '') as `c` from `orm_author` where LENGTH(`orm_author`.`name`) > ? order by `orm_author`.`name` asc",
        );
    }));

  test("Concat of numbers with a text outputField (Django's output_field=CharField()); without it a FieldError", () =>
    inTx(async () => {
      await seedLibrary();
      expect(
        await Book.objects
          .annotate({ c: Concat('title', new Value(' '), 'pages', new Value(' '), 'price', { outputField: new TextField() }) })
          .orderBy('id')
          .valuesList('c', { flat: true }),
      ).toEqual(
        // SQLite writes the stored number (a decimal is numeric there: 10.5, 25), as with Django (the reference data's 75.4).
        db.name === 'sqlite'
          ? ['Alpha 120 10.5', 'Beta 320 25', 'Gamma 100% 80 ', 'delta_under 450 40', 'Epsilon \\ slash 200 15.25', "Zeta's 90 5"]
          : [
              'Alpha 120 10.50',
              'Beta 320 25.00',
              'Gamma 100% 80 ',
              'delta_under 450 40.00',
              'Epsilon \\ slash 200 15.25',
              "Zeta's 90 5.00",
            ],
      );
      const { queries } = await captureQueries(() =>
        Author.objects
          .annotate({ c: Concat('name', 'age', { outputField: new TextField() }) })
          .valuesList('c', { flat: true })
          .fetchAll(),
      );
      const sql = queries[0]?.sql;
      if (db.name === 'postgres')
        expect(sql).toBe(
          'select CONCAT(("orm_author"."name")::text, ("orm_author"."age")::text) as "c" from "orm_author" order by "orm_author"."name" asc',
        );
      else if (db.name === 'mysql')
        expect(sql).toBe(
          "select CONCAT_WS('', `orm_author`.`name`, `orm_author`.`age`) as `c` from `orm_author` order by `orm_author`.`name` asc",
        );
      else
        expect(sql).toBe(
          "select COALESCE(`orm_author`.`name`, '') || COALESCE(`orm_author`.`age`, '') as `c` from `orm_author` order by `orm_author`.`name` asc",
        );
      expect(() => Author.objects.annotate({ c: Concat('name', 'age' as never) })).toThrow(
        "Author: Concat() takes text, got IntegerField 'Author.age'. Expression contains mixed types: set outputField",
      );
      expect(() => Concat('name', 'age', { outputField: new IntegerField() })).toThrow('Concat(): outputField must be a text field');
    }));

  test('Coalesce, NullIf, Greatest, Least (Greatest/Least with a NULL: PostgreSQL ignores it, MariaDB and SQLite give NULL, as Django)', () =>
    inTx(async () => {
      await seedLibrary();
      const rows = await Author.objects
        .annotate({
          e: Coalesce('email', new Value('-')),
          n: NullIf('name', new Value('Dan Drake')),
          a: Coalesce('age', 0),
          g: Greatest('age', 30),
          l: Least('age', 30),
        })
        .orderBy('id')
        .valuesList('e', 'n', 'a', 'g', 'l');
      const pg = db.name === 'postgres';
      expect(rows).toEqual([
        ['ann@example.com', 'Ann Archer', 34, 34, 30],
        ['bob@example.com', 'Bob Brown', 51, 51, 30],
        ['-', 'cat carter', 0, pg ? 30 : null, pg ? 30 : null],
        ['dan@example.com', null, 28, 30, 28],
      ]);
      // Mixed types need an output type, as in Django.
      expect(() => Book.objects.annotate({ x: Coalesce('price', 'pages') })).toThrow(
        'Coalesce: expression contains mixed types: DecimalField, IntegerField. You must set outputField.',
      );
      expect(() => Coalesce('age')).toThrow('Coalesce must take at least two expressions');
    }));

  test('math: Abs, Ceil, Floor, Round, Mod, Power on integers, decimals and floats', () =>
    inTx(async () => {
      await seedLibrary();
      await seedSamples();
      const rows = await Book.objects
        .annotate({
          abs: Abs(F('pages').sub(200)),
          ceil: Ceil('price'),
          floor: Floor('price'),
          round: Round('price'),
          mod: Mod('pages', 7),
          power: Power('pages', 2),
        })
        .orderBy('id')
        .valuesList('abs', 'ceil', 'floor', 'round', 'mod', 'power');
      expect(rows).toEqual([
        [80, '11.00', '10.00', '11.00', 1, 14400],
        [120, '25.00', '25.00', '25.00', 5, 102400],
        [120, null, null, null, 3, 6400],
        [250, '40.00', '40.00', '40.00', 2, 202500],
        [0, '16.00', '15.00', '15.00', 4, 40000],
        [110, '5.00', '5.00', '5.00', 6, 8100],
      ]);
      // Floats: PostgreSQL and MariaDB round halves to even, SQLite away from zero (as in Django).
      const floats = await Sample.objects
        .annotate({ round: Round('ratio'), ceil: Ceil('ratio'), floor: Floor('ratio'), abs: Abs('ratio') })
        .orderBy('small')
        .valuesList('round', 'ceil', 'floor', 'abs');
      expect(floats).toEqual([
        [db.name === 'sqlite' ? 3 : 2, 3, 2, 2.5],
        [-4, -3, -4, 3.5],
        [null, null, null, null],
      ]);
      expect(() => Book.objects.annotate({ x: Abs('title') })).toThrow("Book: Abs() takes numbers, got CharField 'Book.title'.");
      // Mod of a float: PostgreSQL has no MOD(double precision, ...) and casts floats to numeric, as Django.
      const mods = await Sample.objects
        .annotate({ m: Mod('ratio', 2), n: Mod('small', new Value(1.5)) })
        .orderBy('small')
        .valuesList('m', 'n');
      expect(mods).toEqual([
        [0.5, 1],
        [-1.5, 0.5],
        [null, 0],
      ]);
      const { queries } = await captureQueries(() =>
        Sample.objects
          .annotate({ m: Mod('ratio', 'small') })
          .valuesList('m', { flat: true })
          .fetchAll(),
      );
      const sql = queries[0]?.sql;
      if (db.name === 'postgres')
        expect(sql).toBe('select MOD(CAST("orm_sample"."ratio" AS numeric(1000, 15)), "orm_sample"."small") as "m" from "orm_sample"');
      else expect(sql).toBe('select MOD(`orm_sample`.`ratio`, `orm_sample`.`small`) as `m` from `orm_sample`');
    }));

  test('Cast to field types; the date of an instant in UTC', () =>
    inTx(async () => {
      await seedLibrary();
      await seedSamples();
      const rows = await Book.objects
        .annotate({
          f: Cast('pages', new FloatField()),
          c: Cast('pages', new CharField({ maxLength: 10 })),
          i: Cast('price', new IntegerField()),
          v: Cast(new Value('42'), new IntegerField()),
        })
        .orderBy('id')
        .valuesList('f', 'c', 'i', 'v');
      // A decimal to an integer: rounded on PostgreSQL and MariaDB, truncated on SQLite (as in Django).
      const ten = db.name === 'sqlite' ? 10 : 11;
      expect(rows).toEqual([
        [120, '120', ten, 42],
        [320, '320', 25, 42],
        [80, '80', null, 42],
        [450, '450', 40, 42],
        [200, '200', 15, 42],
        [90, '90', 5, 42],
      ]);
      const days = await Sample.objects
        .annotate({ d: Cast('at', new DateField()) })
        .orderBy('small')
        .valuesList('d', { flat: true });
      expect(days).toEqual(['2021-01-03', '2024-02-29', null]);
    }));

  test('Extract and Trunc on a date field (Django 3.2 values)', () =>
    inTx(async () => {
      await seedLibrary();
      const parts = await Book.objects
        .annotate({
          y: ExtractYear('published'),
          m: ExtractMonth('published'),
          d: ExtractDay('published'),
          wd: ExtractWeekDay('published'),
          iwd: ExtractIsoWeekDay('published'),
          w: ExtractWeek('published'),
          q: ExtractQuarter('published'),
          iy: ExtractIsoYear('published'),
        })
        .orderBy('id')
        .valuesList('y', 'm', 'd', 'wd', 'iwd', 'w', 'q', 'iy');
      expect(parts).toEqual([
        [2019, 3, 1, 6, 5, 9, 1, 2019],
        [2021, 7, 15, 5, 4, 28, 3, 2021],
        [null, null, null, null, null, null, null, null],
        [2021, 1, 10, 1, 7, 1, 1, 2021],
        [2022, 12, 31, 7, 6, 52, 4, 2022],
        [2020, 6, 30, 3, 2, 27, 2, 2020],
      ]);
      const truncs = await Book.objects
        .annotate({
          y: TruncYear('published'),
          q: TruncQuarter('published'),
          m: TruncMonth('published'),
          w: TruncWeek('published'),
          d: TruncDay('published'),
        })
        .orderBy('id')
        .valuesList('y', 'q', 'm', 'w', 'd');
      expect(truncs).toEqual([
        ['2019-01-01', '2019-01-01', '2019-03-01', '2019-02-25', '2019-03-01'],
        ['2021-01-01', '2021-07-01', '2021-07-01', '2021-07-12', '2021-07-15'],
        [null, null, null, null, null],
        ['2021-01-01', '2021-01-01', '2021-01-01', '2021-01-04', '2021-01-10'],
        ['2022-01-01', '2022-10-01', '2022-12-01', '2022-12-26', '2022-12-31'],
        ['2020-01-01', '2020-04-01', '2020-06-01', '2020-06-29', '2020-06-30'],
      ]);
      // Grouping by a truncated date: books per year.
      const perYear = await Book.objects
        .annotate({ year: ExtractYear('published') })
        .filter({ year__isnull: false })
        .orderBy('year')
        .valuesList('year', 'title');
      expect(perYear.map((r) => r[0])).toEqual([2019, 2020, 2021, 2021, 2022]);
      expect(() => Book.objects.annotate({ h: ExtractHour('published') })).toThrow(
        "Book: cannot extract time component 'hour' from DateField 'Book.published'.",
      );
      expect(() => Book.objects.annotate({ h: TruncHour('published') })).toThrow(
        "Book: cannot truncate DateField 'Book.published' to DateTimeField ('hour').",
      );
      expect(() => Book.objects.annotate({ y: ExtractYear('title' as 'published') })).toThrow(
        "Book: Extract input expression must be a DateField or a DateTimeField, got CharField 'Book.title' (Extract).",
      );
    }));

  test('Extract and Trunc on instants, in UTC (Django 3.2 values); Now', () =>
    inTx(async () => {
      await seedSamples();
      const parts = await Sample.objects
        .annotate({
          y: ExtractYear('at'),
          m: ExtractMonth('at'),
          d: ExtractDay('at'),
          wd: ExtractWeekDay('at'),
          iwd: ExtractIsoWeekDay('at'),
          w: ExtractWeek('at'),
          q: ExtractQuarter('at'),
          iy: ExtractIsoYear('at'),
          h: ExtractHour('at'),
          mi: ExtractMinute('at'),
          s: ExtractSecond('at'),
        })
        .orderBy('small')
        .valuesList('y', 'm', 'd', 'wd', 'iwd', 'w', 'q', 'iy', 'h', 'mi', 's');
      expect(parts).toEqual([
        [2021, 1, 3, 1, 7, 53, 1, 2020, 23, 59, 58],
        [2024, 2, 29, 5, 4, 9, 1, 2024, 12, 34, 56],
        [null, null, null, null, null, null, null, null, null, null, null],
      ]);
      const truncs = await Sample.objects
        .annotate({
          y: TruncYear('at'),
          q: TruncQuarter('at'),
          m: TruncMonth('at'),
          w: TruncWeek('at'),
          d: TruncDay('at'),
          h: TruncHour('at'),
          mi: TruncMinute('at'),
          s: TruncSecond('at'),
          dd: TruncDate('at'),
        })
        .orderBy('small')
        .valuesList('y', 'q', 'm', 'w', 'd', 'h', 'mi', 's', 'dd');
      expect(truncs.map((r) => r.map(iso))).toEqual([
        [
          '2021-01-01T00:00:00.000Z',
          '2021-01-01T00:00:00.000Z',
          '2021-01-01T00:00:00.000Z',
          '2020-12-28T00:00:00.000Z',
          '2021-01-03T00:00:00.000Z',
          '2021-01-03T23:00:00.000Z',
          '2021-01-03T23:59:00.000Z',
          '2021-01-03T23:59:58.000Z',
          '2021-01-03',
        ],
        [
          '2024-01-01T00:00:00.000Z',
          '2024-01-01T00:00:00.000Z',
          '2024-02-01T00:00:00.000Z',
          '2024-02-26T00:00:00.000Z',
          '2024-02-29T00:00:00.000Z',
          '2024-02-29T12:00:00.000Z',
          '2024-02-29T12:34:00.000Z',
          '2024-02-29T12:34:56.000Z',
          '2024-02-29',
        ],
        [null, null, null, null, null, null, null, null, null],
      ]);
      // Truncated instants compare with instants.
      expect(await Sample.objects.filter({ at__gte: TruncMonth('at') }).count()).toBe(2);
      expect(await Sample.objects.filter({ at__lt: Now() }).count()).toBe(2);
      const [now] = await Sample.objects.annotate({ now: Now() }).valuesList('now', { flat: true }).slice(0, 1);
      expect(Math.abs((now as Date).getTime() - Date.now())).toBeLessThan(60_000);
      const { queries } = await captureQueries(() =>
        Sample.objects
          .annotate({ m: TruncMonth('at') })
          .valuesList('m', { flat: true })
          .fetchAll(),
      );
      const sql = queries[0]?.sql;
      if (db.name === 'postgres')
        expect(sql).toBe(`select (DATE_TRUNC('month', "orm_sample"."at" AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') as "m" from "orm_sample"`);
      else if (db.name === 'mysql')
        expect(sql).toBe("select CAST(DATE_FORMAT(`orm_sample`.`at`, '%Y-%m-01 00:00:00') AS DATETIME) as `m` from `orm_sample`");
      else expect(sql).toBe("select strftime('%Y-%m-01T00:00:00.000000Z', `orm_sample`.`at`) as `m` from `orm_sample`");
    }));

  test('functions in filter (both sides), orderBy, values and update', () =>
    inTx(async () => {
      await seedLibrary();
      expect(
        await Author.objects.filter({ name: Concat(new Value('Ann'), new Value(' Archer')) }).valuesList('name', { flat: true }),
      ).toEqual(['Ann Archer']);
      expect(
        await Book.objects
          .filter({ pages__gt: Length('title').mul(30) })
          .orderBy('id')
          .valuesList('title', { flat: true }),
      ).toEqual(['Beta', 'delta_under']);
      expect(await Author.objects.orderBy(Lower('name').desc()).valuesList('name', { flat: true })).toEqual([
        'Dan Drake',
        'cat carter',
        'Bob Brown',
        'Ann Archer',
      ]);
      // A text annotation takes the text lookups.
      expect(
        await Author.objects
          .annotate({ l: Lower('name') })
          .filter({ l__startswith: 'c' })
          .valuesList('name', { flat: true }),
      ).toEqual(['cat carter']);
      expect(
        await Author.objects
          .annotate({ initial: Left('name', 1) })
          .orderBy('id')
          .values('name', 'initial'),
      ).toEqual([
        { name: 'Ann Archer', initial: 'A' },
        { name: 'Bob Brown', initial: 'B' },
        { name: 'cat carter', initial: 'c' },
        { name: 'Dan Drake', initial: 'D' },
      ]);
      expect(await Book.objects.filter({ pages__lt: 100 }).update({ title: Upper('title') })).toBe(2);
      expect(await Book.objects.filter({ pages__lt: 100 }).orderBy('id').valuesList('title', { flat: true })).toEqual([
        'GAMMA 100%',
        "ZETA'S",
      ]);
      expect(() => Author.objects.annotate({ x: Lower('age') })).toThrow("Author: Lower() takes text, got IntegerField 'Author.age'.");
      expect(() => Author.objects.annotate({ x: Lower('nope') })).toThrow("Cannot resolve keyword 'nope' into field of Author");
    }));

  test("values() and valuesList() take expressions directly (Django's values(**expressions), values_list(expression))", () =>
    inTx(async () => {
      await seedLibrary();
      expect(await Author.objects.orderBy('id').values('name', { initial: Left('name', 1), n: Length('name') })).toEqual([
        { name: 'Ann Archer', initial: 'A', n: 10 },
        { name: 'Bob Brown', initial: 'B', n: 9 },
        { name: 'cat carter', initial: 'c', n: 10 },
        { name: 'Dan Drake', initial: 'D', n: 9 },
      ]);
      // The expression is an annotation afterwards: filter and order by it.
      expect(
        await Author.objects
          .values({ lower: Lower('name') })
          .filter({ lower__startswith: 'c' })
          .orderBy('lower'),
      ).toEqual([{ lower: 'cat carter' }]);
      // An aggregate among them groups by the model (one row per author), as Django.
      expect(await Author.objects.orderBy('id').values('name', { n: Count('books') })).toEqual([
        { name: 'Ann Archer', n: 2 },
        { name: 'Bob Brown', n: 2 },
        { name: 'cat carter', n: 2 },
        { name: 'Dan Drake', n: 0 },
      ]);
      expect(await Author.objects.orderBy('id').valuesList('id', Upper('name'), Length('name')).slice(0, 2)).toEqual([
        [expect.any(Number), 'ANN ARCHER', 10],
        [expect.any(Number), 'BOB BROWN', 9],
      ]);
      expect(await Author.objects.orderBy('id').valuesList(Upper('name'), { flat: true })).toEqual([
        'ANN ARCHER',
        'BOB BROWN',
        'CAT CARTER',
        'DAN DRAKE',
      ]);
      // valuesList names the expressions as Django does (the function's name and a counter): the SQL per dialect.
      const { queries } = await captureQueries(() => Author.objects.valuesList('name', Lower('name'), Length('name')).fetchAll());
      const sql = queries[0]?.sql;
      if (db.name === 'postgres')
        expect(sql).toBe(
          'select "orm_author"."name", LOWER("orm_author"."name") as "lower1", LENGTH("orm_author"."name") as "length2" from "orm_author" order by "orm_author"."name" asc',
        );
      else if (db.name === 'mysql')
        expect(sql).toBe(
          'select `orm_author`.`name`, LOWER(`orm_author`.`name`) as `lower1`, CHAR_LENGTH(`orm_author`.`name`) as `length2` from `orm_author` order by `orm_author`.`name` asc',
        );
      else
        expect(sql).toBe(
          'select `orm_author`.`name`, LOWER(`orm_author`.`name`) as `lower1`, LENGTH(`orm_author`.`name`) as `length2` from `orm_author` order by `orm_author`.`name` asc',
        );
      expect(() => Author.objects.values('name', { x: 'name' } as never)).toThrow("values(): 'x' must be an expression");
      expect(() => Author.objects.values('name', { name: Lower('name') })).toThrow("the annotation 'name' conflicts with a field");
      expect(() => Author.objects.valuesList('name', 3 as never)).toThrow('valuesList() takes field names and expressions');
    }));

  test('a user-defined Func: one template or one per vendor; refused where it has none', () =>
    inTx(async () => {
      await seedLibrary();
      const Reverse = (arg: string) => new Func<string>([arg], { function: 'REVERSE', outputField: new CharField({ maxLength: 100 }) });
      const Twice = (arg: string) =>
        new Func<number>([arg], { template: { postgresql: '(%(0)s * 2)', mysql: '(%(0)s * 2)', sqlite: '(%(0)s + %(0)s)' } });
      const rows = await Author.objects
        .annotate({ twice: Twice('age') })
        .filter({ age__isnull: false })
        .orderBy('id')
        .valuesList('name', 'twice');
      expect(rows).toEqual([
        ['Ann Archer', 68],
        ['Bob Brown', 102],
        ['Dan Drake', 56],
      ]);
      if (db.name !== 'sqlite') {
        expect(
          await Author.objects
            .annotate({ r: Reverse('name') })
            .orderBy('id')
            .valuesList('r', { flat: true }),
        ).toEqual(['rehcrA nnA', 'nworB boB', 'retrac tac', 'ekarD naD']);
      }
      const OnlyPg = new Func<number>(['age'], { template: { postgresql: 'ABS(%(0)s)' } });
      if (db.name !== 'postgres')
        await expect(Author.objects.annotate({ x: OnlyPg }).fetchAll()).rejects.toThrow(
          `This Func has no template for ${db.name === 'mysql' ? 'MariaDB' : 'SQLite'} (templates for: postgresql).`,
        );
      expect(() => new Func(['name'], { template: "x = '?'" })).toThrow("contains '?'");
      expect(() => new Func(['name'], { function: 'DROP TABLE x; --' })).toThrow('is not a SQL function name');
      expect(() => Book.objects.annotate({ x: new Func(['price', 'pages'], { function: 'F' }) })).toThrow(FieldError);
    }));

  test('transforms and lookups registered on a field class (registerLookup)', () =>
    inTx(async () => {
      await seedLibrary();
      registerLookup(CharFieldClass, 'lower', (lhs) => Lower(lhs as never));
      registerLookup(CharFieldClass, 'length', (lhs) => Length(lhs as never));
      registerLookup(IntegerFieldClass, 'ne', { sql: '%(lhs)s <> %(rhs)s' });
      registerLookup(IntegerFieldClass, 'divisible_by', {
        sql: { postgresql: 'MOD(%(lhs)s, %(rhs)s) = 0', mysql: 'MOD(%(lhs)s, %(rhs)s) = 0', sqlite: '(%(lhs)s % %(rhs)s) = 0' },
      });
      expect(await Author.objects.filter(Q({ name__lower: 'cat carter' })).valuesList('name', { flat: true })).toEqual(['cat carter']);
      expect(await Author.objects.filter(Q({ name__lower__startswith: 'b' })).valuesList('name', { flat: true })).toEqual(['Bob Brown']);
      // A transform's output (an integer) takes its lookups and the lookups registered on its class.
      expect(
        await Author.objects
          .filter(Q({ name__length__gt: 9 }))
          .orderBy('id')
          .valuesList('name', { flat: true }),
      ).toEqual(['Ann Archer', 'cat carter']);
      expect(
        await Author.objects
          .filter(Q({ name__length__ne: 9 }))
          .orderBy('id')
          .valuesList('name', { flat: true }),
      ).toEqual(['Ann Archer', 'cat carter']);
      expect(
        await Book.objects.filter(Q({ pages__ne: 120, author__name__lower: 'ann archer' })).valuesList('title', { flat: true }),
      ).toEqual(['Beta']);
      expect(await Book.objects.filter(Q({ pages__ne: F('pages') })).count()).toBe(0);
      const { result, queries } = await captureQueries(() =>
        Book.objects
          .filter(Q({ pages__divisible_by: 40 }))
          .orderBy('id')
          .valuesList('title', { flat: true })
          .fetchAll(),
      );
      expect(result).toEqual(['Alpha', 'Beta', 'Gamma 100%', 'Epsilon \\ slash']);
      if (db.name === 'postgres') expect(queries[0]?.sql).toMatch(/where MOD\("orm_book"\."pages", \$1\) = 0/);
      // Built-in names stay built-in; bad SQL is refused.
      expect(() => registerLookup(CharFieldClass, 'contains', (lhs) => lhs)).toThrow("'contains' is a built-in lookup or transform");
      expect(() => registerLookup(CharFieldClass, 'x', { sql: '%(lhs)s = ?' })).toThrow('the SQL must contain %(lhs)s and %(rhs)s');
      expect(() => Book.objects.filter(Q({ title__ne: 'x' }))).toThrow("Unsupported lookup 'ne' for CharField 'Book.title'");
    }));
});
