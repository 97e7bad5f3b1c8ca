/**
 * Apps: models grouped under a label, with a folder of migrations (Django's `AppConfig`). A
 * project may have several; each has its own migration history, and migrations of one app may
 * depend on another's.
 *
 * ### Examples
 * ```ts
 * import { defineApp } from '@spool/orm/migrations';
 * import * as models from './models';
 *
 * export const library = defineApp({ label: 'library', models, migrations: 'src/library/migrations' });
 * // or lazily, so that commands that need no models do not load them:
 * export const shop = defineApp({ label: 'shop', models: () => import('./shop/models'), migrations: 'src/shop/migrations' });
 * ```
 */
import { ConfigError } from '@spool/connections';
import { metaOfClass, type ModelMeta } from '../models/model-meta';

/** Where an app's models come from: a list of model classes, a module (its exports are scanned), or a function returning either. */
export type ModelsSource = readonly unknown[] | Readonly<Record<string, unknown>> | (() => unknown);

/** What `defineApp()` takes. */
export interface AppOptions {
  /** The app's label: an identifier, unique in the project (`library`). Migrations refer to models as `label.Model`. */
  label: string;
  /** The app's models. */
  models: ModelsSource;
  /**
   * The folder of the app's migrations: a path relative to the project root (the folder of the
   * Spool config), an absolute path, or a `file:` URL (`new URL('./migrations', import.meta.url)`).
   * Default: `migrations/<label>`.
   */
  migrations?: string | URL;
}

const LABEL = /^[A-Za-z_][A-Za-z0-9_]*$/;
const APP_KEYS = ['label', 'models', 'migrations'];
const APP_BRAND = Symbol.for('spool.migrations.app');

/** An app of the project (see `defineApp`). */
export class AppConfig {
  readonly label: string;
  /** The migrations folder as given (resolved against the project root by the loader). */
  readonly migrations: string | URL;
  private readonly source: ModelsSource;
  private loaded: Promise<ModelMeta[]> | undefined;

  constructor(options: AppOptions) {
    if (options === null || typeof options !== 'object')
      throw new ConfigError(`defineApp() takes an object { label, models, migrations }.`);
    for (const key of Object.keys(options)) {
      if (!APP_KEYS.includes(key))
        throw new ConfigError(`defineApp(): unknown option '${key}'. Valid options: ${APP_KEYS.join(', ')}.`, { option: key });
    }
    if (typeof options.label !== 'string' || !LABEL.test(options.label)) {
      throw new ConfigError(
        `defineApp(): label must be an identifier (letters, digits, underscore), got ${JSON.stringify(options.label)}.`,
        {
          option: 'label',
        },
      );
    }
    if (options.models === null || (typeof options.models !== 'object' && typeof options.models !== 'function')) {
      throw new ConfigError(
        `defineApp('${options.label}'): models must be a list of model classes, a module of models, or a function returning one, got ${options.models === null ? 'null' : typeof options.models}.`,
        { option: 'models' },
      );
    }
    if (options.migrations !== undefined && typeof options.migrations !== 'string' && !(options.migrations instanceof URL)) {
      throw new ConfigError(`defineApp('${options.label}'): migrations must be a folder path or a file: URL.`, { option: 'migrations' });
    }
    this.label = options.label;
    this.source = options.models;
    this.migrations = options.migrations ?? `migrations/${options.label}`;
    Object.defineProperty(this, APP_BRAND, { value: true });
  }

  /** Is `value` an app (also from another copy of the package)? */
  static is(value: unknown): value is AppConfig {
    return (
      value instanceof AppConfig || (typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[APP_BRAND] === true)
    );
  }

  /** The app's models (loaded once), in the order they were found. */
  models(): Promise<ModelMeta[]> {
    this.loaded ??= collectModels(this.label, this.source);
    return this.loaded;
  }
}

/** Define an app: a label, its models and its migrations folder. */
export function defineApp(options: AppOptions): AppConfig {
  return new AppConfig(options);
}

async function collectModels(label: string, source: unknown): Promise<ModelMeta[]> {
  let value = source;
  if (typeof value === 'function' && !metaOfClass(value)) value = await (value as () => unknown)();
  const out: ModelMeta[] = [];
  const visit = (v: unknown, depth: number) => {
    const meta = metaOfClass(v);
    if (meta) {
      meta.adopt(v as never);
      if (!meta.autoCreated && !out.includes(meta)) out.push(meta);
      return;
    }
    if (depth > 1 || v === null || typeof v !== 'object') return;
    if (Array.isArray(v)) for (const x of v) visit(x, depth + 1);
    else for (const x of Object.values(v as Record<string, unknown>)) visit(x, depth + 1);
  };
  visit(value, 0);
  if (out.length === 0) {
    throw new ConfigError(`App '${label}' has no models: its models option gave no model class (from Model.define()).`, {
      option: `apps.${label}.models`,
    });
  }
  return out;
}
