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

export type ArithmeticOperator = '+' | '-' | '*' | '/' | '%';

/** Something the database evaluates. `T` is the (phantom) type of its value. */
export abstract class Expression<T = unknown> {
  /** Phantom: the type of the value (type-level only; it carries `T` for inference). */
  declare readonly __type: T;
  abstract readonly kind: 'ref' | 'value' | 'combined' | 'aggregate';

  static is(v: unknown): v is Expression {
    return v instanceof Expression || hasBrand(v, EXPRESSION_BRAND);
  }

  /** `this + other` */
  add(other: Expression | number): Expression<number> {
    return new CombinedExpression(this, '+', wrap(other));
  }
  /** `this - other` */
  sub(other: Expression | number): Expression<number> {
    return new CombinedExpression(this, '-', wrap(other));
  }
  /** `this * other` */
  mul(other: Expression | number): Expression<number> {
    return new CombinedExpression(this, '*', wrap(other));
  }
  /** `this / other` */
  div(other: Expression | number): Expression<number> {
    return new CombinedExpression(this, '/', wrap(other));
  }
  /** `this % other` */
  mod(other: Expression | number): Expression<number> {
    return new CombinedExpression(this, '%', wrap(other));
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

/** A reference to a field, possibly across relations: `F('author__name')`. */
export class FieldRef extends Expression {
  readonly kind = 'ref' as const;
  constructor(readonly name: string) {
    super();
    if (typeof name !== 'string' || name === '') throw new TypeError(`F() takes a field name, got ${JSON.stringify(name)}.`);
  }
}

/** Refer to a field of the model being queried (Django's `F`). */
export function F(name: string): FieldRef {
  return new FieldRef(name);
}

/** A literal value bound as a parameter. */
export class Value<T = unknown> extends Expression<T> {
  readonly kind = 'value' as const;
  constructor(readonly value: T) {
    super();
  }
}

/** `lhs op rhs`. */
export class CombinedExpression extends Expression<number> {
  readonly kind = 'combined' as const;
  constructor(
    readonly lhs: Expression,
    readonly operator: ArithmeticOperator,
    readonly rhs: Expression,
  ) {
    super();
  }
}

export type AggregateFunction = 'COUNT' | 'SUM' | 'AVG' | 'MIN' | 'MAX';

/** An aggregate over the rows of a group. */
export class Aggregate<T = unknown> extends Expression<T> {
  readonly kind = 'aggregate' as const;
  constructor(
    readonly fn: AggregateFunction,
    /** The field path or expression aggregated; `'*'` for `COUNT(*)`. */
    readonly source: string | Expression,
    readonly distinct = false,
  ) {
    super();
    if (typeof source === 'string' && source === '') throw new TypeError(`${fn}() takes a field name or an expression.`);
    if (source === '*' && fn !== 'COUNT') throw new TypeError(`Only Count() accepts '*'.`);
  }
}

/** The number of rows (or of distinct values): `Count('books')`, `Count('books', { distinct: true })`, `Count('*')`. */
export function Count(source: string | Expression, options: { distinct?: boolean } = {}): Aggregate<number> {
  return new Aggregate<number>('COUNT', source, options.distinct ?? false);
}
/** The sum of a numeric field; null over no rows. */
export function Sum<T = number | null>(source: string | Expression, options: { distinct?: boolean } = {}): Aggregate<NoInfer<T>> {
  return new Aggregate<T>('SUM', source, options.distinct ?? false);
}
/** The average of a numeric field; null over no rows. */
export function Avg<T = number | null>(source: string | Expression, options: { distinct?: boolean } = {}): Aggregate<NoInfer<T>> {
  return new Aggregate<T>('AVG', source, options.distinct ?? false);
}
/** The smallest value; give the type for non-numbers: `Min<Date | null>('published')`. */
export function Min<T = number | null>(source: string | Expression): Aggregate<NoInfer<T>> {
  return new Aggregate<T>('MIN', source);
}
/** The largest value; give the type for non-numbers: `Max<Date | null>('published')`. */
export function Max<T = number | null>(source: string | Expression): Aggregate<NoInfer<T>> {
  return new Aggregate<T>('MAX', source);
}

/** An ordering term built from an expression. */
export class OrderBy {
  constructor(
    readonly expression: Expression,
    readonly descending: boolean,
    readonly options: { nullsFirst?: boolean; nullsLast?: boolean } = {},
  ) {}
}
