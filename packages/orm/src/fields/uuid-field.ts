/**
 * A UUID, as a lowercase string with dashes. PostgreSQL stores it as `uuid`; MariaDB and SQLite
 * as `char(32)` hex without dashes (as Django does).
 *
 * ### Examples
 * ```ts
 * id: new UUIDField({ primaryKey: true, default: () => randomUUID() }),
 * ```
 */
import type { BaseOperations } from '../backends/base-operations';
import type { ValidationMessage } from '../errors';
import type { ScalarSpecOf, Empty } from '../types';
import { Field, type FieldOptions, type FromDb } from './field';
import { describeValue } from './describe-value';

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

/** 32 hex digits → `8-4-4-4-12`. */
function dashed(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A UUID read as 32 hex digits, with dashes. */
export const uuidFromHex: FromDb = (v) => (typeof v === 'string' && HEX32.test(v) ? dashed(v) : v);

export class UUIDField<const O extends UUIDFieldOptions = Empty> extends Field<ScalarSpecOf<string, string, 'uuid', O>> {
  readonly internalType: string = 'UUIDField';
  readonly lookupKind = 'uuid' as const;

  constructor(options?: O & UUIDFieldOptions) {
    super(options ?? {});
  }

  dbType(ops: BaseOperations): string | undefined {
    return ops.columnType('UUIDField', this);
  }

  override toJs(value: unknown): unknown {
    if (value === null || value === undefined) return value;
    const hex = uuidHex(value);
    return hex ? dashed(hex) : this.invalid(`${describeValue(value)} is not a valid UUID.`);
  }

  override toDb(value: unknown, ops: BaseOperations): unknown {
    const hex = uuidHex(value);
    if (!hex) return value;
    return ops.features.hasNativeUuidField ? dashed(hex) : hex;
  }

  override fromDb(ops: BaseOperations): FromDb {
    return ops.converter('UUIDField', this);
  }

  protected override checkValue(value: unknown): ValidationMessage[] {
    return uuidHex(value) ? [] : [{ message: `${describeValue(value)} is not a valid UUID.`, code: 'invalid' }];
  }
}
