/**
 * PostgreSQL: exact comparisons (`i` lookups through `UPPER()`), `EXTRACT` date parts in UTC,
 * native boolean, uuid, jsonb and timestamptz columns, identity keys, deferrable foreign keys,
 * transactional DDL. pg returns int8 as text and DATE as a local-midnight Date: both converted.
 */
import { DataError, NotSupportedError } from '@spool/connections';
import { dateFromDb } from '../fields/date-field';
import { extraMicroseconds, formatInstant } from '../fields/precise-date';
import type { Field } from '../fields/field';
import type { FuncNode } from '../query/nodes';
import { BaseOperations, CONVERTERS, DATA_TYPES, FUNCTION_TEMPLATES, type JsonSql } from './base-operations';
import { DEFAULT_FEATURES } from './database-features';

export class PostgresOperations extends BaseOperations {
  readonly vendor = 'postgresql' as const;
  readonly displayName = 'PostgreSQL';
  override readonly features = Object.freeze({
    ...DEFAULT_FEATURES,
    hasNativeUuidField: true,
    requiresCastedCaseInUpdates: true,
    canDistinctOnFields: true,
  });

  readonly operators = Object.freeze({
    iexact: `UPPER(%lhs::text) = UPPER(?)`,
    contains: `%lhs LIKE ?`,
    icontains: `UPPER(%lhs::text) LIKE UPPER(?)`,
    startswith: `%lhs LIKE ?`,
    istartswith: `UPPER(%lhs::text) LIKE UPPER(?)`,
    endswith: `%lhs LIKE ?`,
    iendswith: `UPPER(%lhs::text) LIKE UPPER(?)`,
    regex: `%lhs::text ~ ?`,
    iregex: `%lhs::text ~* ?`,
  });

  datePart(part: string, datetime: boolean): string {
    const lhs = datetime ? `(%lhs AT TIME ZONE 'UTC')` : '%lhs';
    switch (part) {
      case 'week_day':
        return `EXTRACT(DOW FROM ${lhs}) + 1`;
      case 'iso_week_day':
        return `EXTRACT(ISODOW FROM ${lhs})`;
      case 'iso_year':
        return `EXTRACT(ISOYEAR FROM ${lhs})`;
      case 'second':
        // Whole seconds, as Django (EXTRACT(SECOND) includes the fraction).
        return `EXTRACT(SECOND FROM DATE_TRUNC('second', ${lhs}))`;
      default:
        return `EXTRACT(${part.toUpperCase()} FROM ${lhs})`;
    }
  }

  readonly dateOfDatetime = `(%lhs AT TIME ZONE 'UTC')::date`;

  /**
   * Django's PostgreSQL functions: CONCAT of texts (every argument cast, as Django does: a
   * parameter has no type otherwise), STRPOS, `::` casts, STATEMENT_TIMESTAMP(); lengths and
   * positions as integers (a literal is bound as a bigint, which SUBSTRING and LEFT do not take).
   */
  protected override readonly functionTemplates = Object.freeze({
    ...FUNCTION_TEMPLATES,
    Concat: (n: FuncNode) => `CONCAT(${n.args.map((_, i) => `(%(${i})s)::text`).join(', ')})`,
    Substr: (n: FuncNode) =>
      n.args.length === 3 ? 'SUBSTRING(%(0)s, (%(1)s)::integer, (%(2)s)::integer)' : 'SUBSTRING(%(0)s, (%(1)s)::integer)',
    Left: 'LEFT(%(0)s, (%(1)s)::integer)',
    Right: 'RIGHT(%(0)s, (%(1)s)::integer)',
    StrIndex: 'STRPOS(%(0)s, %(1)s)',
    // No MOD(double precision, ...) here: float arguments are cast to numeric (Django's
    // FixDecimalInputMixin, same precision); the result is read as the float Django gives.
    Mod: (n: FuncNode) => {
      const floats = n.option.startsWith('float:') ? n.option.slice(6).split(',') : [];
      const arg = (i: number) => (floats.includes(String(i)) ? `CAST(%(${i})s AS numeric(1000, 15))` : `%(${i})s`);
      return `MOD(${arg(0)}, ${arg(1)})`;
    },
    Cast(this: BaseOperations, n: FuncNode) {
      return `(%(0)s)::${this.castType(n.field as Field)}`;
    },
    Now: 'STATEMENT_TIMESTAMP()',
  });

  /** DATE_TRUNC in UTC; an instant stays one (a timestamptz), a date a date. */
  truncSql(unit: string, datetime: boolean): string {
    return datetime ? `(DATE_TRUNC('${unit}', %(0)s AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')` : `DATE_TRUNC('${unit}', %(0)s)::date`;
  }

  /** jsonb operators: `#>` with a text[] path, `@>` / `<@` containment; JSON null is `'null'::jsonb`, never SQL NULL. */
  override readonly json: JsonSql = Object.freeze({
    key: '(%doc #> %path::text[])',
    keySql: '(%doc #> %path::text[])',
    keyExact: '(%doc #> %path::text[]) = %rhs::jsonb',
    keyIsJsonNull: `(%doc #> %path::text[]) = 'null'::jsonb`,
    docIsJsonNull: `%doc = 'null'::jsonb`,
    keyMissing: '(%doc #> %path::text[]) IS NULL',
    keyPresent: '(%doc #> %path::text[]) IS NOT NULL',
    contains: '%lhs @> %rhs::jsonb',
    containedBy: '%lhs <@ %rhs::jsonb',
    hasPath: '(%doc #> %rhs::text[]) IS NOT NULL',
    keyText: '(%doc #>> %path::text[])',
    keyTextLookup: '(%doc #>> %path::text[])',
    // jsonb ordering: null < strings < numbers < booleans < arrays < objects (`n__gt: 2` skips "3").
    keyCompare: '(%doc #> %path::text[])',
    compareRhs: '%rhs::jsonb',
    inItem: '%rhs::jsonb',
    compareJsonText: true,
    lowerCaseInsensitive: false,
  });

  /** A path as a text[] literal: `{"owner","name"}`, `{"tags","0"}`. */
  override jsonPath(path: readonly (string | number)[]): unknown {
    return `{${path.map((k) => `"${String(k).replace(/["\\]/g, (ch) => `\\${ch}`)}"`).join(',')}}`;
  }

  /** As Django 3.2: a RANGE frame takes no offsets here (only UNBOUNDED and CURRENT ROW). */
  override windowFrame(type: 'ROWS' | 'RANGE', start: number | null, end: number | null): string {
    if (type === 'RANGE' && ((start !== null && start < 0) || (end !== null && end > 0)))
      throw new NotSupportedError('PostgreSQL only supports UNBOUNDED together with PRECEDING and FOLLOWING.');
    return super.windowFrame(type, start, end);
  }

  /** LIKE works on text: other kinds (uuid) are cast, as Django does, unless the template casts already. */
  override lookupCast(lhs: string, kind: string, template: string): string {
    return kind !== 'text' && !template.includes('::text') ? `${lhs}::text` : lhs;
  }

  /** `iexact` is `UPPER(x) = UPPER(?)` here, not a LIKE: the value is not a pattern. */
  override prepForIexactQuery(value: string): string {
    return value;
  }

  /** PostgreSQL text cannot hold NUL. */
  override checkTextValue(value: string, what: string): void {
    if (value.includes('\u0000')) throw new DataError(`${what}: PostgreSQL text values cannot contain NUL (0x00) characters.`);
  }

  /** The list as one array parameter: `= ANY($1)` (its type inferred from the left-hand side). */
  override readonly inListSql = '%lhs = ANY(?)';

  /** ISO-8601 with its offset (`Z`): read as UTC whatever the session's TimeZone. */
  override adaptDateTimeValue(value: Date): unknown {
    return formatInstant(value.getTime(), extraMicroseconds(value), 'T', 'Z');
  }

  protected override readonly converters = Object.freeze({
    ...CONVERTERS,
    // pg parses DATE into a local-midnight Date (raw SQL without temporalAsText).
    DateField: () => dateFromDb(true),
  });

  protected override readonly dataTypes = Object.freeze({
    ...DATA_TYPES,
    BooleanField: 'boolean',
    DateTimeField: 'timestamp with time zone',
    UUIDField: 'uuid',
    JSONField: 'jsonb',
  });

  readonly autoPrimaryKeySuffix = ' NOT NULL PRIMARY KEY GENERATED BY DEFAULT AS IDENTITY';

  /** Collations are identifiers here. */
  override collateSql(collation: string): string {
    return ` COLLATE "${collation}"`;
  }

  override readonly deferrableSql = ' DEFERRABLE INITIALLY DEFERRED';

  override dropTableSql(table: string, ifExists: boolean): string {
    return `${super.dropTableSql(table, ifExists)} CASCADE`;
  }
}
