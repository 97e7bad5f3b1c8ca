/**
 * How models name their tables and columns when no `dbTable` / `dbColumn` says otherwise.
 *
 * One rule for everything a model creates: the default, `UnderscoreNamingStrategy`, names
 * tables, columns, foreign key columns and many-to-many tables in snake_case (`created_at`,
 * `author_id`, `orm_book_tags` with `book_id` and `tag_id`), as Django and SQL schemas do; the
 * attribute names in TypeScript are unchanged (`book.createdAt`, `book.authorId`).
 * `AttributeNamingStrategy` names columns after the attributes instead (`createdAt`, `authorId`:
 * Spool's columns before 0.2), for databases created that way.
 *
 * A strategy is chosen per model (`Model.define(fields, { namingStrategy })`) or for every model
 * defined afterwards (`setNamingStrategy()`); `dbColumn` on a field and `dbTable` on a model or a
 * many-to-many field override it. Names are fixed when a model is defined (migrations record
 * them explicitly), so a strategy is a set of pure functions of the names it is given.
 *
 * ### Examples
 * ```ts
 * import { Model, CharField, UnderscoreNamingStrategy, setNamingStrategy } from '@spool/orm';
 *
 * // Tables prefixed with the app's name: `shop_order`, columns as the default.
 * class ShopNaming extends UnderscoreNamingStrategy {
 *   override tableName(modelName: string): string {
 *     return `shop_${super.tableName(modelName)}`;
 *   }
 * }
 * setNamingStrategy(new ShopNaming()); // in the models' module, before Model.define()
 * ```
 */
import { ConfigError } from '@spool/connections';
import { snakeCase } from './naming';
import { allModels } from './registry';

/** The names a model's table and columns get when no `dbTable` / `dbColumn` is given. */
export interface NamingStrategy {
  /** The table of a model without `dbTable`: `BookReview` → `book_review`. */
  tableName(modelName: string): string;
  /** The column of a field without `dbColumn` (other than a foreign key): `createdAt` → `created_at`. */
  columnName(fieldName: string): string;
  /** The column of a `ForeignKey` / `OneToOneField` without `dbColumn`: `author` → `author_id`. */
  foreignKeyColumnName(fieldName: string): string;
  /** The table of a many-to-many field without `dbTable`: `orm_book` and `tags` → `orm_book_tags`. */
  joinTableName(sourceTable: string, fieldName: string): string;
  /**
   * A column of a many-to-many's auto-created table, pointing at the model `modelName`: `Book` →
   * `book_id`. `side` is set when the relation points at its own model (`from_person_id`, `to_person_id`).
   */
  joinColumnName(modelName: string, side: 'from' | 'to' | undefined): string;
}

const METHODS = ['tableName', 'columnName', 'foreignKeyColumnName', 'joinTableName', 'joinColumnName'] as const;

/** snake_case names (the default): `created_at`, `author_id`, `book_review`, `orm_book_tags` with `book_id`. */
export class UnderscoreNamingStrategy implements NamingStrategy {
  tableName(modelName: string): string {
    return snakeCase(modelName);
  }

  columnName(fieldName: string): string {
    return snakeCase(fieldName);
  }

  foreignKeyColumnName(fieldName: string): string {
    return `${snakeCase(fieldName)}_id`;
  }

  joinTableName(sourceTable: string, fieldName: string): string {
    return `${sourceTable}_${snakeCase(fieldName)}`;
  }

  joinColumnName(modelName: string, side: 'from' | 'to' | undefined): string {
    return `${side ? `${side}_` : ''}${snakeCase(modelName)}_id`;
  }
}

/**
 * Columns named after the attributes (`createdAt`, foreign keys `authorId`): the columns of
 * Spool before 0.2. Tables and many-to-many tables are named as by `UnderscoreNamingStrategy`.
 */
export class AttributeNamingStrategy extends UnderscoreNamingStrategy {
  override columnName(fieldName: string): string {
    return fieldName;
  }

  override foreignKeyColumnName(fieldName: string): string {
    return `${fieldName}Id`;
  }
}

/**
 * The naming of historical models, rendered from migration files: a column is the field's name
 * unless the migration gives `dbColumn` (what a migration file means never depends on the
 * strategy of the day). @internal
 */
export class MigrationNamingStrategy extends UnderscoreNamingStrategy {
  override columnName(fieldName: string): string {
    return fieldName;
  }

  override foreignKeyColumnName(fieldName: string): string {
    return fieldName;
  }
}

let current: NamingStrategy = new UnderscoreNamingStrategy();

/** The strategy models get when they name none (`UnderscoreNamingStrategy` unless `setNamingStrategy()` changed it). */
export function namingStrategy(): NamingStrategy {
  return current;
}

/**
 * Set the naming strategy of every model defined from now on without a `namingStrategy` option.
 * A model's names are fixed when it is defined, so this must run **before your models are
 * defined**: call it in the module that defines them (or one it imports first), which the command
 * line and worker threads load too, not in an entry point they never run. Throws a `ConfigError`
 * naming the models already defined with the previous default.
 */
export function setNamingStrategy(strategy: NamingStrategy): void {
  checkNamingStrategy(strategy, 'setNamingStrategy()');
  if (strategy === current) return;
  const defined = allModels().filter((m) => m.usesDefaultNaming);
  if (defined.length > 0) {
    // Models not used yet have no name (it comes from their class): list the named ones, count the rest.
    const names = defined
      .filter((m) => m.named)
      .slice(0, 5)
      .map((m) => m.name);
    if (names.length === 0) names.push('a model');
    throw new ConfigError(
      `setNamingStrategy() must run before the models are defined: ${names.join(', ')}${defined.length > names.length ? ` and ${defined.length - names.length} more` : ''} already named their columns with ${describeStrategy(current)}. Call it in a module imported before your models, or give each model its own { namingStrategy }.`,
      { option: 'namingStrategy' },
    );
  }
  current = strategy;
}

/** Throw unless `strategy` has every method of a NamingStrategy. @internal */
export function checkNamingStrategy(strategy: unknown, where: string): asserts strategy is NamingStrategy {
  if (strategy === null || typeof strategy !== 'object') {
    throw new ConfigError(
      `${where}: namingStrategy must be an object with the methods ${METHODS.join(', ')} (new UnderscoreNamingStrategy()), got ${strategy === null ? 'null' : typeof strategy}.`,
      { option: 'namingStrategy' },
    );
  }
  const missing = METHODS.filter((m) => typeof (strategy as Record<string, unknown>)[m] !== 'function');
  if (missing.length > 0) {
    throw new ConfigError(`${where}: namingStrategy lacks the method(s) ${missing.join(', ')} (extend UnderscoreNamingStrategy).`, {
      option: 'namingStrategy',
    });
  }
}

/** `UnderscoreNamingStrategy`, for messages. @internal */
export function describeStrategy(strategy: NamingStrategy): string {
  return (strategy as object).constructor?.name && (strategy as object).constructor !== Object
    ? (strategy as object).constructor.name
    : 'a custom naming strategy';
}
