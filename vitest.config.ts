import { defineConfig } from 'vitest/config';

// One Vitest run for the whole repo (`pnpm test`, `vitest run --project <name>`). Inline
// projects do not inherit from this root, so each sets its own timeouts. The machines have
// two cores: at most two test files run at once (in forked processes), whatever the project.
const project = (name: string, include: string[], timeouts: { testTimeout: number; hookTimeout: number }) => ({
  test: { name, include, pool: 'forks' as const, ...timeouts },
});

const UNIT = { testTimeout: 5_000, hookTimeout: 10_000 };
const INTEGRATION = { testTimeout: 30_000, hookTimeout: 60_000 };
const E2E = { testTimeout: 120_000, hookTimeout: 180_000 };

export default defineConfig({
  test: {
    pool: 'forks',
    maxWorkers: 2,
    projects: [
      project('core', ['packages/core/src/**/*.test.ts'], UNIT),
      project('db', ['packages/db/src/**/*.test.ts'], INTEGRATION),
      project('api', ['apps/api/src/**/*.test.ts'], INTEGRATION),
      project('worker', ['apps/worker/src/**/*.test.ts'], INTEGRATION),
      project('e2e', ['tests/**/*.test.ts'], E2E),
    ],
  },
});
