/** A `double precision` column (SQLite `real`), JavaScript numbers. */
import type { BaseOperations } from '../backends/base-operations';
import type { ValidationMessage } from '../errors';
import type { ScalarSpecOf, Empty } from '../types';
import { Field, type FieldOptions } from './field';

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
    if (value === null || value === undefined || typeof value === 'number') return value;
    if (typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value))) return Number(value);
    return this.invalid(`${JSON.stringify(value)} value must be a float.`);
  }

  protected override checkValue(value: unknown): ValidationMessage[] {
    return typeof value === 'number' && Number.isFinite(value)
      ? []
      : [{ message: `${JSON.stringify(value)} value must be a float.`, code: 'invalid' }];
  }
}
