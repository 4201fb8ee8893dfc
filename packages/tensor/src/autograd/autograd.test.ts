import { describe, expect, it } from 'vitest';
import { tensor } from '../ops/creation.js';
import { add, cast, mul, sub } from '../ops/elementwise/binary.js';
import { exp, square, tanh } from '../ops/elementwise/unary.js';
import { expand, reshape, slice } from '../ops/movement/views.js';
import { sum } from '../ops/reduce/reduce.js';
import { DTypeError, MimError } from '../runtime/errors.js';
import { scope } from '../scope.js';
import type { Tensor } from '../tensor.js';
import { expectAllClose, randomArray, TOLERANCE } from '../test/index.js';
import { isGradEnabled, noGrad } from './grad-mode.js';

async function values(t: Tensor): Promise<number[]> {
  return [...(await t.toArray())];
}

function leaf(data: Float32Array | number[], shape: number[]): Tensor {
  return tensor(Float32Array.from(data), shape, { requiresGrad: true });
}

describe('autograd', () => {
  it('accumulates into .grad across two backward calls (and across two graphs)', async () => {
    const xv = randomArray(5, 1);
    const x = leaf(xv, [5]);
    const y1 = sum(square(x));
    y1.backward();
    expectAllClose(
      await values(x.grad!),
      [...xv].map((v) => 2 * v),
      TOLERANCE.elementwise,
    );
    const y2 = sum(mul(x, 3));
    y2.backward();
    expectAllClose(
      await values(x.grad!),
      [...xv].map((v) => 2 * v + 3),
      TOLERANCE.elementwise,
    );
    for (const t of [x, y1, y2]) t.dispose();
  });

  it('a tensor used twice gets the sum of both paths', async () => {
    const xv = randomArray(6, 2);
    const x = leaf(xv, [2, 3]);
    const y = mul(x, x);
    const z = add(x, x);
    const loss = sum(add(y, z));
    loss.backward();
    expectAllClose(
      await values(x.grad!),
      [...xv].map((v) => 2 * v + 2),
      TOLERANCE.elementwise,
    );
    for (const t of [x, y, z, loss]) t.dispose();
  });

  it('multi-path (diamond) graph: d/dx Σ (e^x + e^x·x) = e^x (2 + x)', async () => {
    const xv = randomArray(7, 3);
    const x = leaf(xv, [7]);
    const a = exp(x);
    const b = mul(a, x);
    const c = add(a, b);
    const loss = sum(c);
    loss.backward();
    expectAllClose(
      await values(x.grad!),
      [...xv].map((v) => Math.exp(v) * (2 + v)),
      TOLERANCE.elementwise,
    );
    for (const t of [x, a, b, c, loss]) t.dispose();
  });

  it('noGrad records nothing and restores grad mode (also when the function throws)', async () => {
    const x = leaf([1, 2, 3], [3]);
    const y = noGrad(() => mul(x, 2));
    expect(y.requiresGrad).toBe(false);
    expect(y.gradFn).toBeNull();
    expect(() =>
      noGrad(() => {
        throw new Error('inside');
      }),
    ).toThrow('inside');
    expect(isGradEnabled()).toBe(true);
    const z = mul(x, 2);
    expect(z.requiresGrad).toBe(true);
    for (const t of [x, y, z]) t.dispose();
  });

  it('detach cuts the graph: gradient flows only through the attached path', async () => {
    const x = leaf([1, 2, 3], [3]);
    const d = x.detach();
    expect(d.requiresGrad).toBe(false);
    const loss = sum(add(mul(x, 2), mul(d, 5)));
    loss.backward();
    expect(await values(x.grad!)).toEqual([2, 2, 2]);
    for (const t of [x, d, loss]) t.dispose();
  });

  it('backward twice without retainGraph gives a clear error; with retainGraph it accumulates', async () => {
    const x = leaf([1, 2], [2]);
    const loss = sum(square(x));
    loss.backward();
    expect(() => loss.backward()).toThrow(MimError);
    expect(() => loss.backward()).toThrow(/already back-propagated.*retainGraph/);
    const kept = sum(square(x));
    kept.backward(undefined, { retainGraph: true });
    kept.backward();
    // 2x from the first graph + 2 · 2x from the retained one.
    expect(await values(x.grad!)).toEqual([6, 12]);
    for (const t of [x, loss, kept]) t.dispose();
  });

  it('non-scalar outputs need gradOutput of the same shape', async () => {
    const x = leaf([1, 2, 3, 4], [2, 2]);
    const y = mul(x, 3);
    expect(() => y.backward()).toThrow(/backward.*\[2, 2\].*gradOutput/);
    const wrong = tensor([1, 1], [2]);
    expect(() => y.backward(wrong)).toThrow(/gradOutput \[2\].*\[2, 2\]/);
    const g = tensor([1, 2, 3, 4], [2, 2]);
    y.backward(g);
    expect(await values(x.grad!)).toEqual([3, 6, 9, 12]);
    for (const t of [x, y, wrong, g]) t.dispose();
  });

  it('backward of a leaf accumulates the seed; a tensor without grad refuses backward', async () => {
    const x = leaf([1, 2], [2]);
    x.backward(tensor([5, 6]));
    expect(await values(x.grad!)).toEqual([5, 6]);
    const c = tensor([1, 2]);
    expect(() => sum(c).backward()).toThrow(/does not require grad/);
    expect(() => {
      tensor(Int32Array.from([1]), [1]).requiresGrad = true;
    }).toThrow(DTypeError);
    x.dispose();
    c.dispose();
  });

  it('views in the graph: expand, slice and reshape route gradients back', async () => {
    const b = leaf([1, 2, 3], [3]);
    const x = leaf(randomArray(12, 4), [4, 3]);
    const wide = expand(b, [4, 3]);
    const y = mul(x, wide);
    const rows = slice(y, [{ start: 1, step: 2 }]);
    const flat = reshape(rows, [6]);
    const loss = sum(flat);
    loss.backward();
    const xv = await values(x);
    // d/db_j = Σ over rows 1 and 3 of x[i, j]
    const want = [0, 1, 2].map((j) => xv[3 + j] + xv[9 + j]);
    expectAllClose(await values(b.grad!), want, TOLERANCE.elementwise);
    expect(await values(x.grad!)).toEqual([0, 0, 0, 1, 2, 3, 0, 0, 0, 1, 2, 3]);
    for (const t of [b, x, wide, y, rows, flat, loss]) t.dispose();
  });

  it('intermediates disposed before backward still pass their gradients', async () => {
    const xv = randomArray(5, 5);
    const x = leaf(xv, [5]);
    const w = leaf([0.5, -1, 2, 1.5, 3], [5]);
    const h = mul(x, w);
    const t = tanh(h);
    const loss = sum(mul(t, h));
    h.dispose();
    t.dispose();
    loss.backward();
    // L = Σ tanh(h)·h, dL/dh = tanh(h) + h(1 − tanh²h)
    const wv = [0.5, -1, 2, 1.5, 3];
    const dh = [...xv].map((v, i) => {
      const hv = v * wv[i];
      return Math.tanh(hv) + hv * (1 - Math.tanh(hv) ** 2);
    });
    expectAllClose(
      await values(x.grad!),
      dh.map((d, i) => d * wv[i]),
      TOLERANCE.elementwise,
    );
    expectAllClose(
      await values(w.grad!),
      dh.map((d, i) => d * xv[i]),
      TOLERANCE.elementwise,
    );
    for (const v of [x, w, loss]) v.dispose();
  });

  it('a loss built inside a scope and kept back-propagates after the scope closed', async () => {
    const x = leaf([1, 2, 3], [3]);
    let loss: Tensor;
    {
      using s = scope();
      const y = square(sub(x, 1));
      loss = s.keep(sum(y));
    }
    loss.backward();
    expect(await values(x.grad!)).toEqual([0, 2, 4]);
    x.dispose();
    loss.dispose();
  });

  it('no gradient flows into integer results; casting back to f32 does not reconnect', async () => {
    const x = leaf([1.5, 2.5], [2]);
    const i = cast(x, 'i32');
    expect(i.requiresGrad).toBe(false);
    const f = cast(i, 'f32');
    expect(f.requiresGrad).toBe(false);
    for (const t of [x, i, f]) t.dispose();
  });

  it('backward on a disposed tensor names the problem', () => {
    const x = leaf([1], [1]);
    const y = mul(x, 2);
    y.dispose();
    expect(() => y.backward()).toThrow(/backward.*dispose/);
    x.dispose();
  });
});
