import { afterAll, describe, expect, it } from 'vitest';
import { gpuContext } from '../../runtime/device.js';
import { ShapeError } from '../../runtime/errors.js';
import type { Tensor } from '../../tensor.js';
import {
  expectAllClose,
  finiteDifferences,
  matmulBackwardRef,
  matmulRef,
  randomArray,
  TOLERANCE,
} from '../../test/index.js';
import { tensor } from '../creation.js';
import { expand, slice, transpose } from '../movement/views.js';
import { sum } from '../reduce/reduce.js';
import {
  defaultVariant,
  type MatmulVariant,
  matmulLaunch,
  type RegisterTile,
  registerTileFor,
  setRegisterTile,
} from './kernel.js';
import { type MatmulOptions, matmul, matmulSubgroupSize, setMatmulVariant } from './matmul.js';

const numel = (shape: readonly number[]) => shape.reduce((x, y) => x * y, 1);
let seed = 1;
const input = (shape: number[]) => tensor(randomArray(numel(shape), seed++), shape);
const values = async (t: Tensor) => Float64Array.from((await t.toArray()) as Float32Array);

/** Runs matmul on random inputs and checks it against the float64 reference. */
async function check(aShape: number[], bShape: number[], options: MatmulOptions = {}): Promise<void> {
  const a = input(aShape);
  const b = input(bShape);
  const out = matmul(a, b, options);
  const ref = matmulRef(await values(a), aShape, await values(b), bShape, options);
  expect(out.shape).toEqual(ref.shape);
  expectAllClose(await values(out), ref.data, TOLERANCE.matmul, `matmul ${aShape} @ ${bShape}`);
  for (const t of [a, b, out]) t.dispose();
}

const variants: MatmulVariant[] = ['register', 'shared'];

afterAll(() => {
  setMatmulVariant('auto');
  setRegisterTile(null);
});

describe('matmul variant selection', () => {
  it('picks register tiles on software adapters and shared-memory tiles on hardware', () => {
    const info = gpuContext().info;
    expect(defaultVariant({ ...info, software: true })).toBe('register');
    expect(defaultVariant({ ...info, software: false })).toBe('shared');
  });

  it('uses vec4 loads for aligned layouts and scalar loads otherwise', () => {
    const layout = (rowStride: number, colStride: number) => ({ rowStride, colStride, offset: 0, batchStrides: [] });
    const aligned = matmulLaunch(
      { M: 64, N: 64, K: 64, batchShape: [], a: layout(64, 1), b: layout(64, 1) },
      'register',
      null,
    );
    expect(aligned.wgsl).toContain('A:vecK B:vecN');
    const transposed = matmulLaunch(
      { M: 64, N: 64, K: 64, batchShape: [], a: layout(1, 64), b: layout(1, 64) },
      'register',
      null,
    );
    expect(transposed.wgsl).toContain('A:vecM B:vecK');
    const odd = matmulLaunch({ M: 7, N: 5, K: 3, batchShape: [], a: layout(3, 1), b: layout(5, 1) }, 'register', null);
    expect(odd.wgsl).toContain('A:scalar B:scalar');
  });

  it('shares A over subgroups on software adapters with a fixed subgroup size, and only there', () => {
    const info = gpuContext().info;
    const layout = (rowStride: number) => ({ rowStride, colStride: 1, offset: 0, batchStrides: [] });
    const problem = { M: 256, N: 256, K: 64, batchShape: [], a: layout(64), b: layout(256) };
    expect(registerTileFor({ ...info, software: true }, problem, 8)).toEqual({
      TM: 32,
      TN: 4,
      WGX: 8,
      WGY: 1,
      subgroup: 8,
    });
    expect(registerTileFor({ ...info, software: true }, problem, 0).subgroup).toBeUndefined();
    expect(registerTileFor({ ...info, software: false }, problem, 32).subgroup).toBeUndefined();
    const shared = matmulLaunch(problem, 'register', { ...info, software: true }, 8);
    expect(shared.wgsl).toMatch(/^enable subgroups;/);
    expect(shared.wgsl).toContain('A shared by 8 lanes');
    expect(shared.workgroups).toEqual([8, 8, 1]);
    setRegisterTile({ TM: 32, TN: 4, WGX: 16, WGY: 1, subgroup: 8 });
    try {
      expect(() => matmulLaunch(problem, 'register', info, 0)).toThrow(/device's subgroup size is not fixed/);
      setRegisterTile({ TM: 32, TN: 4, WGX: 12, WGY: 1, subgroup: 8 });
      expect(() => matmulLaunch(problem, 'register', info, 8)).toThrow(/WGX a multiple of 8/);
    } finally {
      setRegisterTile(null);
    }
  });
});

describe.each(variants)('matmul (%s variant)', (variant) => {
  it.each([
    [1, 1, 1],
    [3, 7, 5],
    [17, 33, 1],
    [1, 65, 17],
    [33, 1, 7],
    [65, 127, 33],
    [7, 4, 9],
    [16, 8, 12],
    [64, 64, 64],
    [127, 65, 129],
  ])('forward M=%i K=%i N=%i', async (M, K, N) => {
    setMatmulVariant(variant);
    await check([M, K], [K, N]);
  });

  it('handles zero-size dims (K = 0 gives zeros)', async () => {
    setMatmulVariant(variant);
    await check([3, 0], [0, 5]);
    await check([0, 4], [4, 5]);
    await check([3, 4], [4, 0]);
    await check([0, 3, 4], [4, 5]);
  });

  it('promotes 1-D operands like torch.matmul', async () => {
    setMatmulVariant(variant);
    await check([7], [7]);
    await check([7], [7, 5]);
    await check([5, 7], [7]);
    await check([3, 5, 7], [7]);
    await check([7], [2, 7, 3]);
  });

  it('broadcasts batch dims', async () => {
    setMatmulVariant(variant);
    await check([2, 1, 5, 7], [3, 7, 9]);
    await check([4, 5, 8], [8, 12]);
    await check([5, 8], [3, 8, 12]);
    await check([3, 17, 13], [3, 13, 33]);
    await check([2, 3, 4, 4], [1, 3, 4, 8]);
  });

  it('honours transpose flags', async () => {
    setMatmulVariant(variant);
    for (const [transposeA, transposeB] of [
      [true, false],
      [false, true],
      [true, true],
    ]) {
      const aShape = transposeA ? [2, 12, 8] : [2, 8, 12];
      const bShape = transposeB ? [2, 16, 12] : [2, 12, 16];
      await check(aShape, bShape, { transposeA, transposeB });
      const aOdd = transposeA ? [13, 7] : [7, 13];
      const bOdd = transposeB ? [5, 13] : [13, 5];
      await check(aOdd, bOdd, { transposeA, transposeB });
    }
  });

  it('reads transposed, sliced and expanded views through their strides', async () => {
    setMatmulVariant(variant);
    const aData = input([12, 8]);
    const bData = input([16, 12]);
    const a = transpose(aData); // (8, 12), column-major
    const b = transpose(bData); // (12, 16)
    const out = matmul(a, b);
    const ref = matmulRef(await values(aData), [12, 8], await values(bData), [16, 12], {
      transposeA: true,
      transposeB: true,
    });
    expectAllClose(await values(out), ref.data, TOLERANCE.matmul, 'transposed views');

    const big = input([9, 11]);
    const part = slice(big, [
      { start: 1, end: 8 },
      { start: 2, end: 11, step: 2 },
    ]); // (7, 5), strides (11, 2)
    const c = input([5, 3]);
    const out2 = matmul(part, c);
    const partRef = await values(part);
    const ref2 = matmulRef(partRef, [7, 5], await values(c), [5, 3]);
    expectAllClose(await values(out2), ref2.data, TOLERANCE.matmul, 'sliced view');

    const shared = input([6, 4]);
    const wide = expand(shared, [3, 6, 4]);
    const d = input([3, 4, 5]);
    const out3 = matmul(wide, d);
    const ref3 = matmulRef(await values(shared), [6, 4], await values(d), [3, 4, 5]);
    expectAllClose(await values(out3), ref3.data, TOLERANCE.matmul, 'expanded view');
    for (const t of [aData, bData, a, b, out, big, part, c, out2, shared, wide, d, out3]) t.dispose();
  });

  it.each<[number[], number[], MatmulOptions]>([
    [[5, 7], [7, 3], {}],
    [[2, 1, 5, 4], [3, 4, 6], {}],
    [[3, 5, 7], [7, 4], {}],
    [[7, 5], [3, 7], { transposeA: true, transposeB: true }],
    [[2, 4, 5], [6, 4], { transposeA: true, transposeB: true }],
    [[3, 5, 4], [4, 8], {}],
    [[3, 5, 4], [8, 4], { transposeB: true }],
    [[4, 3], [2, 4, 5], { transposeA: true }],
    [[6], [6, 3], {}],
    [[4, 6], [6], {}],
    [[6], [6], {}],
  ])('gradients of %j @ %j %j match the analytic reference and finite differences', async (aShape, bShape, options) => {
    setMatmulVariant(variant);
    const a = input(aShape).requireGrad();
    const b = input(bShape).requireGrad();
    const out = matmul(a, b, options);
    const upstream = randomArray(out.size, seed++);
    const g = tensor(upstream, out.shape);
    out.backward(g);
    const a64 = await values(a);
    const b64 = await values(b);
    const [gaRef, gbRef] = matmulBackwardRef(a64, aShape, b64, bShape, upstream, options);
    const ga = await values(a.grad!);
    const gb = await values(b.grad!);
    expectAllClose(ga, gaRef, TOLERANCE.matmul, 'dA');
    expectAllClose(gb, gbRef, TOLERANCE.matmul, 'dB');
    const [gaFd, gbFd] = finiteDifferences(
      ([x, y]) => matmulRef(x, aShape, y, bShape, options).data,
      [a64, b64],
      upstream,
    );
    expectAllClose(ga, gaFd, TOLERANCE.finiteDifference, 'dA (finite differences)');
    expectAllClose(gb, gbFd, TOLERANCE.finiteDifference, 'dB (finite differences)');
    for (const t of [a, b, out, g]) t.dispose();
  });

  it('back-propagates through transposed views', async () => {
    setMatmulVariant(variant);
    const w = input([5, 7]).requireGrad();
    const x = input([3, 7]);
    const loss = sum(matmul(x, transpose(w)));
    loss.backward();
    const upstream = new Float64Array(15).fill(1);
    const [, gw] = matmulBackwardRef(await values(x), [3, 7], await values(w), [5, 7], upstream, {
      transposeB: true,
    });
    expectAllClose(await values(w.grad!), gw, TOLERANCE.matmul, 'dW through transpose view');
    w.dispose();
    x.dispose();
  });
});

/** Tiles with `subgroup: 8` stand for "shared over the device's subgroups" and are skipped on devices without. */
describe.each<RegisterTile>([
  { TM: 4, TN: 4, WGX: 8, WGY: 8 },
  { TM: 4, TN: 8, WGX: 8, WGY: 8 },
  { TM: 8, TN: 8, WGX: 8, WGY: 8 },
  { TM: 8, TN: 4, WGX: 16, WGY: 8 },
  { TM: 8, TN: 8, WGX: 64, WGY: 1 },
  { TM: 32, TN: 4, WGX: 8, WGY: 1, subgroup: 8 }, // the default on lavapipe
  { TM: 16, TN: 8, WGX: 8, WGY: 1, subgroup: 8 },
  { TM: 12, TN: 4, WGX: 16, WGY: 1, subgroup: 8 },
  { TM: 4, TN: 4, WGX: 16, WGY: 1, subgroup: 8 },
])('matmul register tile %j', (tile) => {
  it('is exact on aligned, odd, edge and transposed layouts', async (context) => {
    const subgroup = matmulSubgroupSize();
    if (tile.subgroup && !subgroup) context.skip();
    setMatmulVariant('register');
    setRegisterTile(tile.subgroup ? { ...tile, WGX: Math.max(tile.WGX, subgroup), subgroup } : tile);
    try {
      await check([13, 7], [7, 5]);
      await check([16, 12], [12, 20]);
      await check([12, 16], [12, 20], { transposeA: true });
      await check([12, 9], [12, 20], { transposeA: true });
      await check([16, 12], [20, 12], { transposeB: true });
      await check([3, 9, 5], [5, 11]);
      if (!tile.subgroup) return;
      // Edge tiles of the shared-A path: M, N, K not multiples of the tile (or of 4), M or N below 4, a transposed
      // A (vecM chunks) with a K tail, a transposed B (vecK), batches.
      await check([37, 70], [70, 45]);
      await check([2, 33], [33, 70]);
      await check([70, 33], [33, 3]);
      await check([37, 40], [37, 20], { transposeA: true });
      await check([3, 40, 24], [3, 12, 40], { transposeA: true, transposeB: true });
    } finally {
      setRegisterTile(null);
    }
  }, 600_000);
});

describe('matmul errors', () => {
  it('names both shapes when inner dims differ', () => {
    const a = input([3, 4]);
    const b = input([5, 6]);
    expect(() => matmul(a, b)).toThrow(ShapeError);
    expect(() => matmul(a, b)).toThrow(/a \[3, 4\] gives K = 4 but b \[5, 6\] gives K = 5/);
    const c = input([2, 3, 4]);
    const d = input([3, 4, 2]);
    expect(() => matmul(c, d)).toThrow(/batch dims of a \[2, 3, 4\] and b \[3, 4, 2\] do not broadcast/);
    for (const t of [a, b, c, d]) t.dispose();
  });
});
