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
  fieldsCache: Map<string, unknown> | undefined;
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

/** The sentinel the hydrator passes to the constructor: skip defaults and values. @internal */
export const FROM_DB: unique symbol = Symbol('spool.orm.fromDb');
