/**
 * Text a database can store as it is: no lone UTF-16 surrogate. PostgreSQL and MariaDB store
 * UTF-8, and a lone surrogate has no UTF-8 form: drivers replace it with U+FFFD, so the text read
 * back would differ from the text written. Refused at the write boundary instead.
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
