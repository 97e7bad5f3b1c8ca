/**
 * Helpers for the migration suites: generate migration files for a set of models (autodetector +
 * writer, as `spool makemigrations` does) into a temporary folder, load them back, migrate.
 * Files are CommonJS requiring the built `@spool/orm/migrations`, so that jest loads them with
 * the same module instances as the test.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connections, scope } from '@spool/connections';
import {
  Autodetector,
  RECORDER_TABLE,
  introspectionFor,
  MigrationExecutor,
  MigrationLoader,
  NonInteractiveQuestioner,
  ProjectState,
  defineApp,
  writeMigration,
  type AppConfig,
  type DraftMigration,
  type MigrateOptions,
  type RenameAnswers,
} from '@spool/orm/migrations';

export const ORM_MIGRATIONS = require.resolve('@spool/orm/migrations');

/** Load a migration file with jest's require (same module registry as the test). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const load = (file: string): Promise<unknown> => Promise.resolve(require(file));

export class MigrationProject {
  readonly dir: string;
  app: AppConfig;

  constructor(
    readonly label: string,
    models: readonly unknown[],
  ) {
    this.dir = mkdtempSync(join(tmpdir(), `spool-mig-${label}-`));
    mkdirSync(join(this.dir, label));
    this.app = defineApp({ label, models, migrations: join(this.dir, label) });
  }

  /** Switch to another version of the models. */
  setModels(models: readonly unknown[]): void {
    this.app = defineApp({ label: this.label, models, migrations: join(this.dir, this.label) });
  }

  loader(): Promise<MigrationLoader> {
    return MigrationLoader.load([this.app], { load });
  }

  /** Detect the changes and write them (as makemigrations). */
  async makemigrations(answers: RenameAnswers = {}): Promise<{ drafts: DraftMigration[]; notes: string[] }> {
    const loader = await this.loader();
    const q = new NonInteractiveQuestioner(answers);
    const drafts = await new Autodetector(loader.graph.makeState(), await ProjectState.fromApps([this.app]), q).changes(loader.graph);
    for (const d of drafts) this.write(d.name, writeMigration(d, { commonjs: true, importFrom: ORM_MIGRATIONS }));
    return { drafts, notes: q.notes };
  }

  /** Model changes not in a migration (makemigrations --check). */
  async pendingChanges(): Promise<string[]> {
    const loader = await this.loader();
    const drafts = await new Autodetector(
      loader.graph.makeState(),
      await ProjectState.fromApps([this.app]),
      new NonInteractiveQuestioner(),
    ).changes(loader.graph);
    return drafts.flatMap((d) => d.operations.map((o) => o.describe()));
  }

  write(name: string, source: string): void {
    writeFileSync(join(this.dir, this.label, `${name}.cjs`), source);
  }

  async leaf(): Promise<string> {
    const loader = await this.loader();
    return (loader.graph.leafNodes(this.label)[0] as string).slice(this.label.length + 1);
  }

  async migrate(alias: string, target?: string | null, options: MigrateOptions = {}) {
    const loader = await this.loader();
    const targets =
      target === undefined
        ? undefined
        : [[this.label, target === null ? null : loader.resolve(this.label, target).slice(this.label.length + 1)] as const];
    return new MigrationExecutor(loader, alias).migrate({ ...options, targets });
  }

  async sql(alias: string, name: string, backwards = false): Promise<string[]> {
    const loader = await this.loader();
    const { statements } = await new MigrationExecutor(loader, alias).sqlFor(loader.resolve(this.label, name), { backwards });
    return statements.map((s) => s.sql);
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Drop the tables a suite may have left (names starting with one of `prefixes`, and the recorder's rows for `apps`). */
export async function resetTables(alias: string, prefixes: readonly string[], apps: readonly string[] = []): Promise<void> {
  await scope(async () => {
    const backend = connections.backend(alias);
    const tables = await introspectionFor(alias).tableNames();
    if (backend.vendor === 'mysql') await connections.query(alias, 'SET FOREIGN_KEY_CHECKS = 0', []);
    for (const t of tables) {
      if (!prefixes.some((p) => t.startsWith(p))) continue;
      await connections.query(alias, `DROP TABLE ${backend.quoteIdentifier(t)}${backend.vendor === 'postgresql' ? ' CASCADE' : ''}`, []);
    }
    if (backend.vendor === 'mysql') await connections.query(alias, 'SET FOREIGN_KEY_CHECKS = 1', []);
    if (tables.includes(RECORDER_TABLE)) {
      for (const app of apps)
        await connections.query(alias, `DELETE FROM ${backend.quoteIdentifier(RECORDER_TABLE)} WHERE app = ${backend.placeholder(0)}`, [
          app,
        ]);
    }
  });
}
