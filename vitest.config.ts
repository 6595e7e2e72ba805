import { defineConfig } from 'vitest/config';

// One runner for the whole monorepo: unit tests sit beside the code (libs/*/src, apps/*/src),
// cross-package tests (interop, network namespaces, end-to-end) live in test/.
export default defineConfig({
  test: {
    include: ['libs/*/src/**/*.test.ts', 'apps/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
