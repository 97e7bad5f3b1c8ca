/**
 * Helpers of the @spool/workers suites: fixtures (plain .js: jest's transform does not reach
 * worker threads), a seeded shuffle, and running a child script.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

export const fixture = (name: string): string => join(__dirname, 'fixtures', name);

/** A deterministic shuffle (mulberry32), so fault mixes are the same on every run. */
export function shuffled<T>(items: readonly T[], seed = 42): T[] {
  let a = seed >>> 0;
  const rand = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** Run `node file` with `env`; resolves with its exit code, run time and output (killed after `timeoutMs`). */
export function runScript(
  file: string,
  env: Record<string, string>,
  timeoutMs = 20_000,
): Promise<{ code: number | null; ms: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, [file], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(killer);
      resolve({ code, ms: Date.now() - started, stdout, stderr });
    });
  });
}
