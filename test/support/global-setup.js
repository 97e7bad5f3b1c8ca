// Decide the database matrix once for the run and say out loud what is skipped; give the run its
// own roles and databases (dropping those of earlier runs that are gone).
const { beginTestRun, resolveMatrix } = require('@spool/testing');

module.exports = async function globalSetup() {
  const { databases, report } = await resolveMatrix();
  process.stdout.write(`\n${report}\n`);
  process.env.SPOOL_TEST_MATRIX = databases.join(',');
  await beginTestRun(databases);
};
