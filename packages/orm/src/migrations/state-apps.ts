/**
 * Historical models: model classes rendered from a `ProjectState` (Django's `StateApps`), so that
 * the schema editor can work on the models as they were at a point of the history, and data
 * migrations (`RunCode`) can query them with the fields they had then, whatever the current
 * models say.
 *
 * Rendered models point only at each other (relations resolve inside one rendering), so they
 * never add reverse accessors to your real models.
 */
import type { Field } from '../fields/field';
import { AutoField, BigAutoField } from '../fields/auto-field';
import { BooleanField } from '../fields/boolean-field';
import { CharField } from '../fields/char-field';
import { DateField } from '../fields/date-field';
import { DateTimeField } from '../fields/date-time-field';
import { DecimalField } from '../fields/decimal-field';
import { FloatField } from '../fields/float-field';
import { ForeignKey, OneToOneField } from '../fields/foreign-key';
import { BigIntegerField, IntegerField } from '../fields/integer-field';
import { JSONField } from '../fields/json-field';
import { ManyToManyField } from '../fields/many-to-many-field';
import { TextField } from '../fields/text-field';
import { UUIDField } from '../fields/uuid-field';
import { Index, UniqueConstraint } from '../models/constraints';
import { Model, type ModelClass } from '../models/model';
import { metaOfClass, type ModelMeta } from '../models/model-meta';
import { lowerFirst } from '../models/naming';
import { MigrationNamingStrategy } from '../models/naming-strategy';
import type { FieldMap } from '../types';
import { BadMigrationError } from './errors';
import type { FieldSpec } from './field-spec';
import type { ModelState } from './model-state';

/** Columns as migration files mean them: `dbColumn`, else the field's name, whatever the models' strategy is. */
const MIGRATION_NAMING = new MigrationNamingStrategy();

/** A historical model class. */
export type HistoricalModel = ModelClass<FieldMap>;

export class StateApps {
  private readonly classes = new Map<string, HistoricalModel>();

  constructor(models: Iterable<ModelState>) {
    const list = [...models];
    for (const ms of list) this.classes.set(ms.key, this.render(ms));
    // Resolve every relation now, so that a dangling reference is reported here, naming the field.
    for (const ms of list) {
      const meta = this.meta(ms.key);
      for (const f of [...meta.fields, ...meta.manyToMany]) void (f as Field & { relatedMeta?: ModelMeta }).relatedMeta;
    }
  }

  /** A historical model by `('app', 'Model')` or `'app.Model'`. */
  getModel(appLabel: string, name?: string): HistoricalModel {
    const key = name === undefined ? appLabel : `${appLabel}.${name}`;
    const cls = this.classes.get(key);
    if (!cls)
      throw new BadMigrationError(`No model '${key}' in the migration state. Models: ${[...this.classes.keys()].join(', ') || '(none)'}.`);
    return cls;
  }

  /** The metadata of a historical model. */
  meta(key: string): ModelMeta {
    return metaOfClass(this.getModel(key)) as ModelMeta;
  }

  has(key: string): boolean {
    return this.classes.has(key);
  }

  private resolve(label: string, from: string): () => HistoricalModel {
    return () => {
      const cls = this.classes.get(label);
      if (!cls)
        throw new BadMigrationError(
          `${from} points to '${label}', which is not in the migration state (is a dependency on its app's migration missing?).`,
        );
      return cls;
    };
  }

  private render(ms: ModelState): HistoricalModel {
    const fields: Record<string, Field> = {};
    for (const [name, spec] of ms.fields) fields[name] = this.buildField(ms, name, spec);
    const o = ms.options;
    const options = {
      name: ms.name,
      dbTable: o.dbTable,
      namingStrategy: MIGRATION_NAMING,
      uniqueTogether: o.uniqueTogether ?? [],
      indexes: (o.indexes ?? []).map((i) => new Index({ name: i.name, fields: i.fields, unique: i.unique ?? false })),
      constraints: (o.constraints ?? []).flatMap((c) =>
        c.kind === 'unique' ? [new UniqueConstraint({ name: c.name, fields: c.fields })] : [],
      ),
    };
    return Model.define(fields as FieldMap, options as never) as HistoricalModel;
  }

  private buildField(ms: ModelState, name: string, spec: FieldSpec): Field {
    const o = spec.options;
    const common: Record<string, unknown> = {};
    for (const k of ['null', 'unique', 'dbIndex', 'dbColumn', 'default', 'primaryKey'] as const) if (o[k] !== undefined) common[k] = o[k];
    const where = `${ms.key}.${name}`;
    switch (spec.type) {
      case 'AutoField':
        return new AutoField(o.dbColumn ? { dbColumn: o.dbColumn } : {}) as unknown as Field;
      case 'BigAutoField':
        return new BigAutoField(o.dbColumn ? { dbColumn: o.dbColumn } : {}) as unknown as Field;
      case 'IntegerField':
        return new IntegerField(common) as unknown as Field;
      case 'BigIntegerField':
        return new BigIntegerField(common) as unknown as Field;
      case 'FloatField':
        return new FloatField(common) as unknown as Field;
      case 'DecimalField':
        return new DecimalField({
          ...common,
          maxDigits: o.maxDigits as number,
          decimalPlaces: o.decimalPlaces as number,
        }) as unknown as Field;
      case 'CharField':
        return new CharField({
          ...common,
          maxLength: o.maxLength as number,
          ...(o.dbCollation ? { dbCollation: o.dbCollation } : {}),
        }) as unknown as Field;
      case 'TextField':
        return new TextField({ ...common, ...(o.dbCollation ? { dbCollation: o.dbCollation } : {}) }) as unknown as Field;
      case 'BooleanField':
        return new BooleanField(common) as unknown as Field;
      case 'DateField':
        return new DateField({ ...common, autoNow: o.autoNow ?? false, autoNowAdd: o.autoNowAdd ?? false }) as unknown as Field;
      case 'DateTimeField':
        return new DateTimeField({ ...common, autoNow: o.autoNow ?? false, autoNowAdd: o.autoNowAdd ?? false }) as unknown as Field;
      case 'UUIDField':
        return new UUIDField(common) as unknown as Field;
      case 'JSONField':
        return new JSONField(common) as unknown as Field;
      case 'ForeignKey':
      case 'OneToOneField': {
        const rel: Record<string, unknown> = { ...common, onDelete: o.onDelete };
        if (o.relatedName !== undefined) rel.relatedName = o.relatedName;
        if (o.relatedQueryName !== undefined) rel.relatedQueryName = o.relatedQueryName;
        if (o.dbConstraint === false) rel.dbConstraint = false;
        if (spec.type === 'OneToOneField') delete rel.unique;
        const Cls = spec.type === 'ForeignKey' ? ForeignKey : OneToOneField;
        return new Cls(this.resolve(o.to as string, where) as never, rel as never) as unknown as Field;
      }
      case 'ManyToManyField': {
        const rel: Record<string, unknown> = {};
        if (o.relatedName !== undefined) rel.relatedName = o.relatedName;
        if (o.relatedQueryName !== undefined) rel.relatedQueryName = o.relatedQueryName;
        if (o.through !== undefined) rel.through = this.resolve(o.through, where);
        else rel.through = this.autoThrough(ms, name, spec);
        return new ManyToManyField(this.resolve(o.to as string, where) as never, rel) as unknown as Field;
      }
    }
  }

  /** The auto-created through model of a many-to-many, with the table and columns the state names. */
  private autoThrough(ms: ModelState, name: string, spec: FieldSpec): () => HistoricalModel {
    let cls: HistoricalModel | undefined;
    const target = spec.options.to as string;
    const self = target === ms.key;
    const targetName = target.slice(target.indexOf('.') + 1);
    const fromName = self ? `from${ms.name}` : lowerFirst(ms.name);
    const toName = self ? `to${targetName}` : lowerFirst(targetName);
    const [fromCol, toCol] = spec.options.throughColumns ?? [`${fromName}_id`, `${toName}_id`];
    const table = spec.options.dbTable ?? `${ms.dbTable}_${name}`;
    return () => {
      cls ??= Model.define(
        {
          [fromName]: new ForeignKey(this.resolve(ms.key, `${ms.key}.${name}`) as never, {
            onDelete: 'cascade',
            dbColumn: fromCol,
            relatedName: `${ms.name}_${name}_from`,
          }),
          [toName]: new ForeignKey(this.resolve(target, `${ms.key}.${name}`) as never, {
            onDelete: 'cascade',
            dbColumn: toCol,
            relatedName: `${ms.name}_${name}_to`,
          }),
        } as FieldMap,
        {
          name: `${ms.name}_${name}`,
          dbTable: table,
          namingStrategy: MIGRATION_NAMING,
          uniqueTogether: [[fromName, toName]],
          autoCreated: true,
        } as never,
      ) as HistoricalModel;
      return cls;
    };
  }
}
