/**
 * Text every database can store as it is: no lone UTF-16 surrogate and no NUL character.
 * PostgreSQL and MariaDB store UTF-8, and a lone surrogate has no UTF-8 form: drivers replace it
 * with U+FFFD, so the text read back would differ from the text written (in JSON, PostgreSQL
 * refuses the `\ud800` escape and MariaDB's JSON check fails, while SQLite stores it). PostgreSQL
 * cannot store NUL in text or jsonb at all (MariaDB and SQLite can): refused everywhere, as
 * Django's `ProhibitNullCharactersValidator` does in forms. Refused at the write boundary instead.
 */

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The index of the first lone surrogate of `text`, or -1 when it is well-formed. */
export function loneSurrogateAt(text: string): number {
  const m = LONE_SURROGATE.exec(text);
  return m === null ? -1 : m.index;
}

/** The message for text with a lone surrogate at `index`. */
export function loneSurrogateMessage(text: string, index: number): string {
  const code = text.charCodeAt(index).toString(16).toUpperCase();
  return `The text has a lone UTF-16 surrogate (U+${code} at index ${index}), which no database can store: it would read back as U+FFFD.`;
}

/** Why `text` cannot be stored as it is on every database (a lone surrogate, a NUL), or undefined. */
export function textProblem(text: string): string | undefined {
  const at = loneSurrogateAt(text);
  if (at >= 0) return loneSurrogateMessage(text, at);
  const nul = text.indexOf('\u0000');
  return nul < 0
    ? undefined
    : `Null characters are not allowed (U+0000 at index ${nul}): PostgreSQL cannot store them, so no database stores them.`;
}
