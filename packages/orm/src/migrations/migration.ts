/**
 * A migration: a list of operations and the migrations it depends on (Django's
 * `migrations.Migration`). Its app and name come from where it is: the app's migrations folder
 * and the file name (`0002_book_isbn.ts` → `0002_book_isbn`).
 *
 * ### Examples
 * ```ts
 * import { Migration, AddField, fields as f } from '@spool/orm/migrations';
 *
 * export default new Migration({
 *   dependencies: [['library', '0001_initial']],
 *   operations: [new AddField({ modelName: 'Book', name: 'isbn', field: f.CharField({ maxLength: 13, null: true }) })],
 * });
 * ```
 */
import { BadMigrationError, IrreversibleError } from './errors';
import { Operation } from './operations/operation';
import type { ProjectState } from './project-state';
import type { BaseSchemaEditor } from '../schema/backends/base-schema-editor';

/** `[app, name]` of a migration. */
export type MigrationKey = readonly [app: string, name: string];

export interface MigrationOptions {
  /** Migrations that must be applied first: `[['library', '0001_initial']]`. */
  dependencies?: readonly MigrationKey[];
  operations: readonly Operation[];
  /** Run in one transaction where the database allows it (default true). */
  atomic?: boolean;
  /** Is it an app's first migration? */
  initial?: boolean;
}

const MIGRATION_BRAND = Symbol.for('spool.migrations.migration');

/** Which operation failed while applying, and the state of the migration then. @internal */
export class OperationFailure extends Error {
  constructor(
    readonly index: number,
    readonly operation: Operation,
    readonly sql: string | undefined,
    override readonly cause: unknown,
  ) {
    super((cause as Error)?.message ?? String(cause));
  }
}

export class Migration {
  /** Set by the loader from the folder. */
  appLabel = '';
  /** Set by the loader from the file name. */
  name = '';
  readonly dependencies: readonly MigrationKey[];
  readonly operations: readonly Operation[];
  readonly atomic: boolean;
  readonly initial: boolean;

  constructor(options: MigrationOptions) {
    if (!options || typeof options !== 'object') throw new BadMigrationError('new Migration() takes { dependencies, operations }.');
    for (const key of Object.keys(options)) {
      if (!['dependencies', 'operations', 'atomic', 'initial'].includes(key))
        throw new BadMigrationError(`new Migration(): unknown option '${key}'. Valid options: dependencies, operations, atomic, initial.`);
    }
    if (!Array.isArray(options.operations)) throw new BadMigrationError('new Migration(): operations must be a list.');
    options.operations.forEach((op, i) => {
      if (!(op instanceof Operation))
        throw new BadMigrationError(
          `new Migration(): operations[${i}] is not an operation (new CreateModel(...), new AddField(...), ...).`,
        );
    });
    const deps = options.dependencies ?? [];
    if (
      !Array.isArray(deps) ||
      deps.some((d) => !Array.isArray(d) || d.length !== 2 || typeof d[0] !== 'string' || typeof d[1] !== 'string')
    ) {
      throw new BadMigrationError(`new Migration(): dependencies must be a list of [app, name] pairs, e.g. [['library', '0001_initial']].`);
    }
    this.dependencies = deps.map((d) => [d[0], d[1]] as const);
    this.operations = options.operations;
    this.atomic = options.atomic ?? true;
    this.initial = options.initial ?? false;
    Object.defineProperty(this, MIGRATION_BRAND, { value: true });
  }

  static is(value: unknown): value is Migration {
    return (
      value instanceof Migration ||
      (typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[MIGRATION_BRAND] === true)
    );
  }

  /** `app.name`. */
  get key(): string {
    return `${this.appLabel}.${this.name}`;
  }

  /** Apply the operations to a copy of `state` (no database). */
  mutateState(state: ProjectState): ProjectState {
    const next = state.clone();
    for (const op of this.operations) op.stateForwards(this.appLabel, next);
    return next;
  }

  /** Apply to the database, from `state` (the state before); returns the state after. */
  async apply(state: ProjectState, editor: BaseSchemaEditor, onDone?: (index: number) => void): Promise<ProjectState> {
    let current = state;
    for (const [i, op] of this.operations.entries()) {
      const next = current.clone();
      op.stateForwards(this.appLabel, next);
      try {
        await op.databaseForwards({ appLabel: this.appLabel, editor, from: current, to: next });
      } catch (err) {
        throw new OperationFailure(i, op, editor.current?.sql, err);
      }
      onDone?.(i);
      current = next;
    }
    return current;
  }

  /** The first operation that cannot be undone, or undefined. */
  irreversible(): Operation | undefined {
    return this.operations.find((op) => !op.reversible);
  }

  /** Unapply from the database; `state` is the state before this migration. Returns it. */
  async unapply(state: ProjectState, editor: BaseSchemaEditor, onDone?: (index: number) => void): Promise<ProjectState> {
    const bad = this.irreversible();
    if (bad)
      throw new IrreversibleError(`Operation '${bad.describe()}' in ${this.key} is not reversible: unapplying ${this.key} is impossible.`);
    const steps: { op: Operation; index: number; before: ProjectState; after: ProjectState }[] = [];
    let current = state;
    for (const [index, op] of this.operations.entries()) {
      const next = current.clone();
      op.stateForwards(this.appLabel, next);
      steps.unshift({ op, index, before: current, after: next });
      current = next;
    }
    for (const s of steps) {
      try {
        await s.op.databaseBackwards({ appLabel: this.appLabel, editor, from: s.after, to: s.before });
      } catch (err) {
        throw new OperationFailure(s.index, s.op, editor.current?.sql, err);
      }
      onDone?.(s.index);
    }
    return state;
  }
}
