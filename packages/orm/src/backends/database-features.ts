/**
 * What a database can do, as far as the ORM cares (Django's `DatabaseFeatures`): yes/no answers
 * the query layer, the schema editor and the write paths ask instead of naming a vendor. Each
 * backend's operations carry one (`ops.features`).
 */
export interface DatabaseFeatures {
  /** Does `INSERT ... RETURNING` work (new keys read back from the statement)? */
  readonly canReturnRowsFromInsert: boolean;
  /**
   * Does a multi-row `INSERT ... RETURNING` return the new keys of all its rows, in the order of
   * its VALUES (so that `bulkCreate()` sets them)? MariaDB: from 10.5 (Django's
   * `can_return_rows_from_bulk_insert`).
   */
  readonly canReturnRowsFromBulkInsert: boolean;
  /**
   * Does the driver round integers beyond 2^53 unless the statement asks for bigints
   * (`safeIntegers`), which then makes every integer of the statement a bigint (SQLite)?
   */
  readonly safeIntegersPerStatement: boolean;
  /**
   * Are the keys of inserted rows read from the driver's last rowid instead? One INSERT's rows get
   * consecutive rowids, and reading the last one costs nothing where RETURNING costs more than the
   * INSERT itself (SQLite).
   */
  readonly keysFromLastInsertRowid: boolean;
  /** Does the database have a uuid type (else UUIDs are stored as 32 hex digits, as Django does)? */
  readonly hasNativeUuidField: boolean;
  /** May an UPDATE or DELETE read its own table in a subquery (MariaDB: only when materialised)? */
  readonly updateCanSelfSelect: boolean;
  /** Is DDL transactional (a failed `createModels()` leaves nothing behind)? */
  readonly canRollbackDdl: boolean;
  /** Are foreign keys declared in the column definition (`REFERENCES`), the database having no `ADD CONSTRAINT`? */
  readonly createsForeignKeysInline: boolean;
  /** Does adding a foreign key constraint index its column (so no separate index is created)? */
  readonly foreignKeyConstraintsCreateIndexes: boolean;
  /** Does the database have `FN(x) FILTER (WHERE ...)` (else a conditional aggregate is `FN(CASE WHEN ... THEN x END)`)? */
  readonly supportsAggregateFilterClause: boolean;
  /** Must a CASE setting a column be cast to the column's type (its branches being parameters of unknown type)? (PostgreSQL) */
  readonly requiresCastedCaseInUpdates: boolean;
  /** `SELECT DISTINCT ON (...)` (Django's `can_distinct_on_fields`): PostgreSQL only. */
  readonly canDistinctOnFields: boolean;
  /** Do `LAG` and `LEAD` take a default value (MariaDB's take an expression and an offset only)? */
  readonly supportsLagLeadDefault: boolean;
  /**
   * Does HAVING find a grouped column by its name only? MariaDB looks `t.name` up among the GROUP BY
   * columns and gives up at the first other table's `name` ("Unknown column 't.name' in 'HAVING'"):
   * there a grouped column of the condition is read as `MIN(t.name)`, its one value in the group.
   */
  readonly havingFindsGroupedColumnsByName: boolean;
}

/** The answers shared by most backends; each backend overrides what differs. */
export const DEFAULT_FEATURES: DatabaseFeatures = Object.freeze({
  canReturnRowsFromInsert: true,
  canReturnRowsFromBulkInsert: true,
  safeIntegersPerStatement: false,
  keysFromLastInsertRowid: false,
  hasNativeUuidField: false,
  updateCanSelfSelect: true,
  canRollbackDdl: true,
  createsForeignKeysInline: false,
  foreignKeyConstraintsCreateIndexes: false,
  supportsAggregateFilterClause: true,
  requiresCastedCaseInUpdates: false,
  canDistinctOnFields: false,
  supportsLagLeadDefault: true,
  havingFindsGroupedColumnsByName: false,
});
