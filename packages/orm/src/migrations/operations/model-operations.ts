/**
 * Operations on whole models: CreateModel, DeleteModel, RenameModel, AlterModelTable,
 * AlterUniqueTogether.
 */
import { BadMigrationError } from '../errors';
import { isRelation, type FieldSpec, withOptions } from '../field-spec';
import { ModelState, type ModelOptionsState } from '../model-state';
import type { ProjectState } from '../project-state';
import { lower, Operation, type OperationContext } from './operation';
import { MODEL_CHECKS } from '../../schema/backends/base-schema-editor';
import type { ModelMeta } from '../../models/model-meta';

/** The metadata of a historical model, with its check constraints attached for the schema editor. @internal */
export function historical(state: ProjectState, appLabel: string, name: string): ModelMeta {
  const ms = state.model(appLabel, name);
  const meta = state.apps.meta(ms.key);
  MODEL_CHECKS.set(
    meta,
    (ms.options.constraints ?? []).filter((c) => c.kind === 'check'),
  );
  return meta;
}

function checkName(op: string, value: unknown, what = 'name'): string {
  if (typeof value !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(value))
    throw new BadMigrationError(`${op}: ${what} must be an identifier, got ${JSON.stringify(value)}.`);
  return value;
}

/** Create a model's table (and its many-to-many tables). */
export class CreateModel extends Operation {
  readonly kind = 'CreateModel';
  readonly name: string;
  readonly fields: Readonly<Record<string, FieldSpec>>;
  readonly options: ModelOptionsState;

  constructor(args: { name: string; fields: Record<string, FieldSpec>; options: ModelOptionsState }) {
    super();
    this.name = checkName('CreateModel', args?.name);
    if (!args.fields || typeof args.fields !== 'object')
      throw new BadMigrationError(`CreateModel ${this.name}: fields must be an object of field specs.`);
    this.fields = args.fields;
    this.options = args.options;
  }

  describe(): string {
    return `Create model ${this.name}`;
  }

  stateForwards(appLabel: string, state: ProjectState): void {
    state.addModel(new ModelState(appLabel, this.name, Object.entries(this.fields), this.options));
  }

  async databaseForwards(ctx: OperationContext): Promise<void> {
    if (this.allowMigrate(ctx, this.name)) await ctx.editor.createModel(historical(ctx.to, ctx.appLabel, this.name));
  }

  async databaseBackwards(ctx: OperationContext): Promise<void> {
    if (this.allowMigrate(ctx, this.name)) await ctx.editor.deleteModel(historical(ctx.from, ctx.appLabel, this.name));
  }

  deconstruct(): Record<string, unknown> {
    return { name: this.name, fields: this.fields, options: this.options };
  }

  override migrationNameFragment(): string {
    return lower(this.name);
  }

  override referencedModels(appLabel: string): string[] {
    const out = [`${appLabel}.${this.name}`];
    for (const f of Object.values(this.fields)) {
      if (f.options.to) out.push(f.options.to);
      if (f.options.through) out.push(f.options.through);
    }
    return out;
  }
}

/** Drop a model's table. */
export class DeleteModel extends Operation {
  readonly kind = 'DeleteModel';
  readonly name: string;

  constructor(args: { name: string }) {
    super();
    this.name = checkName('DeleteModel', args?.name);
  }

  describe(): string {
    return `Delete model ${this.name}`;
  }

  stateForwards(appLabel: string, state: ProjectState): void {
    state.removeModel(appLabel, this.name);
  }

  async databaseForwards(ctx: OperationContext): Promise<void> {
    if (this.allowMigrate(ctx, this.name)) await ctx.editor.deleteModel(historical(ctx.from, ctx.appLabel, this.name));
  }

  async databaseBackwards(ctx: OperationContext): Promise<void> {
    if (this.allowMigrate(ctx, this.name)) await ctx.editor.createModel(historical(ctx.to, ctx.appLabel, this.name));
  }

  deconstruct(): Record<string, unknown> {
    return { name: this.name };
  }

  override migrationNameFragment(): string {
    return `delete_${lower(this.name)}`;
  }

  override referencedModels(appLabel: string): string[] {
    return [`${appLabel}.${this.name}`];
  }
}

/**
 * Rename a model. Tables are explicit in migrations, so this renames the model in the state
 * (and every relation pointing at it); a table that changes name with it gets an
 * `AlterModelTable` of its own.
 */
export class RenameModel extends Operation {
  readonly kind = 'RenameModel';
  readonly oldName: string;
  readonly newName: string;

  constructor(args: { oldName: string; newName: string }) {
    super();
    this.oldName = checkName('RenameModel', args?.oldName, 'oldName');
    this.newName = checkName('RenameModel', args?.newName, 'newName');
  }

  override get touchesDatabase(): boolean {
    return false;
  }

  describe(): string {
    return `Rename model ${this.oldName} to ${this.newName}`;
  }

  stateForwards(appLabel: string, state: ProjectState): void {
    renameModelIn(state, appLabel, this.oldName, this.newName);
  }

  async databaseForwards(): Promise<void> {}
  async databaseBackwards(): Promise<void> {}

  deconstruct(): Record<string, unknown> {
    return { oldName: this.oldName, newName: this.newName };
  }

  override migrationNameFragment(): string {
    return `rename_${lower(this.oldName)}_${lower(this.newName)}`;
  }

  override referencedModels(appLabel: string): string[] {
    return [`${appLabel}.${this.oldName}`, `${appLabel}.${this.newName}`];
  }
}

/** Rename `app.old` to `app.new` in a state, and every reference to it. @internal */
export function renameModelIn(state: ProjectState, appLabel: string, oldName: string, newName: string): void {
  const ms = state.model(appLabel, oldName);
  if (state.hasModel(appLabel, newName)) throw new BadMigrationError(`RenameModel: ${appLabel}.${newName} already exists.`);
  const oldKey = ms.key;
  const newKey = `${appLabel}.${newName}`;
  state.replaceModel(oldKey, ms.renamed(newName));
  for (const m of state.models.values()) {
    for (const [n, f] of m.fields) {
      if (!isRelation(f)) continue;
      const changes: Record<string, string> = {};
      if (f.options.to === oldKey) changes.to = newKey;
      if (f.options.through === oldKey) changes.through = newKey;
      if (Object.keys(changes).length > 0) m.fields.set(n, withOptions(f, changes));
    }
  }
  state.changed();
}

/** Rename a model's table. */
export class AlterModelTable extends Operation {
  readonly kind = 'AlterModelTable';
  readonly name: string;
  readonly dbTable: string;

  constructor(args: { name: string; dbTable: string }) {
    super();
    this.name = checkName('AlterModelTable', args?.name);
    this.dbTable = checkName('AlterModelTable', args?.dbTable, 'dbTable');
  }

  describe(): string {
    return `Rename table for ${this.name} to ${this.dbTable}`;
  }

  stateForwards(appLabel: string, state: ProjectState): void {
    state.updateModel(appLabel, this.name, (m) => {
      m.options = { ...m.options, dbTable: this.dbTable };
    });
  }

  async databaseForwards(ctx: OperationContext): Promise<void> {
    if (!this.allowMigrate(ctx, this.name)) return;
    const before = historical(ctx.from, ctx.appLabel, this.name);
    const after = historical(ctx.to, ctx.appLabel, this.name);
    await ctx.editor.alterDbTable(after, before.dbTable, after.dbTable);
  }

  async databaseBackwards(ctx: OperationContext): Promise<void> {
    await this.databaseForwards(ctx);
  }

  deconstruct(): Record<string, unknown> {
    return { name: this.name, dbTable: this.dbTable };
  }

  override migrationNameFragment(): string {
    return `alter_${lower(this.name)}_table`;
  }

  override referencedModels(appLabel: string): string[] {
    return [`${appLabel}.${this.name}`];
  }
}

/** Change a model's `uniqueTogether`. */
export class AlterUniqueTogether extends Operation {
  readonly kind = 'AlterUniqueTogether';
  readonly name: string;
  readonly uniqueTogether: readonly (readonly string[])[];

  constructor(args: { name: string; uniqueTogether: readonly (readonly string[])[] }) {
    super();
    this.name = checkName('AlterUniqueTogether', args?.name);
    if (!Array.isArray(args.uniqueTogether))
      throw new BadMigrationError(`AlterUniqueTogether ${this.name}: uniqueTogether must be a list of field lists.`);
    this.uniqueTogether = args.uniqueTogether;
  }

  describe(): string {
    return `Alter unique together for ${this.name} (${this.uniqueTogether.length} constraint(s))`;
  }

  stateForwards(appLabel: string, state: ProjectState): void {
    state.updateModel(appLabel, this.name, (m) => {
      m.options = { ...m.options, uniqueTogether: this.uniqueTogether.map((g) => [...g]) };
      if (this.uniqueTogether.length === 0) delete (m.options as { uniqueTogether?: unknown }).uniqueTogether;
    });
  }

  async databaseForwards(ctx: OperationContext): Promise<void> {
    if (!this.allowMigrate(ctx, this.name)) return;
    await ctx.editor.alterUniqueTogether(historical(ctx.from, ctx.appLabel, this.name), historical(ctx.to, ctx.appLabel, this.name));
  }

  async databaseBackwards(ctx: OperationContext): Promise<void> {
    await this.databaseForwards(ctx);
  }

  deconstruct(): Record<string, unknown> {
    return { name: this.name, uniqueTogether: this.uniqueTogether };
  }

  override migrationNameFragment(): string {
    return `alter_${lower(this.name)}_unique_together`;
  }

  override referencedModels(appLabel: string): string[] {
    return [`${appLabel}.${this.name}`];
  }
}
