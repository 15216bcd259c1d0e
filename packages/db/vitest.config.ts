import { defineConfig } from 'vitest/config';

// Lets this package's tests run on their own (`npx vitest run --config packages/db/vitest.config.ts`);
// the root config picks up the same files.
export const config = defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});

// Vitest reads the default export of its config file; this is the one default export.
export default config;
