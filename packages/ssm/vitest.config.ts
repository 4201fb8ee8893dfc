import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    setupFiles: ['./vitest.setup.ts'],
    // Generous: on a fresh machine lavapipe's shader cache is cold and the first run of a model test compiles
    // hundreds of pipelines (measured: the official-equivalence test 250–300 s cold, 7 s warm).
    testTimeout: 900_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 1,
    minWorkers: 1,
  },
});
