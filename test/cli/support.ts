/**
 * A throwaway project for the command-line suites: a folder in the temp dir with a
 * `spool.config.ts` for the test database, TypeScript models, and `node_modules` linked to the
 * repository's (so that `@spool/cli` and `@spool/orm` resolve as in an installed project).
 * `spool` runs as a real child process.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { DatabaseSettings } from '@spool/connections';

export const ROOT = resolve(__dirname, '..', '..');
export const SPOOL = join(ROOT, 'packages', 'cli', 'bin', 'spool.js');

export interface SpoolRun {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Run `spool args` in `cwd`; resolves when it exits. */
export function spool(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<SpoolRun> {
  const started = Date.now();
  return new Promise((res, rej) => {
    // Jest sets FORCE_COLOR for its own output: the child starts without it unless a test asks.
    const base = { ...process.env };
    delete base.FORCE_COLOR;
    delete base.NO_COLOR;
    const child = spawn(process.execPath, [SPOOL, ...args], { cwd, env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', rej);
    child.on('close', (code) => res({ code, stdout, stderr, ms: Date.now() - started }));
  });
}

export class CliProject {
  readonly dir: string;

  constructor(settings: DatabaseSettings, label = 'shop') {
    this.dir = mkdtempSync(join(tmpdir(), 'spool-cli-'));
    symlinkSync(join(ROOT, 'node_modules'), join(this.dir, 'node_modules'), 'dir');
    mkdirSync(join(this.dir, 'migrations', label), { recursive: true });
    writeFileSync(
      join(this.dir, 'spool.config.ts'),
      `import { defineConfig, defineApp } from '@spool/cli';
export default defineConfig({
  databases: { default: ${JSON.stringify(settings)} },
  apps: [defineApp({ label: '${label}', models: () => import('./models'), migrations: 'migrations/${label}' })],
});
`,
    );
  }

  models(source: string): void {
    writeFileSync(join(this.dir, 'models.ts'), `import { Model, CharField, IntegerField, ForeignKey, ref } from '@spool/orm';\n${source}`);
  }

  file(path: string, source: string): void {
    writeFileSync(join(this.dir, path), source);
  }

  run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<SpoolRun> {
    return spool(this.dir, args, env);
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
