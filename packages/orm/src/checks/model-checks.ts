/**
 * The system checks of `spool check` (Django's `check` framework, for models): the model
 * definitions are validated without touching a database, and each problem gets a Django-style
 * id (`fields.E304`) that names the rule.
 *
 * | id | problem |
 * |---|---|
 * | `fields.E300` | a relation points to a model that cannot be resolved or is in no app |
 * | `fields.E302` | a reverse accessor clashes with a field of the related model |
 * | `fields.E304` | two reverse accessors (or reverse query names) clash on one model |
 * | `fields.W342` | a ForeignKey with unique: true is better a OneToOneField |
 * | `fields.E340` | a many-to-many's table is the table of another model or many-to-many |
 * | `models.E001` | a model failed its own definition checks (the message says which) |
 * | `models.E018` | a table or column name (given, or from the naming strategy) is longer than 63 characters (PostgreSQL's limit) |
 * | `models.E028` | one table is used by several models |
 * | `models.E030` | an index name is used by several models |
 * | `models.E032` | a constraint name is used by several models |
 * | `models.E034` | an index or constraint name is longer than 63 characters (PostgreSQL's limit) |
 * | `migrations.E001` | a field's default cannot be written into a migration |
 */
import { ForeignObject, RelatedField } from '../fields/foreign-key';
import type { ModelMeta } from '../models/model-meta';
import type { AppConfig } from '../migrations/app-config';
import { deconstructField } from '../migrations/deconstruct';

export interface CheckMessage {
  readonly id: string;
  readonly level: 'error' | 'warning';
  /** `app.Model` or `app.Model.field`. */
  readonly obj: string;
  readonly message: string;
  readonly hint?: string;
}

export async function checkModels(apps: readonly AppConfig[]): Promise<CheckMessage[]> {
  const out: CheckMessage[] = [];
  const labels = new Map<ModelMeta, string>();
  const all: ModelMeta[] = [];
  for (const app of apps) {
    for (const meta of await app.models()) {
      labels.set(meta, app.label);
      all.push(meta);
    }
  }
  const label = (m: ModelMeta) => `${labels.get(m) ?? '?'}.${m.name}`;
  const tables = new Map<string, ModelMeta>();
  const indexNames = new Map<string, ModelMeta>();
  const constraintNames = new Map<string, ModelMeta>();
  for (const meta of all) {
    const obj = label(meta);
    // Relations resolve, to models of an app.
    for (const f of [...meta.fields, ...meta.manyToMany]) {
      if (!(f instanceof RelatedField)) continue;
      let target: ModelMeta | undefined;
      try {
        target = (f as RelatedField<never>).relatedMeta;
      } catch (err) {
        out.push({
          id: 'fields.E300',
          level: 'error',
          obj: `${obj}.${f.name}`,
          message: `Field defines a relation with a model that cannot be resolved: ${(err as Error).message}`,
        });
        continue;
      }
      if (!labels.has(target)) {
        out.push({
          id: 'fields.E300',
          level: 'error',
          obj: `${obj}.${f.name}`,
          message: `Field defines a relation with model '${target.name}', which is not in any app.`,
          hint: `Add ${target.name} to an app's models in the Spool config.`,
        });
      }
      if (f instanceof ForeignObject && f.internalType === 'ForeignKey' && f.unique) {
        out.push({
          id: 'fields.W342',
          level: 'warning',
          obj: `${obj}.${f.name}`,
          message: 'Setting unique: true on a ForeignKey has the same effect as using a OneToOneField.',
          hint: 'ForeignKey(unique: true) is usually better served by a OneToOneField.',
        });
      }
    }
    // Reverse accessors and query names.
    try {
      meta.related();
    } catch (err) {
      const message = (err as Error).message;
      const id = /clashes with the field/.test(message) ? 'fields.E302' : 'fields.E304';
      out.push({ id, level: 'error', obj, message, hint: 'Add or change a relatedName on one of the fields.' });
    }
    // Names shared between models.
    const other = tables.get(meta.dbTable);
    if (other)
      out.push({
        id: 'models.E028',
        level: 'error',
        obj,
        message: `db_table '${meta.dbTable}' is used by multiple models: ${label(other)}, ${obj}.`,
      });
    else tables.set(meta.dbTable, meta);
    // Names PostgreSQL would cut to 63 characters (it truncates longer identifiers with a mere notice).
    const named = [
      { what: 'table', name: meta.dbTable, obj },
      ...meta.fields.map((f) => ({ what: 'column', name: f.column, obj: `${obj}.${f.name}` })),
    ];
    for (const m2m of meta.manyToMany) {
      let through: ModelMeta;
      try {
        through = meta.throughFor(m2m);
      } catch {
        continue; // reported as fields.E300 above
      }
      if (!through.autoCreated) continue;
      named.push({ what: 'table', name: through.dbTable, obj: `${obj}.${m2m.name}` });
      for (const f of through.fields) named.push({ what: 'column', name: f.column, obj: `${obj}.${m2m.name}` });
      const clash = tables.get(through.dbTable);
      if (clash)
        out.push({
          id: 'fields.E340',
          level: 'error',
          obj: `${obj}.${m2m.name}`,
          message: `The field's intermediary table '${through.dbTable}' clashes with the table name of ${label(clash)}.`,
          hint: 'Give the many-to-many field a dbTable, or the model another dbTable.',
        });
      else tables.set(through.dbTable, meta);
    }
    for (const n of named) {
      if (n.name.length > 63)
        out.push({
          id: 'models.E018',
          level: 'error',
          obj: n.obj,
          message: `The ${n.what} name '${n.name}' is ${n.name.length} characters long; PostgreSQL keeps only 63.`,
          hint: `Set a shorter ${n.what === 'table' ? 'dbTable' : 'dbColumn'}.`,
        });
    }
    for (const idx of meta.options.indexes ?? []) {
      const o = indexNames.get(idx.name);
      if (o && o !== meta)
        out.push({
          id: 'models.E030',
          level: 'error',
          obj,
          message: `index name '${idx.name}' is not unique among models: ${label(o)}, ${obj}.`,
        });
      indexNames.set(idx.name, meta);
      if (idx.name.length > 63)
        out.push({ id: 'models.E034', level: 'error', obj, message: `The index name '${idx.name}' cannot be longer than 63 characters.` });
    }
    for (const c of meta.options.constraints ?? []) {
      const o = constraintNames.get(c.name);
      if (o && o !== meta)
        out.push({
          id: 'models.E032',
          level: 'error',
          obj,
          message: `constraint name '${c.name}' is not unique among models: ${label(o)}, ${obj}.`,
        });
      constraintNames.set(c.name, meta);
      if (c.name.length > 63)
        out.push({
          id: 'models.E034',
          level: 'error',
          obj,
          message: `The constraint name '${c.name}' cannot be longer than 63 characters.`,
        });
    }
    // Every field can be written into a migration.
    for (const f of [...meta.fields, ...meta.manyToMany]) {
      const name = f.name;
      try {
        deconstructField(f, (m) => labels.get(m) ?? 'unknown');
      } catch (err) {
        out.push({ id: 'migrations.E001', level: 'error', obj: `${obj}.${name}`, message: (err as Error).message });
      }
    }
  }
  return out;
}
