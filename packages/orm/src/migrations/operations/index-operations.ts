/** Operations on indexes and constraints: AddIndex, RemoveIndex, AddConstraint, RemoveConstraint. */
import { BadMigrationError } from '../errors';
import type { ConstraintSpec, IndexSpec } from '../model-state';
import type { ProjectState } from '../project-state';
import { historical } from './model-operations';
import { lower, Operation, type OperationContext } from './operation';

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

function ident(op: string, v: unknown, what: string): string {
  if (typeof v !== 'string' || !IDENT.test(v))
    throw new BadMigrationError(`${op}: ${what} must be an identifier, got ${JSON.stringify(v)}.`);
  return v;
}

export class AddIndex extends Operation {
  readonly kind = 'AddIndex';
  readonly modelName: string;
  readonly index: IndexSpec;

  constructor(args: { modelName: string; index: IndexSpec }) {
    super();
    this.modelName = ident('AddIndex', args?.modelName, 'modelName');
    if (!args.index || !Array.isArray(args.index.fields) || args.index.fields.length === 0)
      throw new BadMigrationError(`AddIndex: index must be { name, fields: [...] }.`);
    ident('AddIndex', args.index.name, 'index.name');
    this.index = args.index;
  }

  describe(): string {
    return `Create index ${this.index.name} on ${this.index.fields.join(', ')} on model ${this.modelName}`;
  }

  stateForwards(appLabel: string, state: ProjectState): void {
    state.updateModel(appLabel, this.modelName, (m) => {
      if ((m.options.indexes ?? []).some((i) => i.name === this.index.name))
        throw new BadMigrationError(`AddIndex: ${m.key} already has an index '${this.index.name}'.`);
      m.options = { ...m.options, indexes: [...(m.options.indexes ?? []), this.index] };
    });
  }

  async databaseForwards(ctx: OperationContext): Promise<void> {
    if (this.allowMigrate(ctx, this.modelName)) await ctx.editor.addIndex(historical(ctx.to, ctx.appLabel, this.modelName), this.index);
  }

  async databaseBackwards(ctx: OperationContext): Promise<void> {
    if (this.allowMigrate(ctx, this.modelName))
      await ctx.editor.removeIndex(historical(ctx.from, ctx.appLabel, this.modelName), this.index);
  }

  deconstruct(): Record<string, unknown> {
    return { modelName: this.modelName, index: this.index };
  }

  override migrationNameFragment(): string {
    return lower(this.index.name);
  }

  override referencedModels(appLabel: string): string[] {
    return [`${appLabel}.${this.modelName}`];
  }
}

export class RemoveIndex extends Operation {
  readonly kind = 'RemoveIndex';
  readonly modelName: string;
  readonly name: string;

  constructor(args: { modelName: string; name: string }) {
    super();
    this.modelName = ident('RemoveIndex', args?.modelName, 'modelName');
    this.name = ident('RemoveIndex', args.name, 'name');
  }

  describe(): string {
    return `Remove index ${this.name} from ${this.modelName}`;
  }

  stateForwards(appLabel: string, state: ProjectState): void {
    state.updateModel(appLabel, this.modelName, (m) => {
      const list = m.options.indexes ?? [];
      if (!list.some((i) => i.name === this.name))
        throw new BadMigrationError(
          `RemoveIndex: ${m.key} has no index '${this.name}'. Indexes: ${list.map((i) => i.name).join(', ') || '(none)'}.`,
        );
      m.options = { ...m.options, indexes: list.filter((i) => i.name !== this.name) };
    });
  }

  private indexIn(state: ProjectState, appLabel: string): IndexSpec {
    const idx = (state.model(appLabel, this.modelName).options.indexes ?? []).find((i) => i.name === this.name);
    if (!idx) throw new BadMigrationError(`RemoveIndex: no index '${this.name}' on ${appLabel}.${this.modelName}.`);
    return idx;
  }

  async databaseForwards(ctx: OperationContext): Promise<void> {
    if (this.allowMigrate(ctx, this.modelName))
      await ctx.editor.removeIndex(historical(ctx.from, ctx.appLabel, this.modelName), this.indexIn(ctx.from, ctx.appLabel));
  }

  async databaseBackwards(ctx: OperationContext): Promise<void> {
    if (this.allowMigrate(ctx, this.modelName))
      await ctx.editor.addIndex(historical(ctx.to, ctx.appLabel, this.modelName), this.indexIn(ctx.to, ctx.appLabel));
  }

  deconstruct(): Record<string, unknown> {
    return { modelName: this.modelName, name: this.name };
  }

  override migrationNameFragment(): string {
    return `remove_${lower(this.modelName)}_${lower(this.name)}`;
  }

  override referencedModels(appLabel: string): string[] {
    return [`${appLabel}.${this.modelName}`];
  }
}

export class AddConstraint extends Operation {
  readonly kind = 'AddConstraint';
  readonly modelName: string;
  readonly constraint: ConstraintSpec;

  constructor(args: { modelName: string; constraint: ConstraintSpec }) {
    super();
    this.modelName = ident('AddConstraint', args?.modelName, 'modelName');
    const c = args.constraint;
    if (!c || (c.kind !== 'unique' && c.kind !== 'check'))
      throw new BadMigrationError(`AddConstraint: constraint must be { kind: 'unique', name, fields } or { kind: 'check', name, check }.`);
    ident('AddConstraint', c.name, 'constraint.name');
    if (c.kind === 'check' && (typeof c.check !== 'string' || c.check.trim() === ''))
      throw new BadMigrationError(`AddConstraint ${c.name}: check must be an SQL condition.`);
    this.constraint = c;
  }

  describe(): string {
    return `Create constraint ${this.constraint.name} on model ${this.modelName}`;
  }

  stateForwards(appLabel: string, state: ProjectState): void {
    state.updateModel(appLabel, this.modelName, (m) => {
      if ((m.options.constraints ?? []).some((c) => c.name === this.constraint.name))
        throw new BadMigrationError(`AddConstraint: ${m.key} already has a constraint '${this.constraint.name}'.`);
      m.options = { ...m.options, constraints: [...(m.options.constraints ?? []), this.constraint] };
    });
  }

  async databaseForwards(ctx: OperationContext): Promise<void> {
    if (!this.allowMigrate(ctx, this.modelName)) return;
    await ctx.editor.addConstraint(
      historical(ctx.from, ctx.appLabel, this.modelName),
      historical(ctx.to, ctx.appLabel, this.modelName),
      this.constraint,
    );
  }

  async databaseBackwards(ctx: OperationContext): Promise<void> {
    if (!this.allowMigrate(ctx, this.modelName)) return;
    await ctx.editor.removeConstraint(
      historical(ctx.from, ctx.appLabel, this.modelName),
      historical(ctx.to, ctx.appLabel, this.modelName),
      this.constraint,
    );
  }

  deconstruct(): Record<string, unknown> {
    return { modelName: this.modelName, constraint: this.constraint };
  }

  override migrationNameFragment(): string {
    return lower(this.constraint.name);
  }

  override referencedModels(appLabel: string): string[] {
    return [`${appLabel}.${this.modelName}`];
  }
}

export class RemoveConstraint extends Operation {
  readonly kind = 'RemoveConstraint';
  readonly modelName: string;
  readonly name: string;

  constructor(args: { modelName: string; name: string }) {
    super();
    this.modelName = ident('RemoveConstraint', args?.modelName, 'modelName');
    this.name = ident('RemoveConstraint', args.name, 'name');
  }

  describe(): string {
    return `Remove constraint ${this.name} from model ${this.modelName}`;
  }

  stateForwards(appLabel: string, state: ProjectState): void {
    state.updateModel(appLabel, this.modelName, (m) => {
      const list = m.options.constraints ?? [];
      if (!list.some((c) => c.name === this.name))
        throw new BadMigrationError(
          `RemoveConstraint: ${m.key} has no constraint '${this.name}'. Constraints: ${list.map((c) => c.name).join(', ') || '(none)'}.`,
        );
      m.options = { ...m.options, constraints: list.filter((c) => c.name !== this.name) };
    });
  }

  private constraintIn(state: ProjectState, appLabel: string): ConstraintSpec {
    const c = (state.model(appLabel, this.modelName).options.constraints ?? []).find((x) => x.name === this.name);
    if (!c) throw new BadMigrationError(`RemoveConstraint: no constraint '${this.name}' on ${appLabel}.${this.modelName}.`);
    return c;
  }

  async databaseForwards(ctx: OperationContext): Promise<void> {
    if (!this.allowMigrate(ctx, this.modelName)) return;
    await ctx.editor.removeConstraint(
      historical(ctx.from, ctx.appLabel, this.modelName),
      historical(ctx.to, ctx.appLabel, this.modelName),
      this.constraintIn(ctx.from, ctx.appLabel),
    );
  }

  async databaseBackwards(ctx: OperationContext): Promise<void> {
    if (!this.allowMigrate(ctx, this.modelName)) return;
    await ctx.editor.addConstraint(
      historical(ctx.from, ctx.appLabel, this.modelName),
      historical(ctx.to, ctx.appLabel, this.modelName),
      this.constraintIn(ctx.to, ctx.appLabel),
    );
  }

  deconstruct(): Record<string, unknown> {
    return { modelName: this.modelName, name: this.name };
  }

  override migrationNameFragment(): string {
    return `remove_${lower(this.modelName)}_${lower(this.name)}`;
  }

  override referencedModels(appLabel: string): string[] {
    return [`${appLabel}.${this.modelName}`];
  }
}
