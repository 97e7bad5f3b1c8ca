/** A boolean column (MariaDB `bool` = tinyint(1), SQLite `bool` affinity numeric); values come back as booleans. */
import type { BaseOperations } from '../backends/base-operations';
import type { ScalarSpecOf, Empty } from '../types';
import { Field, type FieldOptions, type FromDb } from './field';
import { describeValue } from './describe-value';

export type BooleanFieldOptions = FieldOptions<boolean>;

/** A boolean read as 0/1 (or '0'/'1'), as a boolean. */
export const booleanFromDb: FromDb = (v) => (v === null || v === undefined ? v : typeof v === 'boolean' ? v : Boolean(Number(v)));

export class BooleanField<const O extends BooleanFieldOptions = Empty> extends Field<ScalarSpecOf<boolean, boolean, 'boolean', O>> {
  readonly internalType: string = 'BooleanField';
  readonly lookupKind = 'boolean' as const;

  constructor(options?: O & BooleanFieldOptions) {
    super(options ?? {});
  }

  dbType(ops: BaseOperations): string | undefined {
    return ops.columnType('BooleanField', this);
  }

  protected override isEmpty(value: unknown): boolean {
    return value === null || value === undefined;
  }

  override toJs(value: unknown): unknown {
    if (value === null || value === undefined || typeof value === 'boolean') return value;
    if (value === 1 || value === '1' || value === 'true' || value === 't') return true;
    if (value === 0 || value === '0' || value === 'false' || value === 'f') return false;
    return this.invalid(`${describeValue(value)} value must be either true or false.`);
  }

  override toDb(value: unknown, ops: BaseOperations): unknown {
    return ops.adaptBooleanValue(value);
  }

  override fromDb(ops: BaseOperations): FromDb {
    return ops.converter('BooleanField', this);
  }
}
