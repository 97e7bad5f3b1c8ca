/**
 * Statements whose effect outlives their transaction on the server connection that ran them
 * (session state): harmless on a direct connection, wrong behind a pooler in transaction mode
 * (PgBouncer), where the next statement of the same client may run on another server connection
 * and this one serves other clients. Used for aliases with `pooler: 'transaction'`: such
 * statements are refused before they reach the pooler, saying what to use instead.
 *
 * Matched on the statement's text (leading comments skipped); bound values never match. A
 * function call hidden behind a view or a user function is not seen: this guards against the
 * usual mistakes, it does not parse SQL.
 */

/** What a refused statement does, and what to use instead. */
export interface SessionFeature {
  readonly feature: string;
  readonly instead: string;
}

const LEADING_COMMENTS = /^(?:\s+|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*/;

const SET_ADVICE =
  'Use SET LOCAL inside atomic() (it lasts until the block ends), or set the default for the role on the server (ALTER ROLE … SET …).';

/** By the statement's first keyword(s). */
const LEADING: ReadonlyArray<readonly [RegExp, SessionFeature]> = [
  [/^SET\b(?!\s+(?:LOCAL|TRANSACTION|CONSTRAINTS)\b)/i, { feature: 'A session-level SET', instead: SET_ADVICE }],
  [/^RESET\b/i, { feature: 'RESET', instead: SET_ADVICE }],
  [
    /^(?:LISTEN|UNLISTEN)\b/i,
    {
      feature: 'LISTEN/UNLISTEN',
      instead:
        'Notifications are delivered to a session: listen on a direct connection (an alias without pooler, or a pg Client of its own); NOTIFY itself is fine.',
    },
  ],
  [
    /^(?:PREPARE|EXECUTE|DEALLOCATE)\b/i,
    {
      feature: 'An SQL prepared statement (PREPARE/EXECUTE/DEALLOCATE)',
      instead: 'Run the statement itself with bound values (sql`… ${value}`): it needs no PREPARE.',
    },
  ],
  [
    /^DECLARE\b[\s\S]*\bWITH\s+HOLD\b/i,
    { feature: 'A cursor WITH HOLD', instead: 'Declare the cursor WITHOUT HOLD inside atomic() and fetch from it there.' },
  ],
  [
    /^CREATE\s+(?:(?:GLOBAL|LOCAL)\s+)?TEMP(?:ORARY)?\s+(?![\s\S]*\bON\s+COMMIT\s+DROP\b)/i,
    {
      feature: 'A temporary table that outlives its transaction',
      instead: 'Create it with ON COMMIT DROP inside atomic() and use it in that block.',
    },
  ],
  [/^DISCARD\b/i, { feature: 'DISCARD', instead: 'The pooler resets server connections itself (server_reset_query).' }],
  [/^LOAD\b/i, { feature: 'LOAD', instead: 'Load the library for every session on the server (session_preload_libraries).' }],
];

/** Anywhere in the text: session-level advisory locks (the `_xact_` ones are transaction-level and fine). */
const SESSION_LOCK = /\bpg_(?:try_)?advisory_(?:lock|unlock)(?:_shared|_all)?\s*\(/i;
const LOCK_FEATURE: SessionFeature = {
  feature: 'A session-level advisory lock (pg_advisory_lock, pg_try_advisory_lock, pg_advisory_unlock…)',
  instead:
    'Use pg_advisory_xact_lock() or pg_try_advisory_xact_lock() inside atomic(): the lock is held on the block’s server connection and released when the block ends.',
};

/** The session feature `sql` uses, or undefined when it is safe behind a transaction-mode pooler. */
export function postgresSessionFeature(sql: string): SessionFeature | undefined {
  const text = sql.replace(LEADING_COMMENTS, '');
  for (const [re, feature] of LEADING) if (re.test(text)) return feature;
  if (SESSION_LOCK.test(text)) return LOCK_FEATURE;
  return undefined;
}
