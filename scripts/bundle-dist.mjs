// Bundle a package's compiled dist/ into one file, for cold start (issue 14).
//   node ../../scripts/bundle-dist.mjs <bundle name> <entry>...   (run in the package, after tsc)
// tsc's output (dist/**/*.js, one CommonJS module per source file) stays as it is; esbuild packs
// the modules reachable from the entries into dist/bundle/<name>.js, each module still a lazy
// wrapper that runs on its first require(), so what loads when is unchanged, only the hundred
// file lookups, reads and compiles of separate modules are gone. Each entry gets a small file
// dist/bundle/<entry>.js (what package.json's exports point at) that takes its module from the
// one bundle, so all entries share one instance of every module (the handler's state, the model
// registry). The entry's export names are listed for Node's CommonJS lexer, so ESM named imports
// keep working. Dependencies (knex, drivers, other @spool packages) stay require()s.
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';

const args = process.argv.slice(2);
const withKnex = args[0] === '--knex' && args.shift() !== undefined;
const [name, ...entries] = args;
if (!name || entries.length === 0) throw new Error('usage: bundle-dist.mjs <bundle name> <entry>...');
const pkgDir = process.cwd();
const dist = join(pkgDir, 'dist');
const out = join(dist, 'bundle');
const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
const external = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})].flatMap((d) => [d, `${d}/*`]);

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

// Without esbuild (a checkout whose node_modules predate it): entry files that require tsc's
// output directly, so the package still works, unpacked; loadKnex() then requires knex.
let build;
try {
  ({ build } = await import('esbuild'));
} catch {
  console.warn(`bundle-dist: esbuild is not installed (npm ci): ${pkg.name} left unpacked (slower cold start)`);
  for (const entry of entries) {
    writeFileSync(
      join(out, `${entry.replace(/\//g, '-')}.js`),
      `'use strict';\n// Unpacked build (no esbuild): scripts/bundle-dist.mjs.\nmodule.exports = require('../${entry}.js');\n`,
    );
  }
  process.exit(0);
}
const key = (entry) => entry.replace(/\/index$/, '').replace(/\W/g, '_');
await build({
  stdin: {
    contents: entries.map((e) => `exports.${key(e)} = () => require('./${e}.js');`).join('\n'),
    resolveDir: dist,
    sourcefile: 'bundle-entries.js',
    loader: 'js',
  },
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: [...external, 'better-sqlite3', 'pg', 'mysql2', 'pg-native', './knex-bundle.js', './knex-bundle.json'],
  outfile: join(out, `${name}.js`),
  sourcemap: 'linked', // composed with tsc's maps: points at src/ (sources inlined)
  legalComments: 'none',
  logLevel: 'warning',
});

const require = createRequire(join(dist, 'index.js'));
for (const entry of entries) {
  const names = Object.keys(require(resolve(dist, `${entry}.js`))).filter((n) => n !== '__esModule');
  const bad = names.filter((n) => !/^[A-Za-z_$][\w$]*$/.test(n));
  if (bad.length) throw new Error(`${entry}: export names the lexer list cannot hold: ${bad.join(', ')}`);
  const file = join(out, `${entry.replace(/\//g, '-')}.js`);
  writeFileSync(
    file,
    `'use strict';\n// Built by scripts/bundle-dist.mjs: the module dist/${entry}.js, taken from the package's one bundle.\n` +
      `module.exports = require('./${name}.js').${key(entry)}();\n` +
      `// For Node's CommonJS lexer (ESM named imports); never runs.\n` +
      `0 && (module.exports = { ${names.join(', ')} });\n`,
  );
}

// --knex (@spool/connections): the installed knex, its modules and its dependencies' (lodash's
// 250 files) packed the same way into dist/bundle/knex-bundle.js, which loadKnex() takes when
// the knex installed next to it is the same version (dist/bundle/knex-bundle.json), else it
// requires knex as before. Same code, one file: knex loads in about half the time. Database
// drivers stay require()s. Their licences go next to it (knex-bundle.LICENSES.txt).
if (withKnex) {
  const knexPkg = require('knex/package.json');
  const fromInstalled = (file) => `require('node:path').dirname(require.resolve(${JSON.stringify(`knex/${file}`)}))`;
  const result = await build({
    stdin: { contents: `module.exports = require('knex');`, resolveDir: pkgDir, sourcefile: 'knex-bundle-entry.js', loader: 'js' },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    // knex's dialects require their drivers (and optional extras) only when used.
    external: [
      'better-sqlite3',
      'sqlite3',
      'pg',
      'pg-native',
      'pg-query-stream',
      'mysql',
      'mysql2',
      'mariadb',
      'mariadb/*',
      'tedious',
      'oracledb',
    ],
    outfile: join(out, 'knex-bundle.js'),
    sourcemap: false,
    legalComments: 'inline',
    metafile: true,
    logLevel: 'error',
    plugins: [
      {
        // knex's migration and seed generators read their stub templates next to their own file.
        name: 'knex-stub-dirs',
        setup(b) {
          b.onLoad({ filter: /knex[\\/]lib[\\/]migrations[\\/](seed[\\/]Seeder|migrate[\\/]MigrationGenerator)\.js$/ }, (args) => {
            const rel = args.path.slice(args.path.lastIndexOf('lib')).replace(/\\/g, '/');
            const source = readFileSync(args.path, 'utf8').replaceAll('__dirname', fromInstalled(rel));
            return { contents: source, loader: 'js' };
          });
        },
      },
    ],
  });
  writeFileSync(join(out, 'knex-bundle.json'), `${JSON.stringify({ version: knexPkg.version })}\n`);
  const packages = new Map();
  for (const input of Object.keys(result.metafile.inputs)) {
    const m = input.match(/^(.*node_modules[\\/](?:@[^\\/]+[\\/])?[^\\/]+)[\\/]/);
    if (m) packages.set(m[1], true);
  }
  let licenses = 'Third-party code in knex-bundle.js (the installed knex and its dependencies, bundled by scripts/bundle-dist.mjs):\n';
  for (const dir of [...packages.keys()].sort()) {
    const p = JSON.parse(readFileSync(join(pkgDir, dir, 'package.json'), 'utf8'));
    const file = readdirSync(join(pkgDir, dir)).find((f) => /^licen[cs]e/i.test(f));
    licenses += `\n==== ${p.name}@${p.version} (${p.license ?? 'see package'})\n${file ? readFileSync(join(pkgDir, dir, file), 'utf8') : ''}`;
  }
  writeFileSync(join(out, 'knex-bundle.LICENSES.txt'), licenses);
}
