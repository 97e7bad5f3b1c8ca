'use strict';
// Built by scripts/bundle-dist.mjs (from scripts/cached-require.cjs): require() of a bundle in
// this directory through the V8 code cache made at build time (<bundle>.code-cache), so that V8
// deserializes the bundle's compiled code instead of parsing and compiling 0.25-0.9 MB of source
// on every start (issue 14, cold start). The module is the same one require() would give: same
// file name, same require.cache entry, same `require` resolution, loaded once.
// The bundle's dynamic imports call __spoolImport() (scripts/bundle-dist.mjs), which takes this
// module's import() (__spoolImportHook): a script compiled from a code cache made in another
// process has lost what Node's import() needs from it.
// Plain require() whenever the cache cannot apply: no cache file, a bundle newer than its cache
// (edited or patched after the build), source maps on (--enable-source-maps: Node maps files it
// loads itself), or a module system that is not Node's own (jest's registry and sandbox). V8
// itself rejects a cache made by another V8 version or with other flags, and then compiles the
// source as usual.
const { readFileSync, statSync, writeFileSync } = require('node:fs');
const Module = require('node:module');
const { dirname, join } = require('node:path');
const vm = require('node:vm');

const nodeLoader = module instanceof Module && require.cache === Module._cache;
const importHook = (specifier, options) => (options === undefined ? import(specifier) : import(specifier, options));

function compile(filename, cachedData) {
  const source = readFileSync(filename, 'utf8');
  const wrapped = `(function (exports, require, module, __filename, __dirname, __spoolImportHook) { ${source}\n});`;
  return new vm.Script(wrapped, { filename, cachedData });
}

function run(filename, script) {
  const mod = new Module(filename, module);
  mod.filename = filename;
  mod.paths = Module._nodeModulePaths(dirname(filename));
  require.cache[filename] = mod;
  try {
    script.runInThisContext().call(mod.exports, mod.exports, Module.createRequire(filename), mod, filename, dirname(filename), importHook);
  } catch (err) {
    delete require.cache[filename];
    throw err;
  }
  mod.loaded = true;
  return mod.exports;
}

/** require('./<file>') of this directory, through its code cache when it applies. */
function load(file) {
  const filename = join(__dirname, file);
  const loaded = require.cache[filename];
  if (loaded) return loaded.exports;
  if (!nodeLoader || process.sourceMapsEnabled) return require(filename);
  let cachedData;
  try {
    const cacheFile = `${filename}.code-cache`;
    if (statSync(cacheFile).mtimeMs >= statSync(filename).mtimeMs) cachedData = readFileSync(cacheFile);
  } catch {
    // No cache: plain require().
  }
  if (!cachedData) return require(filename);
  return run(filename, compile(filename, cachedData));
}

/** Whether V8 takes the code cache of `file` (made by another Node or with other flags: no). For tests. */
load.cacheAccepted = (file) => {
  const filename = join(__dirname, file);
  return !compile(filename, readFileSync(`${filename}.code-cache`)).cachedDataRejected;
};

/** Build time (scripts/bundle-dist.mjs): load `file`, run `warm(exports)`, write its code cache. */
load.produce = async (file, warm) => {
  const filename = join(__dirname, file);
  const script = compile(filename, undefined);
  await warm(run(filename, script));
  writeFileSync(`${filename}.code-cache`, script.createCachedData());
};

module.exports = load;
