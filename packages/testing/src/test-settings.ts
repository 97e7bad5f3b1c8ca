/**
 * Test settings (Django's `TEST` dictionary): an alias with `test: { mirror: 'default' }` is a
 * replica that, under test, reads the mirrored alias's test database over its own connection, so
 * that code routing reads to the replica sees the rows the test wrote through `default`.
 *
 * ### Examples
 * ```ts
 * configure(forTests({
 *   databases: {
 *     default: db.settings(),
 *     replica: { client: 'pg', connection: 'postgres://prod-replica/app', maxAge: 60, test: { mirror: 'default' } },
 *   },
 * }));
 * ```
 */
import type { Settings } from '@spool/connections';

/** Settings for tests: mirrors take their target's client and connection, keeping their own options. */
export function forTests(settings: Settings): Settings {
  const databases = { ...settings.databases };
  for (const [alias, db] of Object.entries(databases)) {
    const target = db.test?.mirror;
    if (target === undefined) continue;
    const source = settings.databases[target];
    if (!source) continue; // configure() reports the unknown mirror, naming the option
    databases[alias] = { ...db, client: source.client, connection: source.connection };
  }
  return { ...settings, databases };
}
