/**
 * Integer fields: `integer` and `bigint` columns, JavaScript numbers.
 *
 * `BigIntegerField` values are JavaScript numbers, exact up to 2^53; PostgreSQL returns `int8` as
 * text, which the field converts.
 */
import type { BaseOperations } from '../backends/base-operations';
import type { ValidationMessage } from '../errors';
import type { ScalarSpecOf, Empty } from '../types';
import { Field, type FieldOptions, type FromDb } from './field';

export type IntegerFieldOptions = FieldOptions<number>;

/** Convert user input to an integer or throw a ValidationError naming the field. @internal */
export function toInteger(field: Field, value: unknown): unknown {
  if (value === null || value === undefined) return value;
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string' && /^\s*[-+]?\d+\s*$/.test(value)) return Number(value);
  return field.invalid(`${JSON.stringify(value)} value must be an integer.`, 'invalid');
}

/** An int8 read as text (pg) or as a bigint, as a number. */
export const bigintFromDb: FromDb = (v) => (typeof v === 'string' ? Number(v) : typeof v === 'bigint' ? Number(v) : v);

const RANGES: Record<string, [number, number]> = {
  IntegerField: [-2147483648, 2147483647],
  SmallIntegerField: [-32768, 32767],
  BigIntegerField: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

/** An `integer` column. */
export class IntegerField<const O extends IntegerFieldOptions = Empty> extends Field<ScalarSpecOf<number, number, 'integer', O>> {
  readonly internalType: string = 'IntegerField';
  readonly lookupKind = 'integer' as const;

  constructor(options?: O & IntegerFieldOptions) {
    super(options ?? {});
  }

  dbType(ops: BaseOperations): string | undefined {
    return ops.columnType('IntegerField', this);
  }

  override toJs(value: unknown): unknown {
    return toInteger(this, value);
  }

  protected override checkValue(value: unknown): ValidationMessage[] {
    if (typeof value !== 'number' || !Number.isInteger(value))
      return [{ message: `${JSON.stringify(value)} value must be an integer.`, code: 'invalid' }];
    const range = RANGES[this.internalType];
    if (range && (value < range[0] || value > range[1])) {
      return [{ message: `Ensure this value is between ${range[0]} and ${range[1]}.`, code: 'out_of_range' }];
    }
    return [];
  }
}

/** A `bigint` column (numbers exact up to 2^53). */
export class BigIntegerField<const O extends IntegerFieldOptions = Empty> extends IntegerField<O> {
  override readonly internalType: string = 'BigIntegerField';

  override dbType(ops: BaseOperations): string | undefined {
    return ops.columnType('BigIntegerField', this);
  }

  override fromDb(ops: BaseOperations): FromDb {
    return ops.converter('BigIntegerField', this);
  }
}
