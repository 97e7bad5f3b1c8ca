/**
 * Finds and loads each app's migration files and builds the graph (Django's `MigrationLoader`).
 * Files are `NNNN_name.{ts,mts,cts,js,mjs,cjs}` in the app's migrations folder; each exports a
 * `Migration` as its default export. TypeScript files need a module loader that understands
 * them (the `spool` command line passes one); plain JavaScript loads with Node's own.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { AppConfig } from './app-config';
import { AmbiguityError, BadMigrationError, ConflictError, InconsistentMigrationHistory, NodeNotFoundError } from './errors';
import { MigrationGraph } from './graph';
import { Migration } from './migration';

/** Loads a module by absolute path; resolves to its exports. */
export type ModuleLoader = (file: string) => Promise<unknown>;

/** A migration file name: `0001_initial.ts`. */
export const MIGRATION_FILE = /^(\d{4,})_([A-Za-z0-9_]+)\.(ts|mts|cts|js|mjs|cjs)$/;

export interface MigrationLoaderOptions {
  /** The project root, against which relative migration folders resolve (default: cwd). */
  root?: string;
  /** How to load a migration file (default: Node's require / import, JavaScript only). */
  load?: ModuleLoader;
}

/** Node's own loader: require for CommonJS, import() for ES modules. */
export const nodeLoader: ModuleLoader = async (file) => {
  if (/\.(ts|mts|cts)$/.test(file)) {
    throw new BadMigrationError(
      `${file} is TypeScript: load migrations through the spool command line (or pass a loader that compiles TypeScript).`,
      { file },
    );
  }
  return import(pathToFileURL(file).href);
};

export class MigrationLoader {
  readonly graph = new MigrationGraph();
  /** Migration folders per app. */
  readonly folders = new Map<string, string>();
  /** Files per migration key. */
  readonly files = new Map<string, string>();

  private constructor(readonly apps: readonly AppConfig[]) {}

  /** Load every app's migrations and build the graph. */
  static async load(apps: readonly AppConfig[], options: MigrationLoaderOptions = {}): Promise<MigrationLoader> {
    const loader = new MigrationLoader(apps);
    const root = options.root ?? process.cwd();
    const load = options.load ?? nodeLoader;
    const labels = new Set<string>();
    for (const app of apps) {
      if (labels.has(app.label)) throw new BadMigrationError(`Two apps have the label '${app.label}'. App labels must be unique.`);
      labels.add(app.label);
      const folder = folderOf(app, root);
      loader.folders.set(app.label, folder);
      if (!existsSync(folder)) continue;
      if (!statSync(folder).isDirectory())
        throw new BadMigrationError(`The migrations folder of app '${app.label}' is not a folder: ${folder}.`);
      const seen = new Map<string, string>();
      for (const file of readdirSync(folder).sort()) {
        if (file.endsWith('.d.ts') || file.endsWith('.d.mts') || file.endsWith('.d.cts')) continue;
        const m = MIGRATION_FILE.exec(file);
        if (!m) continue;
        const name = `${m[1]}_${m[2]}`;
        const other = seen.get(name);
        if (other)
          throw new BadMigrationError(`App '${app.label}' has two files for migration ${name}: ${other} and ${file}. Keep one.`, {
            file: join(folder, file),
          });
        seen.set(name, file);
        const path = join(folder, file);
        let mod: unknown;
        try {
          mod = await load(path);
        } catch (err) {
          throw new BadMigrationError(`Migration ${app.label}.${name} could not be loaded (${path}): ${(err as Error).message}`, {
            file: path,
            cause: err,
          });
        }
        const exported = pick(mod);
        if (!Migration.is(exported)) {
          throw new BadMigrationError(`${path} must export a Migration as its default export (export default new Migration({ ... })).`, {
            file: path,
          });
        }
        exported.appLabel = app.label;
        exported.name = name;
        loader.graph.addNode(exported);
        loader.files.set(exported.key, path);
      }
    }
    loader.graph.addDependencies();
    return loader;
  }

  /** The migrations folder of an app (absolute). */
  folder(app: string): string {
    const f = this.folders.get(app);
    if (!f) throw new BadMigrationError(`No app '${app}'. Apps: ${[...this.folders.keys()].join(', ') || '(none)'}.`);
    return f;
  }

  /** Apps with more than one leaf migration. */
  conflicts(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const app of this.folders.keys()) {
      const leaves = this.graph.leafNodes(app);
      if (leaves.length > 1) out[app] = leaves.map((l) => l.slice(app.length + 1));
    }
    return out;
  }

  /** Throw a ConflictError when an app has several leaves. */
  assertNoConflicts(): void {
    const c = this.conflicts();
    const apps = Object.keys(c);
    if (apps.length === 0) return;
    const list = apps.map((a) => `${(c[a] as string[]).join(', ')} in ${a}`).join('; ');
    throw new ConflictError(
      `Conflicting migrations detected; multiple leaf nodes in the migration graph: (${list}). To fix them run 'spool makemigrations --merge'.`,
      c,
    );
  }

  /** An applied migration whose dependency is not applied means the history is broken. */
  checkConsistentHistory(applied: ReadonlySet<string>): void {
    for (const key of applied) {
      const m = this.graph.nodes.get(key);
      if (!m) continue;
      for (const p of this.graph.parentsOf(key)) {
        if (!applied.has(p)) {
          throw new InconsistentMigrationHistory(
            `Migration ${key} is applied before its dependency ${p} on the database. Apply ${p} (spool migrate --fake if its changes are already there) or unapply ${key}.`,
          );
        }
      }
    }
  }

  /** Resolve `app` + a name or prefix (`0002`, `0002_book_isbn`) to a migration key. */
  resolve(app: string, nameOrPrefix: string): string {
    this.folder(app);
    const names = [...this.graph.nodes.values()].filter((m) => m.appLabel === app).map((m) => m.name);
    if (names.includes(nameOrPrefix)) return `${app}.${nameOrPrefix}`;
    const matches = names.filter((n) => n.startsWith(nameOrPrefix));
    if (matches.length === 1) return `${app}.${matches[0]}`;
    if (matches.length > 1)
      throw new AmbiguityError(
        `More than one migration matches '${nameOrPrefix}' in app '${app}': ${matches.join(', ')}. Please be more specific.`,
      );
    throw new NodeNotFoundError(
      `Cannot find a migration matching '${nameOrPrefix}' from app '${app}'. Migrations of '${app}': ${names.join(', ') || '(none)'}.`,
      { node: `${app}.${nameOrPrefix}` },
    );
  }
}

function folderOf(app: AppConfig, root: string): string {
  const m = app.migrations;
  if (m instanceof URL) return fileURLToPath(m);
  if (m.startsWith('file:')) return fileURLToPath(m);
  return isAbsolute(m) ? m : resolve(root, m);
}

function pick(mod: unknown): unknown {
  if (Migration.is(mod)) return mod;
  const m = mod as Record<string, unknown> | undefined;
  if (!m) return undefined;
  if (Migration.is(m.default)) return m.default;
  const inner = m.default as Record<string, unknown> | undefined;
  if (inner && Migration.is(inner.default)) return inner.default;
  if (Migration.is(m.migration)) return m.migration;
  return undefined;
}
