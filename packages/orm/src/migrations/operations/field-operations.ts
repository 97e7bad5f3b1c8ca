/** Operations on one field: AddField, RemoveField, AlterField, RenameField. */
import { BadMigrationError } from '../errors';
import { columnOf, fieldSpec, type FieldSpec, withOptions } from '../field-spec';
import type { ProjectState } from '../project-state';
import { historical } from './model-operations';
import { lower, Operation, type OperationContext } from './operation';

function ident(op: string, v: unknown, what: string): string {
  if (typeof v !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(v))
    throw new BadMigrationError(`${op}: ${what} must be an identifier, got ${JSON.stringify(v)}.`);
  return v;
}

function spec(op: string, v: unknown): FieldSpec {
  const s = v as FieldSpec;
  if (!s || typeof s !== 'object' || typeof s.type !== 'string')
    throw new BadMigrationError(`${op}: field must be a field spec (f.CharField({ ... })).`);
  return fieldSpec(s.type, s.options);
}

/**
 * Add a field. With `preserveDefault: false` the spec's default only fills the existing rows
 * (a one-off value given to `makemigrations`) and is not kept in the state.
 */
export class AddField extends Operation {
  readonly kind = 'AddField';
  readonly modelName: string;
  readonly name: string;
  readonly field: FieldSpec;
  readonly preserveDefault: boolean;

  constructor(args: { modelName: string; name: string; field: FieldSpec; preserveDefault?: boolean }) {
    super();
    this.modelName = ident('AddField', args?.modelName, 'modelName');
    this.name = ident('AddField', args.name, 'name');
    this.field = spec('AddField', args.field);
    this.preserveDefault = args.preserveDefault ?? true;
  }

  describe(): string {
    return `Add field ${this.name} to ${this.modelName}`;
  }

  private stateField(): FieldSpec {
    return this.preserveDefault ? this.field : withOptions(this.field, { default: undefined });
  }

  stateForwards(appLabel: string, state: ProjectState): void {
    state.updateModel(appLabel, this.modelName, (m) => {
      if (m.fields.has(this.name)) throw new BadMigrationError(`AddField: ${m.key} already has a field '${this.name}'.`);
      m.fields.set(this.name, this.stateField());
    });
  }

  async databaseForwards(ctx: OperationContext): Promise<void> {
    if (!this.allowMigrate(ctx, this.modelName)) return;
    let to = ctx.to;
    if (!this.preserveDefault) {
      // Render the field with its one-off default, so that the editor fills existing rows with it.
      to = ctx.to.clone();
      to.updateModel(ctx.appLabel, this.modelName, (m) => m.fields.set(this.name, this.field));
    }
    const after = historical(to, ctx.appLabel, this.modelName);
    await ctx.editor.addField(historical(ctx.from, ctx.appLabel, this.modelName), after, after.field(this.name) as never);
  }

  async databaseBackwards(ctx: OperationContext): Promise<void> {
    if (!this.allowMigrate(ctx, this.modelName)) return;
    const withField = historical(ctx.from, ctx.appLabel, this.modelName);
    await ctx.editor.removeField(withField, historical(ctx.to, ctx.appLabel, this.modelName), withField.field(this.name) as never);
  }

  deconstruct(): Record<string, unknown> {
    return this.preserveDefault
      ? { modelName: this.modelName, name: this.name, field: this.field }
      : { modelName: this.modelName, name: this.name, field: this.field, preserveDefault: false };
  }

  override migrationNameFragment(): string {
    return lower(this.modelName, this.name);
  }

  override referencedModels(appLabel: string): string[] {
    return [
      `${appLabel}.${this.modelName}`,
      ...(this.field.options.to ? [this.field.options.to] : []),
      ...(this.field.options.through ? [this.field.options.through] : []),
    ];
  }
}

/** Remove a field (its column, or its many-to-many table). Unapplying adds it back, empty or with its default. */
export class RemoveField extends Operation {
  readonly kind = 'RemoveField';
  readonly modelName: string;
  readonly name: string;

  constructor(args: { modelName: string; name: string }) {
    super();
    this.modelName = ident('RemoveField', args?.modelName, 'modelName');
    this.name = ident('RemoveField', args.name, 'name');
  }

  describe(): string {
    return `Remove field ${this.name} from ${this.modelName}`;
  }

  stateForwards(appLabel: string, state: ProjectState): void {
    state.updateModel(appLabel, this.modelName, (m) => {
      m.field(this.name);
      m.fields.delete(this.name);
    });
  }

  async databaseForwards(ctx: OperationContext): Promise<void> {
    if (!this.allowMigrate(ctx, this.modelName)) return;
    const withField = historical(ctx.from, ctx.appLabel, this.modelName);
    await ctx.editor.removeField(withField, historical(ctx.to, ctx.appLabel, this.modelName), withField.field(this.name) as never);
  }

  async databaseBackwards(ctx: OperationContext): Promise<void> {
    if (!this.allowMigrate(ctx, this.modelName)) return;
    const withField = historical(ctx.to, ctx.appLabel, this.modelName);
    await ctx.editor.addField(historical(ctx.from, ctx.appLabel, this.modelName), withField, withField.field(this.name) as never);
  }

  deconstruct(): Record<string, unknown> {
    return { modelName: this.modelName, name: this.name };
  }

  override migrationNameFragment(): string {
    return `remove_${lower(this.modelName, this.name)}`;
  }

  override referencedModels(appLabel: string): string[] {
    return [`${appLabel}.${this.modelName}`];
  }
}

/** Change a field's definition: type, null, default, unique, index, column, relation. */
export class AlterField extends Operation {
  readonly kind = 'AlterField';
  readonly modelName: string;
  readonly name: string;
  readonly field: FieldSpec;
  readonly preserveDefault: boolean;

  constructor(args: { modelName: string; name: string; field: FieldSpec; preserveDefault?: boolean }) {
    super();
    this.modelName = ident('AlterField', args?.modelName, 'modelName');
    this.name = ident('AlterField', args.name, 'name');
    this.field = spec('AlterField', args.field);
    this.preserveDefault = args.preserveDefault ?? true;
  }

  describe(): string {
    return `Alter field ${this.name} on ${this.modelName}`;
  }

  stateForwards(appLabel: string, state: ProjectState): void {
    state.updateModel(appLabel, this.modelName, (m) => {
      m.field(this.name);
      m.fields.set(this.name, this.preserveDefault ? this.field : withOptions(this.field, { default: undefined }));
    });
  }

  private async alter(ctx: OperationContext, forwards: boolean): Promise<void> {
    if (!this.allowMigrate(ctx, this.modelName)) return;
    let to = ctx.to;
    if (forwards && !this.preserveDefault) {
      to = ctx.to.clone();
      to.updateModel(ctx.appLabel, this.modelName, (m) => m.fields.set(this.name, this.field));
    }
    const before = historical(ctx.from, ctx.appLabel, this.modelName);
    const after = historical(to, ctx.appLabel, this.modelName);
    await ctx.editor.alterField(before, after, before.field(this.name) as never, after.field(this.name) as never);
  }

  databaseForwards(ctx: OperationContext): Promise<void> {
    return this.alter(ctx, true);
  }

  databaseBackwards(ctx: OperationContext): Promise<void> {
    return this.alter(ctx, false);
  }

  deconstruct(): Record<string, unknown> {
    return this.preserveDefault
      ? { modelName: this.modelName, name: this.name, field: this.field }
      : { modelName: this.modelName, name: this.name, field: this.field, preserveDefault: false };
  }

  override migrationNameFragment(): string {
    return `alter_${lower(this.modelName, this.name)}`;
  }

  override referencedModels(appLabel: string): string[] {
    return [`${appLabel}.${this.modelName}`, ...(this.field.options.to ? [this.field.options.to] : [])];
  }
}

/**
 * Rename a field. Its column follows the name unless the field names its column (`dbColumn`);
 * indexes and constraints listing the field are updated.
 */
export class RenameField extends Operation {
  readonly kind = 'RenameField';
  readonly modelName: string;
  readonly oldName: string;
  readonly newName: string;

  constructor(args: { modelName: string; oldName: string; newName: string }) {
    super();
    this.modelName = ident('RenameField', args?.modelName, 'modelName');
    this.oldName = ident('RenameField', args.oldName, 'oldName');
    this.newName = ident('RenameField', args.newName, 'newName');
  }

  describe(): string {
    return `Rename field ${this.oldName} on ${this.modelName} to ${this.newName}`;
  }

  stateForwards(appLabel: string, state: ProjectState): void {
    state.updateModel(appLabel, this.modelName, (m) => {
      const f = m.field(this.oldName);
      if (m.fields.has(this.newName)) throw new BadMigrationError(`RenameField: ${m.key} already has a field '${this.newName}'.`);
      m.fields = new Map([...m.fields].map(([k, v]) => (k === this.oldName ? [this.newName, f] : [k, v])));
      const ren = (n: string) => (n === this.oldName ? this.newName : n === `-${this.oldName}` ? `-${this.newName}` : n);
      const o = m.options;
      m.options = {
        ...o,
        ...(o.uniqueTogether ? { uniqueTogether: o.uniqueTogether.map((g) => g.map(ren)) } : {}),
        ...(o.indexes ? { indexes: o.indexes.map((i) => ({ ...i, fields: i.fields.map(ren) })) } : {}),
        ...(o.constraints
          ? { constraints: o.constraints.map((c) => (c.kind === 'unique' ? { ...c, fields: c.fields.map(ren) } : c)) }
          : {}),
      };
    });
  }

  private async rename(ctx: OperationContext, oldName: string, newName: string): Promise<void> {
    if (!this.allowMigrate(ctx, this.modelName)) return;
    const before = historical(ctx.from, ctx.appLabel, this.modelName);
    const after = historical(ctx.to, ctx.appLabel, this.modelName);
    const a = before.field(oldName);
    const b = after.field(newName);
    if (!a || !b) throw new BadMigrationError(`RenameField: ${this.modelName} has no field '${a ? newName : oldName}' here.`);
    if (
      columnOf(oldName, ctx.from.model(ctx.appLabel, this.modelName).field(oldName)) ===
      columnOf(newName, ctx.to.model(ctx.appLabel, this.modelName).field(newName))
    )
      return;
    await ctx.editor.alterField(before, after, a as never, b as never);
  }

  databaseForwards(ctx: OperationContext): Promise<void> {
    return this.rename(ctx, this.oldName, this.newName);
  }

  databaseBackwards(ctx: OperationContext): Promise<void> {
    return this.rename(ctx, this.newName, this.oldName);
  }

  deconstruct(): Record<string, unknown> {
    return { modelName: this.modelName, oldName: this.oldName, newName: this.newName };
  }

  override migrationNameFragment(): string {
    return `rename_${lower(this.oldName)}_${lower(this.modelName)}_${lower(this.newName)}`;
  }

  override referencedModels(appLabel: string): string[] {
    return [`${appLabel}.${this.modelName}`];
  }
}
