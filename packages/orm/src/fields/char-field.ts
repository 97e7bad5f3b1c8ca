/** A `varchar(maxLength)` column. */
import type { Vendor } from '@spool/connections';
import type { BaseOperations } from '../backends/base-operations';
import type { ValidationMessage } from '../errors';
import type { ScalarSpecOf } from '../types';
import { Field, type FieldOptions } from './field';
import { describeValue } from './describe-value';
import { textProblem } from './well-formed';

export interface CharFieldOptions extends FieldOptions<string> {
  /** The maximum length in characters (required, as in Django). */
  maxLength: number;
  /** The column's collation, per vendor or for all: `{ mysql: 'utf8mb4_bin', postgresql: 'C' }`. */
  dbCollation?: string | Partial<Record<Vendor, string>>;
}

/**
 * ### Examples
 * ```ts
 * name: new CharField({ maxLength: 100 }),
 * status: new CharField({ maxLength: 10, choices: ['draft', 'published'], default: 'draft' }),
 * ```
 * `status` is typed `'draft' | 'published'`.
 */
export class CharField<const O extends CharFieldOptions = CharFieldOptions> extends Field<ScalarSpecOf<string, string, 'text', O>> {
  readonly internalType: string = 'CharField';
  readonly lookupKind = 'text' as const;
  readonly maxLength: number;
  readonly dbCollation: string | Partial<Record<Vendor, string>> | undefined;

  constructor(options: O & CharFieldOptions) {
    super(options, ['maxLength', 'dbCollation']);
    this.dbCollation = options.dbCollation;
    if (!Number.isInteger(options?.maxLength) || options.maxLength < 1) {
      throw new TypeError(`CharField: maxLength must be a positive integer, got ${String(options?.maxLength)}.`);
    }
    this.maxLength = options.maxLength;
  }

  dbType(ops: BaseOperations): string | undefined {
    return ops.columnType('CharField', this);
  }

  override toJs(value: unknown): unknown {
    if (value === null || value === undefined) return value;
    if (typeof value === 'string') {
      const problem = textProblem(value);
      return problem === undefined ? value : this.invalid(problem);
    }
    if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
    return this.invalid(`${describeValue(value)} value must be a string.`);
  }

  /** Longer than `maxLength` characters: an error on PostgreSQL and MariaDB, stored whole by SQLite. */
  protected override storageProblem(value: unknown): ValidationMessage | undefined {
    return typeof value === 'string' ? this.checkValue(value)[0] : undefined;
  }

  protected override checkValue(value: unknown): ValidationMessage[] {
    if (typeof value !== 'string') return [{ message: `${describeValue(value)} value must be a string.`, code: 'invalid' }];
    // Characters are code points: never more than UTF-16 units, so only a long text is counted.
    if (value.length <= this.maxLength) return [];
    const n = [...value].length;
    if (n > this.maxLength) {
      return [
        {
          message: `Ensure this value has at most ${this.maxLength} characters (it has ${n}).`,
          code: 'max_length',
          params: { limitValue: this.maxLength, showValue: n },
        },
      ];
    }
    return [];
  }
}
