/**
 * SQLite: `=` is exact and `LIKE` is case-insensitive for ASCII, so `contains` acts like
 * `icontains` (as Django documents), with `\` as the LIKE escape; date parts through `strftime`;
 * booleans as 0/1, decimals as NUMERIC, datetimes as ISO-8601 text with six fractional digits (text order is time order),
 * UUIDs as hex, JSON as text checked with `json_valid`. Foreign keys are declared inline (no
 * `ADD CONSTRAINT`); new keys come from the last rowid; 32,766 parameters per statement.
 */
import { booleanFromDb } from '../fields/boolean-field';
import type { DecimalField } from '../fields/decimal-field';
import type { Field } from '../fields/field';
import { placesDecimal, type ArithmeticKind } from '../query/output-types';
import { jsonFromText } from '../fields/json-field';
import { extraMicroseconds, formatInstant } from '../fields/precise-date';
import { uuidFromHex } from '../fields/uuid-field';
import type { FuncNode } from '../query/nodes';
import { BaseOperations, CONVERTERS, DATA_TYPES, FUNCTION_TEMPLATES, type JsonSql } from './base-operations';

/** strftime patterns of the datetime units, in the stored form (`2024-05-01T00:00:00.000000Z`). */
const TRUNC_FORMATS: Readonly<Record<string, string>> = {
  year: '%Y-01-01T00:00:00.000000Z',
  quarter: '%Y-%m-01T00:00:00.000000Z',
  month: '%Y-%m-01T00:00:00.000000Z',
  week: '%Y-%m-%dT00:00:00.000000Z',
  day: '%Y-%m-%dT00:00:00.000000Z',
  hour: '%Y-%m-%dT%H:00:00.000000Z',
  minute: '%Y-%m-%dT%H:%M:00.000000Z',
  second: '%Y-%m-%dT%H:%M:%S.000000Z',
};
/** Date modifiers taking a day to the start of the unit (the quarter: to its first month). */
const TRUNC_MODIFIERS: Readonly<Record<string, string>> = {
  year: ", 'start of year'",
  quarter: ", 'start of month', '-' || ((CAST(strftime('%m', %(0)s) AS INTEGER) - 1) % 3) || ' months'",
  month: ", 'start of month'",
  week: ", '-6 days', 'weekday 1'",
};
import { DEFAULT_FEATURES } from './database-features';

const ESCAPE = ` ESCAPE '\\'`;

const PARTS: Readonly<Record<string, string>> = {
  year: `CAST(strftime('%Y', %lhs) AS INTEGER)`,
  month: `CAST(strftime('%m', %lhs) AS INTEGER)`,
  day: `CAST(strftime('%d', %lhs) AS INTEGER)`,
  week: `CAST(strftime('%V', %lhs) AS INTEGER)`,
  week_day: `(CAST(strftime('%w', %lhs) AS INTEGER) + 1)`,
  iso_week_day: `CAST(strftime('%u', %lhs) AS INTEGER)`,
  quarter: `((CAST(strftime('%m', %lhs) AS INTEGER) + 2) / 3)`,
  iso_year: `CAST(strftime('%G', %lhs) AS INTEGER)`,
  hour: `CAST(strftime('%H', %lhs) AS INTEGER)`,
  minute: `CAST(strftime('%M', %lhs) AS INTEGER)`,
  second: `CAST(strftime('%S', %lhs) AS INTEGER)`,
};

export class SqliteOperations extends BaseOperations {
  readonly vendor = 'sqlite' as const;
  readonly displayName = 'SQLite';
  override readonly features = Object.freeze({
    ...DEFAULT_FEATURES,
    keysFromLastInsertRowid: true,
    createsForeignKeysInline: true,
    safeIntegersPerStatement: true,
  });

  readonly operators = Object.freeze({
    iexact: `%lhs LIKE ?${ESCAPE}`,
    contains: `%lhs LIKE ?${ESCAPE}`,
    icontains: `%lhs LIKE ?${ESCAPE}`,
    startswith: `%lhs LIKE ?${ESCAPE}`,
    istartswith: `%lhs LIKE ?${ESCAPE}`,
    endswith: `%lhs LIKE ?${ESCAPE}`,
    iendswith: `%lhs LIKE ?${ESCAPE}`,
    // REGEXP is a JavaScript function Spool registers on every SQLite connection; a '(?i)' prefix
    // asks it for a case-insensitive match (as Django's SQLite backend writes iregex). The prefix
    // is spelled with char() because a literal question mark would read as a binding.
    regex: `%lhs REGEXP ?`,
    iregex: `%lhs REGEXP (char(40, 63, 105, 41) || ?)`,
  });

  datePart(part: string): string {
    return PARTS[part] ?? `CAST(strftime('%Y', %lhs) AS INTEGER)`;
  }

  readonly dateOfDatetime = 'date(%lhs)';

  /**
   * Django's SQLite functions: `||` for Concat (NULLs as empty text), SUBSTR for Substr, Left and
   * Right, scalar MAX/MIN for Greatest/Least (NULL when an argument is), casts of dates through
   * `date()`, the current instant in the stored form.
   */
  protected override readonly functionTemplates = Object.freeze({
    ...FUNCTION_TEMPLATES,
    Concat: (n: FuncNode) => n.args.map((_, i) => `COALESCE(%(${i})s, '')`).join(' || '),
    Substr: (n: FuncNode) => (n.args.length === 3 ? 'SUBSTR(%(0)s, %(1)s, %(2)s)' : 'SUBSTR(%(0)s, %(1)s)'),
    Left: 'SUBSTR(%(0)s, 1, %(1)s)',
    Right: 'SUBSTR(%(0)s, -(%(1)s))',
    Greatest: 'MAX(%(expressions)s)',
    Least: 'MIN(%(expressions)s)',
    Cast(this: BaseOperations, n: FuncNode) {
      const t = (n.field as Field).internalType;
      if (t === 'DateField') return 'date(%(0)s)';
      if (t === 'DateTimeField') return "strftime('%Y-%m-%dT%H:%M:%f000Z', %(0)s)";
      return `CAST(%(0)s AS ${this.castType(n.field as Field)})`;
    },
    Now: "strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')",
  });

  truncSql(unit: string, datetime: boolean): string {
    const modifiers = TRUNC_MODIFIERS[unit] ?? '';
    if (!datetime) return `date(%(0)s${modifiers})`;
    return `strftime('${TRUNC_FORMATS[unit]}', %(0)s${unit === 'quarter' || unit === 'week' ? modifiers : ''})`;
  }

  /**
   * `->` (SQLite 3.38) gives a key's value as JSON text (a string stays quoted, so it reads back
   * as a string); `JSON_EXTRACT` its SQL value (ordering, comparisons); `JSON_TYPE` tells JSON null
   * from a missing key. No containment operators, as in Django (NotSupportedError).
   */
  override readonly json: JsonSql = Object.freeze({
    key: '(%doc -> %path)',
    keySql: 'JSON_EXTRACT(%doc, %path)',
    keyExact: `JSON_EXTRACT(%doc, %path) = JSON_EXTRACT(%rhs, '$')`,
    keyIsJsonNull: `JSON_TYPE(%doc, %path) = 'null'`,
    docIsJsonNull: `JSON_TYPE(%doc, '$') = 'null'`,
    keyMissing: 'JSON_TYPE(%doc, %path) IS NULL',
    keyPresent: 'JSON_TYPE(%doc, %path) IS NOT NULL',
    contains: undefined,
    containedBy: undefined,
    hasPath: 'JSON_TYPE(%doc, %rhs) IS NOT NULL',
    keyText: 'JSON_EXTRACT(%doc, %path)',
    keyTextLookup: 'JSON_EXTRACT(%doc, %path)',
    // SQL values: a text sorts after every number (`n__gt: 2` matches "3"), JSON null is NULL.
    keyCompare: 'JSON_EXTRACT(%doc, %path)',
    compareRhs: '%rhs',
    inItem: `JSON_EXTRACT(%rhs, '$')`,
    compareJsonText: false,
    lowerCaseInsensitive: false,
  });

  /**
   * A decimal column holding a whole value stores an INTEGER (NUMERIC affinity), so `/` on it would
   * truncate: a division whose result is not an integer divides a REAL.
   */
  override combineExpression(op: string, kind: ArithmeticKind | undefined, lhs: string, rhs: string): string {
    if (op === '/' && kind !== undefined && kind !== 'integer') return `(CAST(${lhs} AS REAL) / ${rhs})`;
    return `(${lhs} ${op} ${rhs})`;
  }

  /** better-sqlite3 binds every number as a double: the cast gives integers their type back. */
  override castParam(kind: 'integer' | 'float' | 'decimal' | 'boolean'): string {
    if (kind === 'boolean') return '?';
    return kind === 'integer' ? 'CAST(? AS INTEGER)' : kind === 'float' ? 'CAST(? AS REAL)' : 'CAST(? AS NUMERIC)';
  }

  /** better-sqlite3 returns COUNT, and SUM/MIN/MAX of integers and floats, as numbers. */
  override aggregateNeedsConversion(fn: string, kind: string | undefined): boolean {
    return !(fn === 'COUNT' || ((fn === 'SUM' || fn === 'MIN' || fn === 'MAX') && (kind === 'integer' || kind === 'float')));
  }

  override adaptBooleanValue(value: unknown): unknown {
    return value ? 1 : 0;
  }

  /** NUMERIC affinity: bound as a number (as Django does); read back formatted to the field's places. */
  override adaptDecimalValue(value: unknown): unknown {
    return typeof value === 'number' ? value : Number(value);
  }

  /** A REAL keeps 15 significant digits: a decimal with more would be stored rounded. */
  override decimalWriteProblem(value: string): string | undefined {
    const digits = value.replace(/^[-+]/, '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
    return digits.length > 15
      ? `${value} has ${digits.length} significant digits; SQLite stores a decimal as an 8-byte float, which keeps 15.`
      : undefined;
  }

  /** The list as one JSON array parameter, read by `json_each` (no 32,766-parameter limit). */
  override readonly inListSql = '%lhs IN (SELECT value FROM json_each(?))';

  /** A JSON array (bigints written as exact integer literals, which SQLite's JSON reads as 64-bit integers). */
  override adaptInList(values: unknown[]): unknown {
    let out = '[';
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (i > 0) out += ',';
      out += typeof v === 'bigint' ? v.toString() : JSON.stringify(v);
    }
    return `${out}]`;
  }

  /**
   * ISO-8601 text in UTC, always six fractional digits (`2024-05-01T12:00:07.123000Z`): text
   * comparison is time order only when every value has the same form.
   */
  override adaptDateTimeValue(value: Date): unknown {
    return formatInstant(value.getTime(), extraMicroseconds(value), 'T', 'Z');
  }

  protected override readonly converters = Object.freeze({
    ...CONVERTERS,
    BooleanField: () => booleanFromDb,
    // A REAL holds 15 significant digits (SQLite keeps no more from a decimal's text): read to 15
    // and put at the field's places, as Django reads it (toFixed would show the double's binary
    // tail: 1234567890.12345 as '1234567890.1234500408').
    DecimalField: (field: Field) => {
      const places = placesDecimal((field as DecimalField).decimalPlaces);
      return (v: unknown) =>
        v === null || v === undefined
          ? v
          : typeof v === 'number'
            ? places(v)
            : (field as DecimalField).format(typeof v === 'bigint' ? String(v) : v);
    },
    UUIDField: () => uuidFromHex,
    JSONField: () => jsonFromText,
  });

  protected override readonly dataTypes = Object.freeze({
    ...DATA_TYPES,
    BigAutoField: 'integer',
    FloatField: 'real',
    DecimalField: 'decimal',
  });

  protected override readonly dataTypeCheckConstraints = Object.freeze({ JSONField: 'JSON_VALID(%(column))' });

  readonly autoPrimaryKeySuffix = ' NOT NULL PRIMARY KEY AUTOINCREMENT';
  override readonly deferrableSql = ' DEFERRABLE INITIALLY DEFERRED';
  /** SQLITE_MAX_VARIABLE_NUMBER since SQLite 3.32 (better-sqlite3 bundles a newer one). */
  override readonly maxParams = 32766;
  /** knex writes a multi-row INSERT as a compound SELECT limited to 500 terms: the compiler writes VALUES lists. */
  override readonly multiRowValuesByBuilder = false;

  override insertIgnoringConflicts(sql: string): string {
    return sql.replace(/^insert into/i, 'insert or ignore into');
  }
}
