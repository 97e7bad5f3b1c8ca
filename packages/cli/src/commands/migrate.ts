/** `spool migrate [app] [target]`: apply or unapply migrations on one database (Django's `migrate`). */
import { Autodetector, MigrationExecutor, NonInteractiveQuestioner, type MigrationTarget, type PlanStep } from '@spool/orm/migrations';
import { EXIT, type ExitCode } from '../exit-codes';
import type { Output } from '../output/output';
import type { Project } from './project';

export interface MigrateOptions {
  database: string;
  fake?: boolean;
  plan?: boolean;
  check?: boolean;
  lockTimeout?: number;
}

const ms = (n: number) => (n < 1000 ? `${Math.round(n)} ms` : `${(n / 1000).toFixed(2)} s`);

export async function migrate(
  project: Project,
  app: string | undefined,
  target: string | undefined,
  opts: MigrateOptions,
  out: Output,
): Promise<ExitCode> {
  const lockTimeoutMs = opts.lockTimeout ?? project.lockTimeoutMs;
  project.connect(opts.database, { busyTimeoutMs: lockTimeoutMs });
  const loader = await project.loader();
  loader.assertNoConflicts();
  let targets: MigrationTarget[] | undefined;
  if (app !== undefined) {
    project.selectApps([app]);
    if (target === undefined) {
      const leaves = loader.graph.leafNodes(app);
      if (leaves.length === 0) throw new Error(`App '${app}' has no migrations (run spool makemigrations ${app}).`);
      targets = leaves.map((l) => [app, l.slice(app.length + 1)] as const);
    } else if (target === 'zero') targets = [[app, null]];
    else targets = [[app, loader.resolve(app, target).slice(app.length + 1)]];
  }
  const executor = new MigrationExecutor(loader, opts.database);
  const describe = (steps: readonly PlanStep[]) =>
    steps.map((s) => {
      const m = loader.graph.node(s.migration);
      return {
        migration: s.migration,
        backwards: s.backwards,
        operations: m.operations.map((o) => (s.backwards ? `Undo ${o.describe()}` : o.describe())),
      };
    });

  if (opts.plan || opts.check) {
    const plan = await executor.pendingPlan(targets);
    if (opts.plan) {
      out.line(out.style('Planned operations:', 'bold'));
      if (plan.length === 0) out.line('  No planned migration operations.');
      for (const step of describe(plan)) {
        out.line(`${step.migration}${step.backwards ? ' (unapply)' : ''}`);
        for (const o of step.operations) out.line(`    ${o}`);
      }
    } else if (plan.length > 0) {
      out.line(
        `${plan.length} migration${plan.length > 1 ? 's' : ''} to ${plan[0]?.backwards ? 'unapply' : 'apply'} on '${opts.database}': ${plan.map((s) => s.migration).join(', ')}`,
      );
    } else out.line(`No migrations to apply on '${opts.database}'.`);
    out.result({ ok: !(opts.check && plan.length > 0), database: opts.database, plan: describe(plan) });
    return opts.check && plan.length > 0 ? EXIT.PENDING : EXIT.OK;
  }

  out.line(out.style('Operations to perform:', 'bold'));
  if (!targets) out.line(`  Apply all migrations: ${project.apps.map((a) => a.label).join(', ') || '(no apps)'}`);
  else if (targets[0]?.[1] === null) out.line(`  Unapply all migrations: ${app}`);
  else out.line(`  Target specific migration: ${targets.map((t) => `${t[0]}.${t[1]}`).join(', ')}`);
  out.line(out.style('Running migrations:', 'bold'));
  const done: { migration: string; backwards: boolean; fake: boolean; ms: number }[] = [];
  const result = await executor.migrate({
    targets,
    fake: opts.fake ?? false,
    lockTimeoutMs,
    onProgress: (e) => {
      if (e.kind === 'lock-wait')
        out.line(out.style(`  Waiting for the migration lock on '${e.alias}' (another process is migrating)...`, 'dim'));
      else if (e.kind === 'start') {
        if (out.interactive) out.write(`  ${e.backwards ? 'Unapplying' : 'Applying'} ${e.migration}...`);
      } else {
        done.push({ migration: e.migration, backwards: e.backwards, fake: e.fake, ms: Math.round(e.ms) });
        const status = out.style(e.fake ? ' FAKED' : ' OK', 'green');
        const line = `${status} ${out.style(`(${ms(e.ms)})`, 'dim')}`;
        if (out.interactive) out.line(line);
        else out.line(`  ${e.backwards ? 'Unapplying' : 'Applying'} ${e.migration}...${line}`);
      }
    },
  });
  if (result.nothingToDo) out.line('  No migrations to apply.');
  // As Django: say when the models have changes no migration holds yet.
  let pendingModelChanges = false;
  if (!targets) {
    try {
      const detector = new Autodetector(loader.graph.makeState(), await project.modelState(), new NonInteractiveQuestioner());
      pendingModelChanges = [...(await detector.detect()).values()].some((ops) => ops.length > 0);
    } catch {
      pendingModelChanges = false;
    }
    if (pendingModelChanges) {
      out.warn(
        `Your models have changes that are not yet reflected in a migration, and so won't be applied. Run 'spool makemigrations' to make new migrations, and then re-run 'spool migrate' to apply them.`,
      );
    }
  }
  out.result({ ok: true, database: opts.database, nothingToDo: result.nothingToDo, steps: done, pendingModelChanges });
  return EXIT.OK;
}
