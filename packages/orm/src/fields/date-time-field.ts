/**
 * An instant, as a JavaScript `Date`. Stored in UTC: PostgreSQL `timestamp with time zone`,
 * MariaDB `datetime(6)` (the connection writes and reads UTC), SQLite ISO-8601 text
 * (`2024-05-01T12:00:00.000Z`), so that text order is time order.
 */
import type { BaseOperations } from '../backends/base-operations';
import type { ValidationMessage } from '../errors';
import type { ScalarSpecOf, Empty } from '../types';
import { Field, type FieldOptions, type FromDb } from './field';
import { setByAutoNow } from './date-field';

export interface DateTimeFieldOptions extends FieldOptions<Date> {
  /** Set to now on every save (Django's `auto_now`). */
  autoNow?: boolean;
  /** Set to now when first created (Django's `auto_now_add`). */
  autoNowAdd?: boolean;
}

/** Parse user input into a valid Date, or undefined. */
function parseDateTime(value: unknown): Date | undefined {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value;
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/.test(value.trim())) {
    const s = value.trim();
    const d = new Date(/[T ]/.test(s) && !/(Z|[+-]\d{2}:?\d{2})$/.test(s) ? `${s.replace(' ', 'T')}Z` : s.replace(' ', 'T'));
    return Number.isNaN(d.getTime()) ? undefined : d;
  }
  return undefined;
}

/** An instant read as ISO-8601 text (or epoch milliseconds), as a Date. */
export const dateTimeFromText: FromDb = (v) =>
  typeof v === 'string' ? (parseDateTime(v) ?? new Date(v)) : typeof v === 'number' ? new Date(v) : v;

export class DateTimeField<const O extends DateTimeFieldOptions = Empty> extends Field<ScalarSpecOf<Date, Date, 'datetime', O>> {
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
    return (
      parseDateTime(value) ?? this.invalid(`${JSON.stringify(value)} value has an invalid format. It must be a Date or an ISO 8601 string.`)
    );
  }

  override toDb(value: unknown, ops: BaseOperations): unknown {
    return ops.adaptDateTimeValue(parseDateTime(value) ?? value);
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
    return parseDateTime(value)
      ? []
      : [{ message: `${JSON.stringify(value)} value has an invalid format. It must be a Date or an ISO 8601 string.`, code: 'invalid' }];
  }
}
