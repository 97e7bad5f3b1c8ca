/**
 * Text every database can store as it is: no lone UTF-16 surrogate. PostgreSQL and MariaDB store
 * UTF-8, and a lone surrogate has no UTF-8 form: drivers replace it with U+FFFD, so the text read
 * back would differ from the text written (in JSON, PostgreSQL refuses the `\ud800` escape and
 * MariaDB's JSON check fails, while SQLite stores it). Refused at the write boundary instead. (NUL
 * is left to the database, as in Django: PostgreSQL refuses it with a DataError naming the field.)
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

/** Why `text` cannot be stored as it is on every database (a lone surrogate), or undefined. */
export function textProblem(text: string): string | undefined {
  const at = loneSurrogateAt(text);
  return at < 0 ? undefined : loneSurrogateMessage(text, at);
}
