/**
 * Database functions (Django's `django.db.models.functions`) and conditional expressions
 * (`Case`/`When`). Like every expression they are descriptions: the query resolves their
 * arguments against the model (a string argument is a field path, as in Django: literals are
 * `Value(...)`; a number is a literal), works out their output type (`resolve-functions.ts`), and
 * each backend's operations write their SQL (`ops.functionTemplate`).
 *
 * ### Examples
 * ```ts
 * await Author.objects.annotate({ lower: Lower('name'), n: Length('name') }).filter({ n__gt: 8 });
 * await Book.objects.annotate({ year: ExtractYear('published') }).orderBy('-year');
 * await Book.objects.update({ title: Concat('title', Value(' (2nd ed.)')) });
 * await Book.objects.annotate({ size: Case(When({ pages__gte: 300 }, Value('long')), { default: Value('short') }) });
 * ```
 *
 * ### Types
 * An annotation's type follows the function: `Lower('name')` is a `string` (or `string | null`
 * when `name` is nullable), `Length(...)` and `Extract*(...)` numbers, `Coalesce` the union of its
 * arguments (not null when one of them cannot be), `Case` the union of its branches (and `null`
 * without a default). The field types of path arguments are resolved by `annotate()`
 * (`ResolveValue`). Text functions take text arguments, date functions dates: a function of
 * another type (`Lower(Length('name'))`, `ExtractYear(Lower('name'))`) does not compile.
 */
import type { Vendor } from '@spool/connections';
import type { Field } from '../fields/field';
import type { JSONLike, JsonPath, ValueMap } from '../types';
import {
  Expression,
  FieldRef,
  Value,
  type Aggregate,
  type Combined,
  type FieldValue,
  type Inferred,
  type OutputValue,
} from './expressions';
import type { WindowExpression, WindowFunction } from './window-expressions';
import { QNode } from './q';

// ---- types ------------------------------------------------------------------------------------------------

/** An argument: a field path (`'author__name'`), an expression, or a number (a literal). */
export type Arg = string | number | Expression;

/** The (unresolved) value type of an argument. */
export type ArgValue<A> = A extends Expression<infer T> ? T : A extends string ? FieldValue<A> : A extends number ? number : unknown;

/** The phantom keys of the type-level markers below (type only). */
declare const NULL_LIKE: unique symbol;
declare const COALESCED: unique symbol;
declare const NUMERIC: unique symbol;

/** `R`, or `R | null` when `X` (resolved) may be null (type only). */
export interface NullLike<X, R> {
  readonly [NULL_LIKE]: [X, R];
}
/** The first non-null of `Xs` (type only): their union, not null when one of them cannot be. */
export interface Coalesced<Xs extends readonly unknown[]> {
  readonly [COALESCED]: Xs;
}
/** A number, or a decimal string when one of `Xs` is; null when one of them may be (type only). */
export interface Numeric<Xs extends readonly unknown[]> {
  readonly [NUMERIC]: Xs;
}

type ResolveAll<Xs extends readonly unknown[], I> = { [K in keyof Xs]: ResolveValue<Xs[K], I> };
type AnyNonNull<Rs extends readonly unknown[]> = Rs extends readonly [infer H, ...infer T]
  ? null extends H
    ? AnyNonNull<T>
    : true
  : false;

/**
 * The value type of an expression of type `T` on instances `I`: field paths (`FieldValue`) are
 * looked up in the model's value map, the markers of functions computed (`NullLike`, `Coalesced`,
 * `Numeric`); anything else is itself.
 */
export type ResolveValue<T, I> =
  T extends FieldValue<infer P>
    ? P extends keyof ValueMap<I>
      ? ValueMap<I>[P]
      : P extends JsonPath<I>
        ? JSONLike
        : unknown
    : T extends NullLike<infer X, infer R>
      ? null extends ResolveValue<X, I>
        ? R | null
        : R
      : T extends Coalesced<infer Xs>
        ? AnyNonNull<ResolveAll<Xs, I>> extends true
          ? NonNullable<ResolveAll<Xs, I>[number]>
          : ResolveAll<Xs, I>[number]
        : T extends Numeric<infer Xs>
          ? | (string extends NonNullable<ResolveAll<Xs, I>[number]> ? string : number)
            | (null extends ResolveAll<Xs, I>[number] ? null : never)
          : T extends Combined<infer L, infer R>
            ? CombinedValue<OperandValue<L, I>, OperandValue<R, I>>
            : T;

/** The value of an operand of `Combined` on instances `I`: a number literal, or an expression's (an aggregate's inferred from its field). */
type OperandValue<E, I> = E extends number
  ? number
  : E extends Expression<infer T>
    ? [T] extends [Inferred]
      ? InferredAggregate<I, E extends WindowExpression<unknown, infer W> ? W : E>
      : ResolveValue<T, I>
    : unknown;

/** `a op b` as `combinedOutput` computes it: decimal string, bigint, number (a Date stays a Date); null when either may be. */
type CombinedValue<A, B> = unknown extends A
  ? unknown
  : unknown extends B
    ? unknown
    : | (string extends NonNullable<A | B>
          ? string
          : bigint extends NonNullable<A | B>
            ? bigint
            : Date extends NonNullable<A | B>
              ? Date
              : number)
      | (null extends A | B ? null : never);

/**
 * The value of an aggregate or window function whose type is not given, over the field at path `P`
 * of `I` (Django's output fields): `Min`/`Max` the field's type, `Sum` a decimal string over a
 * decimal and a bigint over a bigint, `Avg` a decimal string over a decimal, else a number; over an
 * expression (`Sum(F('price').mul(2))`), the expression's type likewise. Null over no rows.
 */
export type InferredAggregate<I, E> =
  E extends WindowFunction<unknown, infer P>
    ? P extends keyof ValueMap<I>
      ? ValueMap<I>[P] | null
      : unknown
    : E extends Aggregate<unknown, infer Fn, infer P, infer S>
      ? AggregateOf<Fn, P extends keyof ValueMap<I> ? ValueMap<I>[P] : [S] extends [never] ? unknown : ResolveValue<S, I>>
      : number | null;

type AggregateOf<Fn, V> = unknown extends V
  ? number | null
  : Fn extends 'MIN' | 'MAX'
    ? NonNullable<V> | null
    : NonNullable<V> extends string
      ? string | null
      : Fn extends 'SUM'
        ? NonNullable<V> extends bigint
          ? bigint | null
          : number | null
        : number | null;

/** An argument whose value is text (a path: checked by the database). */
export type TextArg = string | Expression<string | null | FieldValue<string> | Inferred | NullLike<unknown, string> | Coalesced<never>>;
/** An argument whose value is a number (or a decimal string). */
export type NumberArg =
  | string
  | number
  | Expression<
      | number
      | string
      | bigint
      | null
      | FieldValue<string>
      | Inferred
      | NullLike<unknown, number>
      | Numeric<never>
      | Combined<unknown, unknown>
    >;
/** An argument whose value is a date or an instant. */
export type DateArg = string | Expression<string | Date | null | FieldValue<string> | Inferred | NullLike<unknown, Date | string>>;

// ---- Func -------------------------------------------------------------------------------------------------

/** Options of a user-defined `Func`. */
export interface FuncOptions {
  /** The SQL function's name (`'SOUNDEX'`): the SQL is `SOUNDEX(<arguments>)`. Letters, digits, `_` and `.` only. */
  readonly function?: string;
  /**
   * The SQL, for every database or per vendor (`{ postgresql: ..., mysql: ..., sqlite: ... }`):
   * `%(function)s`, `%(expressions)s` (the arguments, comma-separated) and `%(0)s`, `%(1)s`, ... (one
   * argument). Values are arguments (`Value(...)`), never text in the template: a template may not
   * contain `?`.
   */
  readonly template?: string | Readonly<Partial<Record<Vendor, string>>>;
  /** The type of the result (Django's `output_field`); else the type of the arguments, which must agree. */
  readonly outputField?: Field;
}

/**
 * A call of a database function. Built-in functions (`Lower`, `Coalesce`, ...) are `Func`s whose
 * SQL each backend writes; `new Func([args], { function, template, outputField })` is a user-defined
 * one (Django's `Func`), for a function Spool does not know.
 *
 * ### Examples
 * ```ts
 * // SOUNDEX exists on MariaDB and (as an extension) PostgreSQL; not on SQLite.
 * const Soundex = (arg: string) => new Func<string>([arg], { function: 'SOUNDEX', outputField: new CharField({ maxLength: 4 }) });
 * // Per vendor: a template for each database.
 * const Reverse = (arg: string) =>
 *   new Func<string>([arg], { template: { postgresql: 'REVERSE(%(0)s)', mysql: 'REVERSE(%(0)s)', sqlite: 'spool_reverse(%(0)s)' } });
 * ```
 */
export class Func<T = unknown> extends Expression<T> {
  readonly kind = 'func' as const;
  readonly args: readonly Expression[];
  /** A built-in function's name (its SQL comes from the backend), or `''` for a user-defined one. */
  readonly builtin: string;
  readonly options: FuncOptions;
  /** What else shapes the SQL of a built-in (the unit of a Trunc, ...). */
  readonly option: string;

  constructor(args: readonly Arg[], options: FuncOptions = {}) {
    super();
    if (!Array.isArray(args)) throw new TypeError('Func(args, options): args must be an array of field names or expressions.');
    if (options === null || typeof options !== 'object') throw new TypeError('Func(args, options): options must be an object.');
    for (const key of Object.keys(options))
      if (key !== 'function' && key !== 'template' && key !== 'outputField')
        throw new TypeError(`Func(): unknown option '${key}'. Valid options: function, template, outputField.`);
    this.args = args.map((a) => toExpression(a, 'Func'));
    this.builtin = '';
    this.option = '';
    this.options = options;
    if (options.function === undefined && options.template === undefined)
      throw new TypeError('Func(): give the SQL function (function: "NAME") or a template.');
    if (options.function !== undefined && !/^[A-Za-z_][A-Za-z0-9_.]*$/.test(options.function))
      throw new TypeError(`Func(): function ${JSON.stringify(options.function)} is not a SQL function name (letters, digits, _ and .).`);
    const templates = typeof options.template === 'object' ? Object.values(options.template) : [options.template];
    for (const t of templates) {
      if (t === undefined) continue;
      if (typeof t !== 'string') throw new TypeError('Func(): a template is a string (or one per vendor).');
      if (t.includes('?'))
        throw new TypeError(
          `Func(): the template ${JSON.stringify(t)} contains '?': values are arguments (Value(...)), not template text.`,
        );
    }
  }

  /** @internal a built-in function. */
  static builtin<T>(name: string, args: readonly Arg[], option = '', outputField?: Field): Func<T> {
    const f = Object.create(Func.prototype) as { -readonly [K in keyof Func<T>]: Func<T>[K] };
    f.kind = 'func';
    f.args = args.map((a) => toExpression(a, name));
    f.builtin = name;
    f.option = option;
    f.options = outputField === undefined ? {} : { outputField };
    return f as unknown as Func<T>;
  }
}

/** A field path, an expression or a number as an expression. */
export function toExpression(a: Arg, fn: string): Expression {
  if (typeof a === 'string') return new FieldRef(a);
  if (typeof a === 'number') {
    if (!Number.isFinite(a)) throw new TypeError(`${fn}() takes finite numbers, got ${a}.`);
    return new Value(a);
  }
  if (Expression.is(a)) return a;
  throw new TypeError(
    `${fn}() takes field names, numbers or expressions (Value(...) for a literal), got ${a === null ? 'null' : typeof a === 'object' ? `a ${(a as object).constructor?.name ?? 'object'}` : typeof a}.`,
  );
}

function atLeast(fn: string, n: number, args: readonly unknown[]): void {
  if (args.length < n) throw new TypeError(`${fn} must take at least ${n === 2 ? 'two' : n} expressions.`);
}

// ---- text ---------------------------------------------------------------------------------------------------

/** Lower case: `LOWER(x)`. */
export function Lower<const A extends TextArg>(expression: A): Func<NullLike<ArgValue<A>, string>> {
  return Func.builtin('Lower', [expression]);
}
/** Upper case: `UPPER(x)`. */
export function Upper<const A extends TextArg>(expression: A): Func<NullLike<ArgValue<A>, string>> {
  return Func.builtin('Upper', [expression]);
}
/** The number of characters (not bytes): `LENGTH(x)`, `CHAR_LENGTH(x)` on MariaDB. */
export function Length<const A extends TextArg>(expression: A): Func<NullLike<ArgValue<A>, number>> {
  return Func.builtin('Length', [expression]);
}
/** Options of `Concat`: a text `outputField` lets it take arguments of other types (numbers, dates). */
export interface ConcatOptions {
  readonly outputField: Field;
}

/**
 * The texts one after the other; a NULL counts as empty text (as Django: never NULL). Arguments of
 * other types need a text output type, as in Django (`output_field=CharField()`):
 * `Concat('name', new Value(' '), 'age', { outputField: new TextField() })`; each database writes
 * the number (or date) as its text, as with Django.
 */
export function Concat(...expressions: TextArg[]): Func<string>;
export function Concat(...args: [...expressions: Arg[], options: ConcatOptions]): Func<string>;
export function Concat(...args: unknown[]): Func<string> {
  const last = args[args.length - 1];
  let outputField: Field | undefined;
  if (last !== null && typeof last === 'object' && !Expression.is(last)) {
    const o = last as Partial<ConcatOptions>;
    for (const key of Object.keys(o))
      if (key !== 'outputField') throw new TypeError(`Concat(): unknown option '${key}'. Valid options: outputField.`);
    outputField = o.outputField;
    if (outputField === undefined || outputField === null || typeof outputField !== 'object' || outputField.lookupKind !== 'text')
      throw new TypeError('Concat(): outputField must be a text field (new CharField(), new TextField()).');
    args = args.slice(0, -1);
  }
  atLeast('Concat', 2, args);
  return Func.builtin('Concat', args as Arg[], '', outputField);
}
/** `length` characters from `pos` (1-based), or the rest: `Substr('name', 1, 3)`. */
export function Substr<const A extends TextArg>(expression: A, pos: NumberArg, length?: NumberArg): Func<NullLike<ArgValue<A>, string>> {
  if (typeof pos === 'number' && pos <= 0) throw new RangeError("Substr: 'pos' must be greater than 0.");
  return Func.builtin('Substr', length === undefined ? [expression, pos] : [expression, pos, length]);
}
/** Without leading and trailing spaces. */
export function Trim<const A extends TextArg>(expression: A): Func<NullLike<ArgValue<A>, string>> {
  return Func.builtin('Trim', [expression]);
}
/** Without leading spaces. */
export function LTrim<const A extends TextArg>(expression: A): Func<NullLike<ArgValue<A>, string>> {
  return Func.builtin('LTrim', [expression]);
}
/** Without trailing spaces. */
export function RTrim<const A extends TextArg>(expression: A): Func<NullLike<ArgValue<A>, string>> {
  return Func.builtin('RTrim', [expression]);
}
/** Every `text` replaced by `replacement` (empty text by default): `Replace('name', Value('Ann'), Value('Anne'))`. */
export function Replace<const A extends TextArg>(
  expression: A,
  text: TextArg,
  replacement: TextArg = new Value(''),
): Func<NullLike<ArgValue<A>, string>> {
  return Func.builtin('Replace', [expression, text, replacement]);
}
/** The first `length` characters. */
export function Left<const A extends TextArg>(expression: A, length: NumberArg): Func<NullLike<ArgValue<A>, string>> {
  if (typeof length === 'number' && length <= 0) throw new RangeError("Left: 'length' must be greater than 0.");
  return Func.builtin('Left', [expression, length]);
}
/** The last `length` characters. */
export function Right<const A extends TextArg>(expression: A, length: NumberArg): Func<NullLike<ArgValue<A>, string>> {
  if (typeof length === 'number' && length <= 0) throw new RangeError("Right: 'length' must be greater than 0.");
  return Func.builtin('Right', [expression, length]);
}
/** The 1-based position of `substring` in `expression`, 0 when absent (case-sensitive but on MariaDB's default collations). */
export function StrIndex<const A extends TextArg>(expression: A, substring: TextArg): Func<NullLike<ArgValue<A>, number>> {
  return Func.builtin('StrIndex', [expression, substring]);
}

// ---- null handling -------------------------------------------------------------------------------------------

type ArgValues<As extends readonly unknown[]> = { [K in keyof As]: ArgValue<As[K]> };

/** The first argument that is not NULL: `Coalesce('nickname', 'name')`. Arguments of one type. */
export function Coalesce<const As extends readonly Arg[]>(...expressions: As): Func<Coalesced<ArgValues<As>>> {
  atLeast('Coalesce', 2, expressions);
  return Func.builtin('Coalesce', expressions);
}
/** NULL when both are equal, else the first. */
export function NullIf<const A extends Arg>(expression1: A, expression2: Arg): Func<ArgValue<A> | null> {
  return Func.builtin('NullIf', [expression1, expression2]);
}
/**
 * The largest argument. With a NULL argument: the largest of the others on PostgreSQL, NULL on
 * MariaDB and SQLite (as in Django).
 */
export function Greatest<const As extends readonly Arg[]>(...expressions: As): Func<ArgValues<As>[number] | null> {
  atLeast('Greatest', 2, expressions);
  return Func.builtin('Greatest', expressions);
}
/** The smallest argument; NULLs as in `Greatest`. */
export function Least<const As extends readonly Arg[]>(...expressions: As): Func<ArgValues<As>[number] | null> {
  atLeast('Least', 2, expressions);
  return Func.builtin('Least', expressions);
}

// ---- math -------------------------------------------------------------------------------------------------------

/** The absolute value, typed as its argument. */
export function Abs<const A extends NumberArg>(expression: A): Func<ArgValue<A>> {
  return Func.builtin('Abs', [expression]);
}
/**
 * Rounded to an integer value (typed as its argument). Halves round away from zero, except floats on
 * PostgreSQL, which round them to even (as in Django).
 */
export function Round<const A extends NumberArg>(expression: A): Func<ArgValue<A>> {
  return Func.builtin('Round', [expression]);
}
/** The smallest integer value not less than the argument (typed as it). */
export function Ceil<const A extends NumberArg>(expression: A): Func<ArgValue<A>> {
  return Func.builtin('Ceil', [expression]);
}
/** The largest integer value not greater than the argument (typed as it). */
export function Floor<const A extends NumberArg>(expression: A): Func<ArgValue<A>> {
  return Func.builtin('Floor', [expression]);
}
/** The remainder of `x / y` (a float, or a decimal when one argument is one, as in Django). */
export function Mod<const A extends NumberArg, const B extends NumberArg>(x: A, y: B): Func<Numeric<[ArgValue<A>, ArgValue<B>]>> {
  return Func.builtin('Mod', [x, y]);
}
/** `x` to the power `y` (a float, or a decimal when one argument is one, as in Django). */
export function Power<const A extends NumberArg, const B extends NumberArg>(x: A, y: B): Func<Numeric<[ArgValue<A>, ArgValue<B>]>> {
  return Func.builtin('Power', [x, y]);
}

// ---- types ------------------------------------------------------------------------------------------------------

/**
 * The value converted to the type of `outputField` (`CAST`): `Cast('pages', new FloatField())`,
 * `Cast('created', new DateField())` (the date in UTC).
 */
export function Cast<const A extends Arg, Fd extends Field>(
  expression: A,
  outputField: Fd,
): Func<NullLike<ArgValue<A>, NonNullable<OutputValue<Fd>>>> {
  if (outputField === null || typeof outputField !== 'object' || typeof (outputField as Field).lookupKind !== 'string')
    throw new TypeError('Cast(expression, outputField): outputField must be a field (new FloatField(), ...).');
  return Func.builtin('Cast', [expression], '', outputField);
}

// ---- dates --------------------------------------------------------------------------------------------------------

/** The parts `Extract` knows (Django's `lookup_name`s). */
export type DatePart =
  'year' | 'iso_year' | 'quarter' | 'month' | 'week' | 'day' | 'week_day' | 'iso_week_day' | 'hour' | 'minute' | 'second';
const DATE_PARTS = new Set<string>(['year', 'iso_year', 'quarter', 'month', 'week', 'day', 'week_day', 'iso_week_day']);
const TIME_PARTS = new Set<string>(['hour', 'minute', 'second']);

/**
 * A part of a date or an instant (in UTC), as an integer: `Extract('published', 'year')`. `week_day`
 * is 1 (Sunday) to 7, `iso_week_day` 1 (Monday) to 7, `week` the ISO-8601 week number.
 */
export function Extract<const A extends DateArg>(expression: A, part: DatePart): Func<NullLike<ArgValue<A>, number>> {
  if (!DATE_PARTS.has(part) && !TIME_PARTS.has(part))
    throw new TypeError(`Extract(): unknown part ${JSON.stringify(part)}. Parts: ${[...DATE_PARTS, ...TIME_PARTS].join(', ')}.`);
  return Func.builtin('Extract', [expression], part);
}
const extract =
  (part: DatePart) =>
  <const A extends DateArg>(expression: A): Func<NullLike<ArgValue<A>, number>> =>
    Extract(expression, part);
/** The year (in UTC). */
export const ExtractYear = extract('year');
/** The ISO-8601 week-numbering year. */
export const ExtractIsoYear = extract('iso_year');
/** The quarter, 1 to 4. */
export const ExtractQuarter = extract('quarter');
/** The month, 1 to 12. */
export const ExtractMonth = extract('month');
/** The ISO-8601 week number, 1 to 53. */
export const ExtractWeek = extract('week');
/** The day of the month. */
export const ExtractDay = extract('day');
/** The day of the week, 1 (Sunday) to 7 (Saturday). */
export const ExtractWeekDay = extract('week_day');
/** The ISO-8601 day of the week, 1 (Monday) to 7 (Sunday). */
export const ExtractIsoWeekDay = extract('iso_week_day');
/** The hour (in UTC) of an instant. */
export const ExtractHour = extract('hour');
/** The minute of an instant. */
export const ExtractMinute = extract('minute');
/** The second of an instant (whole seconds). */
export const ExtractSecond = extract('second');

/** The units `Trunc` knows. */
export type TruncUnit = 'year' | 'quarter' | 'month' | 'week' | 'day' | 'hour' | 'minute' | 'second';
const TRUNC_UNITS = new Set<string>(['year', 'quarter', 'month', 'week', 'day', 'hour', 'minute', 'second']);

/**
 * A date or instant truncated (in UTC) to the start of its `unit`: `Trunc('published', 'month')` is
 * the first of the month. Typed as its argument (a date stays a date); `week` starts on Monday.
 */
export function Trunc<const A extends DateArg>(expression: A, unit: TruncUnit): Func<ArgValue<A>> {
  if (!TRUNC_UNITS.has(unit)) throw new TypeError(`Trunc(): unknown unit ${JSON.stringify(unit)}. Units: ${[...TRUNC_UNITS].join(', ')}.`);
  return Func.builtin('Trunc', [expression], unit);
}
const trunc =
  (unit: TruncUnit) =>
  <const A extends DateArg>(expression: A): Func<ArgValue<A>> =>
    Trunc(expression, unit);
/** January 1st of the year. */
export const TruncYear = trunc('year');
/** The first day of the quarter. */
export const TruncQuarter = trunc('quarter');
/** The first day of the month. */
export const TruncMonth = trunc('month');
/** The Monday of the ISO week. */
export const TruncWeek = trunc('week');
/** Midnight (UTC) of the day. */
export const TruncDay = trunc('day');
/** The start of the hour. */
export const TruncHour = trunc('hour');
/** The start of the minute. */
export const TruncMinute = trunc('minute');
/** The start of the second. */
export const TruncSecond = trunc('second');
/** The date (in UTC) of an instant: a `YYYY-MM-DD` string. */
export function TruncDate<const A extends DateArg>(expression: A): Func<NullLike<ArgValue<A>, string>> {
  return Func.builtin('TruncDate', [expression]);
}

/** The current instant, from the database (the statement's start on PostgreSQL). */
export function Now(): Func<Date> {
  return Func.builtin('Now', []);
}

// ---- conditions ----------------------------------------------------------------------------------------------------

/**
 * A boolean expression as a condition (Django's `conditional` expressions): `Exists(...)` (or its
 * `.not()`), a `Case` or `Func` of boolean output, a boolean `Value`. Its type is checked again when
 * the query resolves it (a `Func` of unknown output type may be anything).
 */
export type BooleanExpression = Expression<boolean> | Expression<boolean | null>;

/** What `When()` takes as its condition: a Q, an object of lookups, or a boolean expression. */
export type WhenCondition = QNode<never> | QNode<unknown> | Readonly<Record<string, unknown>> | BooleanExpression;

/** One branch of a `Case` (see `When()`): when `condition` (a Q, lookups or a boolean expression) holds, `then`. */
export class WhenBranch<T = unknown> {
  declare readonly __type: T;
  readonly condition: QNode<unknown>;
  readonly then: Expression;
  constructor(condition: WhenCondition, then: Arg) {
    if (QNode.is(condition)) {
      // Django: "An empty Q() can't be used as a When() condition."
      if ((condition as QNode<unknown>).empty)
        throw new TypeError("When(): an empty Q() can't be used as a condition (it matches every row).");
      this.condition = condition as QNode<unknown>;
    } else if (Expression.is(condition)) {
      // Django's When accepts an expression whose output is a boolean (`conditional`); a field reference is not one.
      if (!isConditional(condition))
        throw new TypeError(
          `When() supports a Q object, a boolean expression (Exists(...)), or lookups as a condition, got ${describeExpression(condition)}.`,
        );
      this.condition = new QNode('AND', false, [condition as unknown as BooleanExpression & { readonly __type: boolean }]);
    } else if (condition !== null && typeof condition === 'object') {
      if (Object.keys(condition).length === 0) throw new TypeError('When() takes a Q or lookups: an empty condition matches every row.');
      this.condition = new QNode('AND', false, Object.entries(condition));
    } else
      throw new TypeError(
        'When(condition, then): condition must be a Q, an object of lookups ({ pages__gt: 300 }) or a boolean expression (Exists(...)).',
      );
    this.then = toExpression(then, 'When');
  }
}

/** Can `e` be a condition (before resolving: a known non-boolean output is refused)? */
function isConditional(e: Expression): boolean {
  const x = e as Expression & { outputField?: Field; options?: FuncOptions; builtin?: string; value?: unknown };
  switch (e.kind) {
    case 'exists':
      return true;
    case 'ref':
    case 'outerref':
    case 'combined':
    case 'aggregate':
    case 'window':
    case 'winfn':
      return false;
    case 'value':
      return x.outputField !== undefined ? x.outputField.lookupKind === 'boolean' : typeof x.value === 'boolean';
    case 'case':
    case 'wrapper':
      return x.outputField === undefined || x.outputField.lookupKind === 'boolean';
    case 'func': {
      const out = x.options?.outputField;
      if (out !== undefined) return out.lookupKind === 'boolean';
      return x.builtin === '' || x.builtin === 'Coalesce' || x.builtin === 'NullIf' || x.builtin === 'Cast';
    }
    default:
      return true;
  }
}

function describeExpression(e: Expression): string {
  return e.kind === 'ref' ? `F('${(e as FieldRef).name}') (compare it: { ${(e as FieldRef).name}: true })` : `a ${e.constructor.name}`;
}

/**
 * A branch of a `Case`: `When({ pages__gt: 300 }, Value('long'))` (a string `then` is a field path,
 * as in Django). The condition is a `Q`, an object of lookups, or a boolean expression:
 * `When(Exists(Book.objects.filter({ author: OuterRef('pk') })), Value('author'))`.
 */
export function When<const A extends Arg>(condition: WhenCondition, then: A): WhenBranch<ArgValue<A>> {
  return new WhenBranch(condition, then);
}

/** The value types of `Case` branches. */
type WhenValues<Ws extends readonly WhenBranch[]> = { [K in keyof Ws]: Ws[K] extends WhenBranch<infer T> ? T : never }[number];

/**
 * A `Case` expression (see `Case()`): the `then` of the first `When` whose condition holds, else `default` (NULL without one):
 * `Case(When({ pages__gte: 300 }, Value('long')), When({ pages__gte: 100 }, Value('medium')), { default: Value('short') })`.
 * The branches have one type (Django's mixed-types `FieldError` otherwise; `outputField` to say it).
 */
export class CaseExpression<T = unknown> extends Expression<T> {
  readonly kind = 'case' as const;
  readonly whens: readonly WhenBranch[];
  readonly otherwise: Expression | undefined;
  readonly outputField: Field | undefined;
  constructor(whens: readonly WhenBranch[], options: { default?: Arg; outputField?: Field } = {}) {
    super();
    if (!Array.isArray(whens) || whens.some((w) => !(w instanceof WhenBranch)))
      throw new TypeError('Case() takes When(...) branches: Case(When({ pages__gt: 300 }, Value(1)), { default: Value(0) }).');
    for (const key of Object.keys(options))
      if (key !== 'default' && key !== 'outputField')
        throw new TypeError(`Case(): unknown option '${key}'. Valid options: default, outputField.`);
    this.whens = whens;
    this.otherwise = options.default === undefined ? undefined : toExpression(options.default, 'Case');
    this.outputField = options.outputField;
  }
}

/** `Case(When(...), When(...), { default })`: see `CaseExpression`. Without a default, NULL when no branch holds; without a When, the default (as Django). */
export function Case<const Ws extends readonly WhenBranch[]>(...whens: Ws): CaseExpression<WhenValues<Ws> | null>;
export function Case<const Ws extends readonly WhenBranch[], const D extends Arg>(
  ...args: [...whens: Ws, options: { default: D; outputField?: Field }]
): CaseExpression<WhenValues<Ws> | ArgValue<D>>;
export function Case<const Ws extends readonly WhenBranch[]>(
  ...args: [...whens: Ws, options: { default?: undefined; outputField?: Field }]
): CaseExpression<WhenValues<Ws> | null>;
export function Case(...args: unknown[]): CaseExpression {
  const last = args[args.length - 1];
  const options = last !== undefined && !(last instanceof WhenBranch) ? (last as { default?: Arg; outputField?: Field }) : undefined;
  const whens = (options === undefined ? args : args.slice(0, -1)) as WhenBranch[];
  return new CaseExpression(whens, options ?? {});
}
