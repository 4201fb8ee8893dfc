import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'test/index': 'src/test/index.ts',
    'bench/index': 'src/bench/index.ts',
    'bench/run': 'src/bench/run.ts',
    'bin/mim-fixture': 'src/bin/mim-fixture.ts',
    'bin/doctor': 'src/bin/doctor.ts',
  },
  format: ['esm'],
  dts: { compilerOptions: { composite: false } },
  sourcemap: true,
  clean: true,
  target: 'node20',
  external: ['webgpu', /^@tensorflow\//],
});
