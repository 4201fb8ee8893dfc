import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // --expose-gc lets the memory test measure after a collection
    poolOptions: { forks: { execArgv: ['--expose-gc'] } },
    maxWorkers: 1,
    minWorkers: 1,
  },
});
