/**
 * A JSON document: PostgreSQL `jsonb`, MariaDB `json` (checked with `JSON_VALID`), SQLite `text`
 * checked with `json_valid`. The type parameter gives the document's TypeScript type.
 *
 * ### Examples
 * ```ts
 * tags: new JSONField<string[]>({ default: () => [] }),
 * ```
 */
import type { BaseOperations } from '../backends/base-operations';
import type { ValidationMessage } from '../errors';
import type { ScalarSpecOf, Empty } from '../types';
import { Field, type FieldOptions, type FromDb } from './field';

export type JSONValue = string | number | boolean | null | JSONValue[] | { [key: string]: JSONValue };
export type JSONFieldOptions<T> = FieldOptions<T>;

/** A JSON document read as text, parsed (left as it is when it does not parse). */
export const jsonFromText: FromDb = (v) => {
  if (typeof v !== 'string') return v;
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
};

/** The spec of a JSON field: nullable when `T` includes null or `null: true` is given. */
type JSONSpec<T, O> = ScalarSpecOf<Exclude<T, null>, Exclude<T, null>, 'json', null extends T ? O & { null: true } : O>;

/**
 * Give the document type as the type argument; include `null` in it for a nullable column
 * (and pass `null: true`): `new JSONField<Settings | null>({ null: true })`.
 */
export class JSONField<T = JSONValue, const O extends JSONFieldOptions<T> = Empty> extends Field<JSONSpec<T, O>> {
  readonly internalType: string = 'JSONField';
  readonly lookupKind = 'json' as const;

  constructor(options?: O & JSONFieldOptions<T>) {
    super((options ?? {}) as FieldOptions<unknown>);
  }

  dbType(ops: BaseOperations): string | undefined {
    return ops.columnType('JSONField', this);
  }

  override dbCheck(ops: BaseOperations): string | undefined {
    return ops.checkConstraint('JSONField');
  }

  protected override isEmpty(value: unknown): boolean {
    return (
      value === undefined ||
      value === '' ||
      (Array.isArray(value) && value.length === 0) ||
      (typeof value === 'object' && value !== null && Object.keys(value).length === 0)
    );
  }

  override toDb(value: unknown, _ops: BaseOperations): unknown {
    return JSON.stringify(value);
  }

  override fromDb(ops: BaseOperations): FromDb {
    return ops.converter('JSONField', this);
  }

  protected override checkValue(value: unknown): ValidationMessage[] {
    try {
      JSON.stringify(value);
      return [];
    } catch (err) {
      return [{ message: `Value must be valid JSON: ${(err as Error).message}`, code: 'invalid' }];
    }
  }
}
