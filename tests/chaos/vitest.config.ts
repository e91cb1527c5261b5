import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: ['../../packages/graph-emulator/src/testing/vitest-global-setup.ts'],
    testTimeout: 600_000,
    hookTimeout: 120_000,
  },
});
