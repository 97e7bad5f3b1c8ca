/** A `double precision` column (SQLite `real`), JavaScript numbers. */
import type { BaseOperations } from '../backends/base-operations';
import type { ValidationMessage } from '../errors';
import type { ScalarSpecOf, Empty } from '../types';
import { Field, type FieldOptions } from './field';
import { describeValue } from './describe-value';

export type FloatFieldOptions = FieldOptions<number>;

export class FloatField<const O extends FloatFieldOptions = Empty> extends Field<ScalarSpecOf<number, number, 'float', O>> {
  readonly internalType: string = 'FloatField';
  readonly lookupKind = 'float' as const;

  constructor(options?: O & FloatFieldOptions) {
    super(options ?? {});
  }

  dbType(ops: BaseOperations): string | undefined {
    return ops.columnType('FloatField', this);
  }

  override toJs(value: unknown): unknown {
    if (value === null || value === undefined) return value;
    const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : Number.NaN;
    // NaN and ±Infinity: PostgreSQL stores them, MariaDB and SQLite cannot (NULL or an error): refused everywhere.
    if (Number.isFinite(n)) return n;
    return this.invalid(`${describeValue(value)} value must be a finite float (NaN and Infinity cannot be stored on every database).`);
  }

  protected override checkValue(value: unknown): ValidationMessage[] {
    return typeof value === 'number' && Number.isFinite(value)
      ? []
      : [{ message: `${describeValue(value)} value must be a float.`, code: 'invalid' }];
  }
}
