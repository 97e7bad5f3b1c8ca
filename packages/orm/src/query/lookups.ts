/**
 * The lookup vocabulary (Django's): which lookups and transforms exist, which apply to which kind
 * of field, and how each one's value is checked and prepared for binding. Internal to the package (not exported from its index).
 */
import { FieldError } from '../errors';
import type { Field } from '../fields/field';
import type { LookupKind } from '../types';
import type { Prep } from './nodes';

const COMPARISONS = ['exact', 'gt', 'gte', 'lt', 'lte'] as const;
const TEXT_LOOKUPS = ['iexact', 'contains', 'icontains', 'startswith', 'istartswith', 'endswith', 'iendswith', 'regex', 'iregex'] as const;
const DATE_PARTS = ['year', 'month', 'day', 'week', 'week_day', 'iso_week_day', 'quarter', 'iso_year'] as const;
const TIME_PARTS = ['hour', 'minute', 'second'] as const;

const COMPARISON_SET = new Set<string>(COMPARISONS);
const TEXT_SET = new Set<string>(TEXT_LOOKUPS);
const DATE_PART_SET = new Set<string>(DATE_PARTS);
const TIME_PART_SET = new Set<string>(TIME_PARTS);
const GENERIC = ['in', 'range', 'isnull'];

/** Every lookup name (the last element of a key). */
export const ALL_LOOKUPS = new Set<string>([...COMPARISONS, ...TEXT_LOOKUPS, ...GENERIC]);
/** Every transform name (an element before the lookup). */
const ALL_TRANSFORMS = new Set<string>([...DATE_PARTS, ...TIME_PARTS, 'date']);

export function isLookupName(name: string): boolean {
  return ALL_LOOKUPS.has(name) || ALL_TRANSFORMS.has(name);
}

/** The lookups a kind of value supports. */
export function lookupsFor(kind: LookupKind | 'relation' | 'part'): string[] {
  switch (kind) {
    case 'text':
    case 'uuid':
      return [...COMPARISONS, ...GENERIC, ...TEXT_LOOKUPS];
    case 'boolean':
    case 'json':
      return ['exact', 'in', 'isnull'];
    case 'relation':
      return [...COMPARISONS, 'in', 'range', 'isnull'];
    default:
      return [...COMPARISONS, ...GENERIC];
  }
}

/** The transforms a kind supports. */
function transformsFor(kind: LookupKind | 'relation' | 'part'): string[] {
  if (kind === 'date') return [...DATE_PARTS];
  if (kind === 'datetime') return [...DATE_PARTS, ...TIME_PARTS, 'date'];
  return [];
}

export function isTextLookup(lookup: string): boolean {
  return TEXT_SET.has(lookup);
}
export function isComparison(lookup: string): boolean {
  return COMPARISON_SET.has(lookup);
}
export function isDatePart(name: string): boolean {
  return DATE_PART_SET.has(name);
}
export function isTimePart(name: string): boolean {
  return TIME_PART_SET.has(name);
}

/** The error for a lookup a field does not support (Django's wording). */
export function unsupportedLookup(
  model: string,
  field: Field | string,
  lookup: string,
  kind: LookupKind | 'relation' | 'part',
): FieldError {
  const name = typeof field === 'string' ? field : field.name;
  const type = typeof field === 'string' ? 'the value' : field.internalType;
  const choices = [...lookupsFor(kind), ...transformsFor(kind)];
  return new FieldError(
    `Unsupported lookup '${lookup}' for ${type} '${model}.${name}' or join on the field not permitted. Choices are: ${choices.join(', ')}.`,
    {
      model,
      field: lookup,
      choices,
    },
  );
}

const fieldPreps = new WeakMap<Field, Prep>();

/** Prepare values of `field` for binding (its `toDb`). */
export function fieldPrep(field: Field): Prep {
  let p = fieldPreps.get(field);
  if (!p) {
    p = (v, ops) => field.toDb(v, ops);
    fieldPreps.set(field, p);
  }
  return p;
}

const writePreps = new WeakMap<Field, Prep>();

/** The prep of a value `update()` writes to `field` (`toDbForWrite`). */
export function writePrep(field: Field): Prep {
  let p = writePreps.get(field);
  if (!p) {
    p = (v, ops) => field.toDbForWrite(v, ops);
    writePreps.set(field, p);
  }
  return p;
}

const listPreps = new WeakMap<Prep, Prep>();
const plainList: Prep = (v, ops) => ops.adaptInList(v as unknown[]);

/** Prepare the list of an `in` lookup, bound as one parameter: each item by `item`, then the list by the backend (`adaptInList`). */
export function listPrep(item: Prep | undefined): Prep {
  if (item === undefined) return plainList;
  let p = listPreps.get(item);
  if (!p) {
    p = (v, ops) => ops.adaptInList((v as unknown[]).map((x) => item(x, ops)));
    listPreps.set(item, p);
  }
  return p;
}

/** Prepare a pattern lookup's value: escape `\`, `%`, `_` and add the wildcards. */
export function patternPrep(lookup: string, field: Field | undefined): Prep {
  const label = field ? `${field.model?.name}.${field.name}__${lookup}` : lookup;
  const uuid = field?.lookupKind === 'uuid';
  if (lookup === 'regex' || lookup === 'iregex') {
    return (v, ops) => {
      const s = String(v);
      ops.checkTextValue(s, label);
      return s;
    };
  }
  return (v, ops) => {
    let s = String(v);
    // UUIDs stored as 32 hex digits (no uuid type): match against that form.
    if (uuid && !ops.features.hasNativeUuidField) s = s.replace(/-/g, '').toLowerCase();
    ops.checkTextValue(s, label);
    if (lookup === 'iexact') return ops.prepForIexactQuery(s);
    return withWildcards(lookup, ops.prepForLikeQuery(s));
  };
}

/** The pattern of a pattern lookup, from its escaped value. */
function withWildcards(lookup: string, escaped: string): string {
  switch (lookup) {
    case 'contains':
    case 'icontains':
      return `%${escaped}%`;
    case 'startswith':
    case 'istartswith':
      return `${escaped}%`;
    case 'endswith':
    case 'iendswith':
      return `%${escaped}`;
    default:
      return escaped;
  }
}

/** Prepare a text value compared with `=` (exact, in): the field's toDb plus the backend's text check. */
export function textPrep(field: Field): Prep {
  const label = `${field.model?.name}.${field.name}`;
  return (v, ops) => {
    if (typeof v === 'string') ops.checkTextValue(v, label);
    return field.toDb(v, ops);
  };
}

export const numberPrep: Prep = (v) => Number(v);

/** Check a pattern lookup's value at filter time. */
export function checkPatternValue(model: string, path: string, lookup: string, value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  throw new FieldError(`${model}: the '${lookup}' lookup on '${path}' takes a string, got ${value === null ? 'null' : typeof value}.`, {
    model,
    field: path,
  });
}
