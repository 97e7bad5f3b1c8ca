/**
 * Validators: functions a field runs in `fullClean()` (Django's `validators=`). A validator
 * returns nothing when the value is valid, or a message (or `{ message, code }`) when it is not;
 * it may also throw a `ValidationError`.
 *
 * ### Examples
 * ```ts
 * const price = new DecimalField({ maxDigits: 8, decimalPlaces: 2, validators: [minValue(0)] });
 * const slug = new CharField({ maxLength: 50, validators: [regex(/^[a-z0-9-]+$/, 'Use lowercase letters, digits and hyphens.')] });
 * ```
 */
import type { ValidationMessage } from '../errors';

export type ValidatorResult = void | undefined | null | string | ValidationMessage;
export type Validator<T = unknown> = (value: T) => ValidatorResult;

/** The value must be at least `min`. */
export function minValue(min: number): Validator<number | string> {
  return (v) =>
    Number(v) < min
      ? { message: `Ensure this value is greater than or equal to ${min}.`, code: 'min_value', params: { limit: min } }
      : undefined;
}

/** The value must be at most `max`. */
export function maxValue(max: number): Validator<number | string> {
  return (v) =>
    Number(v) > max
      ? { message: `Ensure this value is less than or equal to ${max}.`, code: 'max_value', params: { limit: max } }
      : undefined;
}

/** The text must have at least `n` characters. */
export function minLength(n: number): Validator<string> {
  return (v) =>
    typeof v === 'string' && [...v].length < n
      ? { message: `Ensure this value has at least ${n} characters (it has ${[...v].length}).`, code: 'min_length', params: { limit: n } }
      : undefined;
}

/** The text must match `pattern`. */
export function regex(pattern: RegExp, message = 'Enter a valid value.'): Validator<string> {
  return (v) => (typeof v === 'string' && !pattern.test(v) ? { message, code: 'invalid' } : undefined);
}

/** Normalise what a validator returned into a message, or undefined. @internal */
export function toMessage(result: ValidatorResult): ValidationMessage | undefined {
  if (result === undefined || result === null) return undefined;
  if (typeof result === 'string') return { message: result, code: 'invalid' };
  return result;
}
