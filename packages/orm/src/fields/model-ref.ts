/**
 * How a relation names the model it points to.
 *
 * - `() => Author`: a thunk, resolved when the model is first used (so the target may be declared
 *   later in the file or in another module). The related type is inferred.
 * - `ref<Category>('self')`: the model being defined (Django's `'self'`).
 * - `ref<Book>(() => Book)`: a thunk with the instance type given explicitly, for models that
 *   point at each other: TypeScript cannot infer a class's type from inside its own base
 *   expression, so one side of a cycle names the type.
 *
 * ### Examples
 * ```ts
 * class Category extends Model.define({
 *   parent: new ForeignKey(ref<Category>('self'), { onDelete: 'cascade', null: true }),
 * }) {}
 * ```
 */
import { MODEL_BRAND } from '../brand';

const REF = Symbol.for('spool.orm.ref');

/** A reference to a model whose instance type is `I`. */
export interface ModelRef<I> {
  readonly [REF]: true;
  /** Phantom: the instance type. */
  readonly __instance?: I;
  readonly target: 'self' | (() => unknown);
}

/** A model class whose instances are `I`. */
export type ModelCtor<I> = abstract new (...args: never[]) => I;

/**
 * A function returning a model class (`() => Book`) whose type is not looked at. Deliberately not
 * a function type: TypeScript computes the return type of an arrow function as soon as it has a
 * contextual signature, and the type of a class `X extends Model.define({...})` is its whole
 * `Model.define` call, relation thunks included; so each thunk typed as a function made the
 * compiler check the next model inside this one's definition, one model deeper per relation, and
 * a chain of 50 models overflowed its stack. An `object` parameter gives no contextual signature:
 * the thunk's return type is never asked for (run-time checks still reject a non-function).
 */
export type UntypedThunk = object;

/** Name a related model with an explicit instance type (for `'self'` and cycles). */
export function ref<I>(target: 'self' | UntypedThunk): ModelRef<I> {
  if (target !== 'self' && typeof target !== 'function') {
    throw new TypeError(`ref(): pass 'self' or a function returning the model class (() => Book), got ${typeof target}.`);
  }
  return { [REF]: true, target } as ModelRef<I>;
}

/** Is `v` a `ref()`? @internal */
export function isModelRef(v: unknown): v is ModelRef<unknown> {
  return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[REF] === true;
}

/** What a relation field stores: `'self'` or a thunk. */
export type Target = 'self' | (() => unknown);

/** Normalise the `to` argument of a relation. @internal */
export function targetOf(to: unknown, fieldType: string): Target {
  if (isModelRef(to)) return to.target;
  if (to === 'self') return 'self';
  if (typeof to === 'function') {
    if ((to as unknown as Record<symbol, unknown>)[MODEL_BRAND] === true) {
      // A model class given directly: fine at runtime (it is already defined).
      return () => to;
    }
    return to as () => unknown;
  }
  throw new TypeError(
    `${fieldType}: the first argument must be a function returning the related model (() => Author) or ref<Model>('self'), got ${to === null ? 'null' : typeof to}.`,
  );
}
