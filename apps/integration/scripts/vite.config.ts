// vite-node settings for the scripts here: lower `using` declarations as vitest does (Node 20 has none).
import { defineConfig } from 'vite';

export default defineConfig({ esbuild: { target: 'node20' } });
