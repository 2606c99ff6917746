/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/spec'],
  testMatch: ['**/*.spec.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  // Parity tests run whole UNet forwards on the pure-JS cpu backend: give them room.
  testTimeout: 120000,
  // The Node entry (lib/index.ts) registers the disk, Hub and PNG services on import; specs import lib files directly.
  setupFiles: ['<rootDir>/lib/node/register-node-loaders.ts'],
};
