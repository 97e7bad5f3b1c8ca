/**
 * Subqueries in expressions (Django's `Subquery`, `Exists` and `OuterRef`): a query set used as a
 * value of each row (`Subquery`), as a condition (`Exists`), referring to the row of the
 * enclosing query with `OuterRef`. The enclosing query relabels the subquery's aliases (`U0`,
 * `U1`, ...) and resolves its outer references when it embeds it (`Query.embed`): one SQL statement.
 *
 * ### Examples
 * ```ts
 * const newest = Book.objects.filter({ author: OuterRef('pk') }).orderBy('-published');
 * await Author.objects.annotate({ newestTitle: Subquery(newest.values('title').slice(0, 1)) });
 * await Author.objects.filter(Exists(Book.objects.filter({ author: OuterRef('pk'), pages__gt: 300 })));
 * await Author.objects.filter(Exists(Book.objects.filter({ author: OuterRef('pk') })).not());
 * ```
 * The SQL of the first (PostgreSQL): `select "orm_author".*, (select "U0"."title" from "orm_book" as "U0"
 * where "U0"."author_id" = "orm_author"."id" order by "U0"."published" desc limit 1) as "newestTitle" from "orm_author"`.
 */
import { QUERYSET_BRAND, hasBrand } from '../brand';
import { Expression } from './expressions';

/** A query set as the SQL it stands for (QuerySet is not imported here: it imports this module). */
type SubquerySource<R> = PromiseLike<R[]>;

/** The value of a one-column row: `values('x')` → x, `valuesList('x', { flat: true })` → x, a tuple → its first. */
export type SubqueryValue<R> = R extends readonly [infer V, ...unknown[]] ? V : R extends object ? R[keyof R] : R;

function checkSource(fn: string, qs: unknown): void {
  if (!hasBrand(qs, QUERYSET_BRAND)) throw new TypeError(`${fn}() takes a query set (Book.objects.filter(...)), got ${describeValue(qs)}.`);
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? `a ${(v as object).constructor?.name ?? 'object'}` : typeof v;
}

/** A reference to a field of the enclosing query's row, from inside a subquery (Django's `OuterRef`). */
export class OuterRefExpression extends Expression {
  readonly kind = 'outerref' as const;
  constructor(
    /** The field path, or the reference one more level out (`OuterRef(OuterRef('pk'))`). */
    readonly ref: string | OuterRefExpression,
  ) {
    super();
    if (!(typeof ref === 'string' && ref !== '') && !(ref instanceof OuterRefExpression))
      throw new TypeError(`OuterRef() takes a field name (or another OuterRef), got ${describeValue(ref)}.`);
  }
  /** The field path and how many queries out it is. */
  get target(): { name: string; depth: number } {
    let depth = 1;
    let r: string | OuterRefExpression = this.ref;
    while (typeof r !== 'string') {
      depth += 1;
      r = r.ref;
    }
    return { name: r, depth };
  }
}

/** Refer to the enclosing query's row: `Book.objects.filter({ author: OuterRef('pk') })`. */
export function OuterRef(name: string | OuterRefExpression): OuterRefExpression {
  return new OuterRefExpression(name);
}

/** A query set's one value for each row (`(SELECT ... LIMIT 1)`); see `Subquery()`. */
export class SubqueryExpression<T = unknown> extends Expression<T> {
  readonly kind = 'subquery' as const;
  constructor(readonly queryset: unknown) {
    super();
    checkSource('Subquery', queryset);
  }
}

/**
 * The value of a one-column query set for each row (Django's `Subquery`); null when it has no
 * row. Typed as the selected column: `Subquery(qs.values('title').slice(0, 1))` is `string | null`.
 */
export function Subquery<R>(queryset: SubquerySource<R>): SubqueryExpression<SubqueryValue<R> | null> {
  return new SubqueryExpression<SubqueryValue<R> | null>(queryset);
}

/** `EXISTS (SELECT 1 ...)`: a boolean; see `Exists()`. */
export class ExistsExpression extends Expression<boolean> {
  readonly kind = 'exists' as const;
  constructor(
    readonly queryset: unknown,
    readonly negated = false,
  ) {
    super();
    checkSource('Exists', queryset);
  }
  /** `NOT EXISTS (...)` (Django's `~Exists(...)`). */
  not(): ExistsExpression {
    return new ExistsExpression(this.queryset, !this.negated);
  }
}

/**
 * Does the query set have a row (for each row of the enclosing query)? In `filter()` and `Q` as a
 * condition, in `annotate()` as a boolean (Django's `Exists`); `.not()` negates it.
 */
export function Exists(queryset: SubquerySource<unknown>): ExistsExpression {
  return new ExistsExpression(queryset);
}
