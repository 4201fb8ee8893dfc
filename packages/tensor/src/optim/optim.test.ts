import { describe, expect, it } from 'vitest';
import { Linear } from '../nn/layers.js';
import { tensor } from '../ops/creation.js';
import type { Tensor } from '../tensor.js';
import { expectAllClose, randomArray } from '../test/index.js';
import { AdamW } from './adamw.js';
import { clipGradNorm } from './clip.js';
import { LAMB } from './lamb.js';
import { paramGroupsNoDecay } from './optimizer.js';
import { adamwStepRef, lambStepRef, sgdStepRef } from './reference.js';
import { warmupCosine } from './schedule.js';
import { SGD } from './sgd.js';

/** Three steps with fixed random gradients; sizes cover the vec4 (n % 4 == 0) and scalar kernel paths. */
async function runSteps(
  make: (params: [string, Tensor][]) => { step(): void },
  refStep: (p: Float64Array, g: Float32Array, state: Float64Array[], step: number) => void,
  sizes = [12, 7],
) {
  const inits = sizes.map((n, k) => randomArray(n, 100 + k));
  const params = inits.map((d, k) => ['p' + k, tensor(d, [d.length]).requireGrad()] as [string, Tensor]);
  const opt = make(params);
  const refs = inits.map((d) => Float64Array.from(d));
  const states = sizes.map((n) => [new Float64Array(n), new Float64Array(n)]);
  for (let step = 1; step <= 3; step++) {
    params.forEach(([, p], k) => {
      const g = randomArray(sizes[k], step * 10 + k);
      p.grad = tensor(g, [sizes[k]]).keep();
      refStep(refs[k], g, states[k], step);
    });
    opt.step();
  }
  for (let k = 0; k < sizes.length; k++) expectAllClose(await params[k][1].toArray(), refs[k], 1e-5, `param ${k}`);
}

describe('optimisers match float64 torch semantics', () => {
  it('AdamW with weight decay', async () => {
    const o = { lr: 0.05, betas: [0.9, 0.99] as [number, number], eps: 1e-8, weightDecay: 0.1 };
    await runSteps(
      (params) => new AdamW(params, o),
      (p, g, [m, v], step) => adamwStepRef(p, g, m, v, step, o),
    );
  });
  it.each([
    { momentum: 0, nesterov: false, dampening: 0 },
    { momentum: 0.9, nesterov: false, dampening: 0.1 },
    { momentum: 0.9, nesterov: true, dampening: 0 },
  ])('SGD %o', async (cfg) => {
    const o = { lr: 0.1, weightDecay: 0.01, ...cfg };
    await runSteps(
      (params) => new SGD(params, o),
      (p, g, [buf], step) => sgdStepRef(p, g, cfg.momentum ? buf : null, step === 1, o),
    );
  });
  it.each([false, true])('LAMB (trustClip=%s)', async (trustClip) => {
    const o = { lr: 0.02, betas: [0.9, 0.999] as [number, number], eps: 1e-6, weightDecay: 0.05, trustClip };
    await runSteps(
      (params) => new LAMB(params, o),
      (p, g, [m, v], step) => lambStepRef(p, g, m, v, step, o),
    );
  });
});

describe('parameter groups, schedules, clipping, state', () => {
  it('puts norms and biases in the no-decay group', () => {
    const layer = new Linear(4, 3);
    const [decay, noDecay] = paramGroupsNoDecay(layer, 0.05);
    expect([...(decay.params as [string, Tensor][])].map(([n]) => n)).toEqual(['weight']);
    expect([...(noDecay.params as [string, Tensor][])].map(([n]) => n)).toEqual(['bias']);
    expect(noDecay.weightDecay).toBe(0);
  });

  it('warm-up + cosine hits its end points', () => {
    const f = warmupCosine({ warmupSteps: 10, totalSteps: 110, warmupStartFactor: 0.005, finalFactor: 0.001 });
    expect(f(0)).toBeCloseTo(0.005, 12);
    expect(f(5)).toBeCloseTo(0.005 + 0.995 * 0.5, 12);
    expect(f(10)).toBeCloseTo(1, 12);
    expect(f(60)).toBeCloseTo(0.001 + 0.999 * 0.5, 12);
    expect(f(110)).toBeCloseTo(0.001, 12);
    expect(f(500)).toBeCloseTo(0.001, 12);
    expect(() => warmupCosine({ warmupSteps: 5, totalSteps: 2 })).toThrow(/warmupSteps/);
  });

  it('clips the global gradient norm like torch', async () => {
    const g1 = randomArray(10, 1, -3, 3);
    const g2 = randomArray(5, 2, -3, 3);
    const a = tensor(new Float32Array(10), [10]).requireGrad();
    const b = tensor(new Float32Array(5), [5]).requireGrad();
    a.grad = tensor(g1, [10]).keep();
    b.grad = tensor(g2, [5]).keep();
    const norm = Math.hypot(...g1, ...g2);
    const got = clipGradNorm([a, b], 1.5);
    expect(await got.item()).toBeCloseTo(norm, 4);
    const scale = Math.min(1, 1.5 / (norm + 1e-6));
    expectAllClose(
      await a.grad!.toArray(),
      Array.from(g1, (x) => x * scale),
      1e-6,
      'a',
    );
    expectAllClose(
      await b.grad!.toArray(),
      Array.from(g2, (x) => x * scale),
      1e-6,
      'b',
    );
  });

  it('restores its state so training continues exactly', async () => {
    const o = { lr: 0.01, weightDecay: 0.1 };
    const grads = [1, 2, 3, 4].map((s) => randomArray(6, s));
    const make = () => tensor(randomArray(6, 42), [6]).requireGrad();
    const straight = make();
    const optA = new AdamW([['w', straight]], o);
    for (const g of grads) {
      straight.grad = tensor(g, [6]).keep();
      optA.step();
    }
    const resumed = make();
    const optB = new AdamW([['w', resumed]], o);
    for (const g of grads.slice(0, 2)) {
      resumed.grad = tensor(g, [6]).keep();
      optB.step();
    }
    const { tensors, state } = optB.stateDict();
    const saved = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [k, t] of tensors) saved.set(k, { shape: [...t.shape], data: (await t.toArray()) as Float32Array });
    const optC = new AdamW([['w', resumed]], { lr: 99 });
    optC.loadStateDict(saved, JSON.parse(JSON.stringify(state)));
    expect(optC.stepCount).toBe(2);
    for (const g of grads.slice(2)) {
      resumed.grad = tensor(g, [6]).keep();
      optC.step();
    }
    expectAllClose(await resumed.toArray(), await straight.toArray(), 1e-7, 'resumed parameters');
  });
});
