/** The schema editor of an alias's backend. */
import { connections } from '@spool/connections';
import type { BaseSchemaEditor, SchemaEditorOptions } from './base-schema-editor';
import { MysqlSchemaEditor } from './mysql-schema-editor';
import { PostgresSchemaEditor } from './postgres-schema-editor';
import { SqliteSchemaEditor } from './sqlite-schema-editor';

const BY_VENDOR = { postgresql: PostgresSchemaEditor, mysql: MysqlSchemaEditor, sqlite: SqliteSchemaEditor } as const;

/** A schema editor for `alias` (statements run on the calling scope's connection, or are collected). */
export function schemaEditorFor(alias = 'default', options: SchemaEditorOptions = {}): BaseSchemaEditor {
  return new BY_VENDOR[connections.backend(alias).vendor](alias, options);
}
