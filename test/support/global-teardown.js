// Drop this run's roles and databases.
const { endTestRun, matrix } = require('@spool/testing');

module.exports = async function globalTeardown() {
  await endTestRun(matrix());
};
