/** `spool makemigrations`: write migrations for the model changes (Django's `makemigrations`). */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { scope } from '@spool/connections';
import {
  Autodetector,
  MigrationRecorder,
  NonInteractiveQuestioner,
  writeMigration,
  type DraftMigration,
  type Questioner,
} from '@spool/orm/migrations';
import { EXIT, type ExitCode } from '../exit-codes';
import type { Output } from '../output/output';
import { InteractiveQuestioner } from './interactive-questioner';
import type { Project } from './project';

export interface MakemigrationsOptions {
  name?: string;
  empty?: boolean;
  dryRun?: boolean;
  check?: boolean;
  merge?: boolean;
  renameField?: string[];
  renameModel?: string[];
  default?: string[];
  input?: boolean;
  database?: string;
}

/** Is the folder inside an ES-module package (`"type": "module"`)? */
function esmFolder(folder: string): boolean {
  for (let dir = folder; ; dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        return (JSON.parse(readFileSync(pkg, 'utf8')) as { type?: string }).type === 'module';
      } catch {
        return false;
      }
    }
    if (dirname(dir) === dir) return false;
  }
}

export async function makemigrations(project: Project, labels: string[], opts: MakemigrationsOptions, out: Output): Promise<ExitCode> {
  const apps = project.selectApps(labels);
  const loader = await project.loader();
  const ext = project.migrationFormat;
  const drafts: DraftMigration[] = [];
  const notes: string[] = [];
  const write = !opts.dryRun && !opts.check;

  if (opts.merge) {
    const conflicts = loader.conflicts();
    for (const app of apps) {
      const leaves = conflicts[app.label];
      if (!leaves) continue;
      const numbers = leaves.map((l) => Number.parseInt(l, 10));
      const n = String(Math.max(...numbers) + 1).padStart(4, '0');
      drafts.push({
        appLabel: app.label,
        name: `${n}_${opts.name ?? `merge_${leaves.map((l) => l.slice(l.indexOf('_') + 1)).join('_')}`.slice(0, 60)}`,
        operations: [],
        dependencies: leaves.map((l) => [app.label, l] as [string, string]),
        initial: false,
      });
    }
    if (drafts.length === 0) {
      out.line('No conflicts detected to merge.');
      out.result({ ok: true, changes: [] });
      return EXIT.OK;
    }
  } else {
    loader.assertNoConflicts();
    if (opts.database !== undefined) {
      // Django checks the history of each database against the files before writing new ones.
      project.connect(opts.database);
      await scope(async () => loader.checkConsistentHistory(await new MigrationRecorder(opts.database).applied()));
    }
    if (opts.empty) {
      if (labels.length === 0)
        throw Object.assign(new Error('makemigrations --empty needs the app(s) to create an empty migration for.'), { usage: true });
      for (const app of apps) {
        const leaves = loader.graph.leafNodes(app.label);
        const max = leaves.reduce((m, l) => Math.max(m, Number.parseInt(l.slice(app.label.length + 1), 10) || 0), 0);
        drafts.push({
          appLabel: app.label,
          name: `${String(max + 1).padStart(4, '0')}_${opts.name ?? 'custom'}`,
          operations: [],
          dependencies: leaves.map((l) => [app.label, l.slice(app.label.length + 1)] as [string, string]),
          initial: leaves.length === 0,
        });
      }
    } else {
      const answers = { fields: opts.renameField ?? [], models: opts.renameModel ?? [], defaults: opts.default ?? [] };
      const interactive = opts.input !== false && process.stdin.isTTY === true && !out.json;
      const questioner: Questioner & { unusedRenames(): string[] } = interactive
        ? new InteractiveQuestioner(answers)
        : new NonInteractiveQuestioner(answers);
      const detector = new Autodetector(loader.graph.makeState(), await project.modelState(), questioner, await project.callableDefaults());
      drafts.push(...(await detector.changes(loader.graph, { apps: labels.length > 0 ? labels : undefined, name: opts.name })));
      notes.push(...questioner.notes);
      for (const r of questioner.unusedRenames()) out.warn(`the rename ${r} matched no removed and added pair; check the spelling.`);
      if (!interactive && notes.some((n) => n.includes('was removed and'))) {
        notes.unshift('Not asked about renames (no terminal): possible renames are written as a removal and an addition.');
      }
    }
  }

  for (const n of notes) out.warn(n);
  if (drafts.length === 0) {
    out.line(
      labels.length > 0
        ? `No changes detected in app${labels.length > 1 ? 's' : ''} ${labels.map((l) => `'${l}'`).join(', ')}`
        : 'No changes detected',
    );
    out.result({ ok: true, changes: [], notes });
    return EXIT.OK;
  }
  const changes = [];
  for (const d of drafts) {
    const folder = loader.folder(d.appLabel);
    const file = join(folder, `${d.name}.${ext}`);
    const commonjs = ext === 'cjs' || (ext === 'js' && !esmFolder(folder));
    const source = writeMigration(d, { commonjs });
    out.line(`Migrations for '${out.style(d.appLabel, 'bold')}':`);
    out.line(`  ${out.style(relative(process.cwd(), file) || file, 'cyan')}`);
    for (const op of d.operations) out.line(`    - ${op.describe()}`);
    if (d.operations.length === 0)
      out.line(`    (no operations${opts.merge ? ': merges ' + d.dependencies.map((x) => x[1]).join(' and ') : ''})`);
    if (write) {
      if (existsSync(file)) throw new Error(`${file} already exists; not overwriting it.`);
      mkdirSync(folder, { recursive: true });
      writeFileSync(file, source);
    }
    changes.push({
      app: d.appLabel,
      name: d.name,
      file,
      operations: d.operations.map((o) => o.describe()),
      dependencies: d.dependencies,
      source,
    });
  }
  out.result({ ok: !opts.check, changes, notes, written: write });
  if (opts.check) {
    out.line(out.style('Your models have changes that are not yet reflected in a migration.', 'yellow'));
    return EXIT.PENDING;
  }
  return EXIT.OK;
}
