const os = require('os');

/** @type {import('jest').Config} */
module.exports = {
  // At least 2 workers (jest's default is one fewer than the cores: 1 on the 2-core machines CI and many laptops
  // have). Many specs wait on child processes (the CLI, Chromium, qemu) or run one-threaded JavaScript, so two suites
  // at once fill the second core; every spec must pass beside another anyway (a user's `npm test` on 8 cores runs 7).
  maxWorkers: Math.max(2, os.availableParallelism() - 1),
  testEnvironment: 'node',
  roots: ['<rootDir>/spec'],
  testMatch: ['**/*.spec.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  // Parity tests run whole UNet forwards on the pure-JS cpu backend: give them room.
  testTimeout: 120000,
  // The Node entry (lib/index.ts) registers the disk, Hub and PNG services on import; specs import lib files directly.
  setupFiles: ['<rootDir>/lib/node/register-node-loaders.ts'],
  // Builds dist/ and dist/browser/ when a selected spec needs them and they are stale (`npm ci && npm test` on a
  // fresh clone), and gives spec/helpers/not-run.ts its folder.
  globalSetup: '<rootDir>/spec/global-setup.js',
  // One line at the end: which tests did not run (no native addon, no browser) and why. The reporter composes it;
  // globalTeardown, which jest runs after every reporter, prints it, so that it comes after jest's summary.
  reporters: ['default', '<rootDir>/spec/reporters/not-run-reporter.js'],
  globalTeardown: '<rootDir>/spec/global-teardown.js',
};
