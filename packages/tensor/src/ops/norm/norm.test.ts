import { describe, expect, it } from 'vitest';
import { memory } from '../../memory.js';
import { ShapeError } from '../../runtime/errors.js';
import { scope } from '../../scope.js';
import type { Tensor } from '../../tensor.js';
import {
  expectAllClose,
  expectZero,
  finiteDifferences,
  randomArray,
  randomNormal,
  seededRandom,
  TOLERANCE,
} from '../../test/index.js';
import { tensor } from '../creation.js';
import { narrow, permute } from '../movement/views.js';
import { batchNorm3d, groupNorm, instanceNorm3d, layerNorm } from './index.js';
import {
  batchNorm3dGradRef,
  batchNorm3dRef,
  groupNormGradRef,
  groupNormRef,
  instanceNorm3dGradRef,
  instanceNorm3dRef,
  layerNormGradRef,
  layerNormRef,
  type NormGradRef,
  type NormRefTensor,
} from './reference.js';

const FWD = TOLERANCE.fixtureForward;
const GRAD = TOLERANCE.fixtureGrad;
const numelOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

interface MaskSpec {
  shape: number[];
  dtype: 'u32' | 'f32';
}

/** One norm configuration: the GPU op and its float64 reference with the same arguments. */
interface Case {
  name: string;
  shape: number[];
  C: number;
  affine: boolean;
  mask?: MaskSpec;
  /** Mean added to x (checks the shifted statistics). */
  offset?: number;
  gpu(x: Tensor, w: Tensor | null, b: Tensor | null, mask: Tensor | null): Tensor;
  ref(x: NormRefTensor, w: Float32Array | null, b: Float32Array | null, mask: NormRefTensor | null): Float64Array;
  grad(
    x: NormRefTensor,
    w: Float32Array | null,
    b: Float32Array | null,
    dout: ArrayLike<number>,
    mask: NormRefTensor | null,
  ): NormGradRef;
}

const gn = (G: number) => ({
  gpu: (x: Tensor, w: Tensor | null, b: Tensor | null, mask: Tensor | null) => groupNorm(x, G, w, b, { mask }),
  ref: (x: NormRefTensor, w: Float32Array | null, b: Float32Array | null, mask: NormRefTensor | null) =>
    groupNormRef(x, G, w, b, { mask }),
  grad: (
    x: NormRefTensor,
    w: Float32Array | null,
    b: Float32Array | null,
    d: ArrayLike<number>,
    mask: NormRefTensor | null,
  ) => groupNormGradRef(x, G, w, b, d, { mask }),
});
const ln = (axis: 'last' | 'channels', eps = 1e-6) => ({
  gpu: (x: Tensor, w: Tensor | null, b: Tensor | null, mask: Tensor | null) => layerNorm(x, w, b, { axis, eps, mask }),
  ref: (x: NormRefTensor, w: Float32Array | null, b: Float32Array | null, mask: NormRefTensor | null) =>
    layerNormRef(x, w, b, { axis, eps, mask }),
  grad: (
    x: NormRefTensor,
    w: Float32Array | null,
    b: Float32Array | null,
    d: ArrayLike<number>,
    mask: NormRefTensor | null,
  ) => layerNormGradRef(x, w, b, d, { axis, eps, mask }),
});
const inorm = {
  gpu: (x: Tensor, w: Tensor | null, b: Tensor | null, mask: Tensor | null) => instanceNorm3d(x, w, b, { mask }),
  ref: (x: NormRefTensor, w: Float32Array | null, b: Float32Array | null, mask: NormRefTensor | null) =>
    instanceNorm3dRef(x, w, b, { mask }),
  grad: (
    x: NormRefTensor,
    w: Float32Array | null,
    b: Float32Array | null,
    d: ArrayLike<number>,
    mask: NormRefTensor | null,
  ) => instanceNorm3dGradRef(x, w, b, d, { mask }),
};
const bn = {
  gpu: (x: Tensor, w: Tensor | null, b: Tensor | null, mask: Tensor | null) =>
    batchNorm3d(x, null, null, w, b, { training: true, mask }),
  ref: (x: NormRefTensor, w: Float32Array | null, b: Float32Array | null, mask: NormRefTensor | null) =>
    batchNorm3dRef(x, null, null, w, b, { training: true, mask }).out,
  grad: (
    x: NormRefTensor,
    w: Float32Array | null,
    b: Float32Array | null,
    d: ArrayLike<number>,
    mask: NormRefTensor | null,
  ) => batchNorm3dGradRef(x, null, null, w, b, d, { training: true, mask }),
};

const CASES: Case[] = [
  { name: 'layerNorm last (2,17,32) offset', shape: [2, 17, 32], C: 32, affine: true, offset: 50, ...ln('last') },
  { name: 'layerNorm last odd (3,5,7) no affine', shape: [3, 5, 7], C: 7, affine: false, ...ln('last', 1e-5) },
  {
    name: 'layerNorm last masked (2,9,5)',
    shape: [2, 9, 5],
    C: 5,
    affine: true,
    mask: { shape: [2, 9, 1], dtype: 'u32' },
    ...ln('last'),
  },
  {
    name: 'layerNorm channels vec4 (2,5,3,4,4)',
    shape: [2, 5, 3, 4, 4],
    C: 5,
    affine: true,
    offset: 30,
    ...ln('channels'),
  },
  { name: 'layerNorm channels odd (1,3,3,5,7)', shape: [1, 3, 3, 5, 7], C: 3, affine: true, ...ln('channels') },
  {
    name: 'layerNorm channels masked (2,6,4,3,4)',
    shape: [2, 6, 4, 3, 4],
    C: 6,
    affine: true,
    mask: { shape: [2, 1, 4, 3, 4], dtype: 'u32' },
    ...ln('channels'),
  },
  { name: 'groupNorm (2,6,3,5,7) G=3', shape: [2, 6, 3, 5, 7], C: 6, affine: true, ...gn(3) },
  { name: 'groupNorm vec4 (2,8,4,4,4) G=2 offset', shape: [2, 8, 4, 4, 4], C: 8, affine: true, offset: 100, ...gn(2) },
  { name: 'groupNorm rank 3 (3,4,5) G=4 no affine', shape: [3, 4, 5], C: 4, affine: false, ...gn(4) },
  { name: 'groupNorm S=1 (2,6,1,1,1) G=2', shape: [2, 6, 1, 1, 1], C: 6, affine: true, ...gn(2) },
  { name: 'groupNorm large (1,4,40,40,41) G=2', shape: [1, 4, 40, 40, 41], C: 4, affine: true, offset: 3, ...gn(2) },
  {
    name: 'groupNorm masked (2,6,3,5,8) G=3',
    shape: [2, 6, 3, 5, 8],
    C: 6,
    affine: true,
    mask: { shape: [2, 1, 3, 5, 8], dtype: 'u32' },
    ...gn(3),
  },
  {
    name: 'groupNorm masked f32 broadcast (2,4,3,5,7) G=2',
    shape: [2, 4, 3, 5, 7],
    C: 4,
    affine: true,
    mask: { shape: [1, 1, 3, 1, 7], dtype: 'f32' },
    ...gn(2),
  },
  { name: 'instanceNorm3d (2,3,5,4,3)', shape: [2, 3, 5, 4, 3], C: 3, affine: true, ...inorm },
  { name: 'instanceNorm3d vec4 no affine (1,2,8,8,8)', shape: [1, 2, 8, 8, 8], C: 2, affine: false, ...inorm },
  {
    name: 'instanceNorm3d masked (2,3,4,5,3)',
    shape: [2, 3, 4, 5, 3],
    C: 3,
    affine: true,
    mask: { shape: [2, 1, 4, 5, 3], dtype: 'u32' },
    ...inorm,
  },
  { name: 'batchNorm3d (3,5,2,3,3)', shape: [3, 5, 2, 3, 3], C: 5, affine: true, ...bn },
  { name: 'batchNorm3d large (2,3,30,30,31)', shape: [2, 3, 30, 30, 31], C: 3, affine: true, offset: 10, ...bn },
  {
    name: 'batchNorm3d masked (2,4,4,4,4)',
    shape: [2, 4, 4, 4, 4],
    C: 4,
    affine: true,
    mask: { shape: [2, 1, 4, 4, 4], dtype: 'u32' },
    ...bn,
  },
  {
    name: 'batchNorm3d masked broadcast f32 (3,2,3,5,3) no affine',
    shape: [3, 2, 3, 5, 3],
    C: 2,
    affine: false,
    mask: { shape: [3, 1, 1, 5, 3], dtype: 'f32' },
    ...bn,
  },
];

/** A random 0/1 mask with at least one visible and one masked value. */
function randomMask(spec: MaskSpec, seed: number): Float32Array {
  const rand = seededRandom(seed);
  const data = Float32Array.from({ length: numelOf(spec.shape) }, () => (rand() < 0.6 ? 1 : 0));
  data[0] = 1;
  if (data.length > 1) data[data.length - 1] = 0;
  return data;
}

/** Element k of x is visible under the broadcast mask (true when there is no mask). */
function visibleOf(
  shape: readonly number[],
  mask: { data: Float32Array; shape: number[] } | null,
  channelsLast: boolean,
) {
  if (!mask) return () => true;
  const target = channelsLast ? [...shape.slice(0, -1), 1] : [shape[0], 1, ...shape.slice(2)];
  const lead = target.length - mask.shape.length;
  return (k: number) => {
    let rest = k;
    let offset = 0;
    let stride = 1;
    const coords = shape.map(() => 0);
    for (let a = shape.length - 1; a >= 0; a--) {
      coords[a] = rest % shape[a];
      rest = Math.floor(rest / shape[a]);
    }
    for (let a = target.length - 1; a >= lead; a--) {
      const d = mask.shape[a - lead];
      if (d !== 1) offset += coords[a] * stride;
      stride *= d;
    }
    return mask.data[offset] !== 0;
  };
}

async function runCase(c: Case, seed: number): Promise<void> {
  using _scope = scope();
  const n = numelOf(c.shape);
  const xd = randomNormal(n, seed);
  if (c.offset) for (let i = 0; i < n; i++) xd[i] = Math.fround(xd[i] + c.offset);
  const wd = c.affine ? randomArray(c.C, seed + 1, 0.5, 1.5) : null;
  const bd = c.affine ? randomArray(c.C, seed + 2) : null;
  const dout = randomArray(n, seed + 3);
  const maskData = c.mask ? { data: randomMask(c.mask, seed + 4), shape: c.mask.shape } : null;
  const isVisible = visibleOf(c.shape, maskData, c.name.includes('last'));
  // Masked positions must not matter: poison them in x and in the upstream gradient.
  const xGpu = Float32Array.from(xd, (v, k) => (isVisible(k) ? v : Number.NaN));
  const doutGpu = Float32Array.from(dout, (v, k) => (isVisible(k) ? v : 1e30));
  const x = tensor(xGpu, c.shape).requireGrad();
  const w = wd ? tensor(wd, [c.C]).requireGrad() : null;
  const b = bd ? tensor(bd, [c.C]).requireGrad() : null;
  const mask = maskData
    ? tensor(c.mask?.dtype === 'u32' ? Uint32Array.from(maskData.data) : maskData.data, maskData.shape)
    : null;
  const y = c.gpu(x, w, b, mask);
  expect(y.shape).toEqual(c.shape);
  const xr = { data: xd, shape: c.shape };
  expectAllClose(await y.toArray(), c.ref(xr, wd, bd, maskData), FWD, `${c.name} forward`);
  y.backward(tensor(doutGpu, c.shape));
  const g = c.grad(xr, wd, bd, dout, maskData);
  expectAllClose(await x.grad!.toArray(), g.x, GRAD, `${c.name} grad x`);
  if (w) expectAllClose(await w.grad!.toArray(), g.weight!, GRAD, `${c.name} grad weight`);
  if (b) expectAllClose(await b.grad!.toArray(), g.bias!, GRAD, `${c.name} grad bias`);
  if (maskData) {
    const out = await y.toArray();
    const dx = await x.grad!.toArray();
    const masked = Array.from({ length: n }, (_, k) => k).filter((k) => !isVisible(k));
    expect(masked.length).toBeGreaterThan(0);
    expectZero(
      masked.map((k) => out[k]),
      0,
      `${c.name} masked outputs`,
    );
    expectZero(
      masked.map((k) => dx[k]),
      0,
      `${c.name} masked gradients`,
    );
  }
}

describe('norms vs float64 reference', () => {
  it.each(CASES.map((c, i) => [c.name, c, i] as const))('%s', async (_name, c, i) => {
    await runCase(c, 1000 + 17 * i);
  });
});

describe('masked norms equal the dense op on the visible subset', () => {
  it('groupNorm with a mask equals the dense GPU groupNorm of the gathered visible voxels', async () => {
    using _scope = scope();
    const shape = [1, 4, 2, 3, 5];
    const S = 30;
    const xd = randomNormal(120, 7);
    const visible = Array.from({ length: S }, (_, k) => k % 3 !== 1);
    const kept = visible.map((v, k) => (v ? k : -1)).filter((k) => k >= 0);
    const dense = Float32Array.from(
      { length: 4 * kept.length },
      (_, i) => xd[Math.floor(i / kept.length) * S + kept[i % kept.length]],
    );
    const w = tensor(randomArray(4, 8), [4]);
    const b = tensor(randomArray(4, 9), [4]);
    const mask = tensor(Uint32Array.from(visible, Number), [1, 1, 2, 3, 5]);
    const sparse = await groupNorm(tensor(xd, shape), 2, w, b, { mask }).toArray();
    const compact = await groupNorm(tensor(dense, [1, 4, kept.length]), 2, w, b).toArray();
    const gathered = Float32Array.from(
      { length: 4 * kept.length },
      (_, i) => sparse[Math.floor(i / kept.length) * S + kept[i % kept.length]],
    );
    expectAllClose(gathered, compact, 1e-6, 'gathered sparse vs dense');
  });
});

describe('gradients vs finite differences', () => {
  const small: Case[] = [
    {
      name: 'layerNorm channels masked',
      shape: [2, 3, 2, 2, 1],
      C: 3,
      affine: true,
      mask: { shape: [2, 1, 2, 2, 1], dtype: 'u32' },
      ...ln('channels'),
    },
    { name: 'layerNorm last', shape: [3, 4], C: 4, affine: true, ...ln('last') },
    {
      name: 'groupNorm masked',
      shape: [2, 4, 1, 2, 3],
      C: 4,
      affine: true,
      mask: { shape: [2, 1, 1, 2, 3], dtype: 'u32' },
      ...gn(2),
    },
    { name: 'instanceNorm3d', shape: [1, 2, 2, 2, 2], C: 2, affine: true, ...inorm },
    {
      name: 'batchNorm3d masked',
      shape: [2, 2, 1, 2, 3],
      C: 2,
      affine: true,
      mask: { shape: [2, 1, 1, 2, 3], dtype: 'u32' },
      ...bn,
    },
  ];
  it.each(small.map((c, i) => [c.name, c, i] as const))(
    '%s: analytic reference and GPU match central differences',
    async (_n, c, i) => {
      using _scope = scope();
      const n = numelOf(c.shape);
      const xd = randomNormal(n, 50 + i);
      const wd = randomArray(c.C, 60 + i, 0.5, 1.5);
      const bd = randomArray(c.C, 70 + i);
      const dout = randomArray(n, 80 + i);
      const maskData = c.mask ? { data: randomMask(c.mask, 90 + i), shape: c.mask.shape } : null;
      const f = ([xv, wv, bv]: Float64Array[]) =>
        c.ref({ data: xv, shape: c.shape }, wv as unknown as Float32Array, bv as unknown as Float32Array, maskData);
      const numeric = finiteDifferences(f, [Float64Array.from(xd), Float64Array.from(wd), Float64Array.from(bd)], dout);
      const analytic = c.grad({ data: xd, shape: c.shape }, wd, bd, dout, maskData);
      expectAllClose(analytic.x, numeric[0], 1e-6, `${c.name} reference dx`);
      expectAllClose(analytic.weight!, numeric[1], 1e-6, `${c.name} reference dw`);
      expectAllClose(analytic.bias!, numeric[2], 1e-6, `${c.name} reference db`);
      const x = tensor(xd, c.shape).requireGrad();
      const w = tensor(wd, [c.C]).requireGrad();
      const b = tensor(bd, [c.C]).requireGrad();
      const mask = maskData ? tensor(Uint32Array.from(maskData.data), maskData.shape) : null;
      c.gpu(x, w, b, mask).backward(tensor(dout, c.shape));
      expectAllClose(await x.grad!.toArray(), numeric[0], TOLERANCE.finiteDifference, `${c.name} gpu dx`);
      expectAllClose(await w.grad!.toArray(), numeric[1], TOLERANCE.finiteDifference, `${c.name} gpu dw`);
      expectAllClose(await b.grad!.toArray(), numeric[2], TOLERANCE.finiteDifference, `${c.name} gpu db`);
    },
  );
});

describe('batchNorm3d running statistics', () => {
  const shape = [2, 3, 3, 4, 5];
  const n = numelOf(shape);
  it.each([
    ['dense', null],
    ['masked', [2, 1, 3, 4, 5]],
  ] as const)('training updates running stats in place (%s)', async (_label, maskShape) => {
    using _scope = scope();
    const xd = randomNormal(n, 11);
    for (let i = 0; i < n; i++) xd[i] = Math.fround(xd[i] * 2 + 1);
    const rm0 = randomArray(3, 12);
    const rv0 = randomArray(3, 13, 0.5, 2);
    const maskData = maskShape
      ? { data: randomMask({ shape: [...maskShape], dtype: 'u32' }, 14), shape: [...maskShape] }
      : null;
    const rm = tensor(rm0, [3]);
    const rv = tensor(rv0, [3]);
    const mask = maskData ? tensor(Uint32Array.from(maskData.data), maskData.shape) : null;
    const options = { training: true, momentum: 0.3, mask } as const;
    const y = batchNorm3d(tensor(xd, shape), rm, rv, null, null, options);
    const ref = batchNorm3dRef({ data: xd, shape }, rm0, rv0, null, null, { ...options, mask: maskData });
    expectAllClose(await y.toArray(), ref.out, FWD, 'out');
    expectAllClose(await rm.toArray(), ref.runningMean!, 1e-5, 'running mean');
    expectAllClose(await rv.toArray(), ref.runningVar!, 1e-5, 'running var');
    expect(Math.abs((await rv.toArray())[0] - rv0[0])).toBeGreaterThan(1e-3);
  });

  it('eval uses the running stats (forward and backward), and leaves them unchanged', async () => {
    using _scope = scope();
    const xd = randomNormal(n, 21);
    const rm0 = randomArray(3, 22);
    const rv0 = randomArray(3, 23, 0.5, 2);
    const wd = randomArray(3, 24);
    const bd = randomArray(3, 25);
    const dout = randomArray(n, 26);
    const maskData = { data: randomMask({ shape: [2, 1, 3, 4, 5], dtype: 'u32' }, 27), shape: [2, 1, 3, 4, 5] };
    const rm = tensor(rm0, [3]);
    const rv = tensor(rv0, [3]);
    const x = tensor(xd, shape).requireGrad();
    const w = tensor(wd, [3]).requireGrad();
    const b = tensor(bd, [3]).requireGrad();
    const mask = tensor(Uint32Array.from(maskData.data), maskData.shape);
    const y = batchNorm3d(x, rm, rv, w, b, { training: false, mask });
    const opts = { training: false, mask: maskData };
    expectAllClose(await y.toArray(), batchNorm3dRef({ data: xd, shape }, rm0, rv0, wd, bd, opts).out, FWD, 'eval out');
    y.backward(tensor(dout, shape));
    const g = batchNorm3dGradRef({ data: xd, shape }, rm0, rv0, wd, bd, dout, opts);
    expectAllClose(await x.grad!.toArray(), g.x, GRAD, 'eval dx');
    expectAllClose(await w.grad!.toArray(), g.weight!, GRAD, 'eval dw');
    expectAllClose(await b.grad!.toArray(), g.bias!, GRAD, 'eval db');
    expect(Array.from(await rm.toArray())).toEqual(Array.from(rm0));
    expect(Array.from(await rv.toArray())).toEqual(Array.from(rv0));
  });
});

describe('layouts', () => {
  it('reads non-contiguous and offset views', async () => {
    using _scope = scope();
    const shape = [2, 3, 4, 5, 6];
    const base = randomNormal(2 * 4 * 5 * 6 * 3, 31);
    const channelsLast = tensor(base, [2, 4, 5, 6, 3]);
    const view = permute(channelsLast, [0, 4, 1, 2, 3]);
    const xd = Float32Array.from(await view.toArray());
    const wd = randomArray(3, 32);
    const w = tensor(wd, [3]);
    expectAllClose(
      await groupNorm(view, 3, w, null).toArray(),
      groupNormRef({ data: xd, shape }, 3, wd, null),
      FWD,
      'groupNorm',
    );
    expectAllClose(
      await layerNorm(view, w, null, { axis: 'channels' }).toArray(),
      layerNormRef({ data: xd, shape }, wd, null, { axis: 'channels' }),
      FWD,
      'layerNorm',
    );
    const wide = tensor(randomNormal(5 * 3 * 8, 33), [5, 3, 8]);
    const cut = narrow(wide, 0, 1, 3);
    const cd = Float32Array.from(await cut.toArray());
    expectAllClose(
      await groupNorm(cut, 1).toArray(),
      groupNormRef({ data: cd, shape: [3, 3, 8] }, 1, null, null),
      FWD,
      'offset',
    );
  });

  it('zero-size inputs give empty outputs', async () => {
    using _scope = scope();
    const y = groupNorm(tensor(new Float32Array(0), [2, 4, 0]), 2);
    expect(y.shape).toEqual([2, 4, 0]);
    expect((await y.toArray()).length).toBe(0);
  });

  it('frees its intermediates (no growth over repeated forward + backward)', async () => {
    using _scope = scope();
    const x = tensor(randomNormal(2 * 4 * 64, 41), [2, 4, 4, 4, 4]).requireGrad();
    const w = tensor(randomArray(4, 42), [4]).requireGrad();
    const step = () => {
      using _inner = scope();
      groupNorm(x, 2, w, null).backward(tensor(randomArray(512, 43), [2, 4, 4, 4, 4]));
      x.grad?.dispose();
      x.grad = null;
      w.grad?.dispose();
      w.grad = null;
    };
    step();
    const before = memory().bytesInUse;
    for (let i = 0; i < 3; i++) step();
    expect(memory().bytesInUse).toBe(before);
  });
});

describe('errors', () => {
  it('names the op and the shapes', () => {
    using _scope = scope();
    const x = tensor(randomNormal(2 * 6 * 8, 51), [2, 6, 2, 2, 2]);
    expect(() => groupNorm(x, 4)).toThrow(ShapeError);
    expect(() => groupNorm(x, 4)).toThrow(/groupNorm.*\[2, 6, 2, 2, 2\].*groups = 4/);
    expect(() => groupNorm(x, 3, tensor(randomArray(5, 1), [5]))).toThrow(/groupNorm: weight has shape \[5\]/);
    expect(() => layerNorm(x, null, tensor(randomArray(6, 1), [6]))).toThrow(/layerNorm: bias has shape \[6\]/);
    expect(() => instanceNorm3d(x, null, null, { mask: tensor(new Uint32Array(16), [2, 1, 2, 4]) })).toThrow(
      /instanceNorm3d: mask \[2, 1, 2, 4\] does not broadcast to \[2, 1, 2, 2, 2\]/,
    );
    expect(() =>
      batchNorm3d(x, null, null, null, null, { mask: tensor(new Uint32Array(48), [2, 3, 2, 2, 2]) }),
    ).toThrow(ShapeError);
    expect(() => batchNorm3d(x, tensor(new Float32Array(5), [5]), tensor(new Float32Array(5), [5]))).toThrow(
      /batchNorm3d: runningMean has shape \[5\]/,
    );
    expect(() => batchNorm3d(x, null, null, null, null, { training: false })).toThrow(/eval mode/);
    expect(() => instanceNorm3d(tensor(randomNormal(24, 1), [2, 3, 4]))).toThrow(/expected 5 \(N, C, D, H, W\)/);
  });
});
