/**
 * Expressions evaluated by the database: field references (`F`), literal values (`Value`),
 * arithmetic (`F('price').mul(F('quantity'))`) and aggregates (`Count`, `Sum`, `Avg`, `Min`,
 * `Max`). They are descriptions: the query resolves names against the model (raising
 * `FieldError` for unknown ones, before any SQL is built) and the compiler turns them into SQL.
 *
 * ### Examples
 * ```ts
 * await Book.objects.filter({ pages__gt: F('chapters').mul(10) });
 * await Book.objects.filter({ id: book.id }).update({ stock: F('stock').sub(1) });
 * await Author.objects.annotate({ nBooks: Count('books') }).filter({ nBooks__gte: 2 });
 * ```
 * The generated SQL (PostgreSQL) of the second: `update "book" set "stock" = "book"."stock" - $1 where "book"."id" = $2`.
 */
import { EXPRESSION_BRAND, hasBrand } from '../brand';
import type { Field } from '../fields/field';
import type { ScalarSpec, SpecOf } from '../types';
import { QNode } from './q';

export type ArithmeticOperator = '+' | '-' | '*' | '/' | '%';

/** The phantom key of `Combined` (type only; no runtime property). */
export declare const COMBINED: unique symbol;
/**
 * The value of `l op r` (type only), resolved against the model by `annotate()`, `values()` and
 * `aggregate()` as the database computes it (`combinedOutput`): a decimal string when either
 * operand is a decimal (`F('price').mul(2)` over a `DecimalField`), a bigint when either is a
 * bigint and none is a decimal or float (`F('big').add(1)`), else a number; null when either
 * operand may be null.
 */
export interface Combined<L, R> {
  readonly [COMBINED]: [L, R];
}

/** Something the database evaluates. `T` is the (phantom) type of its value. */
export abstract class Expression<T = unknown> {
  /** Phantom: the type of the value (type-level only; it carries `T` for inference). */
  declare readonly __type: T;
  abstract readonly kind:
    | 'ref'
    | 'value'
    | 'combined'
    | 'aggregate'
    | 'wrapper'
    | 'func'
    | 'case'
    // subquery-expressions.ts
    | 'outerref'
    | 'subquery'
    | 'exists'
    // window-expressions.ts
    | 'window'
    | 'winfn'
    // a key of a JSON document (KeyTransform, KeyTextTransform)
    | 'jsonkey';

  static is(v: unknown): v is Expression {
    return v instanceof Expression || hasBrand(v, EXPRESSION_BRAND);
  }

  /** `this + other`, typed as computed: a decimal string over a decimal, a bigint over a bigint, else a number (`Combined`). */
  add<const O extends Expression | number>(other: O): Expression<Combined<this, O>> {
    return new CombinedExpression<Combined<this, O>>(this, '+', wrap(other));
  }
  /** `this - other` (typed as `add()`). */
  sub<const O extends Expression | number>(other: O): Expression<Combined<this, O>> {
    return new CombinedExpression<Combined<this, O>>(this, '-', wrap(other));
  }
  /** `this * other` (typed as `add()`). */
  mul<const O extends Expression | number>(other: O): Expression<Combined<this, O>> {
    return new CombinedExpression<Combined<this, O>>(this, '*', wrap(other));
  }
  /** `this / other` (typed as `add()`; integer ÷ integer is an integer division). */
  div<const O extends Expression | number>(other: O): Expression<Combined<this, O>> {
    return new CombinedExpression<Combined<this, O>>(this, '/', wrap(other));
  }
  /** `this % other` (typed as `add()`). */
  mod<const O extends Expression | number>(other: O): Expression<Combined<this, O>> {
    return new CombinedExpression<Combined<this, O>>(this, '%', wrap(other));
  }
  /** Ascending order on this expression (`orderBy(F('x').asc())`). */
  asc(options: { nullsFirst?: boolean; nullsLast?: boolean } = {}): OrderBy {
    return new OrderBy(this, false, options);
  }
  /** Descending order on this expression. */
  desc(options: { nullsFirst?: boolean; nullsLast?: boolean } = {}): OrderBy {
    return new OrderBy(this, true, options);
  }
}
Object.defineProperty(Expression.prototype, EXPRESSION_BRAND, { value: true });

function wrap(v: Expression | number): Expression {
  if (Expression.is(v)) return v;
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw new TypeError(`Arithmetic takes a finite number or an expression, got ${typeof v === 'number' ? String(v) : typeof v}.`);
  return new Value(v);
}

/** The phantom key of `FieldValue` (type only; no runtime property). */
export declare const FIELD_VALUE: unique symbol;
/**
 * The value type of the field at path `P` (type only): `F('pages')` is an `Expression<FieldValue<'pages'>>`,
 * which `annotate()` resolves against the model (`number`).
 */
export interface FieldValue<P extends string> {
  readonly [FIELD_VALUE]: P;
}

/** A reference to a field, possibly across relations: `F('author__name')`. */
export class FieldRef<P extends string = string> extends Expression<FieldValue<P>> {
  readonly kind = 'ref' as const;
  constructor(readonly name: P) {
    super();
    if (typeof name !== 'string' || name === '') throw new TypeError(`F() takes a field name, got ${JSON.stringify(name)}.`);
  }
}

/** A JSON value as a key of a document may hold it (what `KeyTransform` yields). */
export type JSONKeyValue = string | number | boolean | null | readonly JSONKeyValue[] | { readonly [key: string]: JSONKeyValue };

/**
 * A key or array index of a JSON document (Django's `KeyTransform` / `KeyTextTransform`): built
 * by `KeyTransform(key, source)` and `KeyTextTransform(key, source)`, where `source` is a JSON
 * field's name, a key path (`'data__owner'`), `F(...)` of one, or another key transform.
 */
export class KeyTransformExpression<T = JSONKeyValue> extends Expression<T> {
  readonly kind = 'jsonkey' as const;
  readonly source: Expression;
  constructor(
    readonly key: string,
    source: string | Expression,
    /** As text (`KeyTextTransform`: PostgreSQL's `->>`), else as JSON. */
    readonly text: boolean,
  ) {
    super();
    if ((typeof key !== 'string' && typeof key !== 'number') || key === '')
      throw new TypeError(`${text ? 'KeyTextTransform' : 'KeyTransform'}() takes a key (a string or an array index), got ${String(key)}.`);
    this.key = String(key);
    if (typeof source === 'string') this.source = new FieldRef(source);
    else if (Expression.is(source)) this.source = source;
    else throw new TypeError(`${text ? 'KeyTextTransform' : 'KeyTransform'}() takes a JSON field's name or an expression as its source.`);
  }
}

/**
 * The value at `key` of a JSON document, as JSON (Django's `KeyTransform`): `KeyTransform('name',
 * 'data__owner')` is `F('data__owner__name')`. An integer key is an array index.
 */
export function KeyTransform(key: string | number, source: string | Expression): KeyTransformExpression {
  return new KeyTransformExpression(key as string, source, false);
}

/**
 * The value at `key` of a JSON document, as text (Django's `KeyTextTransform`: PostgreSQL's `#>>`),
 * read back as Django reads it: text that parses as JSON is parsed (`'2'` gives `2`), other text
 * stays a string.
 */
export function KeyTextTransform(key: string | number, source: string | Expression): KeyTransformExpression {
  return new KeyTransformExpression(key as string, source, true);
}

/** Refer to a field of the model being queried (Django's `F`). */
export function F<const P extends string>(name: P): FieldRef<P> {
  return new FieldRef(name);
}

/** Options of a `Value`. */
export interface ValueOptions {
  /**
   * The type of the value (Django's `output_field`), when its JavaScript type does not say it: a
   * number is an integer without a fraction and a float with one, so a float 3 is
   * `new Value(3, { outputField: new FloatField() })` and a decimal `new Value('1.5', { outputField:
   * new DecimalField({ maxDigits: 3, decimalPlaces: 1 }) })`.
   */
  readonly outputField?: Field;
}

/** A literal value bound as a parameter. */
export class Value<T = unknown> extends Expression<T> {
  readonly kind = 'value' as const;
  readonly outputField: Field | undefined;
  constructor(
    readonly value: T,
    options: ValueOptions = {},
  ) {
    super();
    if (options === null || typeof options !== 'object') throw new TypeError('Value(value, options): options must be an object.');
    for (const key of Object.keys(options))
      if (key !== 'outputField') throw new TypeError(`Value(): unknown option '${key}'. Valid options: outputField.`);
    this.outputField = options.outputField;
  }
}

/** The value type of a field, nullable (what a computed value of that type reads back as). */
export type OutputValue<Fd> = SpecOf<Fd> extends ScalarSpec ? SpecOf<Fd>['value'] | null : unknown;

/** An expression with a declared output type (Django's `ExpressionWrapper`); see `ExpressionWrapper()`. */
export class WrappedExpression<T = unknown> extends Expression<T> {
  readonly kind = 'wrapper' as const;
  constructor(
    readonly expression: Expression,
    readonly outputField: Field,
  ) {
    super();
  }
}

/**
 * Declare the output type of an expression (Django's `ExpressionWrapper`): its value is read back
 * as that field's type, and arithmetic on it follows that type. The SQL is the expression's own:
 * `ExpressionWrapper(F('pages').div(3), new FloatField())` is still an integer division, read as a
 * float; a mix Django refuses without an output type (decimal × float) is allowed once wrapped.
 *
 * ### Examples
 * ```ts
 * Book.objects.annotate({ x: ExpressionWrapper(F('price').mul(1.5), new DecimalField({ maxDigits: 12, decimalPlaces: 4 })) });
 * ```
 */
export function ExpressionWrapper<Fd extends Field>(expression: Expression, outputField: Fd): WrappedExpression<OutputValue<Fd>> {
  if (!Expression.is(expression)) throw new TypeError('ExpressionWrapper() takes an expression (F(...), arithmetic, an aggregate).');
  if (outputField === null || typeof outputField !== 'object' || typeof (outputField as Field).lookupKind !== 'string')
    throw new TypeError('ExpressionWrapper(expression, outputField): outputField must be a field (new FloatField(), ...).');
  return new WrappedExpression<OutputValue<Fd>>(expression, outputField);
}

/** `lhs op rhs`. */
export class CombinedExpression<T = unknown> extends Expression<T> {
  readonly kind = 'combined' as const;
  constructor(
    readonly lhs: Expression,
    readonly operator: ArithmeticOperator,
    readonly rhs: Expression,
  ) {
    super();
  }
}

export type AggregateFunction = 'COUNT' | 'SUM' | 'AVG' | 'MIN' | 'MAX' | 'STDDEV_POP' | 'STDDEV_SAMP' | 'VAR_POP' | 'VAR_SAMP';

/** Options of an aggregate: `distinct` values only, rows matching `filter` only (Django's `filter=Q(...)`). */
export interface AggregateOptions {
  readonly distinct?: boolean;
  /** Aggregate only the rows matching these lookups: `Count('books', { filter: Q({ books__pages__gt: 300 }) })`. */
  readonly filter?: QNode<never> | QNode<unknown> | Readonly<Record<string, unknown>>;
}

function aggregateOptions(fn: string, options: AggregateOptions): [boolean, QNode<unknown> | undefined] {
  if (options === null || typeof options !== 'object') throw new TypeError(`${fn}(): options must be an object.`);
  for (const key of Object.keys(options))
    if (key !== 'distinct' && key !== 'filter') throw new TypeError(`${fn}(): unknown option '${key}'. Valid options: distinct, filter.`);
  const f = options.filter;
  if (f === undefined || f === null) return [options.distinct ?? false, undefined];
  if (QNode.is(f)) return [options.distinct ?? false, f as QNode<unknown>];
  if (typeof f !== 'object') throw new TypeError(`${fn}(): filter must be a Q or an object of lookups.`);
  return [options.distinct ?? false, new QNode('AND', false, Object.entries(f))];
}

/** The phantom key of `Inferred` (type only; no runtime property). */
export declare const INFERRED: unique symbol;
/**
 * The value type of an aggregate whose type is not given: `annotate()` and `aggregate()` infer it
 * from the aggregated field of the model (`AnnotationTypes`).
 */
export interface Inferred {
  readonly [INFERRED]: true;
}

/**
 * An aggregate over the rows of a group. `T` is its value type (`Inferred` when the query set
 * infers it from the field at `P`), `Fn` the function, `P` the aggregated path.
 */
export class Aggregate<
  T = unknown,
  Fn extends AggregateFunction = AggregateFunction,
  P extends string = string,
  S = never,
> extends Expression<T> {
  readonly kind = 'aggregate' as const;
  /** Phantom: the aggregated path (type-level only). */
  declare readonly __path: P;
  /** Phantom: the value type of the aggregated expression, when not a path (type-level only). */
  declare readonly __source: S;
  constructor(
    readonly fn: Fn,
    /** The field path or expression aggregated; `'*'` for `COUNT(*)`. */
    readonly source: P | Expression,
    readonly distinct = false,
    /** Only the rows matching this condition are aggregated. */
    readonly filter?: QNode<unknown>,
  ) {
    super();
    if (typeof source === 'string' && source === '') throw new TypeError(`${fn}() takes a field name or an expression.`);
    if (source === '*' && fn !== 'COUNT') throw new TypeError(`Only Count() accepts '*'.`);
    // Django: "Star cannot be used with filter. Please specify a field."
    if (source === '*' && filter !== undefined)
      throw new TypeError(`Count('*') cannot take a filter: count a field (Count('id', { filter })).`);
  }
}

/** The number of rows (or of distinct values): `Count('books')`, `Count('books', { distinct: true })`, `Count('*')`. */
export function Count(source: string | Expression, options: AggregateOptions = {}): Aggregate<number, 'COUNT'> {
  return new Aggregate<number, 'COUNT'>('COUNT', source, ...aggregateOptions('Count', options));
}
/**
 * The sum of a numeric field; null over no rows. Typed from the field: a number for integers and
 * floats, a decimal string at the field's places for a `DecimalField` (`Sum('price')` → `'5765.84'`).
 */
export function Sum<T = Inferred, const P extends string = string, S = never>(
  source: P | Expression<S>,
  options: AggregateOptions = {},
): Aggregate<NoInfer<T>, 'SUM', P, S> {
  return new Aggregate<T, 'SUM', P, S>('SUM', source, ...aggregateOptions('Sum', options));
}
/**
 * The average of a numeric field; null over no rows. A number for integers and floats; for a
 * `DecimalField` a decimal string at the database's precision (`'48.0486666666666667'` on PostgreSQL).
 */
export function Avg<T = Inferred, const P extends string = string, S = never>(
  source: P | Expression<S>,
  options: AggregateOptions = {},
): Aggregate<NoInfer<T>, 'AVG', P, S> {
  return new Aggregate<T, 'AVG', P, S>('AVG', source, ...aggregateOptions('Avg', options));
}
/** The smallest value, typed as the field (`Min('published')`); null over no rows. */
export function Min<T = Inferred, const P extends string = string, S = never>(
  source: P | Expression<S>,
  options: Pick<AggregateOptions, 'filter'> = {},
): Aggregate<NoInfer<T>, 'MIN', P, S> {
  return new Aggregate<T, 'MIN', P, S>('MIN', source, false, aggregateOptions('Min', options)[1]);
}
/** The largest value, typed as the field (`Max('published')`); null over no rows. */
export function Max<T = Inferred, const P extends string = string, S = never>(
  source: P | Expression<S>,
  options: Pick<AggregateOptions, 'filter'> = {},
): Aggregate<NoInfer<T>, 'MAX', P, S> {
  return new Aggregate<T, 'MAX', P, S>('MAX', source, false, aggregateOptions('Max', options)[1]);
}
/**
 * The standard deviation (population; `{ sample: true }` for the sample's); null over no rows. A
 * number for integers and floats, a decimal string for a `DecimalField`. SQLite has no such
 * aggregate: Spool registers one on its connections, as Django does.
 */
export function StdDev<T = number | null>(
  source: string | Expression,
  options: Pick<AggregateOptions, 'filter'> & { readonly sample?: boolean } = {},
): Aggregate<NoInfer<T>, 'STDDEV_POP' | 'STDDEV_SAMP'> {
  const { sample, ...rest } = options ?? {};
  const fn = sample ? 'STDDEV_SAMP' : 'STDDEV_POP';
  return new Aggregate<T, 'STDDEV_POP' | 'STDDEV_SAMP'>(fn, source, false, aggregateOptions('StdDev', rest)[1]);
}
/** The variance (population; `{ sample: true }` for the sample's); null over no rows. See `StdDev`. */
export function Variance<T = number | null>(
  source: string | Expression,
  options: Pick<AggregateOptions, 'filter'> & { readonly sample?: boolean } = {},
): Aggregate<NoInfer<T>, 'VAR_POP' | 'VAR_SAMP'> {
  const { sample, ...rest } = options ?? {};
  const fn = sample ? 'VAR_SAMP' : 'VAR_POP';
  return new Aggregate<T, 'VAR_POP' | 'VAR_SAMP'>(fn, source, false, aggregateOptions('Variance', rest)[1]);
}

/** An ordering term built from an expression. */
export class OrderBy {
  constructor(
    readonly expression: Expression,
    readonly descending: boolean,
    readonly options: { nullsFirst?: boolean; nullsLast?: boolean } = {},
  ) {}
}
