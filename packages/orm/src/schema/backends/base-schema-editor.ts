/**
 * The schema editor behind migrations (Django's `BaseDatabaseSchemaEditor`): every change a
 * migration makes to a table, written once here with the SQL that PostgreSQL and MariaDB share,
 * and overridden per backend where they differ (`postgres-schema-editor.ts`,
 * `mysql-schema-editor.ts`, `sqlite-schema-editor.ts`, which rebuilds tables for what SQLite
 * cannot alter in place).
 *
 * It works on model metadata (real models, or historical ones rendered from a migration state),
 * so that names come from the models: tables, columns, the through tables of many-to-many fields.
 * Constraints it must drop are found by introspection (their names may predate a rename); the
 * computed name is the fallback.
 *
 * Statements run on the calling scope's connection, or are only collected (`collect: true`,
 * for `spool sqlmigrate`). A default used to fill existing rows is never left on the column, as
 * Django does: the model, not the database, owns defaults.
 */
import { connections, type Backend, type Vendor } from '@spool/connections';
import { ModelDefinitionError } from '../../errors';
import type { Field } from '../../fields/field';
import { ForeignObject } from '../../fields/foreign-key';
import { ManyToManyField } from '../../fields/many-to-many-field';
import type { ModelMeta } from '../../models/model-meta';
import { constraintName, isIdentifier } from '../../models/naming';
import { introspectionFor } from '../introspection/introspection-for';
import type { BaseOperations } from '../../backends/base-operations';
import { operationsFor } from '../../backends/operations-for';
import type { ConstraintFilter, Introspection } from '../introspection/introspection';

/** One statement, with its parameters (DML only: DDL is never parameterised). */
export interface Statement {
  readonly sql: string;
  readonly params: readonly unknown[];
}

/** An index (Django's `models.Index`): field names, `-name` for descending. */
export interface IndexDef {
  readonly name: string;
  readonly fields: readonly string[];
  readonly unique?: boolean;
}

/** A named constraint: unique over fields, or a check (SQL over columns). */
export type ConstraintDef =
  | { readonly kind: 'unique'; readonly name: string; readonly fields: readonly string[] }
  | { readonly kind: 'check'; readonly name: string; readonly check: string };

/** Check constraints of models the schema editor works on (real models have none yet; historical ones carry their state's). @internal */
export const MODEL_CHECKS = new WeakMap<ModelMeta, readonly ConstraintDef[]>();

export interface SchemaEditorOptions {
  /** Collect the statements instead of running them (`sqlmigrate`). */
  collect?: boolean;
}

/** A row breaking a foreign key: row `rowid` of `table` references a missing row of `parent`. */
export interface ForeignKeyViolation {
  readonly table: string;
  readonly rowid: number;
  readonly parent: string;
}

export abstract class BaseSchemaEditor {
  readonly alias: string;
  readonly backend: Backend;
  abstract readonly vendor: Vendor;
  /** Does this database roll DDL back with the transaction? */
  abstract readonly atomicDdl: boolean;
  readonly collecting: boolean;
  /** What differs between databases in values and types (the query layer's per-vendor operations). */
  readonly ops: BaseOperations;
  /** Every statement run (or collected), in order. */
  readonly statements: Statement[] = [];
  /** The statement running now (named by errors). */
  current: Statement | undefined;
  private introspector: Introspection | undefined;

  constructor(alias = 'default', options: SchemaEditorOptions = {}) {
    this.alias = alias;
    this.backend = connections.backend(alias);
    this.ops = operationsFor(this.backend.vendor);
    this.collecting = options.collect ?? false;
  }

  /**
   * Rows that break a foreign key after schema changes the database did not check (Django's
   * `check_constraints()`): none where the database checks them itself.
   */
  async foreignKeyViolations(): Promise<ForeignKeyViolation[]> {
    return [];
  }

  /** The database's introspection (to find constraint names). */
  get introspection(): Introspection {
    this.introspector ??= introspectionFor(this.alias);
    return this.introspector;
  }

  // ---- execution --------------------------------------------------------------------------------

  /** Run one statement (or collect it). */
  async execute(sql: string, params: readonly unknown[] = []): Promise<void> {
    const st = { sql, params };
    this.statements.push(st);
    if (this.collecting) return;
    this.current = st;
    await connections.query(this.alias, sql, params);
    this.current = undefined;
  }

  /** Quote an identifier taken from model metadata (validated). */
  q(name: string): string {
    if (!isIdentifier(name)) throw new ModelDefinitionError(`'${name}' is not a valid identifier.`);
    return this.backend.quoteIdentifier(name);
  }

  /** A literal for DDL (defaults cannot be bound parameters there). */
  abstract quoteValue(value: unknown): string;

  /** `'text'` with quotes doubled; NUL refused. */
  protected quoteString(s: string, backslashes: boolean): string {
    if (s.includes('\u0000')) throw new ModelDefinitionError(`A default value cannot contain the NUL character.`);
    const body = s.replace(/'/g, "''");
    return `'${backslashes ? body.replace(/\\/g, '\\\\') : body}'`;
  }

  // ---- names ------------------------------------------------------------------------------------

  indexName(table: string, columns: readonly string[], suffix = 'idx'): string {
    return constraintName(table, columns, suffix);
  }

  fkName(meta: ModelMeta, field: ForeignObject<never>): string {
    const target = field.relatedMeta;
    return constraintName(meta.dbTable, [field.column], `fk_${target.dbTable}_${field.targetField.column}`.slice(0, 20));
  }

  /** Names of constraints on `columns` in the database, else `fallback`. */
  protected async existingNames(
    table: string,
    columns: readonly string[],
    filter: ConstraintFilter,
    fallback: string | undefined,
  ): Promise<string[]> {
    if (!this.collecting || (await this.introspection.tableExists(table))) {
      const names = await this.introspection.constraintNames(table, columns, filter);
      if (names.length > 0 || !this.collecting) return names;
    }
    return fallback ? [fallback] : [];
  }

  // ---- column definitions ---------------------------------------------------------------------------

  /** The column type with its collation. */
  columnType(f: Field): string {
    const v = this.vendor;
    const type = f.dbType(this.ops);
    if (!type) throw new ModelDefinitionError(`${f.model.name}.${f.name} has no column type on ${v}.`);
    const collation = (f as Field & { dbCollation?: string | Partial<Record<Vendor, string>> }).dbCollation;
    const coll = typeof collation === 'string' ? collation : collation?.[v];
    if (!coll) return type;
    if (!/^[A-Za-z0-9_\-.]+$/.test(coll)) throw new ModelDefinitionError(`${f.model.name}.${f.name}: invalid collation '${coll}'.`);
    return `${type}${this.ops.collateSql(coll)}`;
  }

  /** The auto-increment primary key definition after the type. */
  protected abstract autoPkSql(): string;

  /** A column definition; `defaultSql` is a literal to fill existing rows (dropped afterwards). */
  columnSql(f: Field, options: { defaultSql?: string; inline?: boolean } = {}): string {
    let sql = `${this.q(f.column)} ${this.columnType(f)}`;
    if (f.autoGenerated && f.primaryKey) return `${sql} ${this.autoPkSql()}`;
    if (options.defaultSql !== undefined) sql += ` DEFAULT ${options.defaultSql}`;
    sql += f.null ? ' NULL' : ' NOT NULL';
    if (f.primaryKey) sql += ' PRIMARY KEY';
    const check = f.dbCheck(this.ops);
    if (check) sql += ` CHECK (${check.replace('%(column)', this.q(f.column))} OR ${this.q(f.column)} IS NULL)`;
    if (options.inline !== false) sql += this.inlineReference(f);
    return sql;
  }

  /** SQLite declares foreign keys in the column; others add constraints afterwards. */
  protected inlineReference(_f: Field): string {
    return '';
  }

  /** The value used to fill existing rows when a NOT NULL column is added (Django's `effective_default`). */
  effectiveDefault(f: Field): { value: unknown } | undefined {
    let v: unknown;
    if (f.hasDefaultValue) v = f.getDefault();
    else if ((f as Field & { autoNow?: boolean }).autoNow || (f as Field & { autoNowAdd?: boolean }).autoNowAdd) {
      v = f.internalType === 'DateField' ? new Date().toISOString().slice(0, 10) : new Date();
    } else return undefined;
    if (v === null || v === undefined) return undefined;
    return { value: f.toDb(f.toJs(v), this.ops) };
  }

  // ---- models -----------------------------------------------------------------------------------

  /** Unique/check table constraints of a model, as CREATE TABLE clauses. */
  protected tableConstraints(meta: ModelMeta): string[] {
    const parts: string[] = [];
    for (const f of meta.fields) {
      if (f.unique && !f.primaryKey)
        parts.push(`CONSTRAINT ${this.q(this.indexName(meta.dbTable, [f.column], 'uniq'))} UNIQUE (${this.q(f.column)})`);
    }
    for (const group of meta.options.uniqueTogether ?? []) {
      const cols = group.map((n) => meta.concreteField(n).column);
      parts.push(`CONSTRAINT ${this.q(this.indexName(meta.dbTable, cols, 'uniq'))} UNIQUE (${cols.map((c) => this.q(c)).join(', ')})`);
    }
    for (const c of meta.options.constraints ?? []) {
      const cols = c.fields.map((n) => meta.concreteField(n).column);
      parts.push(`CONSTRAINT ${this.q(c.name)} UNIQUE (${cols.map((x) => this.q(x)).join(', ')})`);
    }
    for (const c of MODEL_CHECKS.get(meta) ?? []) if (c.kind === 'check') parts.push(`CONSTRAINT ${this.q(c.name)} CHECK (${c.check})`);
    return parts;
  }

  /** CREATE TABLE for a model under `table` (default: its own). */
  sqlCreateTable(meta: ModelMeta, table = meta.dbTable): string {
    const parts = [...meta.fields.map((f) => this.columnSql(f)), ...this.tableConstraints(meta)];
    return `CREATE TABLE ${this.q(table)} (${parts.join(', ')})`;
  }

  /** Does a foreign key column get an explicit index? (Not where the constraint makes one: MariaDB.) */
  protected explicitFkIndex(f: ForeignObject<never>): boolean {
    return f.dbIndex || !f.dbConstraint || !this.ops.features.foreignKeyConstraintsCreateIndexes;
  }

  /** Does the field need an index of its own (dbIndex, or a foreign key), outside unique ones? */
  needsIndex(f: Field): boolean {
    if (f.unique || f.primaryKey) return false;
    if (f instanceof ForeignObject) return this.explicitFkIndex(f as ForeignObject<never>);
    return f.dbIndex;
  }

  sqlCreateFieldIndex(meta: ModelMeta, f: Field): string {
    return `CREATE INDEX ${this.q(this.indexName(meta.dbTable, [f.column]))} ON ${this.q(meta.dbTable)} (${this.q(f.column)})`;
  }

  sqlCreateIndex(meta: ModelMeta, index: IndexDef): string {
    const cols = index.fields.map((n) => {
      const desc = n.startsWith('-');
      return `${this.q(meta.concreteField(desc ? n.slice(1) : n).column)}${desc ? ' DESC' : ''}`;
    });
    return `CREATE ${index.unique ? 'UNIQUE ' : ''}INDEX ${this.q(index.name)} ON ${this.q(meta.dbTable)} (${cols.join(', ')})`;
  }

  /** The indexes of a model (field indexes, then declared ones). */
  sqlIndexes(meta: ModelMeta): string[] {
    const out = meta.fields.filter((f) => this.needsIndex(f)).map((f) => this.sqlCreateFieldIndex(meta, f));
    for (const idx of meta.options.indexes ?? []) out.push(this.sqlCreateIndex(meta, idx));
    return out;
  }

  sqlForeignKey(meta: ModelMeta, f: ForeignObject<never>): string {
    const target = f.relatedMeta;
    return `ALTER TABLE ${this.q(meta.dbTable)} ADD CONSTRAINT ${this.q(this.fkName(meta, f))} FOREIGN KEY (${this.q(f.column)}) REFERENCES ${this.q(target.dbTable)} (${this.q(f.targetField.column)})${this.deferrable()}`;
  }

  protected deferrable(): string {
    return '';
  }

  /** Foreign key constraints added after the table. */
  sqlForeignKeys(meta: ModelMeta): string[] {
    return meta.fields
      .filter((f): f is ForeignObject<never> => f instanceof ForeignObject && (f as ForeignObject<never>).dbConstraint)
      .map((f) => this.sqlForeignKey(meta, f));
  }

  /** The auto-created through models of a model's many-to-many fields. */
  protected autoThroughs(meta: ModelMeta): ModelMeta[] {
    return meta.manyToMany.map((f) => meta.throughFor(f)).filter((t) => t.autoCreated);
  }

  /** Create a model's table, indexes, constraints and many-to-many tables. */
  async createModel(meta: ModelMeta): Promise<void> {
    await this.execute(this.sqlCreateTable(meta));
    for (const s of this.sqlIndexes(meta)) await this.execute(s);
    for (const s of this.sqlForeignKeys(meta)) await this.execute(s);
    for (const through of this.autoThroughs(meta)) await this.createModel(through);
  }

  /** Drop a model's table and its many-to-many tables. */
  async deleteModel(meta: ModelMeta): Promise<void> {
    for (const through of this.autoThroughs(meta)) await this.deleteModel(through);
    await this.execute(this.sqlDropTable(meta.dbTable));
  }

  protected sqlDropTable(table: string): string {
    return `DROP TABLE ${this.q(table)}`;
  }

  /** Rename a table. */
  async alterDbTable(_meta: ModelMeta, oldTable: string, newTable: string): Promise<void> {
    if (oldTable === newTable) return;
    await this.execute(`ALTER TABLE ${this.q(oldTable)} RENAME TO ${this.q(newTable)}`);
  }

  // ---- fields -----------------------------------------------------------------------------------

  /** Add a field (`to` is the model with the field; `from` the model before). */
  async addField(from: ModelMeta, to: ModelMeta, field: Field): Promise<void> {
    if (field instanceof ManyToManyField) {
      await this.createModel(to.throughFor(field as ManyToManyField<unknown>));
      return;
    }
    void from;
    const table = to.dbTable;
    const d = !field.null ? this.effectiveDefault(field) : undefined;
    await this.execute(
      `ALTER TABLE ${this.q(table)} ADD COLUMN ${this.columnSql(field, { defaultSql: d ? this.quoteValue(d.value) : undefined })}`,
    );
    if (d) await this.execute(this.sqlDropDefault(table, field));
    if (field.unique && !field.primaryKey)
      await this.execute(this.sqlAddUnique(table, this.indexName(table, [field.column], 'uniq'), [field.column]));
    if (this.needsIndex(field)) await this.execute(this.sqlCreateFieldIndex(to, field));
    if (field instanceof ForeignObject && (field as ForeignObject<never>).dbConstraint)
      await this.execute(this.sqlForeignKey(to, field as ForeignObject<never>));
  }

  protected sqlDropDefault(table: string, field: Field): string {
    return `ALTER TABLE ${this.q(table)} ALTER COLUMN ${this.q(field.column)} DROP DEFAULT`;
  }

  protected sqlAddUnique(table: string, name: string, columns: readonly string[]): string {
    return `ALTER TABLE ${this.q(table)} ADD CONSTRAINT ${this.q(name)} UNIQUE (${columns.map((c) => this.q(c)).join(', ')})`;
  }

  protected sqlDropConstraint(table: string, name: string): string {
    return `ALTER TABLE ${this.q(table)} DROP CONSTRAINT ${this.q(name)}`;
  }

  protected sqlDropUnique(table: string, name: string): string {
    return this.sqlDropConstraint(table, name);
  }

  protected sqlDropForeignKey(table: string, name: string): string {
    return this.sqlDropConstraint(table, name);
  }

  protected sqlDropIndex(_table: string, name: string): string {
    return `DROP INDEX ${this.q(name)}`;
  }

  /** Drop the foreign key constraints on a column. */
  protected async dropForeignKeys(meta: ModelMeta, field: ForeignObject<never>): Promise<void> {
    for (const name of await this.existingNames(meta.dbTable, [field.column], { foreignKey: true }, this.fkName(meta, field))) {
      await this.execute(this.sqlDropForeignKey(meta.dbTable, name));
    }
  }

  /** Remove a field (`from` is the model with the field). */
  async removeField(from: ModelMeta, _to: ModelMeta, field: Field): Promise<void> {
    if (field instanceof ManyToManyField) {
      await this.deleteModel(from.throughFor(field as ManyToManyField<unknown>));
      return;
    }
    if (field instanceof ForeignObject && (field as ForeignObject<never>).dbConstraint)
      await this.dropForeignKeys(from, field as ForeignObject<never>);
    await this.execute(this.sqlDropColumn(from.dbTable, field.column));
  }

  protected sqlDropColumn(table: string, column: string): string {
    return `ALTER TABLE ${this.q(table)} DROP COLUMN ${this.q(column)}`;
  }

  /** Change a field: type, null, default, unique, index, foreign key, column name. */
  async alterField(from: ModelMeta, to: ModelMeta, oldField: Field, newField: Field): Promise<void> {
    const oldM2m = oldField instanceof ManyToManyField;
    const newM2m = newField instanceof ManyToManyField;
    if (oldM2m || newM2m) {
      if (!(oldM2m && newM2m)) {
        throw new ModelDefinitionError(
          `${to.name}.${newField.name}: a field cannot change between many-to-many and a column. Remove the field and add a new one instead.`,
        );
      }
      await this.alterManyToMany(from, to, oldField as ManyToManyField<unknown>, newField as ManyToManyField<unknown>);
      return;
    }
    if (oldField.primaryKey !== newField.primaryKey) {
      throw new ModelDefinitionError(
        `${to.name}.${newField.name}: changing which field is the primary key is not supported by migrations. Write the change with RunSQL.`,
      );
    }
    await this.alterColumn(from, to, oldField, newField);
  }

  /** The column part of alterField (after the many-to-many and primary key cases). */
  protected async alterColumn(from: ModelMeta, to: ModelMeta, oldField: Field, newField: Field): Promise<void> {
    const table = to.dbTable;
    const oldFk =
      oldField instanceof ForeignObject && (oldField as ForeignObject<never>).dbConstraint ? (oldField as ForeignObject<never>) : undefined;
    const newFk =
      newField instanceof ForeignObject && (newField as ForeignObject<never>).dbConstraint ? (newField as ForeignObject<never>) : undefined;
    const oldType = this.columnType(oldField);
    const newType = this.columnType(newField);
    const typeChanged = oldType !== newType;
    const fkChanged =
      !!oldFk !== !!newFk ||
      (oldFk &&
        newFk &&
        (oldFk.relatedMeta.dbTable !== newFk.relatedMeta.dbTable || oldFk.targetField.column !== newFk.targetField.column));
    // 1. Drop what the change invalidates: the foreign key, the unique constraint, the index.
    if (oldFk && (fkChanged || typeChanged)) await this.dropForeignKeys(from, oldFk);
    const oldUnique = oldField.unique && !oldField.primaryKey;
    const newUnique = newField.unique && !newField.primaryKey;
    if (oldUnique && !newUnique) {
      for (const name of await this.existingNames(
        table,
        [oldField.column],
        { unique: true, primaryKey: false },
        this.indexName(from.dbTable, [oldField.column], 'uniq'),
      )) {
        await this.execute(this.sqlDropUnique(table, name));
      }
    }
    const oldIndex = this.needsIndex(oldField);
    const newIndex = this.needsIndex(newField);
    if (oldIndex && (!newIndex || (oldFk && !newFk && this.ops.features.foreignKeyConstraintsCreateIndexes))) {
      for (const name of await this.existingNames(
        table,
        [oldField.column],
        { index: true, unique: false, foreignKey: false },
        this.indexName(from.dbTable, [oldField.column]),
      )) {
        await this.execute(this.sqlDropIndex(table, name));
      }
    }
    // 2. Rename the column.
    if (oldField.column !== newField.column) await this.execute(this.sqlRenameColumn(table, oldField, newField));
    // 3. Type and nullability (rows with NULL get the default first when the column becomes NOT NULL).
    if (oldField.null && !newField.null) {
      const d = this.effectiveDefault(newField);
      if (d) {
        await this.execute(
          `UPDATE ${this.q(table)} SET ${this.q(newField.column)} = ${this.placeholder(0)} WHERE ${this.q(newField.column)} IS NULL`,
          [this.backend.prepareValue(d.value)],
        );
      }
    }
    if (typeChanged || oldField.null !== newField.null) await this.alterColumnType(table, oldField, newField, typeChanged);
    // 4. Add what the new field needs.
    if (newUnique && !oldUnique)
      await this.execute(this.sqlAddUnique(table, this.indexName(table, [newField.column], 'uniq'), [newField.column]));
    if (newIndex && (!oldIndex || (oldFk && !newFk && this.ops.features.foreignKeyConstraintsCreateIndexes)))
      await this.execute(this.sqlCreateFieldIndex(to, newField));
    if (newFk && (fkChanged || typeChanged)) await this.execute(this.sqlForeignKey(to, newFk));
  }

  protected placeholder(i: number): string {
    return this.backend.placeholder(i);
  }

  protected sqlRenameColumn(table: string, oldField: Field, newField: Field): string {
    return `ALTER TABLE ${this.q(table)} RENAME COLUMN ${this.q(oldField.column)} TO ${this.q(newField.column)}`;
  }

  /** Change a column's type and/or nullability. */
  protected abstract alterColumnType(table: string, oldField: Field, newField: Field, typeChanged: boolean): Promise<void>;

  /** A many-to-many field changed: its table or its columns may have been renamed. */
  protected async alterManyToMany(
    from: ModelMeta,
    to: ModelMeta,
    oldField: ManyToManyField<unknown>,
    newField: ManyToManyField<unknown>,
  ): Promise<void> {
    const oldThrough = from.throughFor(oldField);
    const newThrough = to.throughFor(newField);
    if (!oldThrough.autoCreated || !newThrough.autoCreated) return; // a through model of yours is migrated as a model
    await this.alterDbTable(newThrough, oldThrough.dbTable, newThrough.dbTable);
    const o = from.throughFields(oldField);
    const n = to.throughFields(newField);
    for (const [a, b] of [
      [o.source, n.source],
      [o.target, n.target],
    ] as const) {
      if (a.column !== b.column || a.relatedMeta.dbTable !== b.relatedMeta.dbTable) await this.alterColumn(oldThrough, newThrough, a, b);
    }
  }

  // ---- indexes and constraints ---------------------------------------------------------------------

  async addIndex(meta: ModelMeta, index: IndexDef): Promise<void> {
    await this.execute(this.sqlCreateIndex(meta, index));
  }

  async removeIndex(meta: ModelMeta, index: IndexDef): Promise<void> {
    await this.execute(this.sqlDropIndex(meta.dbTable, index.name));
  }

  async addConstraint(_from: ModelMeta, to: ModelMeta, c: ConstraintDef): Promise<void> {
    if (c.kind === 'unique') {
      await this.execute(
        this.sqlAddUnique(
          to.dbTable,
          c.name,
          c.fields.map((n) => to.concreteField(n).column),
        ),
      );
    } else {
      await this.execute(`ALTER TABLE ${this.q(to.dbTable)} ADD CONSTRAINT ${this.q(c.name)} CHECK (${c.check})`);
    }
  }

  async removeConstraint(from: ModelMeta, _to: ModelMeta, c: ConstraintDef): Promise<void> {
    await this.execute(c.kind === 'unique' ? this.sqlDropUnique(from.dbTable, c.name) : this.sqlDropCheck(from.dbTable, c.name));
  }

  protected sqlDropCheck(table: string, name: string): string {
    return this.sqlDropConstraint(table, name);
  }

  /** Change `uniqueTogether`: drop the groups that went, add the new ones. */
  async alterUniqueTogether(from: ModelMeta, to: ModelMeta): Promise<void> {
    const key = (m: ModelMeta, g: readonly string[]) => g.map((n) => m.concreteField(n).column);
    const oldGroups = (from.options.uniqueTogether ?? []).map((g) => key(from, g));
    const newGroups = (to.options.uniqueTogether ?? []).map((g) => key(to, g));
    const same = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
    for (const g of oldGroups) {
      if (newGroups.some((n) => same(n, g))) continue;
      for (const name of await this.existingNames(
        to.dbTable,
        g,
        { unique: true, primaryKey: false },
        this.indexName(from.dbTable, g, 'uniq'),
      )) {
        await this.execute(this.sqlDropUnique(to.dbTable, name));
      }
    }
    for (const g of newGroups) {
      if (oldGroups.some((o) => same(o, g))) continue;
      await this.execute(this.sqlAddUnique(to.dbTable, this.indexName(to.dbTable, g, 'uniq'), g));
    }
  }
}
