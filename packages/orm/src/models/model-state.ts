import { STATE } from '../brand';

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
 * The state of a model instance, made from the alias on first use for an instance loaded from
 * the database (the hydrator stores the alias alone). Undefined for what is not an instance.
 * Every read and write of the state goes through here (never `obj[STATE]` directly).
 */
export function stateOf(obj: object): ModelState {
  const s = (obj as Record<symbol, unknown>)[STATE];
  if (typeof s === 'string') {
    const state = new ModelState(false, s);
    (obj as Record<symbol, unknown>)[STATE] = state;
    return state;
  }
  return s as ModelState;
}

/** The sentinel the hydrator passes to the constructor: skip defaults and values. @internal */
export const FROM_DB: unique symbol = Symbol('spool.orm.fromDb');
