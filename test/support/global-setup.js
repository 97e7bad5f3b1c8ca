// Decide the database matrix once for the run and say out loud what is skipped.
const { resolveMatrix, testDatabase } = require('@spool/testing');

module.exports = async function globalSetup() {
  const { databases, report } = await resolveMatrix();
  process.stdout.write(`\n${report}\n`);
  process.env.SPOOL_TEST_MATRIX = databases.join(',');
};
