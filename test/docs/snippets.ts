/**
 * The TypeScript blocks of the READMEs, as modules the compiler can check against the built
 * packages (the `@spool/*` workspace links resolve to each package's `dist/` types, as users get
 * them). The conventions, also described in README.md ("Docs that compile"):
 *
 * - Every ```ts block is compiled, on its own, as an ES module (top-level `await` allowed), under
 *   strict settings.
 * - A block may leave out the imports of Spool's own exports: the checker adds an import for each
 *   exported name of `@spool/connections`, `@spool/orm`, `@spool/workers`, `@spool/web` and
 *   `@spool/testing` that the block uses without importing or declaring it.
 * - Names a block takes from its surroundings (`id`, `name`, `app`, `req`, the models `Author`,
 *   `Book`, `Tag`…) are exported by `docs-context.ts`, with the types the prose gives them, and
 *   imported from there the same way.
 * - A block that cannot compile on purpose (pseudo code with `…`) is fenced as ```ts ignore; keep
 *   those rare. Blocks in other languages (```sh, ```js) are not checked.
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

export const ROOT = join(__dirname, '..', '..');

export interface Snippet {
  /** README path, relative to the repository root. */
  file: string;
  /** 1-based line of the first line of code (after the fence). */
  line: number;
  code: string;
}

/** The READMEs whose blocks are checked: the root's, every package's, every example's. */
export function readmes(): string[] {
  const out = [join(ROOT, 'README.md')];
  for (const dir of ['packages', 'examples']) {
    for (const name of readdirSync(join(ROOT, dir)).sort()) {
      const file = join(ROOT, dir, name, 'README.md');
      if (existsSync(file)) out.push(file);
    }
  }
  return out;
}

/** The ```ts / ```typescript blocks of a markdown file, except those fenced `ignore`. */
export function snippets(file: string): Snippet[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const out: Snippet[] = [];
  let open: { line: number; body: string[]; check: boolean } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i] as string;
    const fence = /^(\s*)```(.*)$/.exec(text);
    if (!fence) {
      open?.body.push(text);
      continue;
    }
    if (open) {
      if (open.check) out.push({ file: relative(ROOT, file), line: open.line, code: open.body.join('\n') });
      open = undefined;
      continue;
    }
    const info = (fence[2] ?? '').trim().split(/\s+/);
    const lang = info[0] ?? '';
    open = { line: i + 2, body: [], check: (lang === 'ts' || lang === 'typescript') && !info.includes('ignore') };
  }
  return out;
}

const PACKAGES = ['connections', 'orm', 'workers', 'web', 'testing'];
/** How a snippet module (in __snippets__/) imports the context. */
const CONTEXT_MODULE = '../docs-context.js';

/** Every runtime and type export of each package, read from its built declarations. */
export function packageExports(program: ts.Program): Map<string, string> {
  const checker = program.getTypeChecker();
  const owner = new Map<string, string>();
  for (const pkg of PACKAGES) {
    const source = program.getSourceFile(join(ROOT, 'packages', pkg, 'dist', 'index.d.ts'));
    if (!source) throw new Error(`packages/${pkg}/dist/index.d.ts is missing: run npm run build first`);
    const symbol = checker.getSymbolAtLocation(source);
    for (const exp of symbol ? checker.getExportsOfModule(symbol) : []) {
      if (!owner.has(exp.name)) owner.set(exp.name, `@spool/${pkg}`);
    }
  }
  return owner;
}

/** Identifiers a block imports or declares at its top level (bindings, functions, classes, types). */
function declaredNames(source: ts.SourceFile): Set<string> {
  const names = new Set<string>();
  const bind = (name: ts.BindingName): void => {
    if (ts.isIdentifier(name)) names.add(name.text);
    else for (const el of name.elements) if (!ts.isOmittedExpression(el)) bind(el.name);
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      const clause = node.importClause;
      if (clause?.name) names.add(clause.name.text);
      const bindings = clause?.namedBindings;
      if (bindings && ts.isNamespaceImport(bindings)) names.add(bindings.name.text);
      if (bindings && ts.isNamedImports(bindings)) for (const el of bindings.elements) names.add(el.name.text);
    } else if (ts.isVariableDeclaration(node)) bind(node.name);
    else if ((ts.isFunctionDeclaration(node) || ts.isClassDeclaration(node)) && node.name) names.add(node.name.text);
    else if ((ts.isInterfaceDeclaration(node) || ts.isTypeAliasDeclaration(node)) && node.name) names.add(node.name.text);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return names;
}

/** Identifiers used in the block (as values or types), excluding property names. */
function usedNames(source: ts.SourceFile): Set<string> {
  const names = new Set<string>();
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node)) {
      const parent = node.parent;
      const isPropertyName =
        (ts.isPropertyAccessExpression(parent) && parent.name === node) ||
        (ts.isPropertyAssignment(parent) && parent.name === node) ||
        (ts.isQualifiedName(parent) && parent.right === node) ||
        (ts.isPropertySignature(parent) && parent.name === node) ||
        (ts.isMethodDeclaration(parent) && parent.name === node);
      if (!isPropertyName) names.add(node.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return names;
}

/**
 * The module text the compiler sees for a snippet: imports for the Spool names it uses but does
 * not bring in itself, then the block, then `export {}` (so that each block is its own module).
 * Returns the text and how many lines were put before the block.
 */
export function moduleText(snippet: Snippet, exportsByName: Map<string, string>): { text: string; offset: number } {
  const parsed = ts.createSourceFile('x.mts', snippet.code, ts.ScriptTarget.ES2022, true);
  const declared = declaredNames(parsed);
  const byPackage = new Map<string, string[]>();
  for (const name of usedNames(parsed)) {
    const pkg = exportsByName.get(name);
    if (!pkg || declared.has(name)) continue;
    byPackage.set(pkg, [...(byPackage.get(pkg) ?? []), name]);
  }
  const imports = [...byPackage].map(([pkg, names]) => `import { ${names.sort().join(', ')} } from '${pkg}';`);
  return { text: `${imports.join('\n')}${imports.length ? '\n' : ''}${snippet.code}\nexport {};\n`, offset: imports.length };
}

export const COMPILER_OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  lib: ['lib.es2023.d.ts'],
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  // What users compile with: `strict` (not noUncheckedIndexedAccess, which the READMEs' `rows[0]`
  // examples would need `!` for).
  strict: true,
  noImplicitOverride: true,
  skipLibCheck: true,
  noEmit: true,
  types: ['node', 'jest'],
  // Snippets declare things to show them (`const rows = …`) without using them afterwards.
  noUnusedLocals: false,
};

export interface SnippetDiagnostic {
  snippet: Snippet;
  /** README line the diagnostic points at. */
  line: number;
  message: string;
}

/** Type-check every snippet; returns the diagnostics mapped back to README lines. */
export function checkSnippets(all: Snippet[]): SnippetDiagnostic[] {
  const context = join(__dirname, 'docs-context.ts');
  const base = ts.createProgram([context, ...PACKAGES.map((p) => join(ROOT, 'packages', p, 'dist', 'index.d.ts'))], COMPILER_OPTIONS);
  const exportsByName = packageExports(base);
  // The context's names come after the packages': a Spool export is never shadowed by it.
  const contextSource = base.getSourceFile(context);
  const contextSymbol = contextSource && base.getTypeChecker().getSymbolAtLocation(contextSource);
  for (const exp of contextSymbol ? base.getTypeChecker().getExportsOfModule(contextSymbol) : []) {
    if (!exportsByName.has(exp.name)) exportsByName.set(exp.name, CONTEXT_MODULE);
  }
  const virtual = new Map<string, { snippet: Snippet; text: string; offset: number }>();
  all.forEach((snippet, i) => {
    const { text, offset } = moduleText(snippet, exportsByName);
    // Inside the repository, so that `@spool/*`, express and fastify resolve from its node_modules.
    virtual.set(join(__dirname, '__snippets__', `snippet-${i}.mts`), { snippet, text, offset });
  });
  const host = ts.createCompilerHost(COMPILER_OPTIONS);
  const { fileExists, readFile, getSourceFile } = host;
  host.fileExists = (f) => virtual.has(f) || fileExists.call(host, f);
  host.readFile = (f) => virtual.get(f)?.text ?? readFile.call(host, f);
  host.getSourceFile = (f, lang, onError, create) => {
    const v = virtual.get(f);
    if (v) return ts.createSourceFile(f, v.text, lang, true);
    return getSourceFile.call(host, f, lang, onError, create);
  };
  const program = ts.createProgram([...virtual.keys()], COMPILER_OPTIONS, host, base);
  const out: SnippetDiagnostic[] = [];
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const v = d.file ? virtual.get(d.file.fileName) : undefined;
    const message = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    if (!v || !d.file || d.start === undefined) {
      out.push({ snippet: { file: d.file?.fileName ?? '(global)', line: 0, code: '' }, line: 0, message });
      continue;
    }
    const { line } = d.file.getLineAndCharacterOfPosition(d.start);
    out.push({ snippet: v.snippet, line: v.snippet.line + line - v.offset, message });
  }
  return out;
}
