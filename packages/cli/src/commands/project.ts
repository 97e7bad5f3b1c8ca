/**
 * What every command starts from: the loaded config, the database connections configured from
 * it, the apps, and (for the commands that need them) the migration loader and the states.
 */
import { connections, ConfigError, type Settings } from '@spool/connections';
import { MigrationLoader, ProjectState, callableDefault, type AppConfig } from '@spool/orm/migrations';
import { loadConfig, type LoadedConfig } from '../config/load-config';
import { loadModule } from '../config/module-loader';

export interface GlobalOptions {
  config?: string;
  json?: boolean;
  color?: boolean;
  cwd?: string;
}

export class Project {
  private loaderValue: MigrationLoader | undefined;

  private constructor(readonly loaded: LoadedConfig) {}

  static async open(options: GlobalOptions): Promise<Project> {
    return new Project(await loadConfig(options.cwd ?? process.cwd(), options.config));
  }

  get root(): string {
    return this.loaded.root;
  }

  get apps(): readonly AppConfig[] {
    return this.loaded.config.apps;
  }

  /** The apps named (all when none), or a ConfigError naming the unknown one. */
  selectApps(labels: readonly string[] | undefined): AppConfig[] {
    if (!labels || labels.length === 0) return [...this.apps];
    return labels.map((l) => {
      const app = this.apps.find((a) => a.label === l);
      if (!app)
        throw new ConfigError(`No app '${l}' in ${this.loaded.file}. Apps: ${this.apps.map((a) => a.label).join(', ') || '(none)'}.`, {
          option: 'apps',
        });
      return app;
    });
  }

  /** Configure the connections (once), checking `alias` exists. SQLite waits up to the lock timeout for a busy database. */
  connect(alias: string, options: { busyTimeoutMs?: number } = {}): void {
    const { apps: _apps, migrationFormat: _f, lockTimeoutMs: _l, ...settings } = this.loaded.config;
    const databases = { ...settings.databases };
    if (!(alias in databases)) {
      throw new ConfigError(
        `--database ${alias}: no such database alias in ${this.loaded.file}. Aliases: ${Object.keys(databases).join(', ')}.`,
        { option: 'database' },
      );
    }
    if (options.busyTimeoutMs !== undefined) {
      for (const [name, db] of Object.entries(databases)) {
        if (['better-sqlite3', 'sqlite', 'sqlite3'].includes(String(db.client)) && db.connection && typeof db.connection === 'object') {
          databases[name] = { ...db, connection: { busyTimeoutMs: options.busyTimeoutMs, ...(db.connection as object) } as never };
        }
      }
    }
    connections.configure({ ...(settings as Settings), databases });
  }

  /** The migration graph of the project's apps (loaded once). */
  async loader(): Promise<MigrationLoader> {
    this.loaderValue ??= await MigrationLoader.load(this.apps, { root: this.root, load: loadModule });
    return this.loaderValue;
  }

  /** The state of the real models. */
  async modelState(): Promise<ProjectState> {
    return ProjectState.fromApps(this.apps);
  }

  /** Default functions of the real models, by `app.Model.field`. */
  async callableDefaults(): Promise<Map<string, () => unknown>> {
    const out = new Map<string, () => unknown>();
    for (const app of this.apps) {
      for (const meta of await app.models()) {
        for (const f of meta.fields) {
          const d = callableDefault(f);
          if (d) out.set(`${app.label}.${meta.name}.${f.name}`, d);
        }
      }
    }
    return out;
  }

  /** The extension of new migration files. */
  get migrationFormat(): string {
    return this.loaded.config.migrationFormat ?? (/\.(ts|mts|cts)$/.test(this.loaded.file) ? 'ts' : 'mjs');
  }

  get lockTimeoutMs(): number {
    return this.loaded.config.lockTimeoutMs ?? 300_000;
  }
}
