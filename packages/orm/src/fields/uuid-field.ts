/**
 * A UUID, as a lowercase string with dashes. PostgreSQL stores it as `uuid`; MariaDB and SQLite
 * as `char(32)` hex without dashes (as Django does).
 *
 * ### Examples
 * ```ts
 * id: new UUIDField({ primaryKey: true, default: () => randomUUID() }),
 * ```
 */
import type { Vendor } from '@spool/connections';
import type { ValidationMessage } from '../errors';
import type { ScalarSpecOf } from '../types';
import { Field, type FieldOptions, type FromDb } from './field';

export type UUIDFieldOptions = FieldOptions<string>;

const HEX32 = /^[0-9a-f]{32}$/;

/** Normalise a UUID to 32 lowercase hex digits, or undefined when it is not one. @internal */
export function uuidHex(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const hex = value
    .trim()
    .toLowerCase()
    .replace(/^urn:uuid:/, '')
    .replace(/[{}-]/g, '');
  return HEX32.test(hex) ? hex : undefined;
}

/** 32 hex digits → `8-4-4-4-12`. @internal */
export function dashed(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const fromHex: FromDb = (v) => (typeof v === 'string' && HEX32.test(v) ? dashed(v) : v);

export class UUIDField<const O extends UUIDFieldOptions = {}> extends Field<ScalarSpecOf<string, string, 'uuid', O>> {
  readonly internalType: string = 'UUIDField';
  readonly lookupKind = 'uuid' as const;

  constructor(options?: O & UUIDFieldOptions) {
    super(options ?? {});
  }

  dbType(vendor: Vendor): string {
    return vendor === 'postgresql' ? 'uuid' : 'char(32)';
  }

  override toJs(value: unknown): unknown {
    if (value === null || value === undefined) return value;
    const hex = uuidHex(value);
    return hex ? dashed(hex) : this.invalid(`${JSON.stringify(value)} is not a valid UUID.`);
  }

  override toDb(value: unknown, vendor: Vendor): unknown {
    const hex = uuidHex(value);
    if (!hex) return value;
    return vendor === 'postgresql' ? dashed(hex) : hex;
  }

  override fromDb(vendor: Vendor): FromDb {
    return vendor === 'postgresql' ? undefined : fromHex;
  }

  protected override checkValue(value: unknown): ValidationMessage[] {
    return uuidHex(value) ? [] : [{ message: `${JSON.stringify(value)} is not a valid UUID.`, code: 'invalid' }];
  }
}
