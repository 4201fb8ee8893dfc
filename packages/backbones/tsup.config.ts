import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts', 'src/fixtures.ts'],
  format: ['esm'],
  dts: { compilerOptions: { composite: false } },
  sourcemap: true,
  clean: true,
  target: 'node20',
});
