import { ConfigError } from '../errors';
import { messages } from '../messages';

const cache = new Map<string, unknown>();

/**
 * Load a driver package on first use, so that only the configured ones need be installed
 * (they are optional peer dependencies). The error names the package to install.
 * @internal
 */
export function loadDriver<T>(pkg: 'pg' | 'mysql2' | 'better-sqlite3', client: string): T {
  let mod = cache.get(pkg);
  if (mod === undefined) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      mod = require(pkg) as unknown;
    } catch (err) {
      throw new ConfigError(messages.driverMissing(client, pkg, (err as Error).message.split('\n')[0] ?? String(err)), {
        cause: err,
        option: 'client',
      });
    }
    cache.set(pkg, mod);
  }
  return mod as T;
}
