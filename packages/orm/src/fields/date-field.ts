/**
 * A calendar date, as an ISO string `'YYYY-MM-DD'` (JavaScript has no date-only type, and a `Date`
 * at midnight shifts with time zones). A `Date` is accepted on input and read in UTC.
 */
import type { BaseOperations } from '../backends/base-operations';
import type { ValidationMessage } from '../errors';
import type { ScalarSpecOf, Empty } from '../types';
import { Field, type FieldOptions, type FromDb } from './field';
import { describeValue } from './describe-value';

export interface DateFieldOptions extends FieldOptions<string | Date> {
  /** Set to today on every save. */
  autoNow?: boolean;
  /** Set to today when first created. */
  autoNowAdd?: boolean;
}

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** `'YYYY-MM-DD'` of a Date, in UTC (or local time). */
function formatDate(d: Date, local = false): string {
  return local
    ? `${pad(d.getFullYear(), 4)}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`
    : `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

/** Parse a date given by the user into `'YYYY-MM-DD'`, or undefined when it is not one. */
function parseDate(value: unknown): string | undefined {
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) return undefined;
    // Years 1 to 9999, as Django's date (MariaDB refuses others, SQLite's text would not sort).
    const y = value.getUTCFullYear();
    return y >= 1 && y <= 9999 ? formatDate(value) : undefined;
  }
  if (typeof value !== 'string') return undefined;
  const m = ISO_DATE.exec(value.trim().slice(0, 10));
  if (!m) return undefined;
  const year = Number(m[1]);
  if (year < 1) return undefined; // year 1 is the first (Python's date.min, Django's)
  // setUTCFullYear, not Date.UTC: Date.UTC reads the years 0-99 as 1900-1999.
  const d = new Date(0);
  d.setUTCFullYear(year, Number(m[2]) - 1, Number(m[3]));
  return formatDate(d) === m[0] ? m[0] : undefined;
}

/**
 * A date or datetime field with `autoNow`/`autoNowAdd` is set by save() (as Django): neither
 * editable nor required before it. @internal
 */
/**
 * A DATE read from the driver, as `'YYYY-MM-DD'`: a Date at midnight (local time when `local`,
 * else UTC) or text.
 */
export function dateFromDb(local: boolean): FromDb {
  return (v) => (v instanceof Date ? formatDate(v, local) : typeof v === 'string' ? v.slice(0, 10) : v);
}

export function setByAutoNow(field: { autoNow: boolean; autoNowAdd: boolean }): void {
  if (field.autoNow || field.autoNowAdd) {
    (field as unknown as { editable: boolean }).editable = false;
    (field as unknown as { blank: boolean }).blank = true;
  }
}

export class DateField<const O extends DateFieldOptions = Empty> extends Field<ScalarSpecOf<string, string | Date, 'date', O>> {
  readonly internalType: string = 'DateField';
  readonly lookupKind = 'date' as const;
  readonly autoNow: boolean;
  readonly autoNowAdd: boolean;

  constructor(options?: O & DateFieldOptions) {
    super(options ?? {}, ['autoNow', 'autoNowAdd']);
    this.autoNow = options?.autoNow ?? false;
    this.autoNowAdd = options?.autoNowAdd ?? false;
    setByAutoNow(this);
  }

  dbType(ops: BaseOperations): string | undefined {
    return ops.columnType('DateField', this);
  }

  override toJs(value: unknown): unknown {
    if (value === null || value === undefined) return value;
    const d = parseDate(value);
    return d ?? this.invalid(`${describeValue(value)} value has an invalid date format. It must be in YYYY-MM-DD format.`);
  }

  override toDb(value: unknown, _ops: BaseOperations): unknown {
    return parseDate(value) ?? value;
  }

  override fromDb(ops: BaseOperations): FromDb {
    return ops.converter('DateField', this);
  }

  override preSave(instance: Record<string, unknown>, add: boolean): unknown {
    if (this.autoNow || (this.autoNowAdd && add)) {
      const today = formatDate(new Date());
      instance[this.attname] = today;
      return today;
    }
    return instance[this.attname];
  }

  protected override checkValue(value: unknown): ValidationMessage[] {
    return parseDate(value)
      ? []
      : [{ message: `${describeValue(value)} value has an invalid date format. It must be in YYYY-MM-DD format.`, code: 'invalid' }];
  }
}
