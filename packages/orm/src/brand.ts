/**
 * Brands shared across copies of the package: values built by one copy of `@spool/orm` (a model,
 * a field, an expression) are recognised by another, as `@spool/connections` does for its errors.
 * Internal to the package (not exported from its index).
 */
export const FIELD_BRAND = Symbol.for('spool.orm.field');
export const MODEL_BRAND = Symbol.for('spool.orm.model');
export const EXPRESSION_BRAND = Symbol.for('spool.orm.expression');
export const Q_BRAND = Symbol.for('spool.orm.q');
export const QUERYSET_BRAND = Symbol.for('spool.orm.queryset');
export const META = Symbol.for('spool.orm.meta');
export const STATE = Symbol.for('spool.orm.state');
/** On a `SharedRelation` (model-state.ts): what another copy of the package may find under `STATE`. */
export const SHARED_RELATION_BRAND = Symbol.for('spool.orm.sharedRelation');

/** Is `value` branded with `brand` (own or inherited property set to true)? */
export function hasBrand(value: unknown, brand: symbol): boolean {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && (value as Record<symbol, unknown>)[brand] === true;
}
