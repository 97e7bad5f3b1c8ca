/**
 * The base of migration operations (Django's `migrations.operations.base.Operation`). An
 * operation is data (what a migration file holds) plus three behaviours:
 *
 * - `stateForwards(app, state)`: change the project state as the operation would;
 * - `databaseForwards(ctx)`: change the database, from `ctx.from` (before) to `ctx.to` (after);
 * - `databaseBackwards(ctx)`: undo it, from `ctx.from` (after) back to `ctx.to` (before).
 *
 * `reversible` is false for operations that cannot be undone (a `RunSQL` without `reverseSql`):
 * unapplying them is refused before anything runs.
 */
import { connections, type RouteHints } from '@spool/connections';
import type { BaseSchemaEditor } from '../../schema/backends/base-schema-editor';
import type { ProjectState } from '../project-state';

/** What an operation's database methods receive. */
export interface OperationContext {
  /** The app of the migration holding the operation. */
  readonly appLabel: string;
  readonly editor: BaseSchemaEditor;
  /** The state before the change being made (forwards: before the operation; backwards: after it). */
  readonly from: ProjectState;
  /** The state after the change being made. */
  readonly to: ProjectState;
}

export abstract class Operation {
  /** The class name, as written in migration files. */
  abstract readonly kind: string;

  /** Can the operation be unapplied? */
  get reversible(): boolean {
    return true;
  }

  /** Does it change the database (false: state only)? */
  get touchesDatabase(): boolean {
    return true;
  }

  /** A human description: `Create model Author`. */
  abstract describe(): string;

  abstract stateForwards(appLabel: string, state: ProjectState): void;
  abstract databaseForwards(ctx: OperationContext): Promise<void>;
  abstract databaseBackwards(ctx: OperationContext): Promise<void>;

  /** The constructor argument, for the migration writer. */
  abstract deconstruct(): Record<string, unknown>;

  /** A fragment for the migration's file name (`author_email`), or undefined. */
  migrationNameFragment(): string | undefined {
    return undefined;
  }

  /** The models (`app.Model`) the operation touches, for dependency ordering. */
  referencedModels(_appLabel: string): string[] {
    return [];
  }

  /** May the operation run on this alias (routers' `allowMigrate`)? */
  protected allowMigrate(ctx: OperationContext, modelName: string | undefined, hints: RouteHints = {}): boolean {
    return connections.router.allowMigrate(ctx.editor.alias, ctx.appLabel, modelName, hints);
  }
}

/** `Book` + `isbn` → `book_isbn` (file-name fragments). @internal */
export function lower(...parts: string[]): string {
  return parts.map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase()).join('_');
}
