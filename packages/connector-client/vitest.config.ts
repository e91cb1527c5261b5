import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: ['../graph-emulator/src/testing/vitest-global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
