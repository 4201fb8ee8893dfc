import { describe, expect, it } from 'vitest';
import { noGrad } from './autograd/grad-mode.js';
import { memory } from './memory.js';
import { tensor } from './ops/creation.js';
import { add, mul, sub } from './ops/elementwise/binary.js';
import { exp, square, tanh } from './ops/elementwise/unary.js';
import { expand } from './ops/movement/views.js';
import { mean, sum } from './ops/reduce/reduce.js';
import { keep, scope, tidy } from './scope.js';
import type { Tensor } from './tensor.js';
import { randomArray, randomNormal } from './test/index.js';

const inUse = (): number => memory().bytesInUse;

describe('scopes', () => {
  it('tidy() frees intermediates and keeps the result (also inside arrays and objects)', async () => {
    const x = tensor(randomArray(1000, 1), [10, 100]);
    const baseline = inUse();
    const result = tidy(() => {
      const a = exp(x);
      const b = mul(a, 2);
      return { out: add(b, 1), list: [sum(b)] };
    });
    expect(inUse()).toBeGreaterThan(baseline);
    expect(result.out.isDisposed).toBe(false);
    expect(result.list[0].isDisposed).toBe(false);
    result.out.dispose();
    result.list[0].dispose();
    expect(inUse()).toBe(baseline);
    x.dispose();
  });

  it('using s = scope() frees everything created in the block except kept tensors', async () => {
    const x = tensor(randomArray(300, 2), [300]);
    const baseline = inUse();
    let kept: Tensor;
    let global: Tensor;
    let freed: Tensor;
    {
      using s = scope();
      freed = square(x);
      kept = s.keep(add(freed, 1));
      global = keep(mul(freed, 3));
    }
    expect(freed.isDisposed).toBe(true);
    expect(kept.isDisposed).toBe(false);
    expect(global.isDisposed).toBe(false);
    const xv = await x.toArray();
    expect((await kept.toArray())[7]).toBeCloseTo(xv[7] * xv[7] + 1, 5);
    kept.dispose();
    global.dispose();
    expect(inUse()).toBe(baseline);
    x.dispose();
  });

  it('scope.keep moves a tensor to the enclosing scope; nested scopes free in order', () => {
    const baseline = inUse();
    let inner: Tensor;
    {
      using outer = scope();
      {
        using s = scope();
        inner = s.keep(tensor([1, 2, 3]));
      }
      expect(inner.isDisposed).toBe(false);
      void outer;
    }
    expect(inner.isDisposed).toBe(true);
    expect(inUse()).toBe(baseline);
  });

  it('tidy frees what it created when the function throws', () => {
    const baseline = inUse();
    expect(() =>
      tidy(() => {
        tensor(randomArray(64, 3));
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(inUse()).toBe(baseline);
  });

  it('dispose twice is safe and does not free memory twice; views keep shared storage alive', async () => {
    const baseline = inUse();
    const x = tensor(randomArray(100, 4), [10, 10]);
    const one = tensor([1], [1, 1]);
    const view = expand(one, [10, 10]);
    one.dispose();
    const after = inUse();
    const d = x.detach();
    x.dispose();
    x.dispose();
    expect(inUse()).toBe(after);
    expect((await d.toArray()).length).toBe(100);
    d.dispose();
    d.dispose();
    view.dispose();
    view.dispose();
    expect(inUse()).toBe(baseline);
  });

  it('a training-style loop (forward, backward, SGD step with new parameters) holds memory flat for 200 steps', async () => {
    const target = tensor(randomNormal(16 * 8, 5), [16, 8]);
    const x = tensor(randomNormal(16 * 8, 6), [16, 8]);
    let w = tensor(randomNormal(8, 7, 0.5), [8], { requiresGrad: true });
    let b = tensor(new Float32Array(8).fill(0.1), [8], { requiresGrad: true });
    const lr = 0.1;
    let afterFirst = 0;
    let firstLoss = 0;
    let lastLoss = 0;
    for (let step = 0; step < 200; step++) {
      const loss = tidy(() => mean(square(sub(tanh(add(mul(x, w), b)), target))));
      loss.backward();
      if (step === 0) firstLoss = await loss.item();
      if (step === 199) lastLoss = await loss.item();
      loss.dispose();
      const [w2, b2] = tidy(() => noGrad(() => [sub(w, mul(w.grad!, lr)), sub(b, mul(b.grad!, lr))]));
      w.dispose();
      b.dispose();
      w = w2.requireGrad();
      b = b2.requireGrad();
      if (step === 0) afterFirst = inUse();
    }
    expect(inUse()).toBe(afterFirst);
    expect(lastLoss).toBeLessThan(firstLoss);
    for (const t of [target, x, w, b]) t.dispose();
  });
});
