/**
 * @spool/cli: the `spool` command line, and what a project's `spool.config.ts` imports.
 *
 * ### Examples
 * ```ts
 * // spool.config.ts
 * import { defineConfig, defineApp } from '@spool/cli';
 *
 * export default defineConfig({
 *   databases: { default: { client: 'better-sqlite3', connection: { filename: 'app.db' } } },
 *   apps: [defineApp({ label: 'library', models: () => import('./src/library/models'), migrations: 'src/library/migrations' })],
 * });
 * ```
 */
export { defineConfig, validateConfig, MIGRATION_FORMATS, type SpoolConfig, type MigrationFormat } from './config/define-config';
export { defineApp, AppConfig, type AppOptions, type ModelsSource } from '@spool/orm/migrations';
export { findConfig, loadConfig, CONFIG_NAMES, type LoadedConfig } from './config/load-config';
export { loadModule } from './config/module-loader';
export { EXIT, type ExitCode } from './exit-codes';
export { run, type RunIO } from './program';
export { inspect, type InspectedModel } from './commands/inspectdb';
export { shellCommand } from './commands/dbshell';
export { Output, type OutputOptions } from './output/output';
