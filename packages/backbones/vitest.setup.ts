import { init } from '@mim/tensor';
import { enablePoison } from '@mim/tensor/test';
import { beforeAll } from 'vitest';

// Every test file runs on the real WebGPU device with poisoned allocations (NaN-filled buffers).
beforeAll(async () => {
  await init();
  enablePoison(true);
});
