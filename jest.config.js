/**
 * Jest runs the cross-package suites in test/ against the built packages (dist/), as users get
 * them: `npm test` builds first. Worker-thread fixtures are plain .js for the same reason.
 * Suites share real servers, so each jest worker has its own role and database (@spool/testing).
 */
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/test/tsconfig.json' }],
  },
  globalSetup: '<rootDir>/test/support/global-setup.js',
  globalTeardown: '<rootDir>/test/support/global-teardown.js',
  testTimeout: 60_000,
  maxWorkers: process.env.SPOOL_TEST_WORKERS ? Number(process.env.SPOOL_TEST_WORKERS) : 2,
  verbose: false,
};
