// The type tests (test/orm-types) compile with tsc: inferred row/insert/update types, values()
// rows, and the `@ts-expect-error` cases (unknown fields, wrong value types) that must not compile.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

test('tsc -p test/orm-types compiles (type assertions hold, wrong code is rejected)', () => {
  const root = join(__dirname, '..', '..');
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const res = spawnSync(process.execPath, [tsc, '-p', join(root, 'test', 'orm-types')], { cwd: root, encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`tsc failed (exit ${res.status}):\n${res.stdout}${res.stderr}`);
  expect(res.status).toBe(0);
}, 120_000);
