/**
 * Lookups and transforms registered on a field class (Django's `Field.register_lookup`): a
 * transform turns the left-hand side into an expression (`title__lower: 'alpha'` compares
 * `Lower(title)`), a lookup is a comparison written in SQL (`pages__ne: 3` as `%(lhs)s <> %(rhs)s`).
 * Registering on a class applies to its subclasses (`Field` for every field).
 *
 * ### Examples
 * ```ts
 * registerLookup(CharField, 'lower', (lhs) => Lower(lhs));
 * registerLookup(IntegerField, 'ne', { sql: '%(lhs)s <> %(rhs)s' });
 * await Book.objects.filter(Q({ title__lower__startswith: 'alp', pages__ne: 3 }));
 * ```
 * (Lookup keys a registration adds are not in the typed filter keys: pass them in a `Q`.)
 */
import type { Vendor } from '@spool/connections';
import type { Field } from '../fields/field';
import { Expression } from './expressions';
import { isLookupName } from './lookups';
import type { ExprNode } from './nodes';

/** An expression standing for an already resolved left-hand side (what a transform receives). */
export class ResolvedExpression extends Expression {
  readonly kind = 'ref' as const;
  constructor(
    readonly node: ExprNode,
    readonly field: Field | undefined,
  ) {
    super();
  }
}

/** A registered transform: the expression the left-hand side becomes. */
export type TransformDefinition = (lhs: Expression) => Expression;
/** A registered lookup: its SQL, with `%(lhs)s` and `%(rhs)s` (one for every database, or one per vendor). */
export interface LookupDefinition {
  readonly sql: string | Readonly<Partial<Record<Vendor, string>>>;
}

export type Registered =
  | { readonly kind: 'transform'; readonly name: string; readonly apply: TransformDefinition }
  | { readonly kind: 'lookup'; readonly name: string; readonly id: string; readonly sql: LookupDefinition['sql'] };

type FieldClass = abstract new (...args: never[]) => Field;

const registry = new Map<unknown, Map<string, Registered>>();
const lookupsById = new Map<string, Registered & { kind: 'lookup' }>();
let nextId = 1;

/**
 * Register a transform (a function of the left-hand side) or a lookup (SQL with `%(lhs)s` and
 * `%(rhs)s`) under `name` on a field class and its subclasses. Django's built-in lookups and
 * transforms keep their names: registering one of them is a `TypeError`.
 */
export function registerLookup(fieldClass: FieldClass, name: string, definition: TransformDefinition | LookupDefinition): void {
  if (typeof fieldClass !== 'function')
    throw new TypeError('registerLookup(fieldClass, name, definition): fieldClass must be a field class (CharField, ...).');
  if (typeof name !== 'string' || !/^[a-z][a-z0-9_]*$/.test(name) || name.includes('__'))
    throw new TypeError(
      `registerLookup(): ${JSON.stringify(name)} is not a lookup name (lower case letters, digits and single underscores).`,
    );
  if (isLookupName(name)) throw new TypeError(`registerLookup(): '${name}' is a built-in lookup or transform.`);
  let entry: Registered;
  if (typeof definition === 'function') entry = { kind: 'transform', name, apply: definition };
  else if (definition !== null && typeof definition === 'object' && definition.sql !== undefined) {
    const templates = typeof definition.sql === 'string' ? [definition.sql] : Object.values(definition.sql);
    for (const t of templates) {
      if (typeof t !== 'string' || !t.includes('%(lhs)s') || !t.includes('%(rhs)s'))
        throw new TypeError(`registerLookup('${name}'): the SQL must contain %(lhs)s and %(rhs)s.`);
      if (t.includes('?')) throw new TypeError(`registerLookup('${name}'): the SQL contains '?': the value is %(rhs)s, a parameter.`);
    }
    entry = { kind: 'lookup', name, id: `custom:${nextId++}`, sql: definition.sql };
    lookupsById.set(entry.id, entry);
  } else throw new TypeError(`registerLookup('${name}'): the definition is a function (a transform) or { sql } (a lookup).`);
  let map = registry.get(fieldClass);
  if (map === undefined) registry.set(fieldClass, (map = new Map()));
  map.set(name, entry);
}

/** The registration of `name` for `field` (its class or a parent class), if any. */
export function registeredFor(field: Field | undefined, name: string): Registered | undefined {
  if (field === undefined || registry.size === 0) return undefined;
  for (
    let p = Object.getPrototypeOf(field) as { constructor: unknown } | null;
    p !== null && p !== Object.prototype;
    p = Object.getPrototypeOf(p)
  ) {
    const found = registry.get(p.constructor)?.get(name);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** The SQL of a registered lookup (`custom:<n>`) on `vendor`, or undefined where it has none. */
export function customLookupSql(id: string, vendor: Vendor): { name: string; sql: string | undefined } | undefined {
  const entry = lookupsById.get(id);
  if (entry === undefined) return undefined;
  return { name: entry.name, sql: typeof entry.sql === 'string' ? entry.sql : entry.sql[vendor] };
}
