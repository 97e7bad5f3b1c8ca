/**
 * MariaDB (the `mysql` vendor): `=` follows the column's collation (case-insensitive by default)
 * and `LIKE BINARY` makes patterns case-sensitive; `INSERT ... RETURNING` from MariaDB 10.5 (not
 * MySQL), written by hand (knex's MySQL dialect drops it); an UPDATE or DELETE reads its own
 * table only through a materialised subquery; DDL is not transactional; a foreign key constraint
 * indexes its column. Booleans come back as 0/1, UUIDs as hex, JSON as text.
 */
import { booleanFromDb } from '../fields/boolean-field';
import type { ArithmeticKind } from '../query/output-types';
import { jsonFromText } from '../fields/json-field';
import { uuidFromHex } from '../fields/uuid-field';
import type { Field } from '../fields/field';
import type { FuncNode } from '../query/nodes';
import { BaseOperations, CONVERTERS, DATA_TYPES, FUNCTION_TEMPLATES } from './base-operations';

/** Django's `cast_data_types` of MySQL/MariaDB (CAST does not take the column types). */
const CAST_TYPES: Readonly<Record<string, string>> = {
  IntegerField: 'signed integer',
  BigIntegerField: 'signed integer',
  AutoField: 'signed integer',
  BigAutoField: 'signed integer',
  CharField: 'char(%(maxLength)s)',
  TextField: 'char',
  DecimalField: 'decimal(%(maxDigits)s, %(decimalPlaces)s)',
  DateField: 'date',
  DateTimeField: 'datetime(6)',
};

/** DATE_FORMAT patterns of the datetime units (Django's `datetime_trunc_sql`). */
const TRUNC_FORMATS: Readonly<Record<string, string>> = {
  year: '%Y-01-01 00:00:00',
  month: '%Y-%m-01 00:00:00',
  day: '%Y-%m-%d 00:00:00',
  hour: '%Y-%m-%d %H:00:00',
  minute: '%Y-%m-%d %H:%i:00',
  second: '%Y-%m-%d %H:%i:%s',
};
import { DEFAULT_FEATURES } from './database-features';

export class MysqlOperations extends BaseOperations {
  readonly vendor = 'mysql' as const;
  readonly displayName = 'MariaDB';
  override readonly features = Object.freeze({
    ...DEFAULT_FEATURES,
    canReturnRowsFromInsert: false,
    canReturnRowsFromBulkInsert: false,
    updateCanSelfSelect: false,
    canRollbackDdl: false,
    foreignKeyConstraintsCreateIndexes: true,
    supportsAggregateFilterClause: false,
    supportsLagLeadDefault: false,
    havingFindsGroupedColumnsByName: true,
  });

  private readonly byServer = new Map<string, BaseOperations>();

  /** MariaDB 10.5 and later return the rows of a (multi-row) INSERT: `bulkCreate()` sets their keys. */
  override forServer(version: string | undefined): BaseOperations {
    if (version === undefined) return this;
    let ops = this.byServer.get(version);
    if (ops === undefined) {
      // MariaDB's handshake says `5.5.5-10.11.19-MariaDB-…` (the prefix is for old MySQL clients).
      const m = /^(\d+)\.(\d+)/.exec(version.replace(/^5\.5\.5-/, ''));
      const mariadb = /mariadb/i.test(version);
      const returning = mariadb && m !== null && (Number(m[1]) > 10 || (Number(m[1]) === 10 && Number(m[2]) >= 5));
      ops = returning ? this.withFeatures({ canReturnRowsFromBulkInsert: true }) : this;
      this.byServer.set(version, ops);
    }
    return ops;
  }

  override readonly featuresDependOnServerVersion = true;
  override readonly insertReturningByBuilder = false;

  readonly operators = Object.freeze({
    iexact: `%lhs LIKE ?`,
    contains: `%lhs LIKE BINARY ?`,
    icontains: `%lhs LIKE ?`,
    startswith: `%lhs LIKE BINARY ?`,
    istartswith: `%lhs LIKE ?`,
    endswith: `%lhs LIKE BINARY ?`,
    iendswith: `%lhs LIKE ?`,
    regex: `%lhs REGEXP BINARY ?`,
    iregex: `%lhs REGEXP ?`,
  });

  datePart(part: string): string {
    switch (part) {
      case 'week_day':
        return 'DAYOFWEEK(%lhs)';
      case 'iso_week_day':
        return '(WEEKDAY(%lhs) + 1)';
      case 'week':
        return 'WEEK(%lhs, 3)';
      case 'iso_year':
        return 'TRUNCATE(YEARWEEK(%lhs, 3), -2) / 100';
      default:
        return `EXTRACT(${part.toUpperCase()} FROM %lhs)`;
    }
  }

  readonly dateOfDatetime = 'DATE(%lhs)';

  /** Django's MariaDB functions: CHAR_LENGTH, CONCAT_WS (NULLs skipped), casts to SIGNED/CHAR, floats by `+ 0.0`, UTC_TIMESTAMP. */
  protected override readonly functionTemplates = Object.freeze({
    ...FUNCTION_TEMPLATES,
    Length: 'CHAR_LENGTH(%(0)s)',
    Concat: "CONCAT_WS('', %(expressions)s)",
    Cast(this: BaseOperations, n: FuncNode) {
      const field = n.field as Field;
      if (field.internalType === 'FloatField') return '(%(0)s + 0.0)';
      return `CAST(%(0)s AS ${this.castType(field)})`;
    },
    // Instants are stored in UTC (DATETIME(6)): the current one too, whatever the session's time zone.
    Now: 'UTC_TIMESTAMP(6)',
  });

  override castType(field: Field): string {
    const t = CAST_TYPES[field.internalType];
    return t === undefined
      ? super.castType(field)
      : t.replace(/%\((\w+)\)s/g, (_, k: string) => String((field as unknown as Record<string, unknown>)[k]));
  }

  truncSql(unit: string, datetime: boolean): string {
    if (!datetime) {
      if (unit === 'year') return "CAST(DATE_FORMAT(%(0)s, '%Y-01-01') AS DATE)";
      if (unit === 'month') return "CAST(DATE_FORMAT(%(0)s, '%Y-%m-01') AS DATE)";
      if (unit === 'quarter') return 'MAKEDATE(YEAR(%(0)s), 1) + INTERVAL QUARTER(%(0)s) QUARTER - INTERVAL 1 QUARTER';
      if (unit === 'week') return 'DATE_SUB(%(0)s, INTERVAL WEEKDAY(%(0)s) DAY)';
      return 'DATE(%(0)s)';
    }
    if (unit === 'quarter')
      return "CAST(DATE_FORMAT(MAKEDATE(YEAR(%(0)s), 1) + INTERVAL QUARTER(%(0)s) QUARTER - INTERVAL 1 QUARTER, '%Y-%m-01 00:00:00') AS DATETIME)";
    if (unit === 'week') return "CAST(DATE_FORMAT(DATE_SUB(%(0)s, INTERVAL WEEKDAY(%(0)s) DAY), '%Y-%m-%d 00:00:00') AS DATETIME)";
    return `CAST(DATE_FORMAT(%(0)s, '${TRUNC_FORMATS[unit]}') AS DATETIME)`;
  }

  /**
   * MariaDB has no `NULLS FIRST/LAST`; NULL sorts as the smallest value (first ascending, last
   * descending). Where that is not the placement asked for, `%lhs IS NULL` orders first, then the
   * value itself (as Django does).
   */
  override orderByTemplate(desc: boolean, nulls: 'first' | 'last' | undefined): string {
    const term = `%lhs${desc ? ' DESC' : ' ASC'}`;
    if (nulls === undefined || (nulls === 'first') === !desc) return term;
    return `%lhs IS NULL${nulls === 'last' ? ' ASC' : ' DESC'}, ${term}`;
  }
  override readonly random = 'RAND()';

  /** `/` is decimal division here: integers divide with `DIV` (truncating toward zero, as PostgreSQL). */
  override combineExpression(op: string, kind: ArithmeticKind | undefined, lhs: string, rhs: string): string {
    return `(${lhs} ${op === '/' && kind === 'integer' ? 'DIV' : op} ${rhs})`;
  }

  override castParam(kind: 'integer' | 'float' | 'decimal' | 'boolean'): string {
    if (kind === 'boolean') return '?';
    return kind === 'integer' ? 'CAST(? AS SIGNED)' : kind === 'float' ? 'CAST(? AS DOUBLE)' : 'CAST(? AS DECIMAL(65, 30))';
  }

  /** mysql2 returns COUNT as a number (SUM, AVG, MIN and MAX of decimals as text). */
  override aggregateNeedsConversion(fn: string): boolean {
    return fn !== 'COUNT';
  }

  protected override readonly converters = Object.freeze({
    ...CONVERTERS,
    BooleanField: () => booleanFromDb,
    UUIDField: () => uuidFromHex,
    JSONField: () => jsonFromText,
  });

  protected override readonly dataTypes = Object.freeze({
    ...DATA_TYPES,
    TextField: 'longtext',
    DateTimeField: 'datetime(6)',
    JSONField: 'json',
  });

  readonly autoPrimaryKeySuffix = ' AUTO_INCREMENT NOT NULL PRIMARY KEY';

  /** `INSERT INTO t () VALUES ()`: knex writes it for one object. */
  override defaultRowsInsert(): object {
    return {};
  }

  override insertIgnoringConflicts(sql: string): string {
    return sql.replace(/^insert into/i, 'insert ignore into');
  }
}
