// The packed build (issue 14, cold start): each package's entries come from one bundle file
// (scripts/bundle-dist.mjs), all entries share one instance of every module, and knex loads
// from the copy packed next to @spool/connections when the installed knex is its version.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');

function runNode(args: string[], source: string): string {
  return execFileSync(process.execPath, [...args, source], { cwd: ROOT, encoding: 'utf8' });
}

describe('packed build', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'spool-packed-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('an ORM query on SQLite loads Spool from its bundles and knex from the packed copy', () => {
    const file = join(dir, 'packed.db');
    const out = runNode(
      ['-e'],
      `
      const { configure, scope, shutdown, sql } = require('@spool/connections');
      const internal = require('@spool/connections/internal');
      const { Model, CharField } = require('@spool/orm');
      require('@spool/orm/migrations');
      class Packed extends Model.define({ name: new CharField({ maxLength: 20 }) }, { dbTable: 'packed' }) {}
      configure({ databases: { default: { client: 'better-sqlite3', connection: { filename: ${JSON.stringify(file)} } } } });
      (async () => {
        const name = await scope(async () => {
          await sql\`CREATE TABLE packed (id INTEGER PRIMARY KEY, name VARCHAR(20) NOT NULL)\`;
          await sql\`INSERT INTO packed (name) VALUES ('one')\`;
          return (await Packed.objects.get({ id: 1 })).name;
        });
        const files = Object.keys(require.cache);
        const spool = files.filter((f) => /[\\\\/]packages[\\\\/][a-z]+[\\\\/]dist[\\\\/]/.test(f)).map((f) => f.slice(f.indexOf('packages')));
        const knexFiles = files.filter((f) => /node_modules[\\\\/](knex|lodash)[\\\\/].*\\.js$/.test(f)).length;
        // One handler state behind both entries of @spool/connections.
        const shared = typeof internal.handlerState === 'function';
        await shutdown();
        console.log(JSON.stringify({ name, spool: spool.sort(), knexFiles, shared }));
      })();
      `,
    );
    const result = JSON.parse(out) as { name: string; spool: string[]; knexFiles: number; shared: boolean };
    expect(result.name).toBe('one');
    expect(result.shared).toBe(true);
    // The bundles, their entry files and the packed knex; none of tsc's per-file modules.
    expect(result.spool.every((f) => /dist[\\/]bundle[\\/]/.test(f))).toBe(true);
    expect(result.spool).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/connections[\\/]dist[\\/]bundle[\\/]connections\.js$/),
        expect.stringMatching(/connections[\\/]dist[\\/]bundle[\\/]knex-bundle\.js$/),
        expect.stringMatching(/orm[\\/]dist[\\/]bundle[\\/]orm\.js$/),
      ]),
    );
    // No knex or lodash module file: knex came from the packed copy.
    expect(result.knexFiles).toBe(0);
  });

  test('ESM named imports of every packed entry', () => {
    const out = runNode(
      ['--input-type=module', '-e'],
      `
      import { configure, scope, sql } from '@spool/connections';
      import { handlerState, messages } from '@spool/connections/internal';
      import { Model, CharField, Q } from '@spool/orm';
      import { clearCompiledCache } from '@spool/orm/internal';
      import * as migrations from '@spool/orm/migrations';
      console.log(JSON.stringify([configure, scope, sql, handlerState, Model, CharField, Q, clearCompiledCache].map((f) => typeof f).concat(typeof messages, Object.keys(migrations).length > 10)));
      `,
    );
    expect(JSON.parse(out)).toEqual([...Array(8).fill('function'), 'object', true]);
  });

  test('each bundle has a V8 code cache this Node accepts; loading through it gives the same module, and import() works', async () => {
    const migrations = mkdtempSync(join(tmpdir(), 'spool-packed-import-'));
    try {
      const file = join(migrations, '0001_initial.mjs');
      writeFileSync(file, 'export const marker = 42;\n');
      const out = runNode(
        ['-e'],
        `
        const accepted = {};
        for (const [pkg, bundle] of [['connections', 'connections.js'], ['connections', 'knex-bundle.js'], ['orm', 'orm.js']]) {
          accepted[bundle] = require('./packages/' + pkg + '/dist/bundle/cached-require.js').cacheAccepted(bundle);
        }
        const connections = require('@spool/connections');
        const bundle = require.resolve('./packages/connections/dist/bundle/connections.js');
        // The module loaded through the cache is require()'s own: same cache entry, same exports.
        const same = require.cache[bundle] !== undefined && require(bundle).index() === connections;
        // A dynamic import from a bundle loaded through its cache (the ORM's migration loader).
        require('@spool/orm/migrations').nodeLoader(${JSON.stringify(file)}).then((m) => console.log(JSON.stringify({ accepted, same, marker: m.marker })));
        `,
      );
      expect(JSON.parse(out)).toEqual({
        accepted: { 'connections.js': true, 'knex-bundle.js': true, 'orm.js': true },
        same: true,
        marker: 42,
      });
    } finally {
      rmSync(migrations, { recursive: true, force: true });
    }
  });

  test('cached-require.js: a bundle edited after its cache was made is required as it is now, never from the stale cache', () => {
    const bundleDir = mkdtempSync(join(tmpdir(), 'spool-cached-require-'));
    try {
      copyFileSync(join(ROOT, 'packages/connections/dist/bundle/cached-require.js'), join(bundleDir, 'cached-require.js'));
      const mod = join(bundleDir, 'mod.js');
      const load = `const load = require(${JSON.stringify(join(bundleDir, 'cached-require.js'))});`;
      writeFileSync(mod, `exports.answer = () => 'cached';\n`);
      // answer() runs while the cache is made, so its compiled code is in the cache.
      runNode(['-e'], `${load} load.produce('mod.js', (m) => m.answer()).then(() => process.exit(0));`);
      const read = `${load} const m = load('mod.js'); console.log(JSON.stringify([m.answer(), require('./mod.js') === m]));`;
      const opts = { cwd: bundleDir, encoding: 'utf8' as const };
      expect(JSON.parse(execFileSync(process.execPath, ['-e', read], opts))).toEqual(['cached', true]);
      // Same length, other code, newer than the cache: V8 alone would take the stale bytecode.
      writeFileSync(mod, readFileSync(mod, 'utf8').replace("'cached'", "'edited'"));
      const later = new Date(Date.now() + 5000);
      utimesSync(mod, later, later);
      expect(JSON.parse(execFileSync(process.execPath, ['-e', read], opts))).toEqual(['edited', true]);
      // Source maps on: plain require() (Node maps the files it loads itself).
      expect(JSON.parse(execFileSync(process.execPath, ['--enable-source-maps', '-e', read], opts))).toEqual(['edited', true]);
    } finally {
      rmSync(bundleDir, { recursive: true, force: true });
    }
  });
});
