/**
 * Applies and unapplies migrations (Django's `MigrationExecutor`), under a lock, recording what
 * ran in `spool_migrations`.
 *
 * - Each migration runs in its own transaction where DDL is transactional (PostgreSQL, SQLite):
 *   a migration that fails leaves the database as it was before it, and the error names the
 *   failing operation and its SQL. MariaDB commits each DDL statement by itself: the error then
 *   lists the operations that were applied and stay applied.
 * - Two processes migrating at once: the second waits for the lock, then plans again from what
 *   is recorded (and finds nothing to do if the first applied everything).
 * - Routers' `allowMigrate` is asked per operation and alias; a migration whose operations are
 *   all refused is still recorded, as in Django.
 */
import { atomic, connections, scope, type Vendor } from '@spool/connections';
import { schemaEditorFor } from '../schema/backends/schema-editor-for';
import type { BaseSchemaEditor, ForeignKeyViolation, Statement } from '../schema/backends/base-schema-editor';
import { MigrationError, MigrationFailedError, IrreversibleError } from './errors';
import type { MigrationLoader } from './loader';
import { Migration, OperationFailure } from './migration';
import { migrationLock } from './migration-lock';
import type { ProjectState } from './project-state';
import { MigrationRecorder } from './recorder';

/** A target: `[app, name]`, or `[app, null]` for "unapply all of app" (`zero`). */
export type MigrationTarget = readonly [app: string, name: string | null];

/** One step of a plan. */
export interface PlanStep {
  /** `app.name`. */
  readonly migration: string;
  readonly backwards: boolean;
}

/** What the executor reports while it works. */
export type ProgressEvent =
  | { readonly kind: 'lock-wait'; readonly alias: string }
  | { readonly kind: 'start'; readonly migration: string; readonly backwards: boolean; readonly fake: boolean }
  | { readonly kind: 'done'; readonly migration: string; readonly backwards: boolean; readonly fake: boolean; readonly ms: number };

export interface MigrateOptions {
  /** Where to go; default: the latest migration of every app. */
  targets?: readonly MigrationTarget[];
  /** Record (or unrecord) without running anything. */
  fake?: boolean;
  /** How long to wait for another process's migration lock (default 5 minutes). */
  lockTimeoutMs?: number;
  onProgress?: (event: ProgressEvent) => void;
}

export interface MigrateResult {
  readonly alias: string;
  /** Migrations applied (or unapplied) by this run, in order. */
  readonly steps: readonly PlanStep[];
  /** True when there was nothing to do. */
  readonly nothingToDo: boolean;
}

const VENDOR_NAMES: Record<Vendor, string> = { postgresql: 'PostgreSQL', mysql: 'MariaDB', sqlite: 'SQLite' };

export class MigrationExecutor {
  readonly recorder: MigrationRecorder;

  constructor(
    readonly loader: MigrationLoader,
    readonly alias = 'default',
  ) {
    this.recorder = new MigrationRecorder(alias);
  }

  get vendor(): Vendor {
    return connections.backend(this.alias).vendor;
  }

  /** The latest migration of every app. */
  defaultTargets(): MigrationTarget[] {
    return this.loader.graph.leafNodes().map((k) => {
      const m = this.loader.graph.node(k);
      return [m.appLabel, m.name] as const;
    });
  }

  /** The steps that reach `targets` from the `applied` set (Django's `migration_plan`). */
  plan(targets: readonly MigrationTarget[], applied: ReadonlySet<string>): PlanStep[] {
    const graph = this.loader.graph;
    const done = new Set(applied);
    const out: PlanStep[] = [];
    for (const [app, name] of targets) {
      this.loader.folder(app);
      if (name === null) {
        for (const root of graph.rootNodes(app)) {
          for (const m of graph.backwardsPlan(root)) {
            if (done.has(m)) {
              out.push({ migration: m, backwards: true });
              done.delete(m);
            }
          }
        }
        continue;
      }
      const key = `${app}.${name}`;
      if (done.has(key)) {
        for (const child of graph.childrenOf(key).filter((c) => graph.node(c).appLabel === app)) {
          for (const m of graph.backwardsPlan(child)) {
            if (done.has(m)) {
              out.push({ migration: m, backwards: true });
              done.delete(m);
            }
          }
        }
      } else {
        for (const m of graph.forwardsPlan(key)) {
          if (!done.has(m)) {
            out.push({ migration: m, backwards: false });
            done.add(m);
          }
        }
      }
    }
    return out;
  }

  /** The plan against what the database has recorded (no lock; for `--plan` and `--check`). */
  async pendingPlan(targets: readonly MigrationTarget[] = this.defaultTargets()): Promise<PlanStep[]> {
    return scope(async () => {
      const applied = await this.recorder.applied();
      this.loader.checkConsistentHistory(applied);
      return this.plan(targets, applied);
    });
  }

  /** Apply or unapply to reach the targets, under the migration lock. */
  async migrate(options: MigrateOptions = {}): Promise<MigrateResult> {
    const timeout = options.lockTimeoutMs ?? 300_000;
    return scope(async () => {
      const lock = migrationLock(this.alias);
      if (lock) {
        await lock.acquire(timeout, () => options.onProgress?.({ kind: 'lock-wait', alias: this.alias }));
        try {
          return await this.run(options);
        } finally {
          await lock.release();
        }
      }
      // SQLite: foreign key enforcement off for table rebuilds (only possible outside a
      // transaction), and one immediate transaction for the whole run as the lock.
      const fk = (await connections.query(this.alias, 'PRAGMA foreign_keys', [])).rows[0] as { foreign_keys: number } | undefined;
      await connections.query(this.alias, 'PRAGMA foreign_keys = OFF', []);
      try {
        let failure: unknown;
        let result: MigrateResult | undefined;
        const waitTimer = setTimeout(() => options.onProgress?.({ kind: 'lock-wait', alias: this.alias }), 200);
        await atomic(
          async () => {
            clearTimeout(waitTimer);
            try {
              result = await this.run(options);
            } catch (err) {
              // Keep what the migrations before the failing one did (each ran in its own savepoint).
              failure = err;
            }
          },
          { using: this.alias },
        ).finally(() => clearTimeout(waitTimer));
        if (failure !== undefined) throw failure;
        return result as MigrateResult;
      } finally {
        if (fk?.foreign_keys) await connections.query(this.alias, 'PRAGMA foreign_keys = ON', []);
      }
    });
  }

  private async run(options: MigrateOptions): Promise<MigrateResult> {
    await this.recorder.ensureSchema();
    const applied = await this.recorder.applied();
    this.loader.checkConsistentHistory(applied);
    const targets = options.targets ?? this.defaultTargets();
    const plan = this.plan(targets, applied);
    if (plan.length === 0) return { alias: this.alias, steps: [], nothingToDo: true };
    const backwards = plan.some((s) => s.backwards);
    if (backwards && plan.some((s) => !s.backwards)) {
      throw new MigrationError('Migration plans with both forwards and backwards migrations are not supported. Migrate one app at a time.');
    }
    const full = this.loader.graph.fullPlan();
    const inPlan = new Set(plan.map((s) => s.migration));
    const fake = options.fake ?? false;
    if (!backwards) {
      let state = this.stateOf(full, applied, undefined);
      for (const key of full) {
        if (inPlan.has(key)) state = await this.applyOne(key, state, fake, options);
        else if (applied.has(key)) state = this.loader.graph.node(key).mutateState(state);
      }
    } else {
      const states = new Map<string, ProjectState>();
      this.stateOf(full, applied, states, inPlan);
      for (const step of plan) await this.unapplyOne(step.migration, states.get(step.migration) as ProjectState, fake, options);
    }
    return { alias: this.alias, steps: plan, nothingToDo: false };
  }

  /** Walk the full plan; record the state before each migration in `want`. */
  private stateOf(
    full: readonly string[],
    applied: ReadonlySet<string>,
    states: Map<string, ProjectState> | undefined,
    want?: ReadonlySet<string>,
  ): ProjectState {
    let state = this.loader.graph.makeState([]);
    if (!states) return state;
    for (const key of full) {
      if (want?.has(key)) states.set(key, state);
      if (applied.has(key) || want?.has(key)) state = this.loader.graph.node(key).mutateState(state);
    }
    return state;
  }

  private async applyOne(key: string, state: ProjectState, fake: boolean, options: MigrateOptions): Promise<ProjectState> {
    const m = this.loader.graph.node(key);
    options.onProgress?.({ kind: 'start', migration: key, backwards: false, fake });
    const started = performance.now();
    const editor = schemaEditorFor(this.alias);
    const done: number[] = [];
    let after = state;
    const work = async () => {
      after = fake ? m.mutateState(state) : await m.apply(state, editor, (i) => done.push(i));
      if (!fake) await this.checkForeignKeys(key, editor);
      await this.recorder.recordApplied(m.appLabel, m.name);
    };
    try {
      if (m.atomic && editor.atomicDdl) await atomic(work, { using: this.alias });
      else await work();
    } catch (err) {
      throw this.failure(m, err, false, editor.atomicDdl && m.atomic, done);
    }
    options.onProgress?.({ kind: 'done', migration: key, backwards: false, fake, ms: performance.now() - started });
    return after;
  }

  private async unapplyOne(key: string, state: ProjectState, fake: boolean, options: MigrateOptions): Promise<void> {
    const m = this.loader.graph.node(key);
    const bad = m.irreversible();
    if (bad && !fake)
      throw new IrreversibleError(`Operation '${bad.describe()}' in ${key} is not reversible: unapplying ${key} is impossible.`);
    options.onProgress?.({ kind: 'start', migration: key, backwards: true, fake });
    const started = performance.now();
    const editor = schemaEditorFor(this.alias);
    const done: number[] = [];
    const work = async () => {
      if (!fake) await m.unapply(state, editor, (i) => done.push(i));
      if (!fake) await this.checkForeignKeys(key, editor);
      await this.recorder.recordUnapplied(m.appLabel, m.name);
    };
    try {
      if (m.atomic && editor.atomicDdl) await atomic(work, { using: this.alias });
      else await work();
    } catch (err) {
      throw this.failure(m, err, true, editor.atomicDdl && m.atomic, done);
    }
    options.onProgress?.({ kind: 'done', migration: key, backwards: true, fake, ms: performance.now() - started });
  }

  /** After a table rebuild, rows must still satisfy the foreign keys (Django's `check_constraints`). */
  private async checkForeignKeys(key: string, editor: BaseSchemaEditor): Promise<void> {
    const rows = await editor.foreignKeyViolations();
    if (rows.length > 0) {
      const r = rows[0] as ForeignKeyViolation;
      throw new MigrationError(
        `${key} leaves ${rows.length} row(s) breaking a foreign key: row ${r.rowid} of '${r.table}' references a missing row of '${r.parent}'.`,
      );
    }
  }

  private failure(m: Migration, err: unknown, backwards: boolean, rolledBack: boolean, done: number[]): Error {
    if (!(err instanceof OperationFailure)) return err as Error;
    const verb = backwards ? 'Unapplying' : 'Applying';
    const total = m.operations.length;
    const appliedOps = rolledBack ? [] : done.map((i) => `${i + 1}. ${(m.operations[i] as { describe(): string }).describe()}`);
    const vendor = VENDOR_NAMES[this.vendor];
    let message = `${verb} ${m.key} failed at operation ${err.index + 1} of ${total} (${err.operation.describe()}): ${err.message}`;
    if (err.sql) message += `\nSQL: ${err.sql}`;
    if (rolledBack)
      message += `\n${vendor} rolled the migration back: the database is as it was before ${m.key}, which is not recorded as ${backwards ? 'unapplied' : 'applied'}.`;
    else if (appliedOps.length > 0)
      message += `\n${vendor} cannot roll back schema changes: these operations of ${m.key} were ${backwards ? 'unapplied' : 'applied'} and stay so: ${appliedOps.join('; ')}. ${m.key} is not recorded as ${backwards ? 'unapplied' : 'applied'}: undo them by hand (or fix the migration) before migrating again.`;
    else message += `\nNo operation of ${m.key} had completed; ${m.key} is not recorded as ${backwards ? 'unapplied' : 'applied'}.`;
    return new MigrationFailedError(message, {
      failure: {
        migration: m.key,
        direction: backwards ? 'backwards' : 'forwards',
        operationIndex: err.index + 1,
        operation: err.operation.describe(),
        sql: err.sql,
        rolledBack,
        appliedOperations: appliedOps,
      },
      cause: err.cause,
      alias: this.alias,
    });
  }

  /** The SQL a migration runs (`spool sqlmigrate`), from the state its dependencies produce. */
  async sqlFor(key: string, options: { backwards?: boolean } = {}): Promise<{ statements: Statement[]; atomic: boolean }> {
    const graph = this.loader.graph;
    const m = graph.node(key);
    return scope(async () => {
      const editor = schemaEditorFor(this.alias, { collect: true });
      const before = graph.forwardsPlan(key).slice(0, -1);
      let state = graph.makeState([]);
      for (const k of before) state = graph.node(k).mutateState(state);
      if (options.backwards) {
        await m.unapply(state, editor).catch((err: unknown) => {
          throw err instanceof OperationFailure ? err.cause : err;
        });
      } else {
        await m.apply(state, editor).catch((err: unknown) => {
          throw err instanceof OperationFailure ? err.cause : err;
        });
      }
      return { statements: editor.statements, atomic: m.atomic && editor.atomicDdl };
    });
  }
}

export { Migration };
