/**
 * `@spool/orm/migrations`: Django's migration system for Spool models. Apps group models with a
 * migrations folder; `makemigrations` (the autodetector and the writer) turns model changes into
 * reviewable migration files; `migrate` (the loader, the graph and the executor) applies them
 * under a lock and records them in `spool_migrations`. The `spool` command line (`@spool/cli`)
 * drives it all; everything here is also usable from code.
 *
 * ### Examples
 * ```ts
 * import { defineApp, MigrationLoader, MigrationExecutor } from '@spool/orm/migrations';
 *
 * const library = defineApp({ label: 'library', models: [Author, Book], migrations: 'migrations/library' });
 * const loader = await MigrationLoader.load([library]);       // JavaScript migration files
 * await new MigrationExecutor(loader, 'default').migrate();   // to the latest migration of every app
 * ```
 */
export { AppConfig, defineApp, type AppOptions, type ModelsSource } from './app-config';
export {
  FIELD_TYPES,
  fields,
  fieldSpec,
  columnOf,
  specsEqual,
  type FieldSpec,
  type FieldSpecOptions,
  type FieldType,
  type StateValue,
} from './field-spec';
export { deconstructField, callableDefault, type AppLabelOf } from './deconstruct';
export { ModelState, type ModelOptionsState, type IndexSpec, type ConstraintSpec } from './model-state';
export { ProjectState } from './project-state';
export { StateApps, type HistoricalModel } from './state-apps';
export * from './operations';
export { Migration, type MigrationKey, type MigrationOptions } from './migration';
export { MigrationGraph } from './graph';
export { MigrationLoader, nodeLoader, MIGRATION_FILE, type ModuleLoader, type MigrationLoaderOptions } from './loader';
export { MigrationRecorder, RECORDER_TABLE, type AppliedMigration } from './recorder';
export { migrationLock, LOCK_NAME, type MigrationLock } from './migration-lock';
export {
  MigrationExecutor,
  type MigrateOptions,
  type MigrateResult,
  type MigrationTarget,
  type PlanStep,
  type ProgressEvent,
} from './executor';
export { Autodetector, suggestName, type DraftMigration, type DetectOptions } from './autodetector';
export { NonInteractiveQuestioner, type Questioner, type RenameAnswers } from './questioner';
export { writeMigration, serialize, type WriteOptions } from './writer';
export * from './errors';
export { checkModels, type CheckMessage } from '../checks/model-checks';
export { constraintName } from '../models/naming';
export {
  BaseSchemaEditor,
  type Statement,
  type IndexDef,
  type ConstraintDef,
  type SchemaEditorOptions,
} from '../schema/backends/base-schema-editor';
export { PostgresSchemaEditor } from '../schema/backends/postgres-schema-editor';
export { MysqlSchemaEditor } from '../schema/backends/mysql-schema-editor';
export { SqliteSchemaEditor } from '../schema/backends/sqlite-schema-editor';
export { schemaEditorFor } from '../schema/backends/schema-editor-for';
export { Introspection, type ColumnInfo, type ConstraintInfo, type ConstraintFilter } from '../schema/introspection/introspection';
export { introspectionFor } from '../schema/introspection/introspection-for';
