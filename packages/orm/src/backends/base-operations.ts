/**
 * What differs between databases, for the ORM (Django's `BaseDatabaseOperations`, with the
 * backend's `data_types`, `operators` and `DatabaseFeatures`): the SQL of each lookup and date
 * part, column types, how values are adapted for the driver and converted back, LIKE escaping,
 * insert and schema details, limits. One subclass per vendor overrides only what differs from
 * these defaults (as Kysely's dialect query compilers override its default compiler);
 * `operationsFor(vendor)` returns the one for a vendor. Nothing outside this folder asks which
 * vendor it runs on: fields, lookups, the compiler, the write paths and the schema editor ask the
 * operations.
 *
 * SQL fragments use knex raw syntax: `%lhs` is replaced by the left-hand side's SQL, `?` is a
 * parameter.
 */
import { NotSupportedError, type Vendor } from '@spool/connections';
import type { Field, FromDb } from '../fields/field';
import type { ArithmeticKind } from '../query/output-types';
import type { FuncNode } from '../query/nodes';
import { dateFromDb } from '../fields/date-field';
import { dateTimeFromDb } from '../fields/date-time-field';
import { bigintExactFromDb } from '../fields/integer-field';
import { extraMicroseconds, formatInstant } from '../fields/precise-date';
import { DEFAULT_FEATURES, type DatabaseFeatures } from './database-features';

/** Column types shared by most backends, by field kind (Django's `data_types`); `%(name)s` is the field's parameter. */
export const DATA_TYPES: Readonly<Record<string, string>> = {
  AutoField: 'integer',
  BigAutoField: 'bigint',
  IntegerField: 'integer',
  BigIntegerField: 'bigint',
  FloatField: 'double precision',
  DecimalField: 'numeric(%(maxDigits)s, %(decimalPlaces)s)',
  CharField: 'varchar(%(maxLength)s)',
  TextField: 'text',
  BooleanField: 'bool',
  DateField: 'date',
  DateTimeField: 'datetime',
  UUIDField: 'char(32)',
  JSONField: 'text',
};

/** Templates of the built-in functions shared by most backends (see `BaseOperations.functionTemplate`). */
export const FUNCTION_TEMPLATES: Readonly<Record<string, string | ((this: BaseOperations, n: FuncNode) => string)>> = {
  Lower: 'LOWER(%(0)s)',
  Upper: 'UPPER(%(0)s)',
  Length: 'LENGTH(%(0)s)',
  Concat: 'CONCAT(%(expressions)s)',
  Substr: (n) => (n.args.length === 3 ? 'SUBSTRING(%(0)s, %(1)s, %(2)s)' : 'SUBSTRING(%(0)s, %(1)s)'),
  Trim: 'TRIM(%(0)s)',
  LTrim: 'LTRIM(%(0)s)',
  RTrim: 'RTRIM(%(0)s)',
  Replace: 'REPLACE(%(0)s, %(1)s, %(2)s)',
  Left: 'LEFT(%(0)s, %(1)s)',
  Right: 'RIGHT(%(0)s, %(1)s)',
  StrIndex: 'INSTR(%(0)s, %(1)s)',
  Coalesce: 'COALESCE(%(expressions)s)',
  NullIf: 'NULLIF(%(0)s, %(1)s)',
  Greatest: 'GREATEST(%(expressions)s)',
  Least: 'LEAST(%(expressions)s)',
  Abs: 'ABS(%(0)s)',
  Round: 'ROUND(%(0)s)',
  Ceil: 'CEILING(%(0)s)',
  Floor: 'FLOOR(%(0)s)',
  Mod: 'MOD(%(0)s, %(1)s)',
  Power: 'POWER(%(0)s, %(1)s)',
  Cast(n) {
    return `CAST(%(0)s AS ${this.castType(n.field as Field)})`;
  },
  Trunc(n) {
    const [unit, kind] = n.option.split(':') as [string, string];
    return this.truncSql(unit, kind === 'datetime');
  },
  Now: 'CURRENT_TIMESTAMP',
};

/** Makes the converter of a field kind's values read from the driver. */
export type ConverterFactory = (field: Field) => FromDb;

/** Converters shared by most backends, by field kind. */
export const CONVERTERS: Readonly<Record<string, ConverterFactory>> = {
  // mysql2 (timezone 'Z') reads DATE as a UTC-midnight Date; SQLite keeps the text.
  DateField: () => dateFromDb(false),
  // Read as the server's text (temporalAsText), or as a Date from raw SQL: a PreciseDate either way.
  DateTimeField: () => dateTimeFromDb,
  // int8 as text (PostgreSQL), a number or text beyond 2^53 (MariaDB), a bigint (SQLite with safeIntegers).
  BigIntegerField: () => bigintExactFromDb,
  BigAutoField: () => bigintExactFromDb,
};

/** The SQL templates of JSON key paths and lookups (see `BaseOperations.json`); no `contains` where the database has none. */
export interface JsonSql {
  /** The value at `%path`, as JSON (selected, compared). */
  readonly key: string;
  /** The value at `%path` as an SQL scalar where the database has one (ordering). */
  readonly keySql: string;
  /** The value at `%path` equals the JSON `%rhs`. */
  readonly keyExact: string;
  /** The value at `%path` is JSON null. */
  readonly keyIsJsonNull: string;
  /** The document is JSON null. */
  readonly docIsJsonNull: string;
  /** The document has no `%path` (or is SQL NULL). */
  readonly keyMissing: string;
  /** The document has `%path`. */
  readonly keyPresent: string;
  /** `%lhs` contains the JSON `%rhs` (top-level keys and array items, recursively). */
  readonly contains: string | undefined;
  /** `%lhs` is contained in the JSON `%rhs`. */
  readonly containedBy: string | undefined;
  /** The document has the path `%rhs`. */
  readonly hasPath: string;
  /** The value at `%path` as text (Django's `KeyTextTransform`, selected: read back through `jsonFromText` as Django's `from_db_value`). */
  readonly keyText: string;
  /** The value at `%path` as the left-hand side of a text lookup (`icontains`, `startswith`, `regex`, ...). */
  readonly keyTextLookup: string;
  /** The value at `%path` as the left-hand side of `gt`/`gte`/`lt`/`lte`/`in` (Django's `KeyTransform` with the backend's lookup cast). */
  readonly keyCompare: string;
  /** The right-hand side `%rhs` of `gt`/`gte`/`lt`/`lte` on a key. */
  readonly compareRhs: string;
  /** One item `%rhs` (JSON text) of `in` on a key. */
  readonly inItem: string;
  /**
   * Is the right-hand side of `gt`/`gte`/`lt`/`lte` bound as JSON text (a JSON comparison,
   * PostgreSQL) rather than as the plain number or string (Django's `KeyTransformNumericLookupMixin`)?
   */
  readonly compareJsonText: boolean;
  /** Do the case-insensitive lookups on a key take `LOWER()` on both sides (Django's `CaseInsensitiveMixin`, MariaDB)? */
  readonly lowerCaseInsensitive: boolean;
}

export abstract class BaseOperations {
  abstract readonly vendor: Vendor;
  /** The database's name in messages. */
  abstract readonly displayName: string;
  /** What the database can do (see `DatabaseFeatures`). */
  readonly features: DatabaseFeatures = DEFAULT_FEATURES;

  /**
   * The operations for a server of `version` (`connections.serverVersion(alias)`), where features
   * depend on it (MariaDB's RETURNING); these operations when none does, or when it is unknown.
   */
  forServer(_version: string | undefined): BaseOperations {
    return this;
  }

  /** Do some features depend on the server's version (see `forServer`)? */
  readonly featuresDependOnServerVersion: boolean = false;

  /** These operations with some features changed (the rest is shared). */
  protected withFeatures(changes: Partial<DatabaseFeatures>): BaseOperations {
    const ops = Object.create(this) as BaseOperations;
    Object.defineProperty(ops, 'features', { value: Object.freeze({ ...this.features, ...changes }) });
    return ops;
  }

  // ---- lookups ------------------------------------------------------------------------------------

  /** SQL of the pattern and case lookups: `contains` → `%lhs LIKE BINARY ?`. */
  abstract readonly operators: Readonly<Record<string, string>>;
  /** SQL extracting a date part from `%lhs` (a datetime when `datetime` is true), as an integer. */
  abstract datePart(part: string, datetime: boolean): string;
  /** SQL of the date (in UTC) of the datetime `%lhs`. */
  abstract readonly dateOfDatetime: string;
  /** ORDER BY term for random order. */
  readonly random: string = 'RANDOM()';

  /**
   * `lhs op rhs` computing a value of `kind` (the expression's output type; undefined when
   * unknown). Integer ÷ integer must truncate toward zero on every backend, as PostgreSQL's `/` on
   * integers does.
   */
  combineExpression(op: string, _kind: ArithmeticKind | undefined, lhs: string, rhs: string): string {
    return `(${lhs} ${op} ${rhs})`;
  }

  /** A literal of an expression, cast to its type (`?` is the parameter). */
  castParam(kind: 'integer' | 'float' | 'decimal' | 'boolean'): string {
    if (kind === 'boolean') return 'CAST(? AS boolean)';
    return kind === 'integer' ? 'CAST(? AS bigint)' : kind === 'float' ? 'CAST(? AS double precision)' : 'CAST(? AS numeric)';
  }

  /**
   * An ORDER BY term on `%lhs` with NULLs placed as asked (Django's `OrderBy` with `nulls_first` /
   * `nulls_last`): `NULLS FIRST` / `NULLS LAST` where the database has them.
   */
  orderByTemplate(desc: boolean, nulls: 'first' | 'last' | undefined): string {
    return `%lhs${desc ? ' DESC' : ' ASC'}${nulls === undefined ? '' : nulls === 'first' ? ' NULLS FIRST' : ' NULLS LAST'}`;
  }

  /**
   * A window frame clause (Django's `window_frame_rows_start_end` / `window_frame_range_start_end`):
   * `start` ≤ 0 or null (UNBOUNDED PRECEDING), `end` ≥ 0 or null (UNBOUNDED FOLLOWING), validated integers.
   */
  windowFrame(type: 'ROWS' | 'RANGE', start: number | null, end: number | null): string {
    const s = start === null ? 'UNBOUNDED PRECEDING' : start === 0 ? 'CURRENT ROW' : `${-start} PRECEDING`;
    const e = end === null ? 'UNBOUNDED FOLLOWING' : end === 0 ? 'CURRENT ROW' : `${end} FOLLOWING`;
    return `${type} BETWEEN ${s} AND ${e}`;
  }

  /**
   * SQL of JSON key paths and lookups (Django's `KeyTransform`, `HasKey`, `DataContains`, ...):
   * `%doc` is the document, `%path` a key path (a parameter in `jsonPath`'s form), `%lhs` the
   * document or the value at the path, `%rhs` the parameter (JSON text; a path for `hasPath`).
   * Here MariaDB's (10.7+): JSON is text there; a key's value is selected as its JSON text (the
   * driver would otherwise parse it once before the field does), and compared with `JSON_EQUALS`
   * (`JSON_EXTRACT(...) = JSON_EXTRACT(?, '$')`, Django's SQL, never matches a string on MariaDB).
   */
  readonly json: JsonSql = Object.freeze({
    key: 'CAST(JSON_EXTRACT(%doc, %path) AS CHAR)',
    keySql: 'JSON_EXTRACT(%doc, %path)',
    // `= 1`: in a WHERE clause, MariaDB 10.11 takes a NULL JSON_EQUALS (a missing key) as true.
    keyExact: 'JSON_EQUALS(JSON_EXTRACT(%doc, %path), %rhs) = 1',
    keyIsJsonNull: `JSON_EQUALS(JSON_EXTRACT(%doc, %path), 'null') = 1`,
    docIsJsonNull: `JSON_EQUALS(%doc, 'null') = 1`,
    keyMissing: 'JSON_EXTRACT(%doc, %path) IS NULL',
    keyPresent: 'JSON_EXTRACT(%doc, %path) IS NOT NULL',
    contains: 'JSON_CONTAINS(%lhs, %rhs)',
    containedBy: 'JSON_CONTAINS(%rhs, %lhs)',
    hasPath: `JSON_CONTAINS_PATH(%doc, 'one', %rhs)`,
    keyText: 'CAST(JSON_EXTRACT(%doc, %path) AS CHAR)',
    // Django's lookup_cast for a JSONField on MariaDB: every lookup compares JSON_UNQUOTE(...), so
    // a number and a string compare loosely (`n__gt: 2` matches "3"; `n__in: [3]` matches "3").
    keyTextLookup: 'JSON_UNQUOTE(JSON_EXTRACT(%doc, %path))',
    keyCompare: 'JSON_UNQUOTE(JSON_EXTRACT(%doc, %path))',
    compareRhs: '%rhs',
    inItem: `JSON_UNQUOTE(JSON_EXTRACT(%rhs, '$'))`,
    compareJsonText: false,
    lowerCaseInsensitive: true,
  });

  /** A JSON path as bound: `$."owner"."name"`, `$."tags"[0]` (Django's `compile_json_path`). */
  jsonPath(path: readonly (string | number)[]): unknown {
    let out = '$';
    for (const k of path) out += typeof k === 'number' ? `[${k}]` : `.${JSON.stringify(k)}`;
    return out;
  }

  /** The left-hand side of the pattern lookup `template` on a value of `kind` (a cast where the database needs one). */
  lookupCast(lhs: string, _kind: string, _template: string): string {
    return lhs;
  }

  /** Escape `\`, `%` and `_` for a LIKE pattern (Django's `prep_for_like_query`). */
  prepForLikeQuery(value: string): string {
    return value.replace(/\\/g, '\\\\').replace(/%/g, '\\%').replace(/_/g, '\\_');
  }

  /** The value of an `iexact` lookup: a LIKE pattern where `iexact` is a LIKE (Django's `prep_for_iexact_query`). */
  prepForIexactQuery(value: string): string {
    return this.prepForLikeQuery(value);
  }

  /**
   * SQL of `%lhs IN <list>` with the whole list bound as one parameter (`adaptInList`), so that a
   * query has one shape whatever the list's length and no list exceeds a parameter limit. Here
   * (MariaDB): `IN (?)` with an array, which mysql2 writes as a literal list when it formats the
   * statement (the text protocol has no parameter limit; only `max_allowed_packet` bounds the
   * statement's size).
   */
  readonly inListSql: string = '%lhs IN (?)';

  /** The list of an `in` lookup (values already adapted one by one) as its one parameter (see `inListSql`). */
  adaptInList(values: unknown[]): unknown {
    return values;
  }

  /** Reject a text value the database cannot store (throws a DataError naming `what`). */
  checkTextValue(_value: string, _what: string): void {}

  /** Does the value of the aggregate `fn` over values of `kind` need converting (else the driver returns it as a number)? */
  aggregateNeedsConversion(_fn: string, _kind: string | undefined): boolean {
    return true;
  }

  // ---- functions --------------------------------------------------------------------------------------

  /**
   * The SQL template of a database function (Django's `Func.as_sql` and its `as_<vendor>`
   * variants): `%(0)s`, `%(1)s`, ... stand for its arguments, `%(expressions)s` for all of them.
   * Built-in functions are named by `n.fn` (`Lower`, `Trunc`, ...); a user's `Func` carries its
   * own template (one, or one per vendor).
   */
  functionTemplate(n: FuncNode): string {
    if (n.template !== undefined) {
      const t = typeof n.template === 'string' ? n.template : n.template[this.vendor];
      if (t === undefined)
        throw new NotSupportedError(
          `This Func has no template for ${this.displayName} (templates for: ${Object.keys(n.template).join(', ')}).`,
        );
      return t;
    }
    const t = this.functionTemplates[n.fn];
    if (typeof t === 'function') return t.call(this, n);
    if (t === undefined) throw new NotSupportedError(`The database function ${n.fn}() is not supported on ${this.displayName}.`);
    return t;
  }

  /** Templates of the built-in functions (see `functionTemplate`); backends override what differs. */
  protected readonly functionTemplates: Readonly<Record<string, string | ((this: BaseOperations, n: FuncNode) => string)>> =
    FUNCTION_TEMPLATES;

  /** The type a `Cast` to `field` names (Django's `cast_db_type`): its column type (a foreign key's: its target key's). */
  castType(field: Field): string {
    const auto =
      field.internalType === 'AutoField' ? 'IntegerField' : field.internalType === 'BigAutoField' ? 'BigIntegerField' : undefined;
    const t = auto === undefined ? field.dbType(this) : this.columnType(auto, field);
    if (t === undefined) throw new NotSupportedError(`Cast to ${field.internalType} is not supported on ${this.displayName}.`);
    return t;
  }

  /** SQL truncating the date (`datetime` false) or instant `%(0)s` to the start of its `unit`, in UTC (Django's `date_trunc_sql`). */
  abstract truncSql(unit: string, datetime: boolean): string;

  // ---- values ---------------------------------------------------------------------------------------

  /** A boolean as the driver takes it. */
  adaptBooleanValue(value: unknown): unknown {
    return Boolean(value);
  }

  /**
   * Why a decimal (normalised text, within the field's digits and places) cannot be stored exactly
   * on this backend, or undefined.
   */
  decimalWriteProblem(_value: string): string | undefined {
    return undefined;
  }

  /** A decimal (a string, or a number given by the user) as the driver takes it: text, so that no digit is lost. */
  adaptDecimalValue(value: unknown): unknown {
    return typeof value === 'number' ? String(value) : value;
  }

  /**
   * An instant (a Date, or a PreciseDate with microseconds) as the driver takes it: UTC text with
   * six fractional digits (`2024-05-01 12:00:07.123456`), since a driver's Date keeps milliseconds only.
   */
  adaptDateTimeValue(value: Date): unknown {
    return formatInstant(value.getTime(), extraMicroseconds(value), ' ', '');
  }

  /** Converters of values read from this driver, by field kind (Django's `get_db_converters`). */
  protected readonly converters: Readonly<Record<string, ConverterFactory>> = CONVERTERS;

  /** The converter of values of a field of kind `key` read from the driver, or undefined when the driver's value is right. */
  converter(key: string, field: Field): FromDb {
    return this.converters[key]?.(field);
  }

  // ---- schema ----------------------------------------------------------------------------------------

  /** Column types by field kind (Django's `data_types`). */
  protected readonly dataTypes: Readonly<Record<string, string>> = DATA_TYPES;
  /** CHECK constraints by field kind, `%(column)` standing for the quoted column (Django's `data_type_check_constraints`). */
  protected readonly dataTypeCheckConstraints: Readonly<Record<string, string>> = {};

  /** The column type of a field of kind `key`, filled with the field's parameters (`varchar(%(maxLength)s)`). */
  columnType(key: string, field: Field): string | undefined {
    const template = this.dataTypes[key];
    return template?.replace(/%\((\w+)\)s/g, (_, name: string) => String((field as unknown as Record<string, unknown>)[name]));
  }

  /** The CHECK clause of a column of kind `key`, or undefined. */
  checkConstraint(key: string): string | undefined {
    return this.dataTypeCheckConstraints[key];
  }

  /** What follows the type of an auto-increment primary key column. */
  abstract readonly autoPrimaryKeySuffix: string;

  /** The COLLATE clause of a column. */
  collateSql(collation: string): string {
    return ` COLLATE ${collation}`;
  }

  /** What follows a foreign key's REFERENCES clause (checks deferred to the commit where the database can). */
  readonly deferrableSql: string = '';

  /** DROP TABLE of the quoted table name. */
  dropTableSql(table: string, ifExists: boolean): string {
    return `DROP TABLE ${ifExists ? 'IF EXISTS ' : ''}${table}`;
  }

  // ---- inserts ------------------------------------------------------------------------------------

  /** Does the query builder write the RETURNING clause of an INSERT (else the compiler appends it)? */
  readonly insertReturningByBuilder: boolean = true;

  /**
   * Does the query builder write a multi-row INSERT as one `VALUES (…), (…)` list? Else (SQLite,
   * where knex writes `SELECT … UNION ALL SELECT …`, at most 500 terms) the compiler writes it.
   */
  readonly multiRowValuesByBuilder: boolean = true;

  /** Most bound parameters one statement may carry. */
  readonly maxParams: number = 65535;
  /** Most rows one INSERT may carry. */
  readonly maxInsertRows: number = Number.POSITIVE_INFINITY;

  /** The knex `insert()` argument for `rowCount` rows with no column given (every column takes its default). */
  defaultRowsInsert(rowCount: number): object {
    return Array.from({ length: rowCount }, () => ({}));
  }

  /** An INSERT (knex's SQL) that skips rows conflicting with a unique constraint instead of failing. */
  insertIgnoringConflicts(sql: string): string {
    return /returning/i.test(sql) ? sql.replace(/ returning /i, ' on conflict do nothing returning ') : `${sql} on conflict do nothing`;
  }
}
