import { SHARED_RELATION_BRAND, STATE } from '../brand';

/** What few instances need: more than one loaded relation or prefetched list, managers, pending refreshes. */
class StateExtras {
  relations: Map<string, unknown> | undefined = undefined;
  lists: Map<string, unknown[]> | undefined = undefined;
  managers: Map<string, unknown> | undefined = undefined;
  pendingRefresh: Set<string> | undefined = undefined;
}

/**
 * Per-instance state, kept under a symbol so that it never collides with a field and never shows
 * in `JSON.stringify` or `Object.keys` (Django's `ModelState`). Internal to the package (not exported from its index).
 *
 * An instance loaded from the database holds only its alias under the symbol until something reads
 * or writes its state (`stateOf` makes the `ModelState` then): a list of 50 rows allocates no state.
 * The loaded related instances (a book's author, from `selectRelated` or `prefetchRelated`) and the
 * prefetched lists (an author's books) keep their first entry in two slots here, and a `Map` from
 * the second name on: a `prefetchRelated('books')` of 20 authors and 200 books was 200 caches and
 * 20 maps besides the 220 states (about 15 KB of 110 per run).
 */
export class ModelState {
  /** Not saved yet (INSERT on save). */
  adding: boolean;
  /** The alias the instance was loaded from or saved to. */
  db: string | undefined;
  private relName: string | undefined;
  private relValue: unknown;
  private listName: string | undefined;
  private listValue: unknown[] | undefined;
  private extras: StateExtras | undefined;

  constructor(adding: boolean, db: string | undefined) {
    this.adding = adding;
    this.db = db;
    this.relName = undefined;
    this.relValue = undefined;
    this.listName = undefined;
    this.listValue = undefined;
    this.extras = undefined;
  }

  private more(): StateExtras {
    return (this.extras ??= new StateExtras());
  }

  /** Related managers, by accessor name. */
  get managers(): Map<string, unknown> | undefined {
    return this.extras?.managers;
  }
  set managers(m: Map<string, unknown> | undefined) {
    this.more().managers = m;
  }

  /**
   * Fields saved as expressions (`book.pages = F('pages').add(1); await book.$save()`): their new
   * value is in the database only, until `$refreshFromDb()` or an assignment (attnames).
   */
  get pendingRefresh(): Set<string> | undefined {
    return this.extras?.pendingRefresh;
  }
  set pendingRefresh(s: Set<string> | undefined) {
    this.more().pendingRefresh = s;
  }

  // ---- loaded related instances of forward relations (and reverse one-to-one), by field name ----

  /** The loaded related instance (or null) of `name`; undefined when not loaded. */
  cached(name: string): unknown {
    const map = this.extras?.relations;
    if (map !== undefined) return map.get(name);
    return this.relName === name ? this.relValue : undefined;
  }

  hasCached(name: string): boolean {
    const map = this.extras?.relations;
    if (map !== undefined) return map.has(name);
    return this.relName !== undefined && this.relName === name;
  }

  /** Whether any related instance is loaded. */
  hasAnyCached(): boolean {
    const map = this.extras?.relations;
    return map !== undefined ? map.size > 0 : this.relName !== undefined;
  }

  setCached(name: string, value: unknown): void {
    const map = this.extras?.relations;
    if (map !== undefined) map.set(name, value);
    else if (this.relName === undefined || this.relName === name) {
      this.relName = name;
      this.relValue = value;
    } else {
      this.more().relations = new Map<string, unknown>([
        [this.relName, this.relValue],
        [name, value],
      ]);
      this.relName = undefined;
      this.relValue = undefined;
    }
  }

  deleteCached(name: string): boolean {
    const map = this.extras?.relations;
    if (map !== undefined) return map.delete(name);
    if (this.relName === undefined || this.relName !== name) return false;
    this.relName = undefined;
    this.relValue = undefined;
    return true;
  }

  // ---- prefetched related lists, by accessor name ----

  /** The prefetched (or `$fetch`ed) list of `name`; undefined when not loaded. */
  prefetched(name: string): unknown[] | undefined {
    const map = this.extras?.lists;
    if (map !== undefined) return map.get(name);
    return this.listName === name ? this.listValue : undefined;
  }

  hasPrefetched(name: string): boolean {
    const map = this.extras?.lists;
    if (map !== undefined) return map.has(name);
    return this.listName !== undefined && this.listName === name;
  }

  setPrefetched(name: string, list: unknown[]): void {
    const map = this.extras?.lists;
    if (map !== undefined) map.set(name, list);
    else if (this.listName === undefined || this.listName === name) {
      this.listName = name;
      this.listValue = list;
    } else {
      this.more().lists = new Map<string, unknown[]>([
        [this.listName, this.listValue as unknown[]],
        [name, list],
      ]);
      this.listName = undefined;
      this.listValue = undefined;
    }
  }

  deletePrefetched(name: string): void {
    const map = this.extras?.lists;
    if (map !== undefined) map.delete(name);
    else if (this.listName !== undefined && this.listName === name) {
      this.listName = undefined;
      this.listValue = undefined;
    }
  }

  clearPrefetched(): void {
    this.extras?.lists?.clear();
    this.listName = undefined;
    this.listValue = undefined;
  }
}

/**
 * What a loaded instance holds under the symbol when all its state is its alias and one loaded
 * related instance: the back-reference `prefetchRelated` gives each related row (a book's
 * `author`, Django's semantics: `book.author` answers without a query). One is shared by every
 * row of the same parent and alias (20 for a `prefetchRelated('books')` of 20 authors and 200
 * books, where a `ModelState` per book was 200, about 8 KB of the 110 allocated per run); never
 * changed once made, so that sharing it is safe (`stateOf` makes a row's own `ModelState` from
 * it on first write or other use).
 */
export class SharedRelation {
  constructor(
    readonly db: string,
    readonly name: string,
    readonly value: unknown,
  ) {}
}
// A brand, not `instanceof`: an instance loaded by one copy of the package is read by another.
Object.defineProperty(SharedRelation.prototype, SHARED_RELATION_BRAND, { value: true });

function isShared(s: unknown): s is SharedRelation {
  return s !== undefined && s !== null && (s as Record<symbol, unknown>)[SHARED_RELATION_BRAND] === true;
}

/**
 * The state of a model instance, made from the alias (or the alias and its shared relation) on
 * first use for an instance loaded from the database (the hydrator stores the alias alone).
 * Undefined for what is not an instance. Every read and write of the state goes through here or
 * `cachedRelation` (never `obj[STATE]` directly).
 */
export function stateOf(obj: object): ModelState {
  const s = (obj as Record<symbol, unknown>)[STATE];
  if (typeof s === 'string') {
    const state = new ModelState(false, s);
    (obj as Record<symbol, unknown>)[STATE] = state;
    return state;
  }
  if (isShared(s)) {
    const state = new ModelState(false, s.db);
    state.setCached(s.name, s.value);
    (obj as Record<symbol, unknown>)[STATE] = state;
    return state;
  }
  return s as ModelState;
}

/**
 * The loaded related instance (or null) of `name` on `obj`, undefined when not loaded, as
 * `stateOf(obj).cached(name)` answers, without making a state for an instance that has none
 * (reading `book.author` after a prefetch allocates nothing). Throws for what is not an instance.
 */
export function cachedRelation(obj: object, name: string): unknown {
  const s = (obj as Record<symbol, unknown>)[STATE];
  if (typeof s === 'string') return undefined;
  if (s === undefined) throw new TypeError('Not a model instance.');
  if (isShared(s)) return s.name === name ? s.value : undefined;
  return (s as ModelState).cached(name);
}

/**
 * Give each of `rows` the loaded related instance `value` of `name`, as
 * `stateOf(row).setCached(name, value)` does: a row holding its alias alone (nothing loaded on it
 * yet) shares one `SharedRelation` with the others of its alias instead of a `ModelState` of its own.
 */
export function setCachedOnAll(rows: readonly object[], name: string, value: unknown): void {
  let shared: SharedRelation | undefined;
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as Record<symbol, unknown>;
    const s = row[STATE];
    if (typeof s === 'string') {
      if (shared === undefined || shared.db !== s) shared = new SharedRelation(s, name, value);
      row[STATE] = shared;
    } else stateOf(row).setCached(name, value);
  }
}

/** The sentinel the hydrator passes to the constructor: skip defaults and values. @internal */
export const FROM_DB: unique symbol = Symbol('spool.orm.fromDb');
