/**
 * Jest runs the TypeScript sources as ES modules (music-metadata and its tokenizers are ESM-only).
 * Two projects: every test in the default (poll) delivery mode, and the suites that run whole
 * executions once more in webhook mode (`-c transcriptDelivery=webhook` deployed), where Submit
 * waits for AssemblyAI's webhook (test/support/harness.ts reads TEST_TRANSCRIPT_DELIVERY).
 */
const base = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true }] },
};

export default {
  testTimeout: 30000,
  projects: [
    { ...base, displayName: 'poll', testMatch: ['**/*.test.ts'] },
    {
      ...base,
      displayName: 'webhook',
      testMatch: ['<rootDir>/test/statemachine/*.test.ts', '<rootDir>/test/reliability/privacy.test.ts'],
      // The definition's static checks need one run; webhook.test.ts is webhook mode already.
      testPathIgnorePatterns: ['/definition\\.test\\.ts$', '/webhook\\.test\\.ts$'],
      setupFiles: ['<rootDir>/test/support/webhook-delivery.ts'],
    },
  ],
};
