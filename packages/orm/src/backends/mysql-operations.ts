/**
 * MariaDB (the `mysql` vendor): `=` follows the column's collation (case-insensitive by default)
 * and `LIKE BINARY` makes patterns case-sensitive; no RETURNING; an UPDATE or DELETE reads its own
 * table only through a materialised subquery; DDL is not transactional; a foreign key constraint
 * indexes its column. Booleans come back as 0/1, UUIDs as hex, JSON as text.
 */
import { booleanFromDb } from '../fields/boolean-field';
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
    updateCanSelfSelect: false,
    canRollbackDdl: false,
    foreignKeyConstraintsCreateIndexes: true,
  });

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
  override readonly random = 'RAND()';

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
