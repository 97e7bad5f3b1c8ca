/**
 * One model as the migrations know it (Django's `migrations.state.ModelState`): app label, name,
 * fields as specs in declaration order, and the options that shape the schema (table, unique
 * together, indexes, constraints). Built from a real model, or by operations from migrations.
 */
import { UniqueConstraint, type Index } from '../models/constraints';
import type { ModelMeta } from '../models/model-meta';
import { ReverseRelation } from '../fields/reverse-relation';
import { deconstructField, type AppLabelOf } from './deconstruct';
import { columnOf, specsEqual, valuesEqual, type FieldSpec } from './field-spec';
import { BadMigrationError } from './errors';

/** An index in a migration (Django's `models.Index`): field names, `-name` for descending. */
export interface IndexSpec {
  readonly name: string;
  readonly fields: readonly string[];
  readonly unique?: boolean;
}

/** A named table constraint: unique over fields, or a check (an SQL condition over columns). */
export type ConstraintSpec =
  | { readonly kind: 'unique'; readonly name: string; readonly fields: readonly string[] }
  | { readonly kind: 'check'; readonly name: string; readonly check: string };

/** The options of a model that the schema depends on. */
export interface ModelOptionsState {
  /** The table (always explicit in migrations). */
  dbTable: string;
  uniqueTogether?: readonly (readonly string[])[];
  indexes?: readonly IndexSpec[];
  constraints?: readonly ConstraintSpec[];
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export class ModelState {
  readonly appLabel: string;
  readonly name: string;
  /** Fields in declaration order. */
  fields: Map<string, FieldSpec>;
  options: ModelOptionsState;

  constructor(
    appLabel: string,
    name: string,
    fields: Iterable<readonly [string, FieldSpec]> | Record<string, FieldSpec>,
    options: ModelOptionsState,
  ) {
    if (!NAME.test(appLabel)) throw new BadMigrationError(`App label ${JSON.stringify(appLabel)} must be an identifier.`);
    if (!NAME.test(name)) throw new BadMigrationError(`Model name ${JSON.stringify(name)} must be an identifier.`);
    this.appLabel = appLabel;
    this.name = name;
    const entries = Symbol.iterator in Object(fields) ? [...(fields as Iterable<readonly [string, FieldSpec]>)] : Object.entries(fields);
    this.fields = new Map(entries.map(([k, v]) => [k, v] as [string, FieldSpec]));
    if (!options || typeof options.dbTable !== 'string' || !NAME.test(options.dbTable)) {
      throw new BadMigrationError(`${appLabel}.${name}: options.dbTable must be a table name, got ${JSON.stringify(options?.dbTable)}.`);
    }
    this.options = normaliseOptions(options);
  }

  /** `app.Model`. */
  get key(): string {
    return `${this.appLabel}.${this.name}`;
  }

  /** The model's table. */
  get dbTable(): string {
    return this.options.dbTable;
  }

  field(name: string): FieldSpec {
    const f = this.fields.get(name);
    if (!f) {
      throw new BadMigrationError(`${this.key} has no field '${name}'. Fields: ${[...this.fields.keys()].join(', ')}.`);
    }
    return f;
  }

  /** The column of a field (undefined for many-to-many). */
  column(name: string): string | undefined {
    return columnOf(name, this.field(name));
  }

  /** The primary key field's name. */
  get pkName(): string {
    for (const [n, f] of this.fields) if (f.options.primaryKey || f.type === 'AutoField' || f.type === 'BigAutoField') return n;
    throw new BadMigrationError(`${this.key} has no primary key field.`);
  }

  clone(): ModelState {
    return new ModelState(this.appLabel, this.name, [...this.fields], { ...this.options });
  }

  /** A copy under another name (RenameModel). */
  renamed(name: string): ModelState {
    return new ModelState(this.appLabel, name, [...this.fields], { ...this.options });
  }

  /** Same fields (in any order) and options? */
  equals(other: ModelState): boolean {
    if (this.key !== other.key || this.fields.size !== other.fields.size) return false;
    for (const [n, f] of this.fields) {
      const g = other.fields.get(n);
      if (!g || !specsEqual(f, g)) return false;
    }
    return valuesEqual(this.options, other.options);
  }

  /** The state of a real model (labels of related models from `labelOf`). */
  static fromModel(meta: ModelMeta, appLabel: string, labelOf: AppLabelOf): ModelState {
    const fields: [string, FieldSpec][] = [];
    for (const [name, field] of meta.declared) {
      if (field instanceof ReverseRelation) continue;
      fields.push([name, deconstructField(field, labelOf)]);
    }
    const o = meta.options;
    const constraints: ConstraintSpec[] = (o.constraints ?? []).map((c) => {
      if (c instanceof UniqueConstraint) return { kind: 'unique', name: c.name, fields: [...c.fields] };
      const check = c as unknown as { name: string; check: string };
      return { kind: 'check', name: check.name, check: String(check.check) };
    });
    const indexes: IndexSpec[] = (o.indexes ?? []).map((i: Index) =>
      i.unique ? { name: i.name, fields: [...i.fields], unique: true } : { name: i.name, fields: [...i.fields] },
    );
    return new ModelState(appLabel, meta.name, fields, {
      dbTable: meta.dbTable,
      uniqueTogether: (o.uniqueTogether ?? []).map((g) => [...g]),
      indexes,
      constraints,
    });
  }
}

/** Drop empty lists so that equal states compare equal however they were built. */
function normaliseOptions(o: ModelOptionsState): ModelOptionsState {
  const out: ModelOptionsState = { dbTable: o.dbTable };
  if (o.uniqueTogether && o.uniqueTogether.length > 0) out.uniqueTogether = o.uniqueTogether.map((g) => [...g]);
  if (o.indexes && o.indexes.length > 0)
    out.indexes = o.indexes.map((i) => (i.unique ? { ...i, fields: [...i.fields] } : { name: i.name, fields: [...i.fields] }));
  if (o.constraints && o.constraints.length > 0) out.constraints = o.constraints.map((c) => ({ ...c }));
  for (const key of Object.keys(o)) {
    if (!['dbTable', 'uniqueTogether', 'indexes', 'constraints'].includes(key)) {
      throw new BadMigrationError(
        `Unknown model option '${key}' in a migration. Valid options: dbTable, uniqueTogether, indexes, constraints.`,
      );
    }
  }
  return out;
}
