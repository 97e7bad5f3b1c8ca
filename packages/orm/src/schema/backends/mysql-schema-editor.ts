/**
 * MariaDB's schema editor. MariaDB commits every DDL statement on its own (no transactional DDL):
 * a migration that fails halfway leaves the operations before the failing one applied, and the
 * executor says which.
 */
import type { Field } from '../../fields/field';
import { BaseSchemaEditor, type ConstraintDef, type IndexDef } from './base-schema-editor';
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

  /**
   * MariaDB drops the index it made for a foreign key when another index starting with the same
   * column appears, and then refuses to drop that other index ("needed in a foreign key
   * constraint"). Before dropping an index or unique constraint, give the foreign key its own
   * index back if nothing else would cover it (as Django's MySQL backend does).
   */
  private async keepForeignKeyIndex(meta: ModelMeta, dropping: string): Promise<void> {
    const all = await this.introspection.constraints(meta.dbTable);
    const target = all.get(dropping);
    const first = target?.columns[0];
    if (!target || !first) return;
    const isFk = [...all.values()].some((c) => c.foreignKey && c.columns.length === 1 && c.columns[0] === first);
    if (!isFk) return;
    const covered = [...all.values()].some((c) => c.name !== dropping && (c.index || c.unique || c.primaryKey) && c.columns[0] === first);
    if (!covered)
      await this.execute(`CREATE INDEX ${this.q(this.indexName(meta.dbTable, [first]))} ON ${this.q(meta.dbTable)} (${this.q(first)})`);
  }

  override async removeIndex(meta: ModelMeta, index: IndexDef): Promise<void> {
    if (!this.collecting) await this.keepForeignKeyIndex(meta, index.name);
    await super.removeIndex(meta, index);
  }

  override async removeConstraint(from: ModelMeta, to: ModelMeta, c: ConstraintDef): Promise<void> {
    if (!this.collecting && c.kind === 'unique') await this.keepForeignKeyIndex(from, c.name);
    await super.removeConstraint(from, to, c);
  }

  override async alterUniqueTogether(from: ModelMeta, to: ModelMeta): Promise<void> {
    if (!this.collecting) {
      const keep = new Set((to.options.uniqueTogether ?? []).map((g) => g.map((n) => to.concreteField(n).column).join('\u0000')));
      for (const [name, c] of await this.introspection.constraints(to.dbTable)) {
        if (c.unique && !c.primaryKey && c.columns.length > 1 && !keep.has(c.columns.join('\u0000')))
          await this.keepForeignKeyIndex(to, name);
      }
    }
    await super.alterUniqueTogether(from, to);
  }

  protected async alterColumnType(table: string, _oldField: Field, newField: Field): Promise<void> {
    await this.execute(
      `ALTER TABLE ${this.q(table)} MODIFY ${this.q(newField.column)} ${this.columnType(newField)}${newField.null ? ' NULL' : ' NOT NULL'}`,
    );
  }
}
