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
import { spawnSync } from 'node:child_process';
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
let transform;
try {
  ({ build, transform } = await import('esbuild'));
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
  external: [...external, 'better-sqlite3', 'pg', 'mysql2', 'pg-native', './knex-bundle.json', './cached-require.js'],
  outfile: join(out, `${name}.js`),
  sourcemap: 'linked', // composed with tsc's maps: points at src/ (sources inlined)
  legalComments: 'none',
  logLevel: 'warning',
});

await asciiOnly(join(out, `${name}.js`));
const hooked = { [name]: await hookDynamicImports(join(out, `${name}.js`)) };

// esbuild escapes non-ASCII characters in code (charset 'ascii') but keeps the comments it keeps
// as they are: one '—' in a comment and Node reads the whole file as UTF-8 into a two-byte string
// (a slower decode, twice the memory, on every start). Each non-ASCII character of a comment
// becomes '?' (as many as its UTF-16 length, so the source map's columns still hold); checked:
// the file minifies to the same code as before.
async function asciiOnly(file) {
  const source = readFileSync(file, 'utf8');
  if (!/[^\x00-\x7f]/.test(source)) return;
  const ascii = source.replace(/[^\x00-\x7f]/gu, (c) => '?'.repeat(c.length));
  const minified = async (code) =>
    (await transform(code, { minify: true, loader: 'js', format: 'cjs', platform: 'node', target: 'node20' })).code;
  if ((await minified(source)) !== (await minified(ascii))) throw new Error(`bundle-dist: ${file}: non-ASCII characters outside comments`);
  writeFileSync(file, ascii);
}

// A V8 code cache made in another process loses the script's host-defined options, which Node's
// import() needs (V8 11: ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING), so the dynamic imports of a
// bundle (the ORM's migration loader, knex's importFile()) call __spoolImport(), a function
// declared at the end of the bundle: through cached-require.js, which passes its own import()
// (same directory, so the same resolution) as __spoolImportHook; required as usual, the
// bundle's own import(). Found with acorn (as parsed, not as text); without acorn, a bundle that
// has an import() gets no code cache. Returns whether the bundle may have a code cache.
async function hookDynamicImports(file) {
  const source = readFileSync(file, 'utf8');
  if (!/\bimport\s*\(/.test(source)) return true;
  let acorn;
  try {
    acorn = await import('acorn');
  } catch {
    console.warn(`bundle-dist: acorn is not installed: ${file} has an import(), so no code cache`);
    return false;
  }
  const starts = [];
  const visit = (node) => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (node && typeof node.type === 'string') {
      if (node.type === 'ImportExpression') starts.push(node.start);
      for (const [k, v] of Object.entries(node)) if (k !== 'type' && v && typeof v === 'object') visit(v);
    }
  };
  visit(acorn.parse(source, { ecmaVersion: 'latest', sourceType: 'script', allowHashBang: true }));
  if (starts.length === 0) return true;
  let text = source;
  for (const at of starts.sort((a, b) => b - a)) {
    if (text.slice(at, at + 6) !== 'import') throw new Error(`bundle-dist: ${file}: import() not where acorn put it`);
    text = `${text.slice(0, at)}__spoolImport${text.slice(at + 6)}`;
  }
  const hook =
    'function __spoolImport(specifier, options) {\n' +
    '  if (typeof __spoolImportHook === "function") return __spoolImportHook(specifier, options);\n' +
    '  return options === undefined ? import(specifier) : import(specifier, options);\n' +
    '}\n';
  const map = text.lastIndexOf('\n//# sourceMappingURL=');
  text = map === -1 ? `${text}${text.endsWith('\n') ? '' : '\n'}${hook}` : `${text.slice(0, map + 1)}${hook}${text.slice(map + 1)}`;
  writeFileSync(file, text);
  return true;
}

const require = createRequire(join(dist, 'index.js'));
for (const entry of entries) {
  const names = Object.keys(require(resolve(dist, `${entry}.js`))).filter((n) => n !== '__esModule');
  const bad = names.filter((n) => !/^[A-Za-z_$][\w$]*$/.test(n));
  if (bad.length) throw new Error(`${entry}: export names the lexer list cannot hold: ${bad.join(', ')}`);
  const file = join(out, `${entry.replace(/\//g, '-')}.js`);
  writeFileSync(
    file,
    `'use strict';\n// Built by scripts/bundle-dist.mjs: the module dist/${entry}.js, taken from the package's one bundle.\n` +
      `module.exports = require('./cached-require.js')('${name}.js').${key(entry)}();\n` +
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
  await asciiOnly(join(out, 'knex-bundle.js'));
  hooked['knex-bundle'] = await hookDynamicImports(join(out, 'knex-bundle.js'));
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

// V8 code caches (issue 14, cold start): compiling the bundles was the largest part of Spool's
// start that knex, loaded module by module, does not pay at once: V8 pre-parses every function
// of a 0.25-0.9 MB file on the main thread before running a line. dist/bundle/cached-require.js
// loads a bundle with the V8 code cache made here (<bundle>.code-cache: the bytecode of the
// bundle's top level and of the functions run while loading the package), so V8 deserializes
// instead of parsing. Same source, same semantics; whenever the cache cannot be used (another
// V8 version or flags, which V8 checks and rejects; a bundle edited after its cache was made;
// source maps on; a module system that is not Node's own, e.g. jest's) the bundle is required
// as before.
writeFileSync(join(out, 'cached-require.js'), readFileSync(new URL('./cached-require.cjs', import.meta.url), 'utf8'));
for (const bundle of withKnex ? [name, 'knex-bundle'] : [name]) {
  if (!hooked[bundle]) continue;
  const produce = spawnSync(process.execPath, [new URL('./code-cache-warm.cjs', import.meta.url).pathname, out, bundle], {
    cwd: pkgDir,
    encoding: 'utf8',
  });
  if (produce.status !== 0) throw new Error(`bundle-dist: the code cache of ${bundle}.js: ${produce.stderr}`);
  if (produce.stderr) process.stderr.write(produce.stderr);
}
