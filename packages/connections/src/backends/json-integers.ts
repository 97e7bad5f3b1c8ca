/**
 * JSON.parse rounds an integer beyond 2^53 to the nearest double without a word. A reader of JSON
 * from the database calls `parseJsonExactly`: the document, or a DataError naming where such an
 * integer is (Python, and so Django, reads it exactly; JavaScript cannot).
 */
import { DataError } from '../errors';

/** The path of the first integer of `value` beyond 2^53, or undefined. */
function roundedInteger(value: unknown, path: string): string | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && !Number.isSafeInteger(value) ? path : undefined;
  if (value === null || typeof value !== 'object') return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const p = roundedInteger(value[i], `${path}[${i}]`);
      if (p !== undefined) return p;
    }
    return undefined;
  }
  for (const [k, v] of Object.entries(value)) {
    const p = roundedInteger(v, /^[A-Za-z_$][\w$]*$/.test(k) ? `${path}.${k}` : `${path}[${JSON.stringify(k)}]`);
    if (p !== undefined) return p;
  }
  return undefined;
}

/** 16 digits in a row: the text may hold an integer beyond 2^53 (the parsed value is walked only then). */
const LONG_DIGITS = /\d{16}/;

/** `JSON.parse(text)`, refusing (DataError) a document whose integers it would round. */
export function parseJsonExactly(text: string): unknown {
  const parsed: unknown = JSON.parse(text);
  if (LONG_DIGITS.test(text)) {
    const at = roundedInteger(parsed, '$');
    if (at !== undefined)
      throw new DataError(
        `A JSON document read from the database holds an integer beyond 2^53 at ${at}, which a JavaScript number cannot hold exactly: store such numbers as strings.`,
      );
  }
  return parsed;
}
