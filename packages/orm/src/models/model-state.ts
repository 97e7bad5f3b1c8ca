/**
 * Per-instance state, kept under a symbol so that it never collides with a field and never shows
 * in `JSON.stringify` or `Object.keys` (Django's `ModelState`). Internal to the package (not exported from its index).
 */
export class ModelState {
  /** Not saved yet (INSERT on save). */
  adding: boolean;
  /** The alias the instance was loaded from or saved to. */
  db: string | undefined;
  /** Loaded related instances of forward relations (and reverse one-to-one), by field name. */
  fieldsCache: FieldsCache | undefined;
  /** Prefetched related lists, by accessor name. */
  prefetched: Map<string, unknown[]> | undefined;
  /** Related managers, by accessor name. */
  managers: Map<string, unknown> | undefined;
  /**
   * Fields saved as expressions (`book.pages = F('pages').add(1); await book.$save()`): their new
   * value is in the database only, until `$refreshFromDb()` or an assignment (attnames).
   */
  pendingRefresh: Set<string> | undefined;

  constructor(adding: boolean, db: string | undefined) {
    this.adding = adding;
    this.db = db;
    this.fieldsCache = undefined;
    this.prefetched = undefined;
    this.managers = undefined;
    this.pendingRefresh = undefined;
  }
}

/**
 * The loaded related instances of one instance, by field name: the part of `Map` the ORM uses.
 * Most instances hold one (a book's author, from `selectRelated` or `prefetchRelated`), kept in
 * two slots; a `Map` from the second name on. A `Map` per row was the largest allocation of a
 * `selectRelated` or `prefetchRelated` of 200 rows (about 170 bytes each, against 40 here).
 */
export class FieldsCache {
  private name: string | undefined;
  private value: unknown;
  private map: Map<string, unknown> | undefined;

  constructor() {
    this.name = undefined;
    this.value = undefined;
    this.map = undefined;
  }

  get(name: string): unknown {
    if (this.map !== undefined) return this.map.get(name);
    return this.name === name ? this.value : undefined;
  }

  has(name: string): boolean {
    if (this.map !== undefined) return this.map.has(name);
    return this.name !== undefined && this.name === name;
  }

  set(name: string, value: unknown): this {
    if (this.map !== undefined) this.map.set(name, value);
    else if (this.name === undefined || this.name === name) {
      this.name = name;
      this.value = value;
    } else {
      this.map = new Map<string, unknown>([
        [this.name, this.value],
        [name, value],
      ]);
      this.name = undefined;
      this.value = undefined;
    }
    return this;
  }

  delete(name: string): boolean {
    if (this.map !== undefined) return this.map.delete(name);
    if (this.name === undefined || this.name !== name) return false;
    this.name = undefined;
    this.value = undefined;
    return true;
  }
}

/** The sentinel the hydrator passes to the constructor: skip defaults and values. @internal */
export const FROM_DB: unique symbol = Symbol('spool.orm.fromDb');
