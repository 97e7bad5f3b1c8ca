/**
 * An instant, as a JavaScript `Date`; values read back are `PreciseDate`s (a `Date` subclass that
 * also carries microseconds), so that microseconds written are microseconds read, on every
 * database. Stored in UTC with microseconds: PostgreSQL `timestamp with time zone`, MariaDB
 * `datetime(6)` (written and read as UTC text), SQLite ISO-8601 text with six fractional digits
 * (`2024-05-01T12:00:00.000000Z`, so that text order is time order). Values are bound as text and
 * read as the server's text (the `temporalAsText` statement option): a driver's `Date` would keep
 * milliseconds only.
 */
import { DataError } from '@spool/connections';
import type { BaseOperations } from '../backends/base-operations';
import type { ValidationMessage } from '../errors';
import type { ScalarSpecOf, Empty } from '../types';
import { Field, type FieldOptions, type FromDb } from './field';
import { setByAutoNow } from './date-field';
import { describeValue } from './describe-value';
import { PreciseDate, parseInstant } from './precise-date';

export interface DateTimeFieldOptions extends FieldOptions<Date | string> {
  /** Set to now on every save (Django's `auto_now`). */
  autoNow?: boolean;
  /** Set to now when first created (Django's `auto_now_add`). */
  autoNowAdd?: boolean;
}

/** User input as a valid Date (a string as a PreciseDate, keeping its microseconds), or undefined. */
function parseDateTime(value: unknown): Date | undefined {
  let d: Date | undefined;
  if (value instanceof Date) d = Number.isNaN(value.getTime()) ? undefined : value;
  else if (typeof value === 'string') {
    const p = parseInstant(value);
    d = p === undefined ? undefined : new PreciseDate(p.ms, p.micros);
  }
  return d !== undefined && inYearRange(d) ? d : undefined;
}

/**
 * Years 1 to 9999 (UTC), Django's `datetime` range: beyond it MariaDB refuses the value,
 * PostgreSQL refuses some (year 10000, BC years) and SQLite stores text that no longer sorts as
 * time. @internal
 */
export function inYearRange(d: Date): boolean {
  const y = d.getUTCFullYear();
  return y >= 1 && y <= 9999;
}

/** An instant read from the driver (the server's text, a Date or epoch milliseconds), as a PreciseDate. */
export const dateTimeFromDb: FromDb = (v) => {
  if (typeof v === 'string') {
    const p = parseInstant(v);
    if (p === undefined) throw new DataError(`A datetime value read from the database is not an ISO-8601 instant: ${JSON.stringify(v)}.`);
    return new PreciseDate(p.ms, p.micros);
  }
  if (v instanceof Date || typeof v === 'number') return new PreciseDate(v);
  return v;
};

const INVALID = (value: unknown): string =>
  `${describeValue(value)} value has an invalid format. It must be a valid Date or an ISO 8601 string (at most 6 fractional digits), in the years 1 to 9999.`;

export class DateTimeField<const O extends DateTimeFieldOptions = Empty> extends Field<ScalarSpecOf<Date, Date | string, 'datetime', O>> {
  readonly internalType: string = 'DateTimeField';
  readonly lookupKind = 'datetime' as const;
  readonly autoNow: boolean;
  readonly autoNowAdd: boolean;

  constructor(options?: O & DateTimeFieldOptions) {
    super(options ?? {}, ['autoNow', 'autoNowAdd']);
    this.autoNow = options?.autoNow ?? false;
    this.autoNowAdd = options?.autoNowAdd ?? false;
    setByAutoNow(this);
  }

  dbType(ops: BaseOperations): string | undefined {
    return ops.columnType('DateTimeField', this);
  }

  override toJs(value: unknown): unknown {
    if (value === null || value === undefined) return value;
    return parseDateTime(value) ?? this.invalid(INVALID(value));
  }

  override toDb(value: unknown, ops: BaseOperations): unknown {
    const d = parseDateTime(value);
    return d === undefined ? value : ops.adaptDateTimeValue(d);
  }

  override fromDb(ops: BaseOperations): FromDb {
    return ops.converter('DateTimeField', this);
  }

  override preSave(instance: Record<string, unknown>, add: boolean): unknown {
    if (this.autoNow || (this.autoNowAdd && add)) {
      const now = new Date();
      instance[this.attname] = now;
      return now;
    }
    return instance[this.attname];
  }

  protected override checkValue(value: unknown): ValidationMessage[] {
    return parseDateTime(value) ? [] : [{ message: INVALID(value), code: 'invalid' }];
  }
}
