import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 1,
    minWorkers: 1,
    projects: [
      // Index-level API: plain typed arrays, no GPU.
      { extends: true, test: { name: 'index', include: ['src/**/*.test.ts'], exclude: ['src/tensor/**'] } },
      // Tensor entry: WebGPU through @mim/tensor, initialised once per file.
      {
        extends: true,
        test: { name: 'tensor', include: ['src/tensor/**/*.test.ts'], setupFiles: ['./vitest.tensor-setup.ts'] },
      },
    ],
  },
});
