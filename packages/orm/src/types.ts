/**
 * Type-level machinery: everything the compiler infers from a model definition. No runtime code.
 *
 * A model is defined once, as a map of fields (`Model.define({ name: new CharField(...) })`).
 * Each field carries a phantom *spec* (its value type, nullability, whether it may be omitted on
 * insert, its lookup kind, the related model). From the map of specs come:
 *
 * - `ModelFields<F>`: the instance's properties (`author: Author`, `authorId: number`, ...);
 * - `RowOf<F>` (`InferRow`): the plain row `values()` returns;
 * - `InsertOf<F>` (`InferInsert`): what `create()` and `new Model()` accept;
 * - `UpdateOf<F>` (`InferUpdate`): what `update()` accepts;
 * - `FilterOf<I>`: the lookups `filter()` accepts, as typed keys (`author__name__startswith`)
 *   and as nested objects (`{ author: { name__startswith: 'A' } }`);
 * - `ValueMap<I>`: the paths `values()`, `valuesList()` and `orderBy()` accept, with their types.
 *
 * Relations are followed up to `MAX_KEY_DEPTH` hops in flat keys (the nested form has no limit).
 */
import type { Expression } from './query/expressions';
import type { AnnotationTypes } from './query/query-set';

/** The phantom key holding a field's spec (type only; no runtime property). */
export declare const SPEC: unique symbol;
/** The phantom key holding a model instance's field map (type only). */
export declare const FIELDS: unique symbol;

/** The kinds of field that decide which lookups apply. */
export type LookupKind = 'text' | 'integer' | 'float' | 'decimal' | 'boolean' | 'date' | 'datetime' | 'uuid' | 'json';

/** The spec of a column holding a value. */
export interface ScalarSpec {
  readonly rel: 'none';
  /** The type read from the database (without null). */
  readonly value: unknown;
  /** The types accepted when writing and filtering (without null). */
  readonly input: unknown;
  readonly null: boolean;
  /** May the field be omitted on insert (auto, default, nullable)? */
  readonly optional: boolean;
  readonly pk: boolean;
  /** Is the column unique (`unique: true` or the primary key)? */
  readonly unique: boolean;
  readonly kind: LookupKind;
}

/** The spec of a relation. `target` is the related model's instance type. */
export interface RelationSpec {
  readonly rel: 'fk' | 'o2o' | 'm2m' | 'reverse-fk' | 'reverse-o2o' | 'reverse-m2m';
  readonly target: unknown;
  readonly null: boolean;
  readonly optional: boolean;
  readonly pk: boolean;
}

export type AnySpec = ScalarSpec | RelationSpec;

/** Anything carrying a spec: a field. */
export interface Specced<S extends AnySpec = AnySpec> {
  readonly [SPEC]: S;
}

/** A map of field names to fields, as given to `Model.define`. */
export type FieldMap = { readonly [name: string]: Specced };

/** Anything that is a model instance (carries its field map). */
export interface AnyInstance {
  readonly [FIELDS]: FieldMap;
}

export type SpecOf<Fd> = Fd extends { readonly [SPEC]: infer S } ? S : never;
export type FieldsOf<I> = I extends { readonly [FIELDS]: infer F } ? F : never;

/** Flatten an intersection into one object type (for readable hovers and exact `Equal` checks). */
/**
 * The empty object type: no options given to a field, no annotations on a query set yet (what
 * TypeScript infers for `{}`). One alias, so that the lint exception is made once.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export type Empty = {};

export type Simplify<T> = { [K in keyof T]: T[K] } & {};

type Nullish<S> = S extends { null: true } ? null : never;

// ---- options → spec --------------------------------------------------------------------------------

/** The values of `choices` (plain values or `[value, label]` pairs), or `T` without choices. */
export type ChoiceValues<O, T> = O extends { choices: readonly (infer C)[] } ? (C extends readonly [infer V, unknown] ? V : C) & T : T;

/** Build a scalar spec from a field's value types and its (const-inferred) options. */
export type ScalarSpecOf<T, In, K extends LookupKind, O, Auto extends boolean = false> = {
  readonly rel: 'none';
  readonly value: ChoiceValues<O, T>;
  readonly input: ChoiceValues<O, In>;
  readonly null: O extends { null: true } ? true : false;
  readonly optional: Auto extends true
    ? true
    : O extends { null: true }
      ? true
      : O extends { default: unknown }
        ? true
        : O extends { autoNow: true }
          ? true
          : O extends { autoNowAdd: true }
            ? true
            : false;
  readonly pk: Auto extends true ? true : O extends { primaryKey: true } ? true : false;
  readonly unique: Auto extends true ? true : O extends { primaryKey: true } ? true : O extends { unique: true } ? true : false;
  readonly kind: K;
};

// ---- primary keys ----------------------------------------------------------------------------------

type PkKeys<F> = { [K in keyof F]: SpecOf<F[K]> extends { pk: true } ? K : never }[keyof F];
/** Does the map declare a primary key (else Spool adds `id: AutoField`, as Django does)? */
export type HasPk<F> = [PkKeys<F>] extends [never] ? false : true;
type PkOfSpec<S> = S extends { rel: 'none'; value: infer V } ? V : S extends { rel: 'o2o'; target: infer I } ? PkOf<I> : never;
/** The primary key's type of a field map. */
export type PkValue<F> = HasPk<F> extends true ? { [K in PkKeys<F>]: PkOfSpec<SpecOf<F[K]>> }[PkKeys<F>] : number;
/** The primary key's type of a model instance. */
export type PkOf<I> = PkValue<FieldsOf<I>>;
/** The name of the primary key field. */

// ---- instance, row, insert, update -----------------------------------------------------------------

/** The related manager of a multi-valued relation (declared here, implemented in query/related-managers). */
import type { RelatedManager } from './query/related-managers';

type MemberValue<S> = S extends { rel: 'none'; value: infer V }
  ? V | Nullish<S>
  : S extends { rel: 'fk' | 'o2o'; target: infer I }
    ? I | Nullish<S>
    : S extends { rel: 'm2m' | 'reverse-fk' | 'reverse-m2m'; target: infer I }
      ? RelatedManager<I extends AnyInstance ? I : never>
      : S extends { rel: 'reverse-o2o'; target: infer I }
        ? I
        : never;

/** Keys of forward single-valued relations (they also get an `<name>Id` property). */
export type FkKeys<F> = { [K in keyof F & string]: SpecOf<F[K]> extends { rel: 'fk' | 'o2o' } ? K : never }[keyof F & string];
/** Keys of fields stored in a column of the table (not relations). */
export type ScalarKeys<F> = { [K in keyof F & string]: SpecOf<F[K]> extends { rel: 'none' } ? K : never }[keyof F & string];
type TargetOf<Fd> = SpecOf<Fd> extends { target: infer I } ? I : never;
type ImplicitId<F> = HasPk<F> extends true ? Empty : { id: number };

/** The properties of an instance: fields, `<fk>Id` attributes, relations and the implicit `id`. */
export type ModelFields<F> = { -readonly [K in keyof F]: MemberValue<SpecOf<F[K]>> } & {
  -readonly [K in FkKeys<F> as `${K}Id`]: PkOf<TargetOf<F[K]>> | Nullish<SpecOf<F[K]>>;
} & ImplicitId<F>;

/** A row as plain data: column values (foreign keys as `<name>Id`). What `values()` returns. */
export type RowOf<F> = Simplify<
  { -readonly [K in ScalarKeys<F>]: MemberValue<SpecOf<F[K]>> } & {
    -readonly [K in FkKeys<F> as `${K}Id`]: PkOf<TargetOf<F[K]>> | Nullish<SpecOf<F[K]>>;
  } & ImplicitId<F>
>;

type InputOf<S> = S extends { rel: 'none'; input: infer V }
  ? V | Nullish<S>
  : S extends { rel: 'fk' | 'o2o'; target: infer I }
    ? I | PkOf<I> | Nullish<S>
    : never;
type InsertableKeys<F> = ScalarKeys<F> | FkKeys<F>;
type RequiredInsertKeys<F> = { [K in InsertableKeys<F>]: SpecOf<F[K]> extends { optional: true } ? never : K }[InsertableKeys<F>];
type OptionalInsertKeys<F> = Exclude<InsertableKeys<F>, RequiredInsertKeys<F>>;

/**
 * What `create()` and `new Model()` accept: required fields (no default, not nullable, not auto)
 * must be given; a foreign key takes the related instance or its primary key.
 */
export type InsertOf<F> = Simplify<
  { [K in RequiredInsertKeys<F>]: InputOf<SpecOf<F[K]>> } & { [K in OptionalInsertKeys<F>]?: InputOf<SpecOf<F[K]>> } & {
    [K in FkKeys<F> as `${K}Id`]?: PkOf<TargetOf<F[K]>> | Nullish<SpecOf<F[K]>>;
  } & (HasPk<F> extends true ? Empty : { id?: number })
>;

/** What `update()` accepts: any subset of the columns, as values or expressions (`F('n').add(1)`). */
export type UpdateOf<F> = Simplify<
  { [K in InsertableKeys<F>]?: InputOf<SpecOf<F[K]>> | Expression } & {
    [K in FkKeys<F> as `${K}Id`]?: PkOf<TargetOf<F[K]>> | Nullish<SpecOf<F[K]>> | Expression;
  }
>;

// ---- paths (for lookups, values, ordering) -----------------------------------------------------------
//
// Type-checking cost is a design constraint here (bench/typecheck.mjs measures it). The value paths,
// lookup keys and relation paths below are named aliases of ONE model's field map `F` (never of a
// prefix or a depth counter), so the compiler builds each once per model and every model reaching
// it through a relation reuses it: `author__publisher__name` is `author__` prepended to Author's
// cached `publisher__name`. Key unions are built eagerly (a typo must not compile, and editors
// complete them); the type a key takes or yields is resolved only for the keys a query names
// (`LookupValue2`, `ValueAt2`).

/** How many relations flat keys follow (`a__b__c__field`); the nested form has no limit. */
export type MAX_KEY_DEPTH = 2;

type PkSpecOf<F> = HasPk<F> extends true ? { [K in PkKeys<F>]: SpecOf<F[K]> }[PkKeys<F>] : AutoSpec;
interface AutoSpec {
  readonly rel: 'none';
  readonly value: number;
  readonly input: number;
  readonly null: false;
  readonly optional: true;
  readonly pk: true;
  readonly unique: true;
  readonly kind: 'integer';
}
type AsScalarPk<S> = S extends { rel: 'none' } ? S : S extends { rel: 'o2o'; target: infer I } ? PkSpecOf<FieldsOf<I>> : never;

/** Keys of multi-valued (and reverse one-to-one) relations: they make what follows nullable. */
type MultiKeys<F> = {
  [K in keyof F & string]: SpecOf<F[K]> extends { rel: 'm2m' | 'reverse-fk' | 'reverse-m2m' | 'reverse-o2o' } ? K : never;
}[keyof F & string];
/** Keys of every relation. */
type RelKeys<F> = FkKeys<F> | MultiKeys<F>;
/** The field map of the model a relation `K` of `F` points to. */
type TargetFields<F, K extends keyof F> = FieldsOf<TargetOf<F[K]>>;
/** Does following relation `K` make values nullable (a nullable key, or a multi-valued relation)? */
type Loosens<F, K extends keyof F> = SpecOf<F[K]> extends { rel: 'fk' | 'o2o'; null: false } ? false : true;

// ---- lookups ---------------------------------------------------------------------------------------

/** Comparison lookups, valid on every ordered field. */
export type ComparisonLookup = 'exact' | 'gt' | 'gte' | 'lt' | 'lte';
/** Pattern and case lookups, valid on text fields. */
export type TextLookup = 'iexact' | 'contains' | 'icontains' | 'startswith' | 'istartswith' | 'endswith' | 'iendswith' | 'regex' | 'iregex';
/** Date parts (transforms) of date and date-time fields. */
export type DatePart = 'year' | 'month' | 'day' | 'week' | 'week_day' | 'iso_week_day' | 'quarter' | 'iso_year';
/** Time parts of date-time fields. */
export type TimePart = 'hour' | 'minute' | 'second';

/** Something that evaluates to a value inside the database (`F('x')`, `F('x').add(1)`). */
type Expr = Expression;
/**
 * A query set (for `__in` subqueries). Declared structurally to avoid a cycle, by public members
 * only: the published types leave out internal ones (`toSubquery`), and a query set must still
 * be accepted there.
 */
interface SubqueryLike {
  toSQL(): { sql: string; bindings: unknown[] };
}

/** The lookups (with the comparisons) a value of kind `K` takes, after its field's name. */
type ScalarLookup<K> =
  | ComparisonLookup
  | 'in'
  | 'range'
  | 'isnull'
  | (K extends 'text' | 'uuid' ? TextLookup : never)
  | (K extends 'date' | 'datetime' ? PartLookup<DatePart> : never)
  | (K extends 'datetime' ? PartLookup<TimePart | 'date'> : never)
  // JSON: a key path (`data__owner__name`), JSON lookups (`data__has_key`) and lookups on a key.
  | (K extends 'json' ? string : never);
/** A transform (`year`) alone or followed by a comparison, `in` or `range`. */
type PartLookup<Part extends string> = Part | `${Part}__${ComparisonLookup | 'in' | 'range'}`;
/** The lookups of a relation `author`: `author`, `author__exact`, `author__in`, `author__isnull`. */
type RelLookup = 'exact' | 'in' | 'isnull';

type KindOf<S> = S extends { kind: infer K } ? K : never;
/** The scalar spec of `<fk>Id`: the related model's primary key, nullable when the key is. */
type FkIdSpec<S> = S extends { target: infer I; null: infer Nl } ? Omit<PkScalar<FieldsOf<I>>, 'null'> & { readonly null: Nl } : never;

/** Every lookup key of a field map's own fields (no relation followed): `title`, `title__icontains`, `authorId__in`, `author__isnull`, `pk`. */
type OwnLookupKeys<F> =
  | {
      [K in keyof F & string]: SpecOf<F[K]> extends infer S
        ? S extends { rel: 'none'; kind: infer Kd }
          ? K | `${K}__${ScalarLookup<Kd>}` | (Kd extends 'json' ? JsonKeyLookupKeys<K> : never)
          : S extends { rel: 'fk' | 'o2o' }
            ? K | `${K}__${RelLookup}` | `${K}Id` | `${K}Id__${ScalarLookup<KindOf<PkScalar<TargetFields<F, K>>>>}`
            : K | `${K}__${RelLookup}`
        : never;
    }[keyof F & string]
  | 'pk'
  | `pk__${ScalarLookup<KindOf<PkScalar<F>>>}`
  | (HasPk<F> extends true ? never : 'id' | `id__${ScalarLookup<'integer'>}`);

/** The value a scalar lookup `L` (`''` for the field itself) takes on a field of spec `S`; `N`: may the path yield null. */
type ScalarLookupValue<S, L extends string, N extends boolean> = S extends { kind: 'json' }
  ? JsonLookupValue<S, L, N>
  : S extends { input: infer V }
    ? L extends '' | ComparisonLookup
      ? V | Expr | (N extends true ? null : Nullish<S>)
      : L extends 'in'
        ? readonly V[] | SubqueryLike
        : L extends 'range'
          ? readonly [V | Expr, V | Expr]
          : L extends 'isnull'
            ? boolean
            : L extends TextLookup
              ? string | Expr
              : L extends 'date'
                ? string | Date | Expr
                : L extends `date__${infer C}`
                  ? C extends 'in'
                    ? readonly (string | Date)[]
                    : C extends 'range'
                      ? readonly [string | Date, string | Date]
                      : string | Date | Expr
                  : L extends `${string}__in`
                    ? readonly number[]
                    : L extends `${string}__range`
                      ? readonly [number, number]
                      : number | Expr
    : never;

/** The value of a relation lookup: the instance, its key, or (for the relation itself) a nested filter. */
type RelLookupValue<S, L extends string> = S extends { target: infer I }
  ? L extends ''
    ? I | PkOf<I> | Nullish<S> | FilterOf<I> | Expr
    : L extends 'exact'
      ? I | PkOf<I> | Nullish<S> | Expr
      : L extends 'in'
        ? readonly (I | PkOf<I>)[] | SubqueryLike
        : boolean
  : never;

/** A JSON value (what a key of a document may hold). */
export type JSONLike = string | number | boolean | null | readonly JSONLike[] | { readonly [key: string]: JSONLike };

/**
 * The value of a lookup `L` on a JSON field (`''` the document): a lookup of Django's (or its camelCase
 * spelling), a lookup on a key's value (text lookups take a string, `gt`/`lt` a scalar or an expression,
 * `in` a list of JSON values; `range` and these lookups on the whole document are refused), else a
 * key path taking a JSON value.
 */
type JsonLookupValue<S, L extends string, N extends boolean> = S extends { input: infer V }
  ? L extends ''
    ? V | Expr | (N extends true ? null : Nullish<S>) | null
    : L extends 'isnull' | `${string}__isnull`
      ? boolean
      : L extends 'has_key' | 'hasKey' | `${string}__${'has_key' | 'hasKey'}`
        ? string
        : L extends `${'' | `${string}__`}${'has_keys' | 'hasKeys' | 'has_any_keys' | 'hasAnyKeys'}`
          ? readonly string[]
          : L extends `${string}__${JsonKeyTextLookup}`
            ? string
            : L extends `${string}__${JsonKeyCompare}`
              ? number | string | boolean
              : L extends `${string}__in`
                ? readonly JSONLike[]
                : L extends JsonKeyTextLookup | JsonKeyCompare | 'in' | 'range' | `${string}__range`
                  ? never
                  : V | JSONLike
  : never;
/**
 * Lookup keys on a JSON field `K`'s keys, besides `K__<anything>` (a key path): their own patterns,
 * so that the value of `data__n__gt` is checked as a comparison's (an object key matching several
 * patterns must satisfy each), and these lookups on the document itself (`data__gt`: never).
 */
type JsonKeyLookupKeys<K extends string> =
  | `${K}__${string}__${JsonKeyTextLookup | JsonKeyCompare | 'in' | 'range'}`
  | `${K}__${JsonKeyTextLookup | JsonKeyCompare | 'in' | 'range'}`;
/** The text lookups on a JSON key's value (Django's KeyTransformIExact, ..., KeyTransformIRegex). */
type JsonKeyTextLookup = 'iexact' | 'icontains' | 'startswith' | 'istartswith' | 'endswith' | 'iendswith' | 'regex' | 'iregex';
/** The comparisons on a JSON key's value (Django's KeyTransformLt, ..., KeyTransformGte). */
type JsonKeyCompare = 'gt' | 'gte' | 'lt' | 'lte';

/** The value of the own lookup key `P` of `F` (`N`: a relation on the way made the path nullable). */
type OwnLookupValue<F, P extends string, N extends boolean> = P extends keyof F
  ? FieldLookupValue<SpecOf<F[P]>, '', N>
  : P extends `${infer Fd}__${infer L}`
    ? Fd extends keyof F
      ? FieldLookupValue<SpecOf<F[Fd]>, L, N>
      : IdLookupValue<F, Fd, L, N>
    : IdLookupValue<F, P, '', N>;
type FieldLookupValue<S, L extends string, N extends boolean> = S extends { rel: 'none' }
  ? ScalarLookupValue<S, L, N>
  : RelLookupValue<S, L>;
/** `pk`, `id` and `<fk>Id` lookups. */
type IdLookupValue<F, Fd extends string, L extends string, N extends boolean> = Fd extends 'pk' | 'id'
  ? ScalarLookupValue<PkScalar<F>, L, N>
  : Fd extends `${infer K}Id`
    ? K extends keyof F
      ? SpecOf<F[K]> extends infer S
        ? ScalarLookupValue<FkIdSpec<S>, L, S extends { null: true } ? true : N>
        : never
      : never
    : never;

// Lookup keys across relations, built per model and reused (as the value paths below): the keys of
// `author__publisher__name__startswith` are `author__` prepended to Author's cached depth-1 keys.
// The value a key takes is resolved only for the keys an object literal names (`LookupValue2`).
type LookupKeys0<F> = OwnLookupKeys<F>;
type LookupKeys1<F> = OwnLookupKeys<F> | { [K in RelKeys<F>]: `${K}__${LookupKeys0<TargetFields<F, K>>}` }[RelKeys<F>];
type LookupKeys2<F> = OwnLookupKeys<F> | { [K in RelKeys<F>]: `${K}__${LookupKeys1<TargetFields<F, K>>}` }[RelKeys<F>];
type LookupValue0<F, P, N extends boolean> = P extends OwnLookupKeys<F> ? OwnLookupValue<F, P, N> : never;
type LookupValue1<F, P, N extends boolean> =
  P extends OwnLookupKeys<F>
    ? OwnLookupValue<F, P, N>
    : P extends `${infer R}__${infer Rest}`
      ? R extends RelKeys<F>
        ? LookupValue0<TargetFields<F, R>, Rest, N extends true ? true : Loosens<F, R>>
        : never
      : never;
type LookupValue2<F, P> =
  P extends OwnLookupKeys<F>
    ? OwnLookupValue<F, P, false>
    : P extends `${infer R}__${infer Rest}`
      ? R extends RelKeys<F>
        ? LookupValue1<TargetFields<F, R>, Rest, Loosens<F, R>>
        : never
      : never;

/** An instance is not a nested filter (without this, a Book would pass where `{ author: {...} }` is expected). */
interface NotAnInstance {
  readonly [FIELDS]?: never;
}

/**
 * The object `filter()`, `exclude()` and `get()` accept for instances `I`: every lookup key with
 * the type of value it takes. Keys not listed (typos, lookups a field does not support) do not
 * compile.
 */
export type FilterOf<I> = Lookups<FieldsOf<I>> & NotAnInstance;
type Lookups<in out F> = { [P in LookupKeys2<F>]?: LookupValue2<F, P> };

/** Lookups on annotations (`annotate({ n: Count('books') }).filter({ n__gt: 2 })`). */
export type AnnotationFilter<A> = { [P in AnnotationKeys<A>]?: AnnotationValue<A, P> };
type AnnotationKeys<A> = {
  [K in keyof A & string]:
    | K
    | `${K}__${ComparisonLookup | 'in' | 'isnull'}`
    // Text annotations (Lower('name'), ...) take the text lookups.
    | (A[K] extends string | null ? `${K}__${TextLookup}` : never);
}[keyof A & string];
type AnnotationValue<A, P> = P extends keyof A
  ? A[P] | Expr
  : P extends `${infer K}__${infer L}`
    ? K extends keyof A
      ? L extends 'in'
        ? readonly A[K][]
        : L extends 'isnull'
          ? boolean
          : L extends TextLookup
            ? string
            : A[K] | Expr
      : never
    : never;

/**
 * The object `filter()`, `exclude()` and `get()` accept on a query set of `F` annotated with `A`:
 * `FilterOf` and `AnnotationFilter` as ONE mapped type. Its variance is declared (`in out`) so that
 * the compiler never measures it: measuring compares two generic instantiations member by member,
 * which with keys built from `F` cost seconds on every program (and the variance of the query set
 * and manager classes, measured through it, with it).
 */
export type QueryFilter<in out F, in out A> = {
  [P in LookupKeys2<F> | AnnotationKeys<A> | typeof FIELDS]?: P extends typeof FIELDS
    ? never
    : P extends AnnotationKeys<A>
      ? AnnotationValue<A, P>
      : LookupValue2<F, P>;
};

/** The spec of `pk` (and of the implicit `id`) of `F`, as a scalar. */
type PkScalar<F> = AsScalarPk<PkSpecOf<F>>;

// ---- values and ordering ---------------------------------------------------------------------------

type ValueOfSpec<S> = S extends { rel: 'none'; value: infer V }
  ? V | Nullish<S>
  : S extends { rel: 'fk' | 'o2o'; target: infer I }
    ? PkOf<I> | Nullish<S>
    : S extends { target: infer I }
      ? PkOf<I> | null
      : never;

/** A model's own value paths: fields, `<fk>Id`, relations (their keys), `pk`, `id`. */
type OwnValues<F> = { [K in keyof F & string]: ValueOfSpec<SpecOf<F[K]>> } & {
  [K in FkKeys<F> as `${K}Id`]: ValueOfSpec<SpecOf<F[K]>>;
} & { pk: ValueOfSpec<PkScalar<F>> } & (HasPk<F> extends true ? Empty : { id: number });
type OwnValueKeys<F> = keyof OwnValues<F> & string;
type ValueKeys1<F> = OwnValueKeys<F> | { [K in RelKeys<F>]: `${K}__${OwnValueKeys<TargetFields<F, K>>}` }[RelKeys<F>];
type ValueKeys2<F> = OwnValueKeys<F> | { [K in RelKeys<F>]: `${K}__${ValueKeys1<TargetFields<F, K>>}` }[RelKeys<F>];
/** The type path `P` of `F` yields (null too once a relation on the way is nullable or multi-valued); one alias per depth, as `LookupValue`. */
type ValueAt0<F, P, Null extends boolean> = P extends keyof OwnValues<F> ? OwnValues<F>[P] | (Null extends true ? null : never) : never;
type ValueAt1<F, P, Null extends boolean> = P extends keyof OwnValues<F>
  ? OwnValues<F>[P] | (Null extends true ? null : never)
  : P extends `${infer R}__${infer Rest}`
    ? R extends RelKeys<F>
      ? ValueAt0<TargetFields<F, R>, Rest, Null extends true ? true : Loosens<F, R>>
      : never
    : never;
type ValueAt2<F, P> = P extends keyof OwnValues<F>
  ? OwnValues<F>[P]
  : P extends `${infer R}__${infer Rest}`
    ? R extends RelKeys<F>
      ? ValueAt1<TargetFields<F, R>, Rest, Loosens<F, R>>
      : never
    : never;
// Variance declared, as QueryFilter's.
type Values<in out F> = { [P in ValueKeys2<F>]: ValueAt2<F, P> };

/** Key paths into the model's own JSON fields (`data__owner__name`, `data__tags__0`): a JSON value, null when missing. */
type JsonKeyPaths<F> = {
  [K in keyof F & string]: SpecOf<F[K]> extends { kind: 'json'; rel: 'none' } ? `${K}__${string}` : never;
}[keyof F & string];

/** Every path `values()` / `valuesList()` / `orderBy()` accept, with the type it yields. */
export type ValueMap<I> = Values<FieldsOf<I>>;

/** A key path into a JSON field of `I` (`data__owner__name`): its value is JSON (`JSONLike`), null when missing. */
export type JsonPath<I> = JsonKeyPaths<FieldsOf<I>>;

/** A path usable in `values()`. */
export type ValuePath<I> = (keyof ValueMap<I> & string) | JsonPath<I>;

/** An ordering term: a path, `-path` for descending, or `'?'` for random. */
export type OrderTerm<I, A = Empty> = ValuePath<I> | `-${ValuePath<I>}` | (keyof A & string) | `-${keyof A & string}` | '?';

/** Row type of `values(...keys)`. */
export type ValuesRow<I, A, K extends string> = Simplify<{
  [P in K]: P extends keyof A ? A[P] : P extends keyof ValueMap<I> ? ValueMap<I>[P] : P extends JsonPath<I> ? JSONLike : never;
}>;

/** Tuple type of `valuesList(...keys)`. */
export type ValuesTuple<I, A, K extends readonly unknown[]> = {
  -readonly [N in keyof K]: K[N] extends Expression
    ? AnnotationTypes<{ v: K[N] }, I>['v']
    : K[N] extends keyof A
      ? A[K[N]]
      : K[N] extends keyof ValueMap<I>
        ? ValueMap<I>[K[N]]
        : K[N] extends JsonPath<I>
          ? JSONLike
          : never;
};

// ---- relation paths ----------------------------------------------------------------------------------

/** Forward single-valued chains from `F`, up to three relations (`a`, `a__b`, `a__b__c`). */
type ForwardPaths0<F> = FkKeys<F>;
type ForwardPaths1<F> = FkKeys<F> | { [K in FkKeys<F>]: `${K}__${ForwardPaths0<TargetFields<F, K>>}` }[FkKeys<F>];
type ForwardPaths2<F> = FkKeys<F> | { [K in FkKeys<F>]: `${K}__${ForwardPaths1<TargetFields<F, K>>}` }[FkKeys<F>];
/**
 * The paths `selectRelated()` accepts: chains of forward foreign keys and one-to-ones only
 * (`author`, `author__publisher`). A multi-valued or reverse relation anywhere in the chain
 * (`author__books__author`) does not compile: it cannot be joined into the same row.
 */
export type SelectRelatedPath<I> = ForwardPaths2<FieldsOf<I>>;

type RelPaths0<F> = RelKeys<F>;
type RelPaths1<F> = RelKeys<F> | { [K in RelKeys<F>]: `${K}__${RelPaths0<TargetFields<F, K>>}` }[RelKeys<F>];
type RelPaths2<F> = RelKeys<F> | { [K in RelKeys<F>]: `${K}__${RelPaths1<TargetFields<F, K>>}` }[RelKeys<F>];
/** Any relation path (`prefetchRelated('books__tags')`), up to three relations. */
export type PrefetchPath<I> = RelPaths2<FieldsOf<I>>;

// ---- in bulk -------------------------------------------------------------------------------------------

/** Fields `inBulk()` may key by: `pk`, the primary key, unique fields and one-to-ones (by name or `<name>Id`). */
export type UniqueKey<I> = 'pk' | UniqueFieldKeys<FieldsOf<I>>;
type UniqueFieldKeys<F> =
  | { [K in keyof F & string]: SpecOf<F[K]> extends { unique: true } | { pk: true } | { rel: 'o2o' } ? K : never }[keyof F & string]
  | { [K in FkKeys<F>]: SpecOf<F[K]> extends { unique: true } | { pk: true } | { rel: 'o2o' } ? `${K}Id` : never }[FkKeys<F>]
  | (HasPk<F> extends true ? never : 'id');
/** The type of a unique key's value (the map key of `inBulk()`). */
export type UniqueValue<I, K> = K extends keyof ValueMap<I> ? ValueMap<I>[K] : never;

// ---- public helpers ----------------------------------------------------------------------------------

/** The row type of a model class: `InferRow<typeof Author>`. */
export type InferRow<M> = M extends { readonly $fields: infer F } ? RowOf<F> : never;
/** The insert type of a model class: `InferInsert<typeof Author>`. */
export type InferInsert<M> = M extends { readonly $fields: infer F } ? InsertOf<F> : never;
/** The update type of a model class: `InferUpdate<typeof Author>`. */
export type InferUpdate<M> = M extends { readonly $fields: infer F } ? UpdateOf<F> : never;
/** The instance type of a model class. */
export type InferInstance<M> = M extends abstract new (...args: never[]) => infer I ? I : never;
