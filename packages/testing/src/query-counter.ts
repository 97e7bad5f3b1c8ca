/**
 * Counting queries (Django's `assertNumQueries` / `CaptureQueriesContext`): listen to the
 * handler's `query` events while a function runs, and fail with the list of statements when the
 * count is not the one expected. The way to prove that a page does not run N+1 queries.
 *
 * ### Examples
 * ```ts
 * await assertNumQueries(2, () => Author.objects.prefetchRelated('books'));
 * const { queries } = await captureQueries(() => Book.objects.get({ id: 1 }));
 * queries[0].sql;  // 'select "book"."id", ... where "book"."id" = $1 limit $2'
 * ```
 */
import { connections as defaultHandler, type ConnectionHandler, type QueryEvent } from '@spool/connections';

/** One statement seen by a capture. */
export interface CapturedQuery {
  alias: string;
  sql: string;
  bindings: readonly unknown[];
  durationMs: number;
  scopeId: number | undefined;
  inTransaction: boolean;
  /** BEGIN / COMMIT / ROLLBACK / SAVEPOINT issued by atomic(). */
  transactionControl: boolean;
}

export interface CaptureOptions {
  /** Count only statements on this alias (default: every alias). */
  using?: string;
  /** The handler to listen to (default: this thread's). */
  handler?: ConnectionHandler;
  /** Also count the transaction control atomic() issues (BEGIN, COMMIT, SAVEPOINT, ...). Default false. */
  transactionControl?: boolean;
}

/** Thrown by `assertNumQueries` when the count differs. */
export class QueryCountError extends Error {
  readonly expected: number;
  readonly queries: readonly CapturedQuery[];
  constructor(expected: number, queries: readonly CapturedQuery[], using: string | undefined) {
    const list = queries.map((q, i) => `${i + 1}. [${q.alias}] ${q.sql}`).join('\n');
    super(
      `${queries.length} queries executed${using ? ` on '${using}'` : ''}, ${expected} expected.\nCaptured queries were:\n${list || '(none)'}`,
    );
    this.name = 'QueryCountError';
    this.expected = expected;
    this.queries = queries;
  }
}

/** Run `fn` and return its result with the statements it ran. */
export async function captureQueries<T>(
  fn: () => T | Promise<T>,
  options: CaptureOptions = {},
): Promise<{ result: T; queries: CapturedQuery[] }> {
  const handler = options.handler ?? defaultHandler;
  const queries: CapturedQuery[] = [];
  const listener = (e: QueryEvent) => {
    if (options.using !== undefined && e.alias !== options.using) return;
    if (e.transactionControl && !options.transactionControl) return;
    queries.push({
      alias: e.alias,
      sql: e.sql,
      bindings: e.bindings,
      durationMs: e.durationMs,
      scopeId: e.scopeId,
      inTransaction: e.inTransaction,
      transactionControl: e.transactionControl,
    });
  };
  handler.on('query', listener);
  try {
    const result = await fn();
    return { result, queries };
  } finally {
    handler.off('query', listener);
  }
}

/** Run `fn` and fail with `QueryCountError` unless it ran exactly `expected` statements. */
export async function assertNumQueries<T>(expected: number, fn: () => T | Promise<T>, options: CaptureOptions = {}): Promise<T> {
  if (!Number.isInteger(expected) || expected < 0)
    throw new TypeError(`assertNumQueries: expected must be a non-negative integer, got ${String(expected)}.`);
  const { result, queries } = await captureQueries(fn, options);
  if (queries.length !== expected) throw new QueryCountError(expected, queries, options.using);
  return result;
}
