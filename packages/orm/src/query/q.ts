/**
 * `Q` objects: filters combined with AND, OR and NOT (Django's `Q`, with methods for `&`, `|`
 * and `~`). Give the model's instance type for typed keys: `Q<Book>({ title__icontains: 'x' })`.
 *
 * ### Examples
 * ```ts
 * await Book.objects.filter(Q<Book>({ title__startswith: 'A' }).or({ pages__lt: 100 }).and(Q.not({ authorId: 3 })));
 * ```
 * The generated SQL (PostgreSQL): `... where (("book"."title" LIKE $1 or "book"."pages" < $2) and not ("book"."authorId" = $3))`.
 */
import { EXPRESSION_BRAND, Q_BRAND, hasBrand } from '../brand';
import type { FilterOf } from '../types';

/** A condition expression (`Exists(...)`), as a filter of its own: structural, to keep this module free of expressions.ts. */
export interface ConditionExpression {
  readonly __type: boolean;
}

/** The lookups a Q accepts: typed for a model instance `I`, open otherwise. */
export type QFilter<I> = unknown extends I ? Record<string, unknown> : FilterOf<I>;

export type QChild = QNode<unknown> | readonly [string, unknown] | ConditionExpression;

/** A tree of filters. */
export class QNode<I = unknown> {
  constructor(
    readonly connector: 'AND' | 'OR',
    readonly negated: boolean,
    readonly children: readonly QChild[],
  ) {}

  static is(v: unknown): v is QNode<unknown> {
    return v instanceof QNode || hasBrand(v, Q_BRAND);
  }

  /**
   * `this AND other` (Django's `&`). The arguments are checked when the query is built; for typed
   * keys pass `Q<Model>(...)` objects or use `Q.and<Model>(...)`.
   */
  and(...others: Array<QNode<unknown> | Record<string, unknown> | ConditionExpression>): QNode<I> {
    return combine<I>('AND', [this as QNode<I>, ...others.map((o) => toQ<I>(o as QFilter<I>))]);
  }

  /** `this OR other` (Django's `|`); see `and()` about typing. */
  or(...others: Array<QNode<unknown> | Record<string, unknown> | ConditionExpression>): QNode<I> {
    return combine<I>('OR', [this as QNode<I>, ...others.map((o) => toQ<I>(o as QFilter<I>))]);
  }

  /**
   * `NOT this` (Django's `~`). Negating a negated node nests it (`NOT (NOT (...))`) rather than
   * cancelling the two, as Django's `~~Q(...)` does: a lookup under any negation keeps Django's
   * negated-branch rules (a multi-valued relation is tested in a subquery, never joined), so
   * `Q.not(Q.not({ books__pages__gt: 300 }))` is not the same query as `{ books__pages__gt: 300 }`.
   */
  not(): QNode<I> {
    if (this.negated) return new QNode<I>('AND', true, [this as QNode<unknown>]);
    return new QNode<I>(this.connector, true, this.children);
  }

  /** Is the tree empty (no condition)? */
  get empty(): boolean {
    return this.children.length === 0;
  }
}
Object.defineProperty(QNode.prototype, Q_BRAND, { value: true });

function toQ<I>(v: QNode<I> | QFilter<I> | ConditionExpression): QNode<I> {
  if (QNode.is(v)) return v as QNode<I>;
  if (hasBrand(v, EXPRESSION_BRAND)) return new QNode<I>('AND', false, [v as ConditionExpression]);
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw new TypeError(
      `Q() takes an object of lookups or another Q, got ${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v}.`,
    );
  return new QNode<I>(
    'AND',
    false,
    Object.entries(v as Record<string, unknown>).map(([k, val]) => [k, val] as const),
  );
}

function combine<I>(connector: 'AND' | 'OR', nodes: QNode<I>[]): QNode<I> {
  const children: QChild[] = [];
  for (const n of nodes) {
    if (n.empty) continue;
    // Flatten same-connector, non-negated children (as Django's Node.add squashes them).
    if (n.connector === connector && !n.negated) children.push(...n.children);
    else children.push(n as QNode<unknown>);
  }
  return new QNode<I>(connector, false, children);
}

/** Build a Q from lookups: `Q<Book>({ title: 'x' })`. */
export function Q<I = unknown>(filter?: NoInfer<QFilter<I> | QNode<I>>): QNode<I>;
/** A condition expression as a Q: `Q(Exists(...))`, to combine with others. */
export function Q<I = unknown>(filter: ConditionExpression): QNode<I>;
export function Q<I = unknown>(filter: QFilter<I> | QNode<I> | ConditionExpression = {} as QFilter<I>): QNode<I> {
  return toQ<I>(filter);
}
/** NOT of lookups: `Q.not({ title: 'x' })`. */
function not<I = unknown>(filter: NoInfer<QFilter<I> | QNode<I>>): QNode<I>;
function not<I = unknown>(filter: ConditionExpression): QNode<I>;
function not<I = unknown>(filter: QFilter<I> | QNode<I> | ConditionExpression): QNode<I> {
  return toQ<I>(filter).not();
}
/** NOT of lookups or of a condition: `Q.not({ title: 'x' })`, `Q.not(Exists(...))` (Django's `~`). */
Q.not = not;
/** OR of several filters. */
Q.or = function or<I = unknown>(...filters: Array<NoInfer<QFilter<I> | QNode<I>>>): QNode<I> {
  return combine<I>(
    'OR',
    filters.map((f) => toQ<I>(f)),
  );
};
/** AND of several filters. */
Q.and = function and<I = unknown>(...filters: Array<NoInfer<QFilter<I> | QNode<I>>>): QNode<I> {
  return combine<I>(
    'AND',
    filters.map((f) => toQ<I>(f)),
  );
};
Q.is = QNode.is;

export type Q<I = unknown> = QNode<I>;
