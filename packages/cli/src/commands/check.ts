/** `spool check`: validate the model definitions without touching a database (Django's `check`). */
import { checkModels } from '@spool/orm/migrations';
import { EXIT, type ExitCode } from '../exit-codes';
import type { Output } from '../output/output';
import type { Project } from './project';

export async function check(project: Project, labels: string[], out: Output): Promise<ExitCode> {
  const apps = project.selectApps(labels);
  // Relations may point into other apps: check with all apps loaded, report the selected ones.
  const all = await checkModels(project.apps);
  const messages = labels.length > 0 ? all.filter((m) => apps.some((a) => m.obj.startsWith(`${a.label}.`))) : all;
  for (const m of messages) {
    const text = `${m.obj}: (${m.id}) ${m.message}${m.hint ? `\n\tHINT: ${m.hint}` : ''}`;
    out.line(m.level === 'error' ? out.style(text, 'red') : out.style(text, 'yellow'));
  }
  const errors = messages.filter((m) => m.level === 'error').length;
  if (messages.length === 0) out.line('System check identified no issues (0 silenced).');
  else out.line(`System check identified ${messages.length} issue${messages.length > 1 ? 's' : ''} (0 silenced).`);
  out.result({ ok: errors === 0, issues: messages });
  return errors > 0 ? EXIT.ERROR : EXIT.OK;
}
