import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DTypeError } from '../../runtime/errors.js';
import { fixturesDir, loadFixture, maxRelError, TOLERANCE } from '../../test/index.js';
import { tensor } from '../creation.js';
import { type UnaryOpName as RefOpName, unaryGradRef, unaryRef } from './reference.js';
import { checkOp, type Layout, makeInput, readF64 } from './test-helpers.js';
import { abs, gelu, neg, silu, softplus, UNARY_OPS, type UnaryOpName, unary } from './unary.js';

const OPS = Object.keys(UNARY_OPS) as UnaryOpName[];
/** Ops defined only for positive inputs. */
const POSITIVE = new Set<UnaryOpName>(['log', 'sqrt', 'rsqrt', 'reciprocal']);

const CASES: [number[], Layout][] = [
  [[7], 'contiguous'],
  [[3, 5, 7], 'permuted'],
  [[2, 3, 5], 'sliced'],
  [[4, 1, 6], 'expanded'],
  [[5, 8], 'offset4'],
  [[3, 3], 'offset3'],
  [[2, 0, 3], 'contiguous'],
  [[], 'contiguous'],
  [[1, 1, 1], 'permuted'],
  [[67, 131], 'contiguous'],
];

describe.each(OPS)('%s', (op) => {
  const range = POSITIVE.has(op) ? { low: 0.2, high: 3 } : { low: -4, high: 4 };
  it.each(CASES)('shape %j %s: forward and gradient match the float64 reference', async (shape, layout) => {
    await checkOp({
      name: op,
      inputs: [makeInput(shape, layout, 11 + shape.length, { ...range, requiresGrad: true })],
      run: ([x]) => unary(op, x),
      ref: ([x]) => unaryRef(op as RefOpName, x),
      grad: ([x], g) => [unaryGradRef(op as RefOpName, x, g)],
    });
  });
});

describe('unary: wide input ranges', () => {
  it.each(['gelu', 'silu', 'softplus', 'tanh', 'sigmoid', 'exp'] as const)(
    '%s stays accurate on [-30, 30] (tails, softplus threshold)',
    async (op) => {
      await checkOp({
        name: op,
        inputs: [makeInput([9, 37], 'contiguous', 5, { low: -30, high: op === 'exp' ? 5 : 30, requiresGrad: true })],
        run: ([x]) => unary(op, x),
        ref: ([x]) => unaryRef(op, x),
        grad: ([x], g) => [unaryGradRef(op, x, g)],
        finiteDifferences: false,
      });
    },
  );

  it('softplus(x) = log1p(e^x) keeps relative accuracy for very negative x', async () => {
    const values = Float32Array.from([-9, -12, -15, -20, -5, -7.5, -3, -0.001]);
    const x = tensor(values);
    const y = softplus(x);
    const got = await readF64(y);
    values.forEach((v, i) => {
      const want = Math.log1p(Math.exp(v));
      expect(Math.abs(got[i] - want) / want).toBeLessThan(1e-5);
    });
    x.dispose();
    y.dispose();
  });
});

describe('unary: integer dtypes', () => {
  it('neg and abs work on i32', async () => {
    const x = tensor(Int32Array.from([-3, 0, 7, -2147483647, 5]), [5]);
    const n = neg(x);
    const a = abs(x);
    expect(n.dtype).toBe('i32');
    expect([...(await n.toArray())]).toEqual([3, 0, -7, 2147483647, -5]);
    expect([...(await a.toArray())]).toEqual([3, 0, 7, 2147483647, 5]);
    for (const t of [x, n, a]) t.dispose();
  });

  it('exp of i32 and neg of u32 throw a DTypeError naming the op', () => {
    const i = tensor(Int32Array.from([1, 2]), [2]);
    const u = tensor(Uint32Array.from([1, 2]), [2]);
    expect(() => unary('exp', i)).toThrow(DTypeError);
    expect(() => unary('exp', i)).toThrow(/exp.*i32/);
    expect(() => neg(u)).toThrow(/neg.*u32/);
    i.dispose();
    u.dispose();
  });
});

const FIXTURE_OPS = { gelu, silu, softplus } as const;
const fixtureFiles = readdirSync(fixturesDir()).filter((f) => /^(gelu|silu|softplus)__/.test(f));

describe.each(fixtureFiles)('fixture %s', (file) => {
  it('matches PyTorch forward and gradient', async () => {
    const fx = loadFixture(join(fixturesDir(), file));
    const fn = FIXTURE_OPS[fx.op as keyof typeof FIXTURE_OPS];
    const x = fx.tensors.get('x')!;
    const xt = tensor(x.data as Float32Array, x.shape, { requiresGrad: true });
    const y = fn(xt);
    const dout = tensor(fx.tensors.get('dout')!.data as Float32Array, x.shape);
    y.backward(dout);
    const fwd = maxRelError(await y.toArray(), fx.tensors.get('out')!.data);
    const grad = maxRelError(await xt.grad!.toArray(), fx.tensors.get('grad_x')!.data);
    expect(fwd.rel).toBeLessThanOrEqual(TOLERANCE.fixtureForward);
    expect(grad.rel).toBeLessThanOrEqual(TOLERANCE.fixtureGrad);
    for (const t of [xt, y, dout]) t.dispose();
  });
});

it('fixtures for gelu, silu and softplus are present', () => {
  expect(fixtureFiles.length).toBeGreaterThanOrEqual(9);
});
