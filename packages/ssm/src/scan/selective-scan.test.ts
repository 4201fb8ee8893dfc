/**
 * selectiveScan against the float64 reference (forward), the composite selectiveScanRef (every gradient, same
 * upstream), float64 finite differences (small sizes), the chunk-chaining property, long sequences and the
 * memory bound. Fixture files are checked in fixtures.test.ts.
 */
import {
  add,
  concat,
  fromTypedArray,
  gpuContext,
  init,
  memory,
  mul,
  narrow,
  resetPeakBytes,
  ShapeError,
  scope,
  sum,
  sync,
  type Tensor,
  transpose,
  zeros,
} from '@mim/tensor';
import { expectAllClose, finiteDifferences, randomArray, TOLERANCE } from '@mim/tensor/test';
import { describe, expect, test } from 'vitest';
import { selectiveScanReference } from './reference.js';
import {
  makeProblem,
  referenceInput,
  runReference,
  type ScanCase,
  type ScanProblem,
  type ScanTensors,
  uploadProblem,
} from './scan-test-helpers.js';
import { planScan, type SelectiveScanOptions, selectiveScan } from './selective-scan.js';
import { selectiveScanRef } from './selective-scan-ref.js';

type ScanFn = typeof selectiveScan;

function run(fn: ScanFn, t: ScanTensors, p: ScanProblem, extra: SelectiveScanOptions = {}) {
  return fn(t.u, t.delta, t.A, t.B, t.C, {
    D: t.D,
    z: t.z,
    deltaBias: t.deltaBias,
    deltaSoftplus: p.spec.softplus,
    initialState: t.initialState,
    ...extra,
    returnLastState: true,
  });
}

const NAMES = ['u', 'delta', 'A', 'B', 'C', 'D', 'z', 'deltaBias', 'initialState'] as const;

/** Forward + backward of Σ out⊙gOut + Σ last⊙gLast; returns outputs and every input gradient. */
async function forwardBackward(fn: ScanFn, p: ScanProblem, extra: SelectiveScanOptions = {}, withLast = true) {
  using _ = scope();
  const t = uploadProblem(p, true);
  const { batch, dim, len, state } = p.spec;
  const { out, lastState } = run(fn, t, p, extra);
  const gOut = fromTypedArray(randomArray(batch * dim * len, 99), [batch, dim, len]);
  const gLast = fromTypedArray(randomArray(batch * dim * state, 98), [batch, dim, state]);
  const loss = withLast ? add(sum(mul(out, gOut)), sum(mul(lastState, gLast))) : sum(mul(out, gOut));
  loss.backward();
  const grads: Record<string, Float32Array | null> = {};
  for (const name of NAMES) {
    const input = t[name];
    grads[name] = input ? ((await input.grad!.toArray()) as Float32Array) : null;
  }
  return {
    out: (await out.toArray()) as Float32Array,
    lastState: (await lastState.toArray()) as Float32Array,
    grads,
    gOut: (await gOut.toArray()) as Float32Array,
    gLast: (await gLast.toArray()) as Float32Array,
  };
}

const FORWARD_CASES: [string, ScanCase, number | undefined][] = [
  ['default chunking', { batch: 2, dim: 5, len: 37, state: 4 }, undefined],
  ['L = 1', { batch: 2, dim: 3, len: 1, state: 4 }, undefined],
  ['L = 1, chunked', { batch: 1, dim: 3, len: 1, state: 4 }, 8],
  ['L = chunk + 1', { batch: 2, dim: 6, len: 65, state: 8 }, 64],
  ['L not a multiple of the chunk', { batch: 1, dim: 7, len: 203, state: 16 }, 48],
  ['many chunks of one checkpoint', { batch: 1, dim: 4, len: 100, state: 3 }, 1],
  ['dim over one workgroup, odd', { batch: 2, dim: 131, len: 50, state: 16, hasInit: true }, 16],
  ['grouped B/C, G = 2', { batch: 2, dim: 6, len: 40, state: 5, groups: 2, grouped: true }, 16],
  ['grouped B/C, G = 4, 70 channels per group', { batch: 1, dim: 280, len: 33, state: 8, groups: 4, grouped: true }, 8],
  ['grouped layout with G = 1', { batch: 1, dim: 4, len: 20, state: 4, grouped: true }, undefined],
  ['no D, no z', { batch: 2, dim: 5, len: 30, state: 6, hasD: false, hasZ: false }, 8],
  ['no softplus, no bias, positive delta', { batch: 1, dim: 5, len: 30, state: 6, softplus: false, hasBias: false }, 8],
  ['N = 1', { batch: 1, dim: 9, len: 25, state: 1 }, 8],
  ['N = 64', { batch: 1, dim: 9, len: 25, state: 64 }, 8],
];

describe('selectiveScan forward vs the float64 reference', () => {
  test.each(FORWARD_CASES)('%s', async (_, c, chunk) => {
    using _s = scope();
    const p = makeProblem({ ...c, seed: c.len + c.dim });
    const t = uploadProblem(p);
    const { out, lastState } = run(selectiveScan, t, p, { chunkSize: chunk });
    const ref = runReference(p);
    expectAllClose(await out.toArray(), ref.out, TOLERANCE.fixtureForward, 'out');
    expectAllClose(await lastState.toArray(), ref.lastState, TOLERANCE.fixtureForward, 'lastState');
  });

  test('returns a tensor unless returnLastState, and the composite agrees', async () => {
    using _s = scope();
    const p = makeProblem({ batch: 2, dim: 4, len: 23, state: 4, seed: 5 });
    const t = uploadProblem(p);
    const out = selectiveScan(t.u, t.delta, t.A, t.B, t.C, {
      D: t.D,
      z: t.z,
      deltaBias: t.deltaBias,
      deltaSoftplus: true,
    });
    const ref = selectiveScanRef(t.u, t.delta, t.A, t.B, t.C, {
      D: t.D,
      z: t.z,
      deltaBias: t.deltaBias,
      deltaSoftplus: true,
    });
    expect(out.shape).toEqual([2, 4, 23]);
    expectAllClose(await out.toArray(), await ref.toArray(), TOLERANCE.fixtureForward, 'out');
    expectAllClose(await out.toArray(), runReference(p).out, TOLERANCE.fixtureForward, 'out vs f64');
  });

  test('non-contiguous inputs (transposed views) give the same result', async () => {
    using _s = scope();
    const p = makeProblem({ batch: 2, dim: 5, len: 19, state: 4, seed: 8 });
    const t = uploadProblem(p);
    const { batch, dim, len } = p.spec;
    // u stored as (batch, L, dim) and viewed as (batch, dim, L).
    const stored = new Float32Array(batch * dim * len);
    for (let b = 0; b < batch; b++)
      for (let d = 0; d < dim; d++)
        for (let l = 0; l < len; l++) stored[(b * len + l) * dim + d] = p.arrays.u[(b * dim + d) * len + l];
    const uView = transpose(fromTypedArray(stored, [batch, len, dim]), 1, 2);
    expect(uView.isContiguous).toBe(false);
    const viaView = run(selectiveScan, { ...t, u: uView }, p).out;
    expectAllClose(await viaView.toArray(), runReference(p).out, TOLERANCE.fixtureForward, 'out');
  });

  test('long sequences stay finite and accurate (L = 16384)', async () => {
    using _s = scope();
    const p = makeProblem({ batch: 1, dim: 3, len: 16384, state: 16, seed: 3 });
    const t = uploadProblem(p);
    const ref = runReference(p);
    for (const chunk of [undefined, 256]) {
      const { out, lastState } = run(selectiveScan, t, p, { chunkSize: chunk });
      const o = await out.toArray();
      expect(o.every(Number.isFinite)).toBe(true);
      expectAllClose(o, ref.out, TOLERANCE.fixtureForward, 'out');
      expectAllClose(await lastState.toArray(), ref.lastState, TOLERANCE.fixtureForward, 'lastState');
    }
  });

  test('extreme step sizes (softplus above the threshold, tiny deltas) stay finite', async () => {
    using _s = scope();
    const p = makeProblem({ batch: 1, dim: 4, len: 40, state: 8, seed: 4 });
    for (let i = 0; i < p.arrays.delta.length; i++) p.arrays.delta[i] = i % 3 === 0 ? 40 : i % 3 === 1 ? -40 : 0.3;
    const t = uploadProblem(p);
    const { out } = run(selectiveScan, t, p, { chunkSize: 8 });
    const o = await out.toArray();
    expect(o.every(Number.isFinite)).toBe(true);
    expectAllClose(o, runReference(p).out, TOLERANCE.fixtureForward, 'out');
  });
});

const GRAD_CASES: [string, ScanCase, number | undefined][] = [
  ['one chunk', { batch: 2, dim: 5, len: 37, state: 4 }, undefined],
  ['chunked, L = 2·chunk + 1', { batch: 2, dim: 5, len: 33, state: 4, hasInit: true }, 16],
  ['chunk = checkpoint = 1', { batch: 1, dim: 3, len: 9, state: 2 }, 1],
  ['grouped G = 3, odd channels per group', { batch: 2, dim: 9, len: 24, state: 3, groups: 3, grouped: true }, 8],
  [
    'no D, no z, no softplus',
    { batch: 1, dim: 6, len: 20, state: 5, hasD: false, hasZ: false, softplus: false, hasBias: false },
    8,
  ],
  ['two d-blocks per group', { batch: 1, dim: 150, len: 20, state: 16 }, 8],
  ['L = 1', { batch: 2, dim: 3, len: 1, state: 4, hasInit: true }, undefined],
];

describe('selectiveScan gradients vs the composite (autograd through plain ops)', () => {
  test.each(GRAD_CASES)('%s', async (_, c, chunk) => {
    const p = makeProblem({ ...c, seed: 11 + c.len });
    const fused = await forwardBackward(selectiveScan, p, { chunkSize: chunk });
    const composite = await forwardBackward(selectiveScanRef, p);
    expectAllClose(fused.out, composite.out, TOLERANCE.fixtureForward, 'out');
    expectAllClose(fused.lastState, composite.lastState, TOLERANCE.fixtureForward, 'lastState');
    for (const name of NAMES) {
      const a = fused.grads[name];
      const b = composite.grads[name];
      expect(a === null, name).toBe(b === null);
      if (a && b) expectAllClose(a, b, TOLERANCE.fixtureGrad, `grad ${name}`);
    }
  });

  test('the gradient of the last state matters (no dropped dlast_state)', async () => {
    const p = makeProblem({ batch: 1, dim: 4, len: 12, state: 4, seed: 21 });
    const withLast = await forwardBackward(selectiveScan, p, { chunkSize: 4 }, true);
    const withoutLast = await forwardBackward(selectiveScan, p, { chunkSize: 4 }, false);
    const diff = withLast.grads.A!.reduce((m, v, i) => Math.max(m, Math.abs(v - withoutLast.grads.A![i])), 0);
    expect(diff).toBeGreaterThan(1e-3);
  });
});

describe('selectiveScan gradients vs float64 finite differences', () => {
  test.each([
    ['softplus, z, bias, D, initial state', { batch: 1, dim: 3, len: 6, state: 2, hasInit: true }, 2],
    ['grouped, no z', { batch: 2, dim: 4, len: 5, state: 2, groups: 2, grouped: true, hasZ: false }, undefined],
    ['L = 1', { batch: 1, dim: 2, len: 1, state: 3 }, undefined],
  ] as [string, ScanCase, number | undefined][])('%s', async (_, c, chunk) => {
    const p = makeProblem({ ...c, seed: 31 });
    const fused = await forwardBackward(selectiveScan, p, { chunkSize: chunk });
    const present = NAMES.filter((n) => p.arrays[n] !== null);
    const f = (xs: Float64Array[]) => {
      const override: Record<string, Float64Array> = {};
      for (const [i, n] of present.entries()) override[n] = xs[i];
      const r = selectiveScanReference(referenceInput(p, override));
      return [...r.out, ...r.lastState];
    };
    const inputs = present.map((n) => Float64Array.from(p.arrays[n]!));
    const numeric = finiteDifferences(f, inputs, [...fused.gOut, ...fused.gLast]);
    for (const [i, n] of present.entries()) {
      expectAllClose(fused.grads[n]!, numeric[i], TOLERANCE.finiteDifference, `grad ${n}`);
    }
  });
});

describe('selectiveScan properties', () => {
  test('a sequence scans like its two halves chained through the carried state (values and gradients)', async () => {
    const p = makeProblem({ batch: 2, dim: 5, len: 30, state: 4, seed: 41 });
    const { batch, dim, len } = p.spec;
    const whole = await forwardBackward(selectiveScan, p, { chunkSize: 8 });
    using _s = scope();
    const t = uploadProblem(p, true);
    const cut = 13;
    const half = (x: Tensor | null, start: number, n: number) => (x ? narrow(x, -1, start, n) : null);
    const first = selectiveScan(
      half(t.u, 0, cut)!,
      half(t.delta, 0, cut)!,
      t.A,
      half(t.B, 0, cut)!,
      half(t.C, 0, cut)!,
      {
        D: t.D,
        z: half(t.z, 0, cut),
        deltaBias: t.deltaBias,
        deltaSoftplus: true,
        returnLastState: true,
        chunkSize: 4,
      },
    );
    const rest = len - cut;
    const second = selectiveScan(
      half(t.u, cut, rest)!,
      half(t.delta, cut, rest)!,
      t.A,
      half(t.B, cut, rest)!,
      half(t.C, cut, rest)!,
      {
        D: t.D,
        z: half(t.z, cut, rest),
        deltaBias: t.deltaBias,
        deltaSoftplus: true,
        returnLastState: true,
        initialState: first.lastState,
      },
    );
    const out = concat([first.out, second.out], 2);
    expectAllClose(await out.toArray(), whole.out, TOLERANCE.fixtureForward, 'out');
    expectAllClose(await second.lastState.toArray(), whole.lastState, TOLERANCE.fixtureForward, 'lastState');
    const gOut = fromTypedArray(whole.gOut, [batch, dim, len]);
    const gLast = fromTypedArray(whole.gLast, [batch, dim, p.spec.state]);
    add(sum(mul(out, gOut)), sum(mul(second.lastState, gLast))).backward();
    for (const name of ['u', 'delta', 'A', 'B', 'C', 'D', 'z', 'deltaBias'] as const) {
      expectAllClose(await t[name]!.grad!.toArray(), whole.grads[name]!, TOLERANCE.fixtureGrad, `grad ${name}`);
    }
  });

  test('the chunk size does not change the result', async () => {
    const p = makeProblem({ batch: 1, dim: 6, len: 150, state: 8, seed: 51, hasInit: true });
    const base = await forwardBackward(selectiveScan, p, { chunkSize: 150 });
    for (const chunk of [1, 7, 32, 100]) {
      const other = await forwardBackward(selectiveScan, p, { chunkSize: chunk });
      expectAllClose(other.out, base.out, 1e-5, `out, chunk ${chunk}`);
      for (const name of NAMES)
        expectAllClose(other.grads[name]!, base.grads[name]!, 1e-4, `grad ${name}, chunk ${chunk}`);
    }
  });

  test('forward + backward at L = 16384 is finite', async () => {
    const p = makeProblem({ batch: 1, dim: 4, len: 16384, state: 16, seed: 61 });
    for (const chunk of [undefined, 256]) {
      const r = await forwardBackward(selectiveScan, p, { chunkSize: chunk });
      for (const name of NAMES) {
        const g = r.grads[name];
        if (g) expect(g.every(Number.isFinite), name).toBe(true);
      }
    }
  });
});

const VECTOR_CASES: [string, ScanCase, number | undefined][] = [
  ['L = 4, one vec4', { batch: 2, dim: 5, len: 4, state: 4, hasInit: true }, undefined],
  ['L not a multiple of the chunk', { batch: 1, dim: 7, len: 200, state: 16, hasInit: true }, 48],
  ['many chunks of one checkpoint of 4 steps', { batch: 1, dim: 4, len: 36, state: 3 }, 4],
  ['dim below one subgroup, N = 1', { batch: 2, dim: 3, len: 24, state: 1 }, 8],
  ['N not a multiple of the subgroup', { batch: 1, dim: 9, len: 40, state: 12 }, 16],
  ['two d-blocks, odd', { batch: 1, dim: 131, len: 32, state: 16 }, 16],
  [
    'grouped B/C, 70 channels per group, no z',
    { batch: 1, dim: 280, len: 12, state: 8, groups: 4, grouped: true, hasZ: false },
    undefined,
  ],
  [
    'no softplus, no bias, no D',
    { batch: 1, dim: 5, len: 28, state: 6, softplus: false, hasBias: false, hasD: false },
    8,
  ],
];

await init(); // before collection: whether the adapter has subgroups decides which tests run
describe.skipIf(!gpuContext().hasSubgroups)('selectiveScan vec4 kernels (subgroup-shared B and C)', () => {
  const plan = (c: ScanCase, chunk: number | undefined, vectorize: boolean) =>
    planScan({ ...c, groups: c.groups ?? 1, ungrouped: !c.grouped }, true, chunk, vectorize);

  test('are planned only where L and the chunk are multiples of 4', () => {
    const c = { batch: 1, dim: 4, len: 40, state: 4 };
    expect(plan(c, undefined, true).subgroup).toBeGreaterThan(0);
    expect(plan(c, undefined, false).subgroup).toBe(0);
    expect(plan({ ...c, len: 37 }, undefined, true).subgroup).toBe(0);
    expect(plan({ ...c, len: 1 }, undefined, true).subgroup).toBe(0);
    expect(plan(c, 2, true).subgroup).toBe(0); // checkpoint stride 2
    expect(plan({ ...c, dim: 2 }, 8, true).wgDim).toBeGreaterThanOrEqual(plan({ ...c, dim: 2 }, 8, true).subgroup);
  });

  test.each(VECTOR_CASES)('forward, %s: same as the float64 reference and the scalar kernels', async (_, c, chunk) => {
    using _s = scope();
    const p = makeProblem({ ...c, seed: 7 + c.len + c.dim });
    const t = uploadProblem(p);
    expect(plan(c, chunk, true).subgroup).toBeGreaterThan(0);
    const vector = run(selectiveScan, t, p, { chunkSize: chunk, vectorize: true });
    const scalar = run(selectiveScan, t, p, { chunkSize: chunk, vectorize: false });
    const ref = runReference(p);
    expectAllClose(await vector.out.toArray(), ref.out, TOLERANCE.fixtureForward, 'out');
    expectAllClose(await vector.lastState.toArray(), ref.lastState, TOLERANCE.fixtureForward, 'lastState');
    expectAllClose(await vector.out.toArray(), await scalar.out.toArray(), 1e-5, 'out vs scalar kernels');
  });

  test.each(VECTOR_CASES)('gradients, %s: same as with the scalar kernels', async (_, c, chunk) => {
    const p = makeProblem({ ...c, seed: 17 + c.len });
    const vector = await forwardBackward(selectiveScan, p, { chunkSize: chunk, vectorize: true });
    const scalar = await forwardBackward(selectiveScan, p, { chunkSize: chunk, vectorize: false });
    for (const name of NAMES) {
      const a = vector.grads[name];
      if (a) expectAllClose(a, scalar.grads[name]!, 1e-4, `grad ${name}`);
    }
  });
});

describe('selectiveScan memory', () => {
  /** Peak bytes above the inputs of one forward + backward. */
  async function peakExtra(c: ScanCase, chunk: number): Promise<number> {
    using _s = scope();
    const p = makeProblem(c);
    const t = uploadProblem(p, true);
    const gOut = fromTypedArray(randomArray(c.batch * c.dim * c.len, 1), [c.batch, c.dim, c.len]);
    await sync();
    const before = memory().bytesInUse;
    resetPeakBytes();
    const { out, lastState } = run(selectiveScan, t, p, { chunkSize: chunk });
    add(sum(mul(out, gOut)), sum(lastState)).backward();
    await sync();
    return memory().peakBytes - before;
  }

  test('peak extra memory of forward + backward is O(B·D·L + B·N·L + D·N + B·D·N·L/T), not O(B·D·L·N)', async () => {
    const c = { batch: 1, dim: 64, len: 2048, state: 32, seed: 71 };
    const peak = await peakExtra(c, 256);
    const { batch: b, dim: d, len: l, state: n } = c;
    const fullStates = 4 * b * d * l * n;
    const checkpointStride = 16; // the stride planScan picks for N = 32
    const bound = 4 * (16 * b * d * l + 32 * b * n * l + 8 * d * n + 2 * ((b * d * n * l) / checkpointStride));
    expect(peak).toBeLessThanOrEqual(bound);
    expect(peak).toBeLessThan(fullStates / 2);
    // Quadrupling N grows the peak far less than 4× (the state tensor is never stored).
    const peak8 = await peakExtra({ ...c, state: 8 }, 256);
    expect(peak / peak8).toBeLessThan(2);
  });
});

describe('selectiveScan input checks', () => {
  test('wrong shapes throw ShapeError naming the tensor', () => {
    using _s = scope();
    const u = zeros([1, 4, 5]);
    const A = zeros([4, 3]);
    const B = zeros([1, 3, 5]);
    expect(() => selectiveScan(u, zeros([1, 4, 6]), A, B, B)).toThrow(/delta/);
    expect(() => selectiveScan(u, u, zeros([3, 3]), B, B)).toThrow(ShapeError);
    expect(() => selectiveScan(u, u, A, zeros([1, 3, 4]), B)).toThrow(/B has shape/);
    expect(() => selectiveScan(u, u, A, zeros([1, 3, 3, 5]), zeros([1, 3, 3, 5]))).toThrow(/divisible/);
    expect(() => selectiveScan(u, u, A, B, B, { D: zeros([3]) })).toThrow(/D has shape/);
    expect(() => selectiveScan(u, u, A, zeros([4, 3]), B)).toThrow(/constant/);
  });

  test('zero-length sequences give empty outputs and the initial state', async () => {
    using _s = scope();
    const h0 = fromTypedArray(randomArray(6, 1), [1, 2, 3]);
    const r = selectiveScan(zeros([1, 2, 0]), zeros([1, 2, 0]), zeros([2, 3]), zeros([1, 3, 0]), zeros([1, 3, 0]), {
      returnLastState: true,
      initialState: h0,
    });
    expect(r.out.shape).toEqual([1, 2, 0]);
    expect(Array.from(await r.lastState.toArray())).toEqual(Array.from(await h0.toArray()));
  });
});
