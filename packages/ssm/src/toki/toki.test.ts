import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { mul, sum, type Tensor, tensor } from '@mim/tensor';
import {
  expectAllClose,
  finiteDifferences,
  fixturesDir,
  loadFixture,
  randomArray,
  seededRandom,
  TOLERANCE,
} from '@mim/tensor/test';
import { describe, expect, it } from 'vitest';
import { tokiRefCpu } from './reference.js';
import { type TokiOptions, toki } from './toki.js';
import { tokiRef } from './toki-ref.js';

const files = readdirSync(fixturesDir()).filter((f) => f.startsWith('toki__'));

describe.each(files)('toki fixture %s', (file) => {
  it('matches the official MambaMIM computation (intended layout)', async () => {
    const fx = loadFixture(join(fixturesDir(), file));
    const F = fx.tensors.get('F')!;
    const vis = fx.tensors.get('visible')!;
    const A = fx.tensors.get('A')!;
    const f = tensor(F.data as Float32Array, F.shape).requireGrad();
    const a = tensor(A.data as Float32Array, A.shape).requireGrad();
    const out = toki(f, tensor(Uint32Array.from(vis.data), vis.shape, { dtype: 'u32' }), a);
    expectAllClose(await out.toArray(), fx.tensors.get('out')!.data, TOLERANCE.fixtureForward, 'out');
    const dout = fx.tensors.get('dout')!;
    sum(mul(out, tensor(dout.data as Float32Array, dout.shape))).backward();
    expectAllClose(await f.grad!.toArray(), fx.tensors.get('grad_F')!.data, TOLERANCE.fixtureGrad, 'grad_F');
    expectAllClose(await a.grad!.toArray(), fx.tensors.get('grad_A')!.data, TOLERANCE.fixtureGrad, 'grad_A');
  });
});

function randomMask(Bt: number, L: number, ratio: number, seed: number): Uint32Array {
  const rand = seededRandom(seed);
  return Uint32Array.from({ length: Bt * L }, () => (rand() < ratio ? 0 : 1));
}

describe.each([
  { Bt: 2, C: 3, L: 11, variant: 'official', layout: 'intended' },
  { Bt: 1, C: 5, L: 9, variant: 'official', layout: 'official' },
  { Bt: 2, C: 4, L: 10, variant: 'paper', layout: 'intended' },
  { Bt: 1, C: 3, L: 1, variant: 'official', layout: 'intended' },
  { Bt: 1, C: 70, L: 7, variant: 'official', layout: 'intended' },
  // Channel counts that are not a multiple of 4 (the kernels pad C to whole vec4s) in both variants.
  { Bt: 1, C: 1, L: 6, variant: 'official', layout: 'intended' },
  { Bt: 2, C: 7, L: 12, variant: 'paper', layout: 'official' },
] as { Bt: number; C: number; L: number; variant: 'official' | 'paper'; layout: 'intended' | 'official' }[])(
  'toki %o',
  ({ Bt, C, L, variant, layout }) => {
    it('matches the float64 definition and its finite differences', async () => {
      const Fd = randomArray(Bt * C * L, 3 + L, -1, 1);
      const Ad = randomArray(C * C, 5 + C, -0.4, 0.4);
      const vis = randomMask(Bt, L, 0.6, 7);
      const options: TokiOptions = { variant, layout };
      const f = tensor(Fd, [Bt, C, L]).requireGrad();
      const a = tensor(Ad, [C, C]).requireGrad();
      const out = toki(f, tensor(vis, [Bt, L], { dtype: 'u32' }), a, options);
      const ref = (xs: Float64Array[]) => tokiRefCpu(xs[0], vis, xs[1], Bt, C, L, options);
      expectAllClose(await out.toArray(), ref([Float64Array.from(Fd), Float64Array.from(Ad)]), 1e-5, 'out');
      const g = randomArray(Bt * C * L, 11);
      sum(mul(out, tensor(g, [Bt, C, L]))).backward();
      if (C * L <= 120) {
        const [dF, dA] = finiteDifferences(ref, [Float64Array.from(Fd), Float64Array.from(Ad)], g);
        expectAllClose(await f.grad!.toArray(), dF, TOLERANCE.finiteDifference, 'grad F');
        expectAllClose(await a.grad!.toArray(), dA, TOLERANCE.finiteDifference, 'grad A');
      }
    });
  },
);

describe('toki properties', () => {
  it('leaves visible tokens untouched and follows the A = 0 closed form', async () => {
    const [Bt, C, L] = [3, 6, 27];
    const Fd = randomArray(Bt * C * L, 1);
    const vis = randomMask(Bt, L, 0.75, 2);
    vis[0] = 0; // forced anchor at a masked start
    vis[L - 1] = 0; // and at a masked end
    const out = await toki(
      tensor(Fd, [Bt, C, L]),
      tensor(vis, [Bt, L], { dtype: 'u32' }),
      tensor(new Float32Array(C * C), [C, C]),
    ).toArray();
    // With A = 0 only A⁰ = I survives: T[e−1] = F[e] for a gap a < e with g > 1 (T[a] = F[a] when g = 1);
    // every other masked token is 0, and T[L−1] = 0.
    for (let b = 0; b < Bt; b++) {
      const anchors = [...new Set([0, L - 1, ...[...Array(L).keys()].filter((t) => vis[b * L + t])])].sort(
        (x, y) => x - y,
      );
      const expected = new Float64Array(C * L);
      for (let s = 0; s + 1 < anchors.length; s++) {
        const [a, e] = [anchors[s], anchors[s + 1]];
        const src = e - a > 1 ? e : a;
        for (let c = 0; c < C; c++) expected[c * L + (e - 1)] = Fd[(b * C + c) * L + src];
      }
      for (let c = 0; c < C; c++)
        for (let q = 0; q < L; q++) {
          const i = (b * C + c) * L + q;
          const want = vis[b * L + q] ? Fd[i] : expected[c * L + q];
          expect(out[i], `b${b} c${c} q${q}`).toBeCloseTo(want, 6);
        }
    }
  });

  it('rejects mismatched shapes naming them', () => {
    const f = tensor(randomArray(24, 1), [2, 3, 4]);
    expect(() =>
      toki(f, tensor(new Uint32Array(6), [2, 3], { dtype: 'u32' }), tensor(randomArray(9, 1), [3, 3])),
    ).toThrow(/visible \[2, 3\] must be \(batch, L\) = \[2, 4\]/);
    expect(() =>
      toki(f, tensor(new Uint32Array(8), [2, 4], { dtype: 'u32' }), tensor(randomArray(4, 1), [2, 2])),
    ).toThrow(/A \[2, 2\] must be \(C, C\) = \[3, 3\]/);
  });
});

describe('toki vs tokiRef (composed from generic ops, plain autograd)', () => {
  it.each([
    { variant: 'official', layout: 'intended' },
    { variant: 'official', layout: 'official' },
    { variant: 'paper', layout: 'intended' },
  ] as const)('%o: same values and gradients', async (options) => {
    const [Bt, C, L] = [2, 4, 9];
    const Fd = randomArray(Bt * C * L, 21);
    const Ad = randomArray(C * C, 22, -0.5, 0.5);
    const vis = randomMask(Bt, L, 0.6, 23);
    const g = tensor(randomArray(Bt * C * L, 24), [Bt, C, L]);
    const run = async (fn: (f: Tensor, a: Tensor) => Tensor) => {
      const f = tensor(Fd, [Bt, C, L]).requireGrad();
      const a = tensor(Ad, [C, C]).requireGrad();
      const out = fn(f, a);
      sum(mul(out, g)).backward();
      return { out: await out.toArray(), dF: await f.grad!.toArray(), dA: await a.grad!.toArray() };
    };
    const fused = await run((f, a) => toki(f, tensor(vis, [Bt, L], { dtype: 'u32' }), a, options));
    const composed = await run((f, a) => tokiRef(f, vis, a, options));
    expectAllClose(fused.out, composed.out, 1e-5, 'out');
    expectAllClose(fused.dF, composed.dF, 1e-4, 'dF');
    expectAllClose(fused.dA, composed.dA, 1e-4, 'dA');
  });
});
