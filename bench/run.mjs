// npm run bench: every benchmark in this folder, one after another (BENCH_ONLY=name to pick one).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { here } from './lib.mjs';

const all = ['scope-overhead', 'contention', 'orm', 'hydrate', 'cold-start', 'web', 'workers', 'typecheck'];
const only = process.env.BENCH_ONLY?.split(',');
let failed = 0;
for (const name of all) {
  if (only && !only.includes(name)) continue;
  const file = join(here, `${name}.mjs`);
  if (!existsSync(file)) continue;
  console.log(`\n=== bench/${name}.mjs ===`);
  const r = spawnSync(process.execPath, [file], { stdio: 'inherit', env: process.env });
  if (r.status !== 0) failed += 1;
}
process.exit(failed ? 1 : 0);
