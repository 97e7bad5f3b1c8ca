/**
 * The Spool config file, `spool.config.ts` (or `.mts`, `.mjs`, `.js`, `.cjs`) at the project
 * root: the databases (as `configure()` takes them), the routers, and the apps.
 *
 * ### Examples
 * ```ts
 * // spool.config.ts
 * import { defineConfig, defineApp } from '@spool/cli';
 *
 * export default defineConfig({
 *   databases: { default: { client: 'pg', connection: process.env.DATABASE_URL ?? 'postgres://localhost/app' } },
 *   apps: [defineApp({ label: 'library', models: () => import('./src/library/models'), migrations: 'src/library/migrations' })],
 * });
 * ```
 */
import { ConfigError, type Settings } from '@spool/connections';
import { AppConfig } from '@spool/orm/migrations';

/** The formats `makemigrations` can write. */
export const MIGRATION_FORMATS = ['ts', 'mts', 'mjs', 'cjs', 'js'] as const;
export type MigrationFormat = (typeof MIGRATION_FORMATS)[number];

/** What a Spool config holds. */
export interface SpoolConfig extends Settings {
  /** The project's apps (`defineApp({ label, models, migrations })`). */
  apps: readonly AppConfig[];
  /** The file type of new migrations (default: `ts` for a TypeScript config, else `mjs`). */
  migrationFormat?: MigrationFormat;
  /** How long `migrate` waits for another process's migration lock, in ms (default 300000). */
  lockTimeoutMs?: number;
}

const SETTINGS_KEYS = ['databases', 'routers', 'strict', 'captureStacks', 'logger', 'sharedBudget'];
const CONFIG_KEYS = [...SETTINGS_KEYS, 'apps', 'migrationFormat', 'lockTimeoutMs'];

/** Check a config's shape (databases are checked by `configure()` when a command connects). */
export function validateConfig(config: unknown, source = 'the Spool config'): SpoolConfig {
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    throw new ConfigError(
      `${source} must export an object (export default defineConfig({ databases, apps })), got ${config === null ? 'null' : Array.isArray(config) ? 'an array' : typeof config}.`,
    );
  }
  const c = config as Record<string, unknown>;
  for (const key of Object.keys(c)) {
    if (!CONFIG_KEYS.includes(key))
      throw new ConfigError(`${source}: unknown option '${key}'. Valid options: ${CONFIG_KEYS.join(', ')}.`, { option: key });
  }
  if (c.databases === null || typeof c.databases !== 'object')
    throw new ConfigError(`${source}: 'databases' must be an object of aliases ({ default: { client, connection } }).`, {
      option: 'databases',
    });
  const apps = c.apps ?? [];
  if (!Array.isArray(apps)) throw new ConfigError(`${source}: 'apps' must be a list of defineApp({ ... }).`, { option: 'apps' });
  const labels = new Set<string>();
  apps.forEach((a, i) => {
    if (!AppConfig.is(a))
      throw new ConfigError(`${source}: apps[${i}] is not an app: use defineApp({ label, models, migrations }).`, { option: `apps[${i}]` });
    if (labels.has(a.label))
      throw new ConfigError(`${source}: two apps have the label '${a.label}'. App labels must be unique.`, { option: `apps[${i}].label` });
    labels.add(a.label);
  });
  if (c.migrationFormat !== undefined && !(MIGRATION_FORMATS as readonly unknown[]).includes(c.migrationFormat)) {
    throw new ConfigError(
      `${source}: migrationFormat must be one of ${MIGRATION_FORMATS.join(', ')}, got ${JSON.stringify(c.migrationFormat)}.`,
      { option: 'migrationFormat' },
    );
  }
  if (c.lockTimeoutMs !== undefined && (!Number.isInteger(c.lockTimeoutMs) || (c.lockTimeoutMs as number) < 0)) {
    throw new ConfigError(`${source}: lockTimeoutMs must be a non-negative integer (ms), got ${JSON.stringify(c.lockTimeoutMs)}.`, {
      option: 'lockTimeoutMs',
    });
  }
  return { ...(c as unknown as SpoolConfig), apps };
}

/** Declare a Spool config (typed; checked when the command line loads it). */
export function defineConfig<const C extends SpoolConfig>(config: C): C {
  validateConfig(config, 'defineConfig()');
  return config;
}
