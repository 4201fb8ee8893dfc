import { init } from '@mim/tensor';
import { enablePoison } from '@mim/tensor/test';
import { beforeAll } from 'vitest';

// Tensor-entry tests run on the real WebGPU device (lavapipe in CI) with poisoned (NaN-filled) allocations.
beforeAll(async () => {
  await init();
  enablePoison(true);
});
