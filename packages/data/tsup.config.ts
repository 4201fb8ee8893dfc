import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts', 'src/worker.ts', 'src/cli.ts', 'src/bench.ts'],
  format: ['esm'],
  dts: { entry: ['src/index.ts'], compilerOptions: { composite: false } },
  sourcemap: true,
  clean: true,
  target: 'node20',
});
