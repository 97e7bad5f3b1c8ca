/** Name helpers shared by models, the schema editor and the query compiler. Internal to the package (not exported from its index). */
import { createHash } from 'node:crypto';

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Is `name` a safe SQL identifier (letters, digits, underscore; not starting with a digit)? */
export function isIdentifier(name: unknown): name is string {
  return typeof name === 'string' && name.length > 0 && name.length <= 64 && IDENT.test(name);
}

/** `BookReview` → `book_review`. */
export function snakeCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toLowerCase();
}

/** `BookReview` → `bookReview`. */
export function lowerFirst(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

/**
 * A constraint or index name from a table, columns and suffix, shortened with a hash to fit the
 * smallest limit of the three databases (PostgreSQL: 63), as Django's `_create_index_name`.
 */
export function constraintName(table: string, columns: readonly string[], suffix: string, maxLength = 63): string {
  const hash = createHash('md5')
    .update([table, ...columns].join('\u0000'))
    .digest('hex')
    .slice(0, 8);
  const full = `${table}_${columns.join('_')}_${hash}_${suffix}`;
  if (full.length <= maxLength) return full;
  const room = maxLength - hash.length - suffix.length - 3;
  const head = `${table}_${columns.join('_')}`.slice(0, room);
  return `${head}_${hash}_${suffix}`;
}
