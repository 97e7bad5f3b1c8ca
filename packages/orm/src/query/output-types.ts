/**
 * The output type of expressions (Django's `output_field` and `_resolve_output_field`): what an
 * arithmetic expression, a literal or an aggregate evaluates to, so that the SQL computes it the
 * same way on every database (integer ÷ integer is integer division) and its value comes back as
 * that type (a number, a decimal string, ...).
 *
 * The rules are Django 3.2's:
 * - `integer op integer` is an integer; `integer op float` (either side) a float; `integer op
 *   decimal` (either side) a decimal; two operands of one type keep it; any other mix (decimal
 *   with float, text with a number, ...) is a `FieldError` asking for an explicit output type.
 * - A literal number is an integer when it has no fraction, else a float (JavaScript has one
 *   number type: give `new Value(3, { outputField: new FloatField() })` for a float 3).
 * - `Count` is an integer; `Avg` of integers or floats a float and of decimals a decimal at the
 *   database's precision; `Sum`, `Min` and `Max` have the type of what they aggregate.
 *
 * A computed decimal (an operation on decimals, `Avg` of decimals) comes back as the database
 * computes it (PostgreSQL's numeric scale, MariaDB's `div_precision_increment`, SQLite's double
 * to 15 significant digits, as Django reads it); a decimal whose places are known (a column, `Sum`,
 * `Min` and `Max` of a column, a declared `DecimalField`) comes back at those places.
 *
 * Internal to the package (not exported from its index).
 */
import type { BaseOperations } from '../backends/base-operations';
import { FieldError } from '../errors';
import { DecimalField } from '../fields/decimal-field';
import type { Field, FromDb } from '../fields/field';
import { FloatField } from '../fields/float-field';
import { BooleanField } from '../fields/boolean-field';
import { IntegerField, bigintExactFromDb } from '../fields/integer-field';
import { TextField } from '../fields/text-field';
import { DateTimeField } from '../fields/date-time-field';

/** The kinds of value arithmetic distinguishes; `other` is anything else (text, dates, ...). */
export type ArithmeticKind = 'integer' | 'float' | 'decimal' | 'other';

/** A decimal computed by the database, with no declared places (Django's unbound `DecimalField()`). */
export class ComputedDecimalField extends DecimalField {
  override readonly internalType: string = 'DecimalField';
  constructor() {
    super({ maxDigits: 1000, decimalPlaces: 0, null: true });
  }
}

/** The output fields of computed values (shared: they are never attached to a model). */
export const OUTPUT = Object.freeze({
  integer: new IntegerField({ null: true }),
  float: new FloatField({ null: true }),
  decimal: new ComputedDecimalField(),
  text: new TextField({ null: true }),
  boolean: new BooleanField({ null: true }),
  datetime: new DateTimeField({ null: true }),
});

/** The arithmetic kind of a field (undefined for no field: `NULL`, a subquery). */
export function arithmeticKind(field: Field | undefined): ArithmeticKind | undefined {
  if (field === undefined) return undefined;
  const k = field.lookupKind;
  return k === 'integer' || k === 'float' || k === 'decimal' ? k : 'other';
}

/** The output field of a literal value, from its JavaScript type (Django's `Value._resolve_output_field`). */
export function valueOutput(value: unknown): Field | undefined {
  if (typeof value === 'number') return Number.isInteger(value) ? OUTPUT.integer : OUTPUT.float;
  if (typeof value === 'bigint') return OUTPUT.integer;
  // A string is text, not a number: `F('pages').mul(new Value('1.5'))` is a mix of types (SQLite
  // would read the text as a number, and the integer result would drop its fraction).
  if (typeof value === 'string') return OUTPUT.text;
  if (typeof value === 'boolean') return OUTPUT.boolean;
  // A Date is an instant (Django's datetime): bound as the DateTimeField binds it on each database.
  if (value instanceof Date) return OUTPUT.datetime;
  return undefined;
}

/** The name of a field's type in messages (Django's internal type). */
function typeName(field: Field): string {
  return field instanceof ComputedDecimalField ? 'DecimalField' : field.internalType;
}

/**
 * The output field of `lhs op rhs` (Django's `CombinedExpression._resolve_output_field`); throws
 * a `FieldError` for a mix Django refuses.
 */
export function combinedOutput(lhs: Field | undefined, rhs: Field | undefined): Field | undefined {
  if (lhs === undefined) return rhs;
  if (rhs === undefined) return lhs;
  const a = arithmeticKind(lhs) as ArithmeticKind;
  const b = arithmeticKind(rhs) as ArithmeticKind;
  if (a === 'integer' && b === 'integer') {
    if (lhs.internalType === rhs.internalType) return lhs;
    // A bigint operand keeps the result a bigint (exact beyond 2^53): `F('big').add(1)`.
    return lhs.bigint ? lhs : rhs.bigint ? rhs : OUTPUT.integer;
  }
  if ((a === 'integer' || a === 'float') && (b === 'integer' || b === 'float')) return OUTPUT.float;
  if ((a === 'integer' || a === 'decimal') && (b === 'integer' || b === 'decimal')) return OUTPUT.decimal;
  if (a === 'other' && b === 'other' && lhs.lookupKind === rhs.lookupKind) return lhs;
  throw new FieldError(
    `Expression contains mixed types: ${typeName(lhs)}, ${typeName(rhs)}. You must set outputField (ExpressionWrapper(expression, new FloatField()), or Value(v, { outputField })).`,
  );
}

/** The output field of an aggregate over values of `source` (Django's `Avg`, `Sum`, ... output fields). */
export function aggregateOutput(fn: string, source: Field | undefined): Field | undefined {
  if (fn === 'COUNT') return OUTPUT.integer;
  const kind = arithmeticKind(source);
  // Avg, StdDev, Variance: a float (a decimal of decimals).
  if (fn === 'AVG' || fn.startsWith('STDDEV') || fn.startsWith('VAR'))
    return kind === 'decimal' ? OUTPUT.decimal : kind === 'integer' || kind === 'float' ? OUTPUT.float : source;
  return source;
}

/**
 * How a computed value of `field`'s type is converted for JavaScript, the same on every database
 * (undefined: the field's own converter applies). Integers and floats become numbers (integers
 * truncated, as Django's `int()`), decimals strings (at the field's places when it has them).
 */
export function outputConverter(field: Field | undefined): ((v: unknown) => unknown) | undefined {
  // Min/Max/Sum of a BigIntegerField, F('big') + 1: a bigint, exact (Sum beyond 2^63 too).
  if (field?.bigint === true) return bigintExactFromDb;
  switch (arithmeticKind(field)) {
    case 'integer':
      return toInteger;
    case 'float':
      return toFloat;
    case 'decimal':
      return field instanceof ComputedDecimalField ? computedDecimal : placesDecimal((field as DecimalField).decimalPlaces);
    default:
      return undefined;
  }
}

/** The converter of a computed value read from `ops`'s driver. */
export function computedConverter(field: Field | undefined, ops: BaseOperations): FromDb {
  return outputConverter(field) ?? field?.fromDb(ops);
}

// Integers beyond 2^53 are the concern of BigIntegerField's own representation (a bigint stays one).
const toInteger = (v: unknown): unknown => (typeof v === 'bigint' ? v : Math.trunc(typeof v === 'number' ? v : Number(v)));
const toFloat = (v: unknown): unknown => (typeof v === 'number' ? v : Number(v));

/**
 * A decimal as the database computed it: text as given (PostgreSQL, MariaDB); a double (SQLite)
 * to 15 significant digits, as Django reads it there.
 */
export function computedDecimal(v: unknown): unknown {
  if (typeof v !== 'number') return typeof v === 'bigint' ? v.toString() : String(v);
  if (Number.isInteger(v) && Math.abs(v) < 1e21) return String(v);
  return plainDecimal(v.toPrecision(15));
}

/** A decimal rounded (half to even, as Python's `quantize`) to `places` digits after the point (a double read to 15 significant digits first, as Django). */
export function placesDecimal(places: number): (v: unknown) => unknown {
  return (v) => quantize(typeof v === 'number' ? plainDecimal(v.toPrecision(15)) : String(v), places);
}

/** `1.5e+3` → `1500`: a number's text without an exponent. */
function plainDecimal(s: string): string {
  const m = /^(-?)(\d+)(?:\.(\d*))?e([-+]\d+)$/i.exec(s);
  if (!m) return s;
  const digits = `${m[2]}${m[3] ?? ''}`;
  const point = (m[2] as string).length + Number(m[4]);
  let body: string;
  if (point <= 0) body = `0.${'0'.repeat(-point)}${digits}`;
  else if (point >= digits.length) body = digits.padEnd(point, '0');
  else body = `${digits.slice(0, point)}.${digits.slice(point)}`;
  return `${m[1]}${body}`;
}

/** Round a plain decimal string to `places` (half to even), keeping every other digit exact. */
export function quantize(s: string, places: number): string {
  const m = /^\s*([-+]?)(\d*)(?:\.(\d*))?\s*$/.exec(plainDecimal(s.trim()));
  if (!m) return s;
  const neg = m[1] === '-';
  const int = (m[2] ?? '') || '0';
  const frac = m[3] ?? '';
  if (frac.length <= places) return format(neg, int, frac.padEnd(places, '0'));
  const kept = `${int}${frac.slice(0, places)}`;
  const rest = frac.slice(places);
  const first = rest.charCodeAt(0) - 48;
  const tail = /[1-9]/.test(rest.slice(1));
  const lastKept = kept.charCodeAt(kept.length - 1) - 48;
  const up = first > 5 || (first === 5 && (tail || lastKept % 2 === 1));
  let digits = up ? increment(kept) : kept;
  if (digits.length < int.length + places) digits = digits.padStart(int.length + places, '0');
  const intLen = digits.length - places;
  return format(neg, digits.slice(0, intLen), digits.slice(intLen));
}

function increment(digits: string): string {
  const a = digits.split('');
  let i = a.length - 1;
  for (; i >= 0; i--) {
    if (a[i] === '9') a[i] = '0';
    else {
      a[i] = String.fromCharCode((a[i] as string).charCodeAt(0) + 1);
      break;
    }
  }
  return i < 0 ? `1${a.join('')}` : a.join('');
}

function format(neg: boolean, int: string, frac: string): string {
  const i = int.replace(/^0+(?=\d)/, '');
  const zero = /^0*$/.test(i) && /^0*$/.test(frac);
  return `${neg && !zero ? '-' : ''}${i}${frac.length > 0 ? `.${frac}` : ''}`;
}
