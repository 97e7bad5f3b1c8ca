/**
 * Does a statement (possibly) write? For read-your-writes routing (`PrimaryReplicaRouter`): a raw
 * statement that writes makes its scope read from where it wrote, as the ORM's writes do. Read
 * by the statement's first keyword, leading comments skipped; when unsure, it writes (routing a
 * read to the primary is only slower, a write's reader sent to a replica is wrong).
 */

const LEADING_COMMENTS = /^(?:\s+|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*/;
/** Statements that only read. */
const READS = /^(?:SELECT|WITH|SHOW|EXPLAIN|VALUES|TABLE|DESCRIBE|DESC)\b/i;
/** …unless they lock rows, write through a CTE, or create a table from their rows. */
const WRITES_ANYWAY =
  /\bFOR\s+(?:NO\s+KEY\s+)?(?:UPDATE|SHARE|KEY\s+SHARE)\b|\bLOCK\s+IN\s+SHARE\s+MODE\b|\b(?:INSERT|UPDATE|DELETE|MERGE)\b|\bINTO\b/i;
/** EXPLAIN ANALYZE runs the statement it explains. */
const EXPLAIN_ANALYZE = /^EXPLAIN\s*(?:\(\s*)?ANALY[SZ]E\b/i;

/** True unless `sql` only reads (a plain SELECT, SHOW, EXPLAIN…). */
export function statementWrites(sql: string): boolean {
  const text = sql.replace(LEADING_COMMENTS, '');
  if (!READS.test(text)) return true;
  if (/^EXPLAIN\b/i.test(text)) return EXPLAIN_ANALYZE.test(text) && WRITES_ANYWAY.test(text);
  return WRITES_ANYWAY.test(text);
}
