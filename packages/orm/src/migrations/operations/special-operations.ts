/**
 * Operations written by hand: RunSQL (statements of your own) and RunCode (a data migration in
 * TypeScript, Django's `RunPython`). Both are irreversible unless given a reverse
 * (`reverseSql` / `reverseCode`; `RunSQL.noop` and `RunCode.noop` undo nothing, successfully).
 */
import { connections, type RouteHints } from '@spool/connections';
import { BadMigrationError } from '../errors';
import type { ProjectState } from '../project-state';
import type { StateApps } from '../state-apps';
import type { BaseSchemaEditor } from '../../schema/backends/base-schema-editor';
import { Operation, type OperationContext } from './operation';

/** One statement: SQL text, or SQL with bound parameters. */
export type SqlStatement = string | { readonly sql: string; readonly params?: readonly unknown[] };
/** What RunSQL takes: one statement or several. */
export type SqlInput = SqlStatement | readonly SqlStatement[];

const NOOP_SQL = '';

function statements(op: string, input: SqlInput): { sql: string; params: readonly unknown[] }[] {
  const list = Array.isArray(input) ? (input as readonly SqlStatement[]) : [input as SqlStatement];
  return list.map((s) => {
    if (typeof s === 'string') return { sql: s, params: [] };
    if (s && typeof s === 'object' && typeof s.sql === 'string') return { sql: s.sql, params: s.params ?? [] };
    throw new BadMigrationError(`${op}: each statement must be a string or { sql, params }.`);
  });
}

/**
 * Run SQL. `stateOperations` describe what the SQL did to the models, so that the migration
 * state follows (Django's `state_operations`).
 *
 * ### Examples
 * ```ts
 * new RunSQL({
 *   sql: `CREATE INDEX book_title_lower ON library_book (lower(title))`,
 *   reverseSql: `DROP INDEX book_title_lower`,
 * });
 * ```
 */
export class RunSQL extends Operation {
  readonly kind = 'RunSQL';
  /** Undo nothing (a reversible no-op). */
  static readonly noop = NOOP_SQL;
  readonly sql: SqlInput;
  readonly reverseSql: SqlInput | undefined;
  readonly stateOperations: readonly Operation[];
  readonly hints: RouteHints;
  readonly elidable: boolean;

  constructor(args: {
    sql: SqlInput;
    reverseSql?: SqlInput;
    stateOperations?: readonly Operation[];
    hints?: RouteHints;
    elidable?: boolean;
  }) {
    super();
    if (!args || args.sql === undefined) throw new BadMigrationError(`RunSQL needs sql.`);
    statements('RunSQL', args.sql);
    if (args.reverseSql !== undefined) statements('RunSQL', args.reverseSql);
    this.sql = args.sql;
    this.reverseSql = args.reverseSql;
    this.stateOperations = args.stateOperations ?? [];
    this.hints = args.hints ?? {};
    this.elidable = args.elidable ?? false;
  }

  override get reversible(): boolean {
    return this.reverseSql !== undefined;
  }

  describe(): string {
    return 'Raw SQL operation';
  }

  stateForwards(appLabel: string, state: ProjectState): void {
    for (const op of this.stateOperations) op.stateForwards(appLabel, state);
  }

  private async run(ctx: OperationContext, input: SqlInput): Promise<void> {
    if (!connections.router.allowMigrate(ctx.editor.alias, ctx.appLabel, undefined, this.hints)) return;
    for (const s of statements('RunSQL', input)) if (s.sql.trim() !== '') await ctx.editor.execute(s.sql, s.params);
  }

  databaseForwards(ctx: OperationContext): Promise<void> {
    return this.run(ctx, this.sql);
  }

  async databaseBackwards(ctx: OperationContext): Promise<void> {
    if (this.reverseSql === undefined) throw new BadMigrationError('RunSQL without reverseSql is not reversible.');
    await this.run(ctx, this.reverseSql);
  }

  deconstruct(): Record<string, unknown> {
    return { sql: this.sql, ...(this.reverseSql !== undefined ? { reverseSql: this.reverseSql } : {}) };
  }
}

/** What a RunCode function receives. */
export interface RunCodeContext {
  /** Historical models as they are at this point of the migrations: `apps.getModel('library', 'Book')`. */
  readonly apps: StateApps;
  /** The alias being migrated: query with `.using(alias)` (routers may send models elsewhere). */
  readonly alias: string;
  readonly schemaEditor: BaseSchemaEditor;
}

export type RunCodeFunction = (ctx: RunCodeContext) => unknown;

/**
 * A data migration in code (Django's `RunPython`). It runs inside the migration's transaction
 * where the database has transactional DDL.
 *
 * ### Examples
 * ```ts
 * new RunCode({
 *   code: async ({ apps, alias }) => {
 *     const Book = apps.getModel('library', 'Book');
 *     await Book.objects.using(alias).filter({ isbn: null }).update({ isbn: 'unknown' });
 *   },
 *   reverseCode: RunCode.noop,
 * });
 * ```
 */
export class RunCode extends Operation {
  readonly kind = 'RunCode';
  /** Undo nothing (a reversible no-op). */
  static readonly noop: RunCodeFunction = () => undefined;
  readonly code: RunCodeFunction;
  readonly reverseCode: RunCodeFunction | undefined;
  readonly hints: RouteHints;

  constructor(args: { code: RunCodeFunction; reverseCode?: RunCodeFunction; hints?: RouteHints }) {
    super();
    if (!args || typeof args.code !== 'function') throw new BadMigrationError(`RunCode needs code: a function ({ apps, alias }) => ....`);
    if (args.reverseCode !== undefined && typeof args.reverseCode !== 'function')
      throw new BadMigrationError(`RunCode: reverseCode must be a function.`);
    this.code = args.code;
    this.reverseCode = args.reverseCode;
    this.hints = args.hints ?? {};
  }

  override get reversible(): boolean {
    return this.reverseCode !== undefined;
  }

  describe(): string {
    return `Run code${this.code.name ? ` ${this.code.name}` : ''}`;
  }

  stateForwards(): void {}

  async databaseForwards(ctx: OperationContext): Promise<void> {
    if (!connections.router.allowMigrate(ctx.editor.alias, ctx.appLabel, undefined, this.hints)) return;
    if (ctx.editor.collecting) return;
    await this.code({ apps: ctx.from.apps, alias: ctx.editor.alias, schemaEditor: ctx.editor });
  }

  async databaseBackwards(ctx: OperationContext): Promise<void> {
    if (!this.reverseCode) throw new BadMigrationError('RunCode without reverseCode is not reversible.');
    if (!connections.router.allowMigrate(ctx.editor.alias, ctx.appLabel, undefined, this.hints)) return;
    if (ctx.editor.collecting) return;
    await this.reverseCode({ apps: ctx.from.apps, alias: ctx.editor.alias, schemaEditor: ctx.editor });
  }

  deconstruct(): Record<string, unknown> {
    return { code: this.code, ...(this.reverseCode ? { reverseCode: this.reverseCode } : {}) };
  }
}
