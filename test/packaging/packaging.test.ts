// Spool works as an npm dependency: pack every package (`npm pack`), install the tarballs into a
// fresh project outside the workspace, and run a script against SQLite from ESM, from CommonJS,
// and from TypeScript (types resolve from the tarballs, no workspace-only paths); every tarball
// carries its README and LICENSE, source maps that hold their sources, and dependency ranges;
// and examples/shop-api runs from the tarballs (HTTP, a worker pool job, a clean SIGTERM).
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '..', '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function run(cmd: string, args: string[], cwd: string): string {
  try {
    return execFileSync(cmd, args, {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false' },
    });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`, { cause: err });
  }
}

describe('packaging', () => {
  let dir: string;
  let packages: string[];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'spool-pack-'));
    const packs = join(dir, 'tarballs');
    mkdirSync(packs);
    packages = readdirSync(join(root, 'packages'));
    run(npm, ['pack', '--silent', '--pack-destination', packs, ...packages.flatMap((p) => ['--workspace', `packages/${p}`])], root);
    const tarballs = readdirSync(packs).map((f) => join(packs, f));
    expect(tarballs).toHaveLength(packages.length);
    const app = join(dir, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'spool-consumer', private: true, type: 'module' }, null, 2));
    // better-sqlite3 compiles from source on install; link the workspace's built copy instead, and
    // skip install scripts (none of Spool's packages has any).
    run(
      npm,
      [
        'install',
        '--prefer-offline',
        '--ignore-scripts',
        ...tarballs,
        `better-sqlite3@file:${join(root, 'node_modules', 'better-sqlite3')}`,
        '@types/node@20',
      ],
      app,
    );
  }, 240_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const script = `
    configure({ databases: { default: { client: 'better-sqlite3', connection: { filename: ':memory:' } } } });
    const rows = await scope(async () => {
      await sql\`CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)\`;
      await atomic(() => sql\`INSERT INTO t (name) VALUES (\${'packed'})\`);
      return sql\`SELECT id, name FROM t\`;
    });
    const stats = connections.stats().aliases.default;
    console.log(JSON.stringify({ rows, opens: stats.opens, isError: ConfigError.is(new ConfigError('x')) }));
  `;
  const expected = { rows: [{ id: 1, name: 'packed' }], opens: 1, isError: true };

  test('the tarballs hold built code and types, not sources or workspace paths', () => {
    const listing = run(
      'tar',
      [
        '-tzf',
        readdirSync(join(dir, 'tarballs'))
          .map((f) => join(dir, 'tarballs', f))
          .find((f) => f.includes('spool-connections')) as string,
      ],
      dir,
    );
    expect(listing).toContain('package/dist/index.js');
    expect(listing).toContain('package/dist/index.d.ts');
    expect(listing).not.toContain('package/src/');
    expect(listing).not.toContain('.tsbuildinfo');
  });

  test('ESM: import { … } from "@spool/connections" runs against SQLite', () => {
    const app = join(dir, 'app');
    writeFileSync(
      join(app, 'esm.mjs'),
      `import { configure, scope, sql, atomic, connections, ConfigError } from '@spool/connections';\n${script}`,
    );
    expect(JSON.parse(run('node', ['esm.mjs'], app))).toEqual(expected);
  });

  test('CommonJS: require("@spool/connections") runs against SQLite', () => {
    const app = join(dir, 'app');
    writeFileSync(
      join(app, 'cjs.cjs'),
      `const { configure, scope, sql, atomic, connections, ConfigError } = require('@spool/connections');\n(async () => {${script}})();`,
    );
    expect(JSON.parse(run('node', ['cjs.cjs'], app))).toEqual(expected);
  });

  test('TypeScript: types resolve from the tarballs under strict nodenext, and the output runs', () => {
    const app = join(dir, 'app');
    writeFileSync(
      join(app, 'app.ts'),
      `import { configure, scope, sql, atomic, connections, ConfigError, type Settings, type ThreadStats } from '@spool/connections';
       const settings: Settings = { databases: { default: { client: 'better-sqlite3', connection: { filename: ':memory:' }, maxAge: 0 } } };
       const typed: ThreadStats['aliases'] = {};
       void typed;
       ${script.replace('configure({', 'void settings; configure({')}`,
    );
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          outDir: 'out',
          skipLibCheck: false,
          types: ['node'],
        },
        files: ['app.ts'],
      }),
    );
    run('node', [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'], app);
    expect(JSON.parse(run('node', ['out/app.js'], app))).toEqual(expected);
  });

  test('every tarball has its README and LICENSE, no declaration maps, JS maps that hold their sources, ranges for @spool deps', () => {
    const packs = join(dir, 'tarballs');
    for (const tarball of readdirSync(packs)) {
      const listing = run('tar', ['-tzf', join(packs, tarball)], dir).split('\n');
      expect({
        tarball,
        readme: listing.includes('package/README.md'),
        license: listing.includes('package/LICENSE'),
      }).toEqual({
        tarball,
        readme: true,
        license: true,
      });
      // A declaration map would point at src/, which is not shipped.
      expect(listing.filter((f) => f.endsWith('.d.ts.map'))).toEqual([]);
    }
    const app = join(dir, 'app');
    for (const pkg of packages) {
      const installed = join(app, 'node_modules', '@spool', pkg);
      const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
      for (const [name, range] of Object.entries(manifest.dependencies ?? {})) {
        if (name.startsWith('@spool/')) expect(`${pkg} → ${name}@${range}`).toMatch(/@\^\d+\.\d+\.\d+$/);
      }
      const map = JSON.parse(readFileSync(join(installed, 'dist', 'index.js.map'), 'utf8')) as {
        sources: string[];
        sourcesContent?: string[];
      };
      expect(map.sourcesContent?.length).toBe(map.sources.length);
      expect(map.sourcesContent?.[0]).toContain('export');
    }
  });

  test('every package can be loaded from ESM', () => {
    const app = join(dir, 'app');
    const names = packages.map((p) => `@spool/${p}`);
    writeFileSync(
      join(app, 'all.mjs'),
      `${names.map((n, i) => `import * as m${i} from '${n}';`).join('\n')}\nconsole.log(JSON.stringify([${names.map((_, i) => `Object.keys(m${i}).length`).join(',')}]));`,
    );
    const counts = JSON.parse(run('node', ['all.mjs'], app)) as number[];
    expect(counts.every((n) => n > 0)).toBe(true);
  });

  test('spool --help runs from the installed @spool/cli tarball, and a TypeScript project migrates without a build step', () => {
    const app = join(dir, 'app');
    const spool = join(app, 'node_modules', '.bin', 'spool');
    expect(run(spool, ['--help'], app)).toContain('makemigrations');
    writeFileSync(
      join(app, 'models.ts'),
      `import { Model, CharField } from '@spool/orm';\nexport class Note extends Model.define({ text: new CharField({ maxLength: 50 }) }) {}\n`,
    );
    writeFileSync(
      join(app, 'spool.config.ts'),
      `import { defineConfig, defineApp } from '@spool/cli';
       import * as models from './models.ts';
       export default defineConfig({
         databases: { default: { client: 'better-sqlite3', connection: { filename: 'packed.db' } } },
         apps: [defineApp({ label: 'notes', models, migrations: 'migrations/notes' })],
       });`,
    );
    expect(run(spool, ['makemigrations'], app)).toContain('Create model Note');
    const migrated = JSON.parse(run(spool, ['migrate', '--json'], app)) as { steps: { migration: string }[] };
    expect(migrated.steps.map((s) => s.migration)).toEqual(['notes.0001_initial']);
  });

  test('examples/shop-api runs from the tarballs: spool migrate makes its schema, it serves, its background job runs on a worker pool, SIGTERM stops it cleanly', async () => {
    const shop = join(dir, 'shop');
    mkdirSync(shop);
    // The build, and what the spool command line reads: the config, the models and the migrations (TypeScript).
    cpSync(join(root, 'examples', 'shop-api', 'dist'), join(shop, 'dist'), { recursive: true });
    cpSync(join(root, 'examples', 'shop-api', 'src'), join(shop, 'src'), { recursive: true });
    cpSync(join(root, 'examples', 'shop-api', 'spool.config.ts'), join(shop, 'spool.config.ts'));
    writeFileSync(join(shop, 'package.json'), JSON.stringify({ name: 'shop-from-tarballs', private: true, type: 'commonjs' }, null, 2));
    const tarballs = readdirSync(join(dir, 'tarballs')).map((f) => join(dir, 'tarballs', f));
    run(
      npm,
      [
        'install',
        '--prefer-offline',
        '--ignore-scripts',
        ...tarballs,
        'express@^5.3.0',
        `better-sqlite3@file:${join(root, 'node_modules', 'better-sqlite3')}`,
      ],
      shop,
    );
    const env = { ...process.env, PORT: '0', DATABASE_URL: `sqlite:${join(shop, 'shop.db')}` };
    // Before `spool migrate`, the server refuses to start, naming what to run.
    const early = await new Promise<{ code: number | null; errors: string }>((resolve) => {
      const child = spawn(process.execPath, ['dist/server.js'], { cwd: shop, env, stdio: ['ignore', 'ignore', 'pipe'] });
      let errors = '';
      child.stderr.on('data', (d: Buffer) => (errors += d.toString()));
      child.once('exit', (code) => resolve({ code, errors }));
    });
    expect(early.code).toBe(1);
    expect(early.errors).toContain(
      'unapplied migrations on this database (shop.0001_initial). Run npm run migrate (npx spool migrate) first.',
    );
    const migrated = JSON.parse(
      execFileSync(join(shop, 'node_modules', '.bin', 'spool'), ['migrate', '--json'], { cwd: shop, env, encoding: 'utf8' }),
    ) as { steps: Array<{ migration: string }> };
    expect(migrated.steps.map((s) => s.migration)).toEqual(['shop.0001_initial']);
    /** Start the app, run `use(baseUrl)`, stop it with SIGTERM; resolves with its output. */
    const session = async (use: (base: string) => Promise<void>): Promise<{ code: number | null; out: string; errors: string }> => {
      const child = spawn(process.execPath, ['dist/server.js'], { cwd: shop, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let errors = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (errors += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      try {
        const deadline = Date.now() + 30_000;
        while (!/listening on (http:\/\/\S+)/.test(out) && Date.now() < deadline && child.exitCode === null) {
          await new Promise((r) => setTimeout(r, 50));
        }
        const base = /listening on (http:\/\/\S+)/.exec(out)?.[1];
        if (!base) throw new Error(`shop-api did not start:\n${out}\n${errors}`);
        await use(base);
      } finally {
        child.kill('SIGTERM');
      }
      return { code: await exited, out, errors };
    };
    let productId = 0;
    const first = await session(async (base) => {
      const list = (await (await fetch(`${base}/products?ordering=price`)).json()) as { total: number; items: Array<{ id: number }> };
      expect(list.total).toBe(3); // seeded on the first run
      productId = list.items[0]!.id;
      const placed = await fetch(`${base}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'pack@example.com', name: 'Pack', items: [{ productId, quantity: 2 }] }),
      });
      expect(placed.status).toBe(201);
      const { id } = (await placed.json()) as { id: number };
      const deadline = Date.now() + 30_000;
      let order: { status: string; total: string | null } = { status: 'pending', total: null };
      while (order.status !== 'confirmed' && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        order = (await (await fetch(`${base}/orders/${id}`)).json()) as typeof order;
      }
      expect(order).toEqual(expect.objectContaining({ status: 'confirmed', total: '9.00' }));
    });
    expect(first).toEqual({ code: 0, out: expect.stringContaining('shop-api stopped: no connection left open'), errors: '' });
    // A fresh process on the existing database whose first request is a detail page (it reaches
    // the models through their relations first) answers as well.
    const second = await session(async (base) => {
      const detail = await fetch(`${base}/products/${productId}`);
      expect(detail.status).toBe(200);
      expect(((await detail.json()) as { stock: number }).stock).toBe(198);
    });
    expect(second).toEqual({ code: 0, out: expect.stringContaining('shop-api stopped: no connection left open'), errors: '' });
  }, 120_000);
});
