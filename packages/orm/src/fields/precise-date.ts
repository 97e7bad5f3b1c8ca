/**
 * `PreciseDate`: a JavaScript `Date` that also carries the microseconds a `Date` cannot hold.
 * `DateTimeField` returns one for every value it reads, so that a value written with microseconds
 * (`2024-05-01T12:00:07.123456Z`, the precision of PostgreSQL, MariaDB `DATETIME(6)` and
 * Django's `datetime`) reads back with the same microseconds on every database.
 *
 * It *is* a `Date` (`instanceof Date`, `getTime()`, arithmetic, `date-fns`, driver bindings all work
 * with the millisecond part), plus:
 * - `microsecond`: the fraction of the second in microseconds, 0–999,999 (Django's name);
 * - `epochMicroseconds`: microseconds since the epoch, exact (a `number` is exact to the year 2255);
 * - `toISOString()` (and so `toJSON()` and `JSON.stringify`) writes six fractional digits when
 *   the value has microseconds beyond the millisecond, else the usual three.
 *
 * `getTime()`, `valueOf()` and comparisons with `<` keep `Date`'s milliseconds: compare
 * `epochMicroseconds` to order values that differ by less than a millisecond. `setTime()` and the
 * millisecond setters clear the extra microseconds; the other setters keep them (as Python's
 * `datetime.replace(hour=...)` keeps `microsecond`).
 *
 * ### Examples
 * ```ts
 * const at = PreciseDate.from('2024-05-01T12:00:07.123456Z');
 * at.microsecond; // 123456
 * JSON.stringify({ at }); // '{"at":"2024-05-01T12:00:07.123456Z"}'
 * ```
 */

/** ISO-8601 / SQL text of an instant: date, time, up to 9 fractional digits, an optional offset. */
const INSTANT =
  /^([+-]?\d{4,6})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*(Z|z|[+-]\d{2}(?::?\d{2}(?::?\d{2})?)?)?$/;

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

export class PreciseDate extends Date {
  /** The microseconds beyond the millisecond, 0–999. */
  #micros = 0;

  /**
   * `new PreciseDate(date)` copies a Date (with its microseconds when it is a PreciseDate);
   * `new PreciseDate(ms, micros)` takes epoch milliseconds plus 0–999 microseconds; text is parsed
   * as by `PreciseDate.from()`. No argument: now.
   */
  constructor(value?: Date | number | string, extraMicroseconds = 0) {
    const parsed = typeof value === 'string' ? parseInstant(value) : undefined;
    super(
      typeof value === 'string'
        ? (parsed?.ms ?? Number.NaN)
        : value === undefined
          ? Date.now()
          : value instanceof Date
            ? value.getTime()
            : value,
    );
    if (parsed !== undefined) this.#micros = parsed.micros;
    else if (value instanceof PreciseDate) this.#micros = value.#micros;
    else if (extraMicroseconds !== 0) {
      if (!Number.isInteger(extraMicroseconds) || extraMicroseconds < 0 || extraMicroseconds > 999)
        throw new RangeError(`PreciseDate: extraMicroseconds must be an integer from 0 to 999, got ${String(extraMicroseconds)}.`);
      this.#micros = extraMicroseconds;
    }
  }

  /**
   * A PreciseDate from `value`: the same object when it is one already; a Date or epoch
   * milliseconds; or ISO-8601 / SQL text (`2024-05-01T12:00:07.123456Z`,
   * `2024-05-01 12:00:07.123456+02`, no offset meaning UTC), an invalid date for text that is not
   * an instant or has non-zero digits beyond the microsecond (they would be lost).
   */
  static from(value: Date | number | string): PreciseDate {
    return value instanceof PreciseDate ? value : new PreciseDate(value);
  }

  /** A PreciseDate from microseconds since the epoch. */
  static fromEpochMicroseconds(us: number | bigint): PreciseDate {
    const n = BigInt(us);
    let ms = n / 1000n;
    let micros = n % 1000n;
    if (micros < 0n) {
      micros += 1000n;
      ms -= 1n;
    }
    return new PreciseDate(Number(ms), Number(micros));
  }

  /** The fraction of the second, in microseconds (0–999,999), as Django's `datetime.microsecond`. */
  get microsecond(): number {
    return this.getUTCMilliseconds() * 1000 + this.#micros;
  }

  /** The microseconds beyond `getMilliseconds()`, 0–999. */
  getMicroseconds(): number {
    return this.#micros;
  }

  /** Microseconds since the epoch (exact as a number up to the year 2255). */
  get epochMicroseconds(): number {
    return this.getTime() * 1000 + this.#micros;
  }

  /** ISO-8601 in UTC: six fractional digits when there are microseconds beyond the millisecond, else three. */
  override toISOString(): string {
    const iso = super.toISOString();
    return this.#micros === 0 ? iso : `${iso.slice(0, -1)}${pad(this.#micros, 3)}Z`;
  }

  /** `YYYY-MM-DD HH:MM:SS.ffffff` in UTC, always six digits (the form SQL databases write). @internal */
  toSqlText(separator: ' ' | 'T' = ' ', suffix = ''): string {
    return formatInstant(this.getTime(), this.#micros, separator, suffix);
  }

  override setTime(time: number): number {
    this.#micros = 0;
    return super.setTime(time);
  }

  override setMilliseconds(ms: number): number {
    this.#micros = 0;
    return super.setMilliseconds(ms);
  }

  override setUTCMilliseconds(ms: number): number {
    this.#micros = 0;
    return super.setUTCMilliseconds(ms);
  }

  /** Node's `util.inspect` (console.log) shows the microseconds too. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return Number.isNaN(this.getTime()) ? 'Invalid Date' : this.toISOString();
  }
}

/** An instant as `YYYY-MM-DD<sep>HH:MM:SS.ffffff<suffix>` in UTC, always six fractional digits. @internal */
export function formatInstant(ms: number, micros: number, separator: ' ' | 'T', suffix: string): string {
  const d = new Date(ms);
  const year = d.getUTCFullYear();
  const y = year >= 0 && year <= 9999 ? pad(year, 4) : (year < 0 ? '-' : '+') + pad(Math.abs(year), 6);
  return (
    `${y}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}${separator}` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.` +
    `${pad(d.getUTCMilliseconds(), 3)}${pad(micros, 3)}${suffix}`
  );
}

/** The microseconds beyond the millisecond of a Date (0 for a plain Date). @internal */
export function extraMicroseconds(d: Date): number {
  return d instanceof PreciseDate ? d.getMicroseconds() : 0;
}

/**
 * Parse instant text into epoch milliseconds plus 0–999 microseconds; undefined when it is not
 * an instant, or when it has non-zero digits beyond the microsecond. No offset means UTC. @internal
 */
export function parseInstant(text: string): { ms: number; micros: number } | undefined {
  const m = INSTANT.exec(text.trim());
  if (m === null) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', off] = m;
  if (frac.length > 6 && !/^0+$/.test(frac.slice(6))) return undefined;
  const digits = frac.slice(0, 6).padEnd(6, '0');
  const msPart = Number(digits.slice(0, 3));
  const micros = Number(digits.slice(3, 6));
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return undefined;
  const date = new Date(0);
  date.setUTCFullYear(Number(y), month - 1, day);
  date.setUTCHours(hour, minute, second, msPart);
  // Reject 2023-02-30 and the like (Date rolls them over).
  if (date.getUTCDate() !== day || date.getUTCMonth() !== month - 1) return undefined;
  let ms = date.getTime();
  if (off !== undefined && off !== 'Z' && off !== 'z') {
    const sign = off[0] === '-' ? -1 : 1;
    const parts = off.slice(1).replace(/:/g, '');
    const offMs = (Number(parts.slice(0, 2)) * 3600 + Number(parts.slice(2, 4) || 0) * 60 + Number(parts.slice(4, 6) || 0)) * 1000;
    ms -= sign * offMs;
  }
  return Number.isNaN(ms) ? undefined : { ms, micros };
}
