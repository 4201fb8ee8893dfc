import { defineConfig } from 'tsup';

export default defineConfig({
  // Two entries: the index-level API never imports @mim/tensor (no WebGPU); `@mim/masking/tensor` does.
  entry: { index: 'src/index.ts', 'tensor/index': 'src/tensor/index.ts' },
  format: ['esm'],
  dts: { compilerOptions: { composite: false } },
  sourcemap: true,
  clean: true,
  target: 'node20',
  external: ['@mim/tensor', 'webgpu'],
});
