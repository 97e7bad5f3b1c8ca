/**
 * SQLite's schema editor. SQLite alters tables in place only to add a nullable column, rename a
 * column or a table, and add or drop an index; everything else rebuilds the table (Django's
 * `_remake_table`): create the new table under a temporary name, copy the rows across (filling
 * added columns with their default, NULLs of a column that becomes NOT NULL with the new default),
 * drop the old table, rename the new one, recreate the indexes. Data is preserved.
 *
 * The rebuild needs foreign key enforcement off (`PRAGMA foreign_keys = OFF`, which SQLite only
 * accepts outside a transaction): the migration executor switches it off around each migration
 * and runs `PRAGMA foreign_key_check` before committing.
 */
import { connections } from '@spool/connections';
import type { Field } from '../../fields/field';
import { ForeignObject } from '../../fields/foreign-key';
import { ManyToManyField } from '../../fields/many-to-many-field';
import type { ModelMeta } from '../../models/model-meta';
import { BaseSchemaEditor, type ConstraintDef, type ForeignKeyViolation, type IndexDef } from './base-schema-editor';

export class SqliteSchemaEditor extends BaseSchemaEditor {
  readonly vendor = 'sqlite' as const;
  readonly atomicDdl = true;

  /** Table rebuilds run with the foreign key checks off: check the rows afterwards. */
  override async foreignKeyViolations(): Promise<ForeignKeyViolation[]> {
    return (await connections.query(this.alias, 'PRAGMA foreign_key_check', [])).rows as unknown as ForeignKeyViolation[];
  }

  protected autoPkSql(): string {
    return 'NOT NULL PRIMARY KEY AUTOINCREMENT';
  }

  quoteValue(value: unknown): string {
    if (value === null || value === undefined) return 'NULL';
    if (typeof value === 'boolean') return value ? '1' : '0';
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) throw new TypeError(`Cannot use ${value} as a default.`);
      return String(value);
    }
    if (typeof value === 'bigint') return value.toString();
    if (value instanceof Date) return this.quoteString(value.toISOString(), false);
    if (typeof value === 'string') return this.quoteString(value, false);
    return this.quoteString(JSON.stringify(value), false);
  }

  protected override inlineReference(f: Field): string {
    if (!(f instanceof ForeignObject) || !(f as ForeignObject<never>).dbConstraint) return '';
    const fk = f as ForeignObject<never>;
    return ` REFERENCES ${this.q(fk.relatedMeta.dbTable)} (${this.q(fk.targetField.column)}) DEFERRABLE INITIALLY DEFERRED`;
  }

  override sqlForeignKeys(): string[] {
    return [];
  }

  override async addField(from: ModelMeta, to: ModelMeta, field: Field): Promise<void> {
    if (field instanceof ManyToManyField) return super.addField(from, to, field);
    if (field.null && !this.effectiveDefault(field) && !field.unique && !field.primaryKey) {
      await this.execute(`ALTER TABLE ${this.q(to.dbTable)} ADD COLUMN ${this.columnSql(field)}`);
      if (this.needsIndex(field)) await this.execute(this.sqlCreateFieldIndex(to, field));
      return;
    }
    await this.remake(from, to, { add: field });
  }

  override async removeField(from: ModelMeta, to: ModelMeta, field: Field): Promise<void> {
    if (field instanceof ManyToManyField) return super.removeField(from, to, field);
    await this.remake(from, to, {});
  }

  protected override async alterColumn(from: ModelMeta, to: ModelMeta, oldField: Field, newField: Field): Promise<void> {
    const sameButName =
      this.columnSql(oldField, { inline: false }).replace(this.q(oldField.column), '') ===
        this.columnSql(newField, { inline: false }).replace(this.q(newField.column), '') &&
      this.inlineReference(oldField) === this.inlineReference(newField) &&
      oldField.unique === newField.unique &&
      this.needsIndex(oldField) === this.needsIndex(newField);
    if (sameButName && oldField.column !== newField.column) {
      await this.execute(this.sqlRenameColumn(to.dbTable, oldField, newField));
      return;
    }
    await this.remake(from, to, { alter: [oldField, newField] });
  }

  protected async alterColumnType(): Promise<void> {
    throw new Error('SQLite changes column types by rebuilding the table');
  }

  override async alterUniqueTogether(from: ModelMeta, to: ModelMeta): Promise<void> {
    await this.remake(from, to, {});
  }

  override async addConstraint(from: ModelMeta, to: ModelMeta, _c: ConstraintDef): Promise<void> {
    await this.remake(from, to, {});
  }

  override async removeConstraint(from: ModelMeta, to: ModelMeta, _c: ConstraintDef): Promise<void> {
    await this.remake(from, to, {});
  }

  override async addIndex(meta: ModelMeta, index: IndexDef): Promise<void> {
    await super.addIndex(meta, index);
  }

  /**
   * Rebuild `to`'s table from `from`'s rows. `add` is a field new in `to` (filled with its
   * default); `alter` maps an old field to its new version; other fields match by name.
   */
  async remake(from: ModelMeta, to: ModelMeta, change: { add?: Field; alter?: readonly [Field, Field] }): Promise<void> {
    const table = to.dbTable;
    const temp = `new__${table}`;
    await this.execute(this.sqlCreateTable(to, temp));
    const columns: string[] = [];
    const exprs: string[] = [];
    const params: unknown[] = [];
    for (const f of to.fields) {
      let expr: string | undefined;
      if (change.add === f) {
        const d = this.effectiveDefault(f);
        if (d) {
          expr = '?';
          params.push(this.backend.prepareValue(d.value));
        }
      } else if (change.alter && change.alter[1] === f) {
        const old = change.alter[0];
        expr = this.q(old.column);
        if (old.null && !f.null) {
          const d = this.effectiveDefault(f);
          if (d) {
            expr = `coalesce(${expr}, ?)`;
            params.push(this.backend.prepareValue(d.value));
          }
        }
      } else {
        const old = from.fields.find((x) => x.name === f.name);
        if (old) expr = this.q(old.column);
      }
      if (expr === undefined) continue;
      columns.push(this.q(f.column));
      exprs.push(expr);
    }
    await this.execute(
      `INSERT INTO ${this.q(temp)} (${columns.join(', ')}) SELECT ${exprs.join(', ')} FROM ${this.q(from.dbTable)}`,
      params,
    );
    await this.execute(`DROP TABLE ${this.q(from.dbTable)}`);
    await this.execute(`ALTER TABLE ${this.q(temp)} RENAME TO ${this.q(table)}`);
    for (const s of this.sqlIndexes(to)) await this.execute(s);
  }
}
