/** A boolean column (MariaDB `bool` = tinyint(1), SQLite `bool` affinity numeric); values come back as booleans. */
import type { Vendor } from '@spool/connections';
import type { ScalarSpecOf } from '../types';
import { Field, type FieldOptions, type FromDb } from './field';

export type BooleanFieldOptions = FieldOptions<boolean>;

const toBool: FromDb = (v) => (v === null || v === undefined ? v : typeof v === 'boolean' ? v : Boolean(Number(v)));

export class BooleanField<const O extends BooleanFieldOptions = {}> extends Field<ScalarSpecOf<boolean, boolean, 'boolean', O>> {
  readonly internalType: string = 'BooleanField';
  readonly lookupKind = 'boolean' as const;

  constructor(options?: O & BooleanFieldOptions) {
    super(options ?? {});
  }

  dbType(vendor: Vendor): string {
    return vendor === 'postgresql' ? 'boolean' : 'bool';
  }

  protected override isEmpty(value: unknown): boolean {
    return value === null || value === undefined;
  }

  override toJs(value: unknown): unknown {
    if (value === null || value === undefined || typeof value === 'boolean') return value;
    if (value === 1 || value === '1' || value === 'true' || value === 't') return true;
    if (value === 0 || value === '0' || value === 'false' || value === 'f') return false;
    return this.invalid(`${JSON.stringify(value)} value must be either true or false.`);
  }

  override toDb(value: unknown, vendor: Vendor): unknown {
    if (vendor === 'sqlite') return value ? 1 : 0;
    return Boolean(value);
  }

  override fromDb(vendor: Vendor): FromDb {
    return vendor === 'postgresql' ? undefined : toBool;
  }
}
