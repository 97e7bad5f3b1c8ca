/**
 * MariaDB's schema editor. MariaDB commits every DDL statement on its own (no transactional DDL):
 * a migration that fails halfway leaves the operations before the failing one applied, and the
 * executor says which.
 */
import type { Field } from '../../fields/field';
import { BaseSchemaEditor } from './base-schema-editor';
import type { ModelMeta } from '../../models/model-meta';

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

export class MysqlSchemaEditor extends BaseSchemaEditor {
  readonly vendor = 'mysql' as const;
  readonly atomicDdl = false;

  protected autoPkSql(): string {
    return 'AUTO_INCREMENT NOT NULL PRIMARY KEY';
  }

  quoteValue(value: unknown): string {
    if (value === null || value === undefined) return 'NULL';
    if (typeof value === 'boolean') return value ? '1' : '0';
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) throw new TypeError(`Cannot use ${value} as a default.`);
      return String(value);
    }
    if (typeof value === 'bigint') return value.toString();
    if (value instanceof Date) {
      const d = value;
      return `'${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}'`;
    }
    if (typeof value === 'string') return this.quoteString(value, true);
    return this.quoteString(JSON.stringify(value), true);
  }

  override async alterDbTable(_meta: ModelMeta, oldTable: string, newTable: string): Promise<void> {
    if (oldTable === newTable) return;
    await this.execute(`RENAME TABLE ${this.q(oldTable)} TO ${this.q(newTable)}`);
  }

  protected override sqlDropUnique(table: string, name: string): string {
    return `ALTER TABLE ${this.q(table)} DROP INDEX ${this.q(name)}`;
  }

  protected override sqlDropForeignKey(table: string, name: string): string {
    return `ALTER TABLE ${this.q(table)} DROP FOREIGN KEY ${this.q(name)}`;
  }

  protected override sqlDropIndex(table: string, name: string): string {
    return `DROP INDEX ${this.q(name)} ON ${this.q(table)}`;
  }

  protected async alterColumnType(table: string, _oldField: Field, newField: Field): Promise<void> {
    await this.execute(`ALTER TABLE ${this.q(table)} MODIFY ${this.q(newField.column)} ${this.columnType(newField)}${newField.null ? ' NULL' : ' NOT NULL'}`);
  }
}
