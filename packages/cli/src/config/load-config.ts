/**
 * Finding and loading the config: `--config <file>`, else `spool.config.{ts,mts,cts,mjs,js,cjs}`
 * in the current folder or the nearest parent (the project root is that folder).
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ConfigError } from '@spool/connections';
import { validateConfig, type SpoolConfig } from './define-config';
import { loadModule } from './module-loader';

export const CONFIG_NAMES = [
  'spool.config.ts',
  'spool.config.mts',
  'spool.config.cts',
  'spool.config.mjs',
  'spool.config.js',
  'spool.config.cjs',
];

/** The config file: the given one, or the first found walking up from `cwd`. */
export function findConfig(cwd: string, given?: string): string {
  if (given !== undefined) {
    const file = resolve(cwd, given);
    if (!existsSync(file) || !statSync(file).isFile())
      throw new ConfigError(`--config ${given}: no such file (${file}).`, { option: 'config' });
    return file;
  }
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    for (const name of CONFIG_NAMES) {
      const file = join(dir, name);
      if (existsSync(file)) return file;
    }
    if (dirname(dir) === dir) break;
  }
  throw new ConfigError(
    `No Spool config found in ${resolve(cwd)} or its parents. Create spool.config.ts (export default defineConfig({ databases, apps })) or pass --config <file>.`,
    { option: 'config' },
  );
}

/** A loaded config, with the file it came from and the project root. */
export interface LoadedConfig {
  readonly config: SpoolConfig;
  readonly file: string;
  readonly root: string;
}

export async function loadConfig(cwd: string, given?: string): Promise<LoadedConfig> {
  const file = findConfig(cwd, given);
  let mod: unknown;
  try {
    mod = await loadModule(file);
  } catch (err) {
    throw new ConfigError(`The Spool config ${file} could not be loaded: ${(err as Error).message}`, { cause: err });
  }
  const m = mod as Record<string, unknown>;
  let value: unknown = m && typeof m === 'object' && 'default' in m ? m.default : m;
  if (value && typeof value === 'object' && 'default' in (value as object) && !('databases' in (value as object)))
    value = (value as Record<string, unknown>).default;
  if (typeof value === 'function') value = await (value as () => unknown)();
  return { config: validateConfig(value, file), file, root: dirname(file) };
}
