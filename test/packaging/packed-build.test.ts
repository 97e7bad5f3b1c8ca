// The packed build (issue 14, cold start): each package's entries come from one bundle file
// (scripts/bundle-dist.mjs), all entries share one instance of every module, and knex loads
// from the copy packed next to @spool/connections when the installed knex is its version.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
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
});
