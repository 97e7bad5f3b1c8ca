/**
 * A fixed-point `numeric(maxDigits, decimalPlaces)` column. Values are strings (`'12.50'`) so that
 * no digit is lost; numbers are accepted on input. SQLite stores the value with NUMERIC affinity
 * (as Django does) and the field formats it back to `decimalPlaces` digits.
 */
import type { BaseOperations } from '../backends/base-operations';
import { ValidationError, type ValidationMessage } from '../errors';
import type { ScalarSpecOf } from '../types';
import { Field, type FieldOptions, type FromDb } from './field';
import { describeValue } from './describe-value';

export interface DecimalFieldOptions extends FieldOptions<string | number> {
  /** Total number of digits. */
  maxDigits: number;
  /** Digits after the decimal point. */
  decimalPlaces: number;
}

const DECIMAL = /^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$/;

/** `[-]digits[.digits]` of decimal text, exponent notation (`1.5e-7`, `1e+21`) written out exactly. */
function plainDecimal(text: string): string {
  const m = /^([-+]?)(\d*)(?:\.(\d*))?[eE]([-+]?\d+)$/.exec(text.trim());
  if (m === null) return text;
  const [, sign = '', int = '', frac = '', exp = '0'] = m;
  const digits = `${int}${frac}`;
  const point = int.length + Number(exp); // where the decimal point falls in `digits`
  const whole = point <= 0 ? '0' : digits.slice(0, point).padEnd(point, '0');
  const fraction = point <= 0 ? `${'0'.repeat(-point)}${digits}` : digits.slice(point);
  return `${sign === '-' ? '-' : ''}${whole.replace(/^0+(?=\d)/, '')}${fraction.length > 0 ? `.${fraction}` : ''}`;
}

export class DecimalField<const O extends DecimalFieldOptions = DecimalFieldOptions> extends Field<
  ScalarSpecOf<string, string | number, 'decimal', O>
> {
  readonly internalType: string = 'DecimalField';
  readonly lookupKind = 'decimal' as const;
  readonly maxDigits: number;
  readonly decimalPlaces: number;

  constructor(options: O & DecimalFieldOptions) {
    super(options, ['maxDigits', 'decimalPlaces']);
    if (!Number.isInteger(options.maxDigits) || options.maxDigits < 1)
      throw new TypeError(`DecimalField: maxDigits must be a positive integer, got ${String(options.maxDigits)}.`);
    if (!Number.isInteger(options.decimalPlaces) || options.decimalPlaces < 0 || options.decimalPlaces > options.maxDigits) {
      throw new TypeError(
        `DecimalField: decimalPlaces must be an integer between 0 and maxDigits (${options.maxDigits}), got ${String(options.decimalPlaces)}.`,
      );
    }
    this.maxDigits = options.maxDigits;
    this.decimalPlaces = options.decimalPlaces;
  }

  dbType(ops: BaseOperations): string | undefined {
    return ops.columnType('DecimalField', this);
  }

  /** Format a number or numeric string with `decimalPlaces` digits. */
  format(value: unknown): string {
    if (typeof value === 'number') return this.format(plainDecimal(String(value)));
    let s = String(value).trim();
    if (!DECIMAL.test(s)) return this.invalid(`${describeValue(value)} value must be a decimal number.`);
    // Exponent notation written out digit for digit ('1e-7' is 0.0000001, '1e21' has 22 digits):
    // through a float, toFixed() would round the first to 0 and leave the second as '1e+21'.
    if (/[eE]/.test(s)) s = plainDecimal(s);
    const neg = s.startsWith('-');
    const body = s.replace(/^[-+]/, '');
    const [int = '0', frac = ''] = body.split('.');
    // Pad to decimalPlaces; never round away digits (validation reports too many decimals).
    const f = frac.padEnd(this.decimalPlaces, '0');
    return `${neg ? '-' : ''}${(int || '0').replace(/^0+(?=\d)/, '')}${f.length > 0 ? `.${f}` : ''}`;
  }

  override toJs(value: unknown): unknown {
    if (value === null || value === undefined) return value;
    if (typeof value === 'number' && !Number.isFinite(value)) return this.invalid(`${String(value)} value must be a decimal number.`);
    // A number as its shortest exact text (12.345 → '12.345', 1e-7 → '0.0000001'), never rounded to the places here.
    return this.format(typeof value === 'number' ? plainDecimal(String(value)) : value);
  }

  /**
   * More digits or places than the column has: PostgreSQL and MariaDB round the places (or fail on
   * the digits), SQLite stores the value whole: refused instead.
   */
  protected override storageProblem(value: unknown): ValidationMessage | undefined {
    const problems = this.checkValue(value);
    // Too many places says more than "too many digits" when both hold (0.1 + 0.2).
    return problems.find((m) => m.code === 'max_decimal_places') ?? problems[0];
  }

  override toDb(value: unknown, ops: BaseOperations): unknown {
    return ops.adaptDecimalValue(value);
  }

  override toDbForWrite(value: unknown, ops: BaseOperations): unknown {
    const problem = ops.decimalWriteProblem(this.format(value));
    if (problem !== undefined)
      throw new ValidationError({ [this.name || '?']: [{ message: problem, code: 'max_digits' }] }, { model: this.model?.name });
    return this.toDb(value, ops);
  }

  override fromDb(ops: BaseOperations): FromDb {
    return ops.converter('DecimalField', this);
  }

  protected override checkValue(value: unknown): ValidationMessage[] {
    const s = typeof value === 'number' ? value.toFixed(this.decimalPlaces) : String(value);
    if (!DECIMAL.test(s)) return [{ message: `${describeValue(value)} value must be a decimal number.`, code: 'invalid' }];
    const body = s.replace(/^[-+]/, '').replace(/^0+(?=\d)/, '');
    const [int = '', frac = ''] = body.split('.');
    const intDigits = int === '0' ? 0 : int.length;
    const fracDigits = frac.replace(/0+$/, '').length;
    const out: ValidationMessage[] = [];
    if (intDigits + Math.max(fracDigits, 0) > this.maxDigits || intDigits > this.maxDigits - this.decimalPlaces) {
      out.push({
        message: `Ensure that there are no more than ${this.maxDigits - this.decimalPlaces} digits before the decimal point and ${this.maxDigits} in total.`,
        code: 'max_digits',
      });
    }
    if (fracDigits > this.decimalPlaces)
      out.push({ message: `Ensure that there are no more than ${this.decimalPlaces} decimal places.`, code: 'max_decimal_places' });
    return out;
  }
}
