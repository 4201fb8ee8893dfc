import { beforeAll } from 'vitest';
import { init } from './src/index.js';
import { enablePoison } from './src/test/index.js';

// Every test file runs on the real WebGPU device with poisoned allocations (NaN-filled buffers).
beforeAll(async () => {
  await init();
  enablePoison(true);
});
