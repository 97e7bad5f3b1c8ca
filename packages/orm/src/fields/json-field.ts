/**
 * A JSON document: PostgreSQL `jsonb`, MariaDB `json` (checked with `JSON_VALID`), SQLite `text`
 * checked with `json_valid`. The type parameter gives the document's TypeScript type.
 *
 * ### Examples
 * ```ts
 * tags: new JSONField<string[]>({ default: () => [] }),
 * ```
 */
import { parseJsonExactly } from '@spool/connections/internal';
import type { BaseOperations } from '../backends/base-operations';
import type { ValidationMessage } from '../errors';
import type { ScalarSpecOf, Empty } from '../types';
import { Field, type FieldOptions, type FromDb } from './field';
import { textProblem } from './well-formed';

/**
 * Why `value` cannot be stored as JSON unchanged, with the path of the offending part (`$.a[2]`),
 * or undefined when it can: JSON.stringify would throw (bigint, a cycle) or silently change it
 * (NaN and Infinity become null, a Date becomes text, a Map or Set becomes {}, an undefined item
 * of an array becomes null, a function or symbol disappears).
 */
export function jsonProblem(value: unknown, path = '$', parents: object[] = []): string | undefined {
  switch (typeof value) {
    case 'string': {
      const problem = textProblem(value);
      return problem === undefined ? undefined : `${path} is a string that cannot be stored: ${problem}`;
    }
    case 'boolean':
      return undefined;
    case 'number':
      return Number.isFinite(value) ? undefined : `${path} is ${String(value)}, which JSON cannot represent`;
    case 'bigint':
      return `${path} is a bigint (${value}n), which JSON cannot represent: store it as a string or a number`;
    case 'undefined':
      return `${path} is undefined, which JSON cannot represent`;
    case 'function':
    case 'symbol':
      return `${path} is a ${typeof value}, which JSON cannot represent`;
    default:
      break;
  }
  if (value === null) return undefined;
  const obj = value as object;
  if (parents.includes(obj)) return `${path} is a circular reference`;
  if (Array.isArray(obj)) {
    parents.push(obj);
    for (let i = 0; i < obj.length; i++) {
      const p = jsonProblem(obj[i], `${path}[${i}]`, parents);
      if (p !== undefined) return p;
    }
    parents.pop();
    return undefined;
  }
  const proto = Object.getPrototypeOf(obj) as unknown;
  if (proto !== Object.prototype && proto !== null) {
    const name = (obj.constructor as { name?: string } | undefined)?.name ?? 'object';
    return `${path} is a ${name}, not a plain object: convert it first (JSON would store ${safeStringify(obj)})`;
  }
  parents.push(obj);
  for (const [k, v] of Object.entries(obj)) {
    if (v === undefined) continue; // an absent key, as JSON.stringify leaves it
    const keyProblem = textProblem(k);
    if (keyProblem !== undefined) return `${path} has a key that cannot be stored (${JSON.stringify(k)}): ${keyProblem}`;
    const p = jsonProblem(v, /^[A-Za-z_$][\w$]*$/.test(k) ? `${path}.${k}` : `${path}[${JSON.stringify(k)}]`, parents);
    if (p !== undefined) return p;
  }
  parents.pop();
  return undefined;
}

function safeStringify(obj: object): string {
  try {
    return String(JSON.stringify(obj));
  } catch {
    return '?';
  }
}

export type JSONValue = string | number | boolean | null | JSONValue[] | { [key: string]: JSONValue };
export type JSONFieldOptions<T> = FieldOptions<T>;

/**
 * A JSON document read as text, parsed (left as it is when it does not parse). An integer beyond
 * 2^53 in it (written by another program: Spool refuses to write one) would be rounded by
 * JSON.parse: a DataError naming where it is, rather than a different number.
 */
export const jsonFromText: FromDb = (v) => {
  if (typeof v !== 'string') return v;
  let parsed: unknown;
  try {
    parsed = JSON.parse(v);
  } catch {
    return v;
  }
  return LONG_DIGITS.test(v) ? parseJsonExactly(v) : parsed;
};

/** 16 digits in a row: the text may hold an integer beyond 2^53. */
const LONG_DIGITS = /\d{16}/;

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

  /** Refuses what JSON cannot store unchanged (see `jsonProblem`), the same on every database. */
  override toJs(value: unknown): unknown {
    if (value === null || value === undefined) return value;
    const problem = jsonProblem(value);
    return problem === undefined ? value : this.invalid(`Value must be valid JSON: ${problem}.`);
  }

  override toDb(value: unknown, _ops: BaseOperations): unknown {
    return JSON.stringify(value);
  }

  override fromDb(ops: BaseOperations): FromDb {
    return ops.converter('JSONField', this);
  }

  protected override checkValue(value: unknown): ValidationMessage[] {
    const problem = jsonProblem(value);
    return problem === undefined ? [] : [{ message: `Value must be valid JSON: ${problem}.`, code: 'invalid' }];
  }
}
