/** Jest runs the TypeScript sources as ES modules through SWC. */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      {
        jsc: { parser: { syntax: 'typescript' }, target: 'es2023' },
        module: { type: 'es6' },
      },
    ],
  },
  // Integration tests in test/, unit tests beside the pure modules they test (src/**/<module>.test.ts).
  testMatch: ['<rootDir>/test/**/*.test.ts', '<rootDir>/src/**/*.test.ts'],
  globalSetup: '<rootDir>/test/global-setup.ts',
  globalTeardown: '<rootDir>/test/global-teardown.ts',
  testTimeout: 60000,
  // One test file at a time: the suite shares 2 vCPUs with FerretDB, Chromium and sshd.
  maxWorkers: 1,
};
