import { defineConfig } from 'vitest/config';

export default defineConfig({
  // One graphql module instance: type-graphql and the server must share its classes.
  resolve: { alias: { graphql: 'graphql/index.js' } },
  test: {
    globalSetup: ['../../packages/graph-emulator/src/testing/vitest-global-setup.ts'],
    setupFiles: ['reflect-metadata'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
