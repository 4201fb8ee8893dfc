import { init } from '@mim/tensor';
import { beforeAll } from 'vitest';

beforeAll(async () => {
  await init();
});
