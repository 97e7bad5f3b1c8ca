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
import { BaseOperations, CONVERTERS, DATA_TYPES } from './base-operations';
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

  override castParam(kind: 'integer' | 'float' | 'decimal'): string {
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
