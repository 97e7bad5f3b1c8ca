/** `spool showmigrations [apps...]`: every migration, applied `[X]` or not `[ ]` (Django's `showmigrations`). */
import { scope } from '@spool/connections';
import { MigrationRecorder } from '@spool/orm/migrations';
import { EXIT, type ExitCode } from '../exit-codes';
import type { Output } from '../output/output';
import type { Project } from './project';

export async function showmigrations(
  project: Project,
  labels: string[],
  opts: { database: string; plan?: boolean },
  out: Output,
): Promise<ExitCode> {
  project.connect(opts.database);
  const apps = project.selectApps(labels);
  const loader = await project.loader();
  const recorded = await scope(() => new MigrationRecorder(opts.database).appliedMigrations());
  const applied = new Map(recorded.map((r) => [`${r.app}.${r.name}`, r.applied]));
  const result: { app: string; migrations: { name: string; applied: boolean; appliedAt?: string }[] }[] = [];
  if (opts.plan) {
    const plan = loader.graph.fullPlan().filter((k) => apps.some((a) => k.startsWith(`${a.label}.`)));
    const list = plan.map((k) => ({ name: k, applied: applied.has(k) }));
    for (const m of list) out.line(`${m.applied ? out.style('[X]', 'green') : '[ ]'}  ${m.name}`);
    out.result({ ok: true, database: opts.database, plan: list });
    return EXIT.OK;
  }
  for (const app of apps) {
    out.line(out.style(app.label, 'bold'));
    const keys = loader.graph.fullPlan().filter((k) => k.startsWith(`${app.label}.`));
    if (keys.length === 0) out.line(' (no migrations)');
    const migrations = keys.map((k) => {
      const at = applied.get(k);
      const name = k.slice(app.label.length + 1);
      out.line(` ${at ? out.style('[X]', 'green') : '[ ]'} ${name}`);
      return at ? { name, applied: true, appliedAt: at.toISOString() } : { name, applied: false };
    });
    result.push({ app: app.label, migrations });
  }
  const unknown = recorded.filter((r) => apps.some((a) => a.label === r.app) && !loader.graph.nodes.has(`${r.app}.${r.name}`));
  for (const u of unknown) out.warn(`${u.app}.${u.name} is recorded as applied on '${opts.database}' but has no file.`);
  out.result({ ok: true, database: opts.database, apps: result, recordedWithoutFile: unknown.map((u) => `${u.app}.${u.name}`) });
  return EXIT.OK;
}
