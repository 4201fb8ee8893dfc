import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts', fixtures: 'src/fixtures.ts', 'bench/index': 'src/bench/index.ts' },
  format: ['esm'],
  dts: { entry: { index: 'src/index.ts', fixtures: 'src/fixtures.ts' }, compilerOptions: { composite: false } },
  sourcemap: true,
  clean: true,
  target: 'node20',
});
