/**
 * Window functions (Django's `Window` and `django.db.models.functions.window`): a value computed
 * over a window of rows related to each row, without grouping them. `Window(expression, {
 * partitionBy, orderBy, frame })` wraps a window function (`RowNumber()`, `Rank()`, `Lag('pages')`,
 * ...) or an aggregate (`Sum('pages')`: a running sum with an `orderBy`). PostgreSQL, MariaDB 10.2+
 * and SQLite 3.25+ have them. As in Django, a window cannot be filtered on (NotSupportedError):
 * filter an enclosing query instead.
 *
 * ### Examples
 * ```ts
 * Book.objects.annotate({
 *   rank: Window(Rank(), { partitionBy: 'author', orderBy: '-pages' }),
 *   running: Window(Sum('pages'), { partitionBy: 'author', orderBy: ['published', 'id'], frame: RowRange({ end: 0 }) }),
 *   previous: Window(Lag('title'), { orderBy: 'id' }),
 * });
 * ```
 * The SQL of `rank` (every database): `RANK() OVER (PARTITION BY "orm_book"."author_id" ORDER BY "orm_book"."pages" DESC)`.
 */
import { Expression, Value, type Inferred, type OrderBy } from './expressions';

/** What a window function computes: an integer, a float, or a value of its first argument's type. */
export type WindowOutput = 'integer' | 'float' | 'source';

/** A window function's call (only valid inside `Window`). `T` its value type, `P` the path it reads (for inference). */
export class WindowFunction<T = unknown, P extends string = string> extends Expression<T> {
  readonly kind = 'winfn' as const;
  /** Phantom: the path read (type-level only). */
  declare readonly __path: P;
  constructor(
    readonly fn: string,
    readonly args: readonly (string | Expression)[],
    /** Integer arguments (offsets, bucket counts), written into the SQL. */
    readonly literals: readonly number[],
    readonly output: WindowOutput,
  ) {
    super();
    for (const n of literals)
      if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${fn}(): expected a non-negative integer, got ${String(n)}.`);
  }
}

function source(fn: string, s: unknown): string | Expression {
  if ((typeof s === 'string' && s !== '') || Expression.is(s)) return s as string | Expression;
  throw new TypeError(`${fn}() takes a field name or an expression.`);
}

/** The row's number in its partition, from 1. */
export function RowNumber(): WindowFunction<number> {
  return new WindowFunction<number>('ROW_NUMBER', [], [], 'integer');
}
/** The rank with gaps (1, 1, 3). */
export function Rank(): WindowFunction<number> {
  return new WindowFunction<number>('RANK', [], [], 'integer');
}
/** The rank without gaps (1, 1, 2). */
export function DenseRank(): WindowFunction<number> {
  return new WindowFunction<number>('DENSE_RANK', [], [], 'integer');
}
/** `(rank - 1) / (rows - 1)`, a float from 0 to 1. */
export function PercentRank(): WindowFunction<number> {
  return new WindowFunction<number>('PERCENT_RANK', [], [], 'float');
}
/** The cumulative distribution: rows up to this one's peers / rows, a float. */
export function CumeDist(): WindowFunction<number> {
  return new WindowFunction<number>('CUME_DIST', [], [], 'float');
}
/** The bucket (1 to `numBuckets`) of the row. */
export function Ntile(numBuckets = 1): WindowFunction<number> {
  if (!Number.isSafeInteger(numBuckets) || numBuckets <= 0) throw new RangeError('Ntile(): numBuckets must be greater than 0.');
  return new WindowFunction<number>('NTILE', [], [numBuckets], 'integer');
}

function lagLead<T, P extends string>(
  fn: 'LAG' | 'LEAD',
  expression: P | Expression,
  offset: number,
  defaultValue: unknown,
): WindowFunction<T, P> {
  if (!Number.isSafeInteger(offset) || offset <= 0)
    throw new RangeError(`${fn === 'LAG' ? 'Lag' : 'Lead'}(): offset must be a positive integer, got ${String(offset)}.`);
  const args: (string | Expression)[] = [source(fn === 'LAG' ? 'Lag' : 'Lead', expression)];
  if (defaultValue !== undefined && defaultValue !== null) args.push(Expression.is(defaultValue) ? defaultValue : new Value(defaultValue));
  return new WindowFunction<T, P>(fn, args, [offset], 'source');
}

/** The value `offset` rows before in the window (null, or `defaultValue`, before the first). */
export function Lag<T = Inferred, const P extends string = string>(
  expression: P | Expression,
  offset = 1,
  defaultValue?: unknown,
): WindowFunction<NoInfer<T>, P> {
  return lagLead<T, P>('LAG', expression, offset, defaultValue);
}
/** The value `offset` rows after in the window (null, or `defaultValue`, after the last). */
export function Lead<T = Inferred, const P extends string = string>(
  expression: P | Expression,
  offset = 1,
  defaultValue?: unknown,
): WindowFunction<NoInfer<T>, P> {
  return lagLead<T, P>('LEAD', expression, offset, defaultValue);
}
/** The value at the first row of the window frame. */
export function FirstValue<T = Inferred, const P extends string = string>(expression: P | Expression): WindowFunction<NoInfer<T>, P> {
  return new WindowFunction<T, P>('FIRST_VALUE', [source('FirstValue', expression)], [], 'source');
}
/** The value at the last row of the window frame (by default the current row's last peer). */
export function LastValue<T = Inferred, const P extends string = string>(expression: P | Expression): WindowFunction<NoInfer<T>, P> {
  return new WindowFunction<T, P>('LAST_VALUE', [source('LastValue', expression)], [], 'source');
}
/** The value at row `nth` (from 1) of the window frame, null when the frame has fewer rows. */
export function NthValue<T = Inferred, const P extends string = string>(
  expression: P | Expression,
  nth = 1,
): WindowFunction<NoInfer<T>, P> {
  if (!Number.isSafeInteger(nth) || nth <= 0) throw new RangeError('NthValue(): nth must be a positive integer.');
  return new WindowFunction<T, P>('NTH_VALUE', [source('NthValue', expression)], [nth], 'source');
}

/**
 * A window frame (Django's `RowRange` / `ValueRange`): `start` is a negative integer (that many
 * rows or values PRECEDING), 0 (CURRENT ROW) or null/undefined (UNBOUNDED PRECEDING); `end` a
 * positive integer (FOLLOWING), 0 or null/undefined (UNBOUNDED FOLLOWING).
 */
export class WindowFrame {
  constructor(
    readonly type: 'ROWS' | 'RANGE',
    readonly start: number | null,
    readonly end: number | null,
  ) {
    if (start !== null && !(Number.isSafeInteger(start) && start <= 0))
      throw new RangeError(`start argument must be a negative integer, zero, or None, but got '${String(start)}'.`);
    if (end !== null && !(Number.isSafeInteger(end) && end >= 0))
      throw new RangeError(`end argument must be a positive integer, zero, or None, but got '${String(end)}'.`);
  }
}

/** `ROWS BETWEEN ... AND ...`: the frame counts rows. `RowRange({ end: 0 })` is a running total. */
export function RowRange(options: { start?: number | null; end?: number | null } = {}): WindowFrame {
  return new WindowFrame('ROWS', options.start ?? null, options.end ?? null);
}
/** `RANGE BETWEEN ... AND ...`: the frame spans values of the ordering (peers together). */
export function ValueRange(options: { start?: number | null; end?: number | null } = {}): WindowFrame {
  return new WindowFrame('RANGE', options.start ?? null, options.end ?? null);
}

/** A term of a window's `partitionBy` / `orderBy`: a field name (`'-pages'` descending in orderBy), or an expression. */
export type WindowTerm = string | Expression | OrderBy;

/** Options of `Window()`. */
export interface WindowOptions {
  readonly partitionBy?: WindowTerm | readonly WindowTerm[];
  readonly orderBy?: WindowTerm | readonly WindowTerm[];
  readonly frame?: WindowFrame;
}

/** `expression OVER (...)`; see `Window()`. `E` is the expression windowed (for type inference). */
export class WindowExpression<T = unknown, E = unknown> extends Expression<T> {
  readonly kind = 'window' as const;
  /** Phantom: the windowed expression (type-level only). */
  declare readonly __inner: E;
  readonly partitionBy: readonly WindowTerm[];
  readonly orderBy: readonly WindowTerm[];
  readonly frame: WindowFrame | undefined;
  constructor(
    readonly expression: Expression,
    options: WindowOptions = {},
  ) {
    super();
    if (!Expression.is(expression)) throw new TypeError('Window() takes a window function (RowNumber(), Lag(...)) or an aggregate.');
    if (options === null || typeof options !== 'object') throw new TypeError('Window(expression, options): options must be an object.');
    for (const key of Object.keys(options))
      if (key !== 'partitionBy' && key !== 'orderBy' && key !== 'frame')
        throw new TypeError(`Window(): unknown option '${key}'. Valid options: partitionBy, orderBy, frame.`);
    const list = (v: WindowTerm | readonly WindowTerm[] | undefined): readonly WindowTerm[] =>
      v === undefined ? [] : Array.isArray(v) ? (v as readonly WindowTerm[]) : [v as WindowTerm];
    this.partitionBy = list(options.partitionBy);
    this.orderBy = list(options.orderBy);
    if (options.frame !== undefined && !(options.frame instanceof WindowFrame))
      throw new TypeError('Window(): frame must be RowRange(...) or ValueRange(...).');
    this.frame = options.frame;
  }
}

/**
 * A window function or an aggregate computed over a window of rows (Django's `Window`), typed as
 * the expression: `Window(RowNumber(), ...)` is a number, `Window(Sum('price'), ...)` the sum's type.
 */
export function Window<E extends Expression>(expression: E, options: WindowOptions = {}): WindowExpression<E['__type'], E> {
  return new WindowExpression<E['__type'], E>(expression, options);
}
