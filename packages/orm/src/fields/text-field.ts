/** An unbounded text column (`text`, MariaDB `longtext`). */
import type { Vendor } from '@spool/connections';
import type { BaseOperations } from '../backends/base-operations';
import type { ValidationMessage } from '../errors';
import type { ScalarSpecOf, Empty } from '../types';
import { Field, type FieldOptions } from './field';
import { describeValue } from './describe-value';
import { textProblem } from './well-formed';

export interface TextFieldOptions extends FieldOptions<string> {
  /** The column's collation, per vendor or for all. */
  dbCollation?: string | Partial<Record<Vendor, string>>;
}

export class TextField<const O extends TextFieldOptions = Empty> extends Field<ScalarSpecOf<string, string, 'text', O>> {
  readonly internalType: string = 'TextField';
  readonly lookupKind = 'text' as const;
  readonly dbCollation: string | Partial<Record<Vendor, string>> | undefined;

  constructor(options?: O & TextFieldOptions) {
    super(options ?? {}, ['dbCollation']);
    this.dbCollation = options?.dbCollation;
  }

  dbType(ops: BaseOperations): string | undefined {
    return ops.columnType('TextField', this);
  }

  override toJs(value: unknown): unknown {
    if (value === null || value === undefined) return value;
    if (typeof value === 'string') {
      const problem = textProblem(value);
      return problem === undefined ? value : this.invalid(problem);
    }
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    return this.invalid(`${describeValue(value)} value must be a string.`);
  }

  protected override checkValue(value: unknown): ValidationMessage[] {
    return typeof value === 'string' ? [] : [{ message: `${describeValue(value)} value must be a string.`, code: 'invalid' }];
  }
}
