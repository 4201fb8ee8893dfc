import { expect, it } from 'vitest';
import { add } from '../ops/elementwise/binary.js';
import { matmul } from '../ops/matmul/matmul.js';
import { rand } from '../random/random.js';
import { formatProfile, profileKernels } from './profile.js';

it('profileKernels times every dispatch per kernel name, slowest first, and returns the result', async () => {
  const a = rand([256, 256], { seed: 1 });
  const b = rand([256, 256], { seed: 2 });
  const small = rand([4], { seed: 3 });
  const profile = await profileKernels(async () => {
    for (let i = 0; i < 3; i++) matmul(a, b).dispose();
    add(small, small).dispose();
    return 'done';
  });
  expect(profile.result).toBe('done');
  expect(profile.dispatches).toBe(4);
  const byName = new Map(profile.kernels.map((k) => [k.name, k]));
  const mm = [...byName.values()].find((k) => k.name.startsWith('matmul'));
  expect(mm?.count).toBe(3);
  expect(byName.get('add')?.count).toBe(1);
  // 3 × 33 MFLOP against one 4-element add: the matmul row must lead and take nearly all the time.
  expect(profile.kernels[0]).toBe(mm);
  expect(mm!.totalMs).toBeGreaterThan(byName.get('add')!.totalMs);
  expect(mm!.share).toBeGreaterThan(0.5);
  expect(profile.totalMs).toBeCloseTo(
    profile.kernels.reduce((s, k) => s + k.totalMs, 0),
    6,
  );
  expect(formatProfile(profile)).toMatch(/^kernel +count +ms +share\nmatmul/);
  for (const t of [a, b, small]) t.dispose();
});

it('byShape keeps one row per (kernel, shapes); profiles do not nest; later work runs unprofiled', async () => {
  const x = rand([3, 5], { seed: 4 });
  const y = rand([7], { seed: 5 });
  const profile = await profileKernels(
    async () => {
      add(x, x).dispose();
      add(y, y).dispose();
      await expect(profileKernels(() => 0)).rejects.toThrow(/do not nest/);
    },
    { byShape: true },
  );
  expect(profile.kernels.map((k) => k.name).sort()).toEqual([
    'add ([3, 5], [3, 5]) -> ([3, 5])',
    'add ([7], [7]) -> ([7])',
  ]);
  const z = add(y, y);
  expect((await z.toArray())[0]).toBeCloseTo(2 * (await y.toArray())[0], 6);
  for (const t of [x, y, z]) t.dispose();
});
