/**
 * causalConv1d against the float64 reference (forward) and float64 finite differences (gradients), including
 * L < K, L = 1, long L and the PyTorch weight layout. Fixture files are checked in scan/fixtures.test.ts.
 */
import { add, fromTypedArray, mul, ShapeError, scope, sum, transpose, zeros } from '@mim/tensor';
import { expectAllClose, finiteDifferences, randomArray, TOLERANCE } from '@mim/tensor/test';
import { describe, expect, test } from 'vitest';
import { causalConv1d } from './causal-conv1d.js';
import { causalConv1dReference } from './reference.js';

interface ConvCase {
  batch: number;
  dim: number;
  len: number;
  K: number;
  silu: boolean;
  bias: boolean;
}

function problem(c: ConvCase, seed: number) {
  return {
    x: randomArray(c.batch * c.dim * c.len, seed, -2, 2),
    w: randomArray(c.dim * c.K, seed + 1),
    b: c.bias ? randomArray(c.dim, seed + 2) : null,
    g: randomArray(c.batch * c.dim * c.len, seed + 3),
  };
}

async function fused(c: ConvCase, p: ReturnType<typeof problem>) {
  using _ = scope();
  const x = fromTypedArray(p.x, [c.batch, c.dim, c.len]).requireGrad();
  const w = fromTypedArray(p.w, [c.dim, c.K]).requireGrad();
  const b = p.b ? fromTypedArray(p.b, [c.dim]).requireGrad() : null;
  const out = causalConv1d(x, w, b, { activation: c.silu ? 'silu' : null });
  sum(mul(out, fromTypedArray(p.g, [c.batch, c.dim, c.len]))).backward();
  return {
    out: await out.toArray(),
    dx: await x.grad!.toArray(),
    dw: await w.grad!.toArray(),
    db: b ? await b.grad!.toArray() : null,
  };
}

const CASES: ConvCase[] = [
  { batch: 2, dim: 8, len: 37, K: 4, silu: true, bias: true },
  { batch: 1, dim: 3, len: 1, K: 4, silu: true, bias: true },
  { batch: 1, dim: 5, len: 3, K: 4, silu: false, bias: true },
  { batch: 2, dim: 6, len: 64, K: 2, silu: true, bias: false },
  { batch: 1, dim: 4, len: 9, K: 1, silu: false, bias: true },
  { batch: 2, dim: 3, len: 700, K: 3, silu: true, bias: true },
];

describe('causalConv1d', () => {
  test.each(CASES)('forward and gradients %o', async (c) => {
    const p = problem(c, c.len * 7 + c.K);
    const got = await fused(c, p);
    const sizes = { batch: c.batch, dim: c.dim, len: c.len, K: c.K };
    const act = c.silu ? 'silu' : null;
    const f = (xs: Float64Array[]) => causalConv1dReference(xs[0], xs[1], c.bias ? xs[2] : null, sizes, act);
    expectAllClose(
      got.out,
      f([Float64Array.from(p.x), Float64Array.from(p.w), Float64Array.from(p.b ?? [])]),
      TOLERANCE.fixtureForward,
      'out',
    );
    const inputs = [Float64Array.from(p.x), Float64Array.from(p.w), Float64Array.from(p.b ?? [])];
    const numeric = finiteDifferences(f, inputs, p.g);
    expectAllClose(got.dx, numeric[0], TOLERANCE.finiteDifference, 'dx');
    expectAllClose(got.dw, numeric[1], TOLERANCE.finiteDifference, 'dweight');
    if (got.db) expectAllClose(got.db, numeric[2], TOLERANCE.finiteDifference, 'dbias');
  });

  test('accepts the PyTorch weight layout (dim, 1, K) and strided inputs', async () => {
    using _ = scope();
    const c = { batch: 2, dim: 4, len: 11, K: 3 };
    const p = problem({ ...c, silu: true, bias: true }, 5);
    const xT = transpose(fromTypedArray(p.x, [c.batch, c.len, c.dim]), 1, 2);
    const w3 = fromTypedArray(p.w, [c.dim, 1, c.K]).requireGrad();
    const out = causalConv1d(xT, w3, fromTypedArray(p.b!, [c.dim]), { activation: 'silu' });
    const xRowMajor = await add(xT, 0).toArray();
    const ref = causalConv1dReference(xRowMajor, p.w, p.b, c, 'silu');
    expectAllClose(await out.toArray(), ref, TOLERANCE.fixtureForward, 'out');
    sum(out).backward();
    expect(w3.grad!.shape).toEqual([c.dim, 1, c.K]);
  });

  test('bad shapes throw ShapeError', () => {
    using _ = scope();
    expect(() => causalConv1d(zeros([2, 3]), zeros([3, 4]))).toThrow(ShapeError);
    expect(() => causalConv1d(zeros([1, 3, 5]), zeros([4, 4]))).toThrow(/weight/);
    expect(() => causalConv1d(zeros([1, 3, 5]), zeros([3, 4]), zeros([4]))).toThrow(/bias/);
  });
});
