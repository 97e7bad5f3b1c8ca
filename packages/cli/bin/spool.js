#!/usr/bin/env node
// The `spool` executable: a plain file that always exists (npm links it at install time, before
// the TypeScript build), running the built command line.
'use strict';
let run;
try {
  ({ run } = require('../dist/program.js'));
} catch (err) {
  if (err && err.code === 'MODULE_NOT_FOUND' && String(err.message).includes('dist/program')) {
    process.stderr.write('spool: @spool/cli is not built yet. Run `npm run build` in the Spool repository.\n');
    process.exit(1);
  }
  throw err;
}
run(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`spool: ${(err && err.stack) || String(err)}\n`);
    process.exitCode = 1;
  },
);
