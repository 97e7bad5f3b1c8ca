/**
 * Integer fields: `integer` columns as JavaScript numbers, `bigint` columns as JavaScript
 * `bigint`s.
 *
 * `IntegerField` takes safe integers only (a number beyond 2^53 has already lost digits) within
 * the column's 32-bit range. `BigIntegerField` values are `bigint`s, exact over the column's whole
 * 64-bit range, written and read without passing through a JavaScript number: PostgreSQL returns
 * `int8` as text, MariaDB as a number or (beyond 2^53) text, SQLite statements that read one are
 * run with the driver's `safeIntegers`. A safe integer `number` is accepted on input.
 */
import type { BaseOperations } from '../backends/base-operations';
import type { ValidationMessage } from '../errors';
import type { ScalarSpecOf, Empty } from '../types';
import { describeValue } from './describe-value';
import { Field, type FieldOptions, type FromDb } from './field';

export type IntegerFieldOptions = FieldOptions<number>;

/** Convert user input to an integer or throw a ValidationError naming the field. @internal */
export function toInteger(field: Field, value: unknown): unknown {
  if (value === null || value === undefined) return value;
  let n: number | undefined;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'bigint') n = Number(value);
  else if (typeof value === 'string' && /^\s*[-+]?\d+\s*$/.test(value)) n = Number(value);
  if (n === undefined || !Number.isInteger(n)) return field.invalid(`${describeValue(value)} value must be an integer.`, 'invalid');
  // Beyond 2^53 a number is rounded: refuse rather than store a different value.
  if (!Number.isSafeInteger(n))
    return field.invalid(
      `${describeValue(value)} is beyond the safe integer range of a JavaScript number (±${Number.MAX_SAFE_INTEGER}); use a BigIntegerField for larger values.`,
      'out_of_range',
    );
  return n;
}

/** A 64-bit integer read as text, a number or a bigint, as a bigint (BigIntegerField, BigAutoField). */
export const bigintExactFromDb: FromDb = (v) =>
  typeof v === 'bigint' ? v : typeof v === 'string' || typeof v === 'number' ? BigInt(v) : v;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Convert user input to a 64-bit bigint or throw a ValidationError naming the field (BigIntegerField, BigAutoField). @internal */
export function toBigInt(field: Field, value: unknown): unknown {
  if (value === null || value === undefined) return value;
  let b: bigint | undefined;
  if (typeof value === 'bigint') b = value;
  else if (typeof value === 'number') {
    if (!Number.isInteger(value)) return field.invalid(`${describeValue(value)} value must be an integer.`);
    if (!Number.isSafeInteger(value))
      return field.invalid(
        `${describeValue(value)} is beyond 2^53: as a number it may already have lost digits. Pass a bigint (${BigInt(value)}n is what the number holds).`,
        'out_of_range',
      );
    b = BigInt(value);
  } else if (typeof value === 'string' && /^\s*[-+]?\d+\s*$/.test(value)) b = BigInt(value.trim());
  if (b === undefined) return field.invalid(`${describeValue(value)} value must be an integer.`);
  if (b < INT64_MIN || b > INT64_MAX) return field.invalid(`Ensure this value is between ${INT64_MIN} and ${INT64_MAX}.`, 'out_of_range');
  return b;
}

const RANGES: Record<string, [number, number]> = {
  IntegerField: [-2147483648, 2147483647],
  SmallIntegerField: [-32768, 32767],
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

  /** Beyond the column's range: an error on PostgreSQL and MariaDB, stored by SQLite. */
  protected override storageProblem(value: unknown): ValidationMessage | undefined {
    const range = RANGES[this.internalType];
    return range && typeof value === 'number' && (value < range[0] || value > range[1])
      ? { message: `Ensure this value is between ${range[0]} and ${range[1]} (the column's range).`, code: 'out_of_range' }
      : undefined;
  }

  protected override checkValue(value: unknown): ValidationMessage[] {
    if (typeof value !== 'number' || !Number.isInteger(value))
      return [{ message: `${describeValue(value)} value must be an integer.`, code: 'invalid' }];
    const range = RANGES[this.internalType];
    if (range && (value < range[0] || value > range[1])) {
      return [{ message: `Ensure this value is between ${range[0]} and ${range[1]}.`, code: 'out_of_range' }];
    }
    return [];
  }
}

export type BigIntegerFieldOptions = FieldOptions<bigint | number>;

/**
 * A `bigint` column, as JavaScript `bigint`s: exact over the whole 64-bit range, on every
 * database, in writes, reads and filters. Safe integer numbers (and digit strings) are accepted
 * on input and become bigints.
 *
 * ### Examples
 * ```ts
 * views: new BigIntegerField({ default: 0n }),
 * ```
 */
export class BigIntegerField<const O extends BigIntegerFieldOptions = Empty> extends Field<
  ScalarSpecOf<bigint, bigint | number, 'integer', O>
> {
  readonly internalType: string = 'BigIntegerField';
  readonly lookupKind = 'integer' as const;
  override get bigint(): boolean {
    return true;
  }

  constructor(options?: O & BigIntegerFieldOptions) {
    super(options ?? {});
  }

  dbType(ops: BaseOperations): string | undefined {
    return ops.columnType('BigIntegerField', this);
  }

  override toJs(value: unknown): unknown {
    return toBigInt(this, value);
  }

  /** Bound as a bigint: every driver writes it as an exact integer literal or value. */
  override toDb(value: unknown, _ops: BaseOperations): unknown {
    return typeof value === 'number' && Number.isSafeInteger(value) ? BigInt(value) : value;
  }

  override fromDb(ops: BaseOperations): FromDb {
    return ops.converter('BigIntegerField', this);
  }

  protected override checkValue(value: unknown): ValidationMessage[] {
    if (typeof value !== 'bigint') return [{ message: `${describeValue(value)} value must be a bigint.`, code: 'invalid' }];
    if (value < INT64_MIN || value > INT64_MAX)
      return [{ message: `Ensure this value is between ${INT64_MIN} and ${INT64_MAX}.`, code: 'out_of_range' }];
    return [];
  }
}
