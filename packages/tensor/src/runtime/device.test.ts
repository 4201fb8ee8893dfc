import { expect, it } from 'vitest';
import { memory } from '../memory.js';
import { tensor } from '../ops/creation.js';
import { add } from '../ops/elementwise/binary.js';
import { enablePoison } from '../test/index.js';
import { destroyDevice, init, isInitialised } from './device.js';
import { DeviceError } from './errors.js';

// Its own file: it destroys the device the other test files share within a worker.
it('after destroyDevice() ops throw a DeviceError pointing at init(); init() again gives a working device', async () => {
  const old = tensor([1, 2, 3]);
  expect([...(await add(old, 1).toArray())]).toEqual([2, 3, 4]);
  destroyDevice();
  expect(isInitialised()).toBe(false);
  expect(() => add(old, 1)).toThrow(DeviceError);
  expect(() => add(old, 1)).toThrow(/^add: the WebGPU device was lost .*call init\(\) again/);
  expect(() => tensor([1])).toThrow(/init\(\)/);
  // Disposing a tensor of the dead device is safe and does not touch the next device's pool.
  old.dispose();

  await init();
  enablePoison(true);
  expect(isInitialised()).toBe(true);
  expect(memory().bytesInUse).toBe(0);
  const a = tensor([1, 2, 3]);
  const b = add(a, a);
  expect([...(await b.toArray())]).toEqual([2, 4, 6]);
  a.dispose();
  b.dispose();
  expect(memory().bytesInUse).toBe(0);
});

it('a tensor created before the device was replaced is refused with a DeviceError', async () => {
  const stale = tensor([1, 2]);
  destroyDevice();
  await init();
  enablePoison(true);
  const fresh = tensor([1, 2]);
  expect(() => add(stale, fresh)).toThrow(/add: a tensor of shape \[2\] belongs to a WebGPU device that was destroyed/);
  stale.dispose();
  fresh.dispose();
  expect(memory().bytesInUse).toBe(0);
});
