/**
 * Jest runs the TypeScript sources directly (ts-jest, transpile only; `npm run build` type-checks).
 * Suites that start Azurite, the sandbox or the local host live under test/integration, test/e2e and
 * test/chaos; they start their own processes on free loopback ports and need `npm run build` first
 * (the local host loads the built app from dist/, as the real Functions host would).
 */
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }],
  },
  testTimeout: 60000,
  maxWorkers: 2,
};
