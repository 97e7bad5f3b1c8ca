/**
 * What differs between databases in queries (Django's `DatabaseOperations` and each backend's
 * `operators` / `pattern_ops`): the SQL of each lookup, date parts, escaping of LIKE patterns,
 * random ordering, parameter limits. One object per vendor, same shape; the compiler looks them
 * up by `backend.vendor`.
 *
 * Case sensitivity follows Django's backends: PostgreSQL compares exactly and uses `UPPER()` for
 * the `i` lookups; MariaDB's `=` follows the column's collation (case-insensitive by default) and
 * uses `LIKE BINARY` for case-sensitive patterns; SQLite's `=` is exact and `LIKE` is
 * case-insensitive for ASCII, so `contains` behaves like `icontains` there (as Django documents).
 * @internal
 */
import type { Vendor } from '@spool/connections';

/** Fragments use knex raw syntax: `%lhs` is replaced by the left-hand side's SQL, `?` is a parameter. */
export interface Operations {
  readonly vendor: Vendor;
  /** SQL for a pattern/case lookup: `contains` → `%lhs LIKE BINARY ?`. */
  readonly operators: Readonly<Record<string, string>>;
  /** How the left-hand side is wrapped for `i` lookups (`UPPER(%lhs::text)`), or undefined. */
  readonly caseInsensitiveLhs: string | undefined;
  /** SQL extracting a date part from `%lhs` (a datetime when `datetime` is true). */
  datePart(part: string, datetime: boolean): string;
  /** SQL of the date of a datetime in UTC. */
  readonly dateOfDatetime: string;
  /** ORDER BY term for random order. */
  readonly random: string;
  /** Most bound parameters one statement may carry. */
  readonly maxParams: number;
  /** Can a `regex` lookup run here? */
  readonly supportsRegex: boolean;
  /** Does INSERT ... RETURNING work? */
  readonly canReturnFromInsert: boolean;
  /** Most rows one INSERT may carry (knex writes SQLite's multi-row INSERT as a compound SELECT, limited to 500 terms). */
  readonly maxInsertRows: number;
}

const SQLITE_ESCAPE = ` ESCAPE '\\'`;

const postgres: Operations = {
  vendor: 'postgresql',
  operators: {
    iexact: `UPPER(%lhs::text) = UPPER(?)`,
    contains: `%lhs LIKE ?`,
    icontains: `UPPER(%lhs::text) LIKE UPPER(?)`,
    startswith: `%lhs LIKE ?`,
    istartswith: `UPPER(%lhs::text) LIKE UPPER(?)`,
    endswith: `%lhs LIKE ?`,
    iendswith: `UPPER(%lhs::text) LIKE UPPER(?)`,
    regex: `%lhs::text ~ ?`,
    iregex: `%lhs::text ~* ?`,
  },
  caseInsensitiveLhs: 'UPPER(%lhs::text)',
  datePart(part, datetime) {
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
  },
  dateOfDatetime: `(%lhs AT TIME ZONE 'UTC')::date`,
  random: 'RANDOM()',
  maxParams: 65535,
  supportsRegex: true,
  canReturnFromInsert: true,
  maxInsertRows: Number.POSITIVE_INFINITY,
};

const mysql: Operations = {
  vendor: 'mysql',
  operators: {
    iexact: `%lhs LIKE ?`,
    contains: `%lhs LIKE BINARY ?`,
    icontains: `%lhs LIKE ?`,
    startswith: `%lhs LIKE BINARY ?`,
    istartswith: `%lhs LIKE ?`,
    endswith: `%lhs LIKE BINARY ?`,
    iendswith: `%lhs LIKE ?`,
    regex: `%lhs REGEXP BINARY ?`,
    iregex: `%lhs REGEXP ?`,
  },
  caseInsensitiveLhs: undefined,
  datePart(part) {
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
  },
  dateOfDatetime: 'DATE(%lhs)',
  random: 'RAND()',
  maxParams: 65535,
  supportsRegex: true,
  canReturnFromInsert: false,
  maxInsertRows: Number.POSITIVE_INFINITY,
};

const SQLITE_PARTS: Record<string, string> = {
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

const sqlite: Operations = {
  vendor: 'sqlite',
  operators: {
    iexact: `%lhs LIKE ?${SQLITE_ESCAPE}`,
    contains: `%lhs LIKE ?${SQLITE_ESCAPE}`,
    icontains: `%lhs LIKE ?${SQLITE_ESCAPE}`,
    startswith: `%lhs LIKE ?${SQLITE_ESCAPE}`,
    istartswith: `%lhs LIKE ?${SQLITE_ESCAPE}`,
    endswith: `%lhs LIKE ?${SQLITE_ESCAPE}`,
    iendswith: `%lhs LIKE ?${SQLITE_ESCAPE}`,
    // REGEXP is a JavaScript function Spool registers on every SQLite connection; a '(?i)' prefix
    // asks it for a case-insensitive match (as Django's SQLite backend writes iregex). The prefix
    // is spelled with char() because a literal question mark would read as a binding.
    regex: `%lhs REGEXP ?`,
    iregex: `%lhs REGEXP (char(40, 63, 105, 41) || ?)`,
  },
  caseInsensitiveLhs: undefined,
  datePart(part) {
    return SQLITE_PARTS[part] ?? `CAST(strftime('%Y', %lhs) AS INTEGER)`;
  },
  dateOfDatetime: 'date(%lhs)',
  random: 'RANDOM()',
  maxParams: 32766,
  supportsRegex: true,
  canReturnFromInsert: true,
  maxInsertRows: 500,
};

const BY_VENDOR: Record<Vendor, Operations> = { postgresql: postgres, mysql, sqlite };

export function operationsFor(vendor: Vendor): Operations {
  return BY_VENDOR[vendor];
}

/** Escape `\`, `%` and `_` for a LIKE pattern (Django's `prep_for_like_query`). */
export function escapeLike(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/%/g, '\\%').replace(/_/g, '\\_');
}

/** The pattern bound for a pattern lookup. */
export function patternFor(lookup: string, value: string): string {
  const v = escapeLike(value);
  switch (lookup) {
    case 'contains':
    case 'icontains':
      return `%${v}%`;
    case 'startswith':
    case 'istartswith':
      return `${v}%`;
    case 'endswith':
    case 'iendswith':
      return `%${v}`;
    default:
      return v;
  }
}
