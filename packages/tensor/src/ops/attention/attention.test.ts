import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { memory, resetPeakBytes } from '../../memory.js';
import {
  expectAllClose,
  expectZero,
  finiteDifferences,
  fixturesDir,
  loadFixture,
  randomArray,
  TOLERANCE,
} from '../../test/index.js';
import { tensor } from '../creation.js';
import { mul } from '../elementwise/binary.js';
import { sum } from '../reduce/reduce.js';
import { scaledDotProductAttention } from './attention.js';
import { attentionRef } from './reference.js';

const files = readdirSync(fixturesDir()).filter((f) => f.startsWith('attention__'));

describe.each(files)('attention fixture %s', (file) => {
  it('matches PyTorch', async () => {
    const fx = loadFixture(join(fixturesDir(), file));
    const up = (name: string) => {
      const t = fx.tensors.get(name)!;
      return tensor(t.data as Float32Array, t.shape).requireGrad();
    };
    const [q, k, v] = [up('Q'), up('K'), up('V')];
    const out = scaledDotProductAttention(q, k, v, { scale: fx.params.scale as number });
    expectAllClose(await out.toArray(), fx.tensors.get('out')!.data, TOLERANCE.fixtureForward, 'out');
    const dout = fx.tensors.get('dout')!;
    sum(mul(out, tensor(dout.data as Float32Array, dout.shape))).backward();
    for (const [name, t] of [
      ['grad_Q', q],
      ['grad_K', k],
      ['grad_V', v],
    ] as const) {
      const ref = fx.tensors.get(name)!.data;
      const got = await t.grad!.toArray();
      if (ref.every((x) => x === 0)) expectZero(got, 1e-6, name);
      else expectAllClose(got, ref, TOLERANCE.fixtureGrad, name);
    }
  });
});

describe.each([
  { batch: [2], L: 5, S: 7, d: 3, dv: 2, causal: false, masked: false },
  { batch: [1, 2], L: 6, S: 6, d: 4, dv: 4, causal: true, masked: false },
  { batch: [3], L: 4, S: 9, d: 5, dv: 3, causal: false, masked: true },
])('attention %o', ({ batch, L, S, d, dv, causal, masked }) => {
  it('matches the float64 reference and finite differences', async () => {
    const B = batch.reduce((a, b) => a * b, 1);
    const qd = randomArray(B * L * d, 1, -2, 2);
    const kd = randomArray(B * S * d, 2, -2, 2);
    const vd = randomArray(B * S * dv, 3, -2, 2);
    const gd = randomArray(B * L * dv, 4);
    // A keep-mask that masks row 0 completely in batch 0 and a pattern elsewhere.
    const maskData = Uint32Array.from({ length: B * L * S }, (_, idx) => {
      const b = Math.floor(idx / (L * S));
      const i = Math.floor(idx / S) % L;
      const j = idx % S;
      return b === 0 && i === 0 ? 0 : (i + 2 * j + b) % 3 === 0 ? 0 : 1;
    });
    const keep = masked ? (b: number, i: number, j: number) => maskData[(b * L + i) * S + j] === 1 : undefined;
    const dims = { batch: B, L, S, d, dv, causal };
    const q = tensor(qd, [...batch, L, d]).requireGrad();
    const k = tensor(kd, [...batch, S, d]).requireGrad();
    const v = tensor(vd, [...batch, S, dv]).requireGrad();
    const out = scaledDotProductAttention(q, k, v, {
      causal,
      mask: masked ? tensor(maskData, [...batch, L, S], { dtype: 'u32' }) : undefined,
    });
    const ref = attentionRef(qd, kd, vd, dims, keep);
    expectAllClose(await out.toArray(), ref, TOLERANCE.matmul, 'out');
    sum(mul(out, tensor(gd, out.shape))).backward();
    const fd = finiteDifferences(
      ([a, b, c]) => attentionRef(a, b, c, dims, keep),
      [Float64Array.from(qd), Float64Array.from(kd), Float64Array.from(vd)],
      gd,
    );
    expectAllClose(await q.grad!.toArray(), fd[0], TOLERANCE.finiteDifference, 'dq');
    expectAllClose(await k.grad!.toArray(), fd[1], TOLERANCE.finiteDifference, 'dk');
    expectAllClose(await v.grad!.toArray(), fd[2], TOLERANCE.finiteDifference, 'dv');
  });
});

describe('attention memory', () => {
  it('never allocates an (L × L) score buffer', async () => {
    const [B, L, d] = [2, 512, 16];
    const q = tensor(randomArray(B * L * d, 5), [B, L, d]).requireGrad();
    const k = tensor(randomArray(B * L * d, 6), [B, L, d]).requireGrad();
    const v = tensor(randomArray(B * L * d, 7), [B, L, d]).requireGrad();
    const before = memory().bytesInUse;
    resetPeakBytes();
    const out = scaledDotProductAttention(q, k, v);
    sum(out).backward();
    await out.toArray();
    const extra = memory().peakBytes - before;
    // One (L × L) f32 block per batch would be 2 MiB; the fused path needs a few (L × d) buffers.
    expect(extra).toBeLessThan(L * L * 4);
  });

  it('names the shapes when they do not fit', () => {
    const q = tensor(randomArray(24, 1), [2, 3, 4]);
    const k = tensor(randomArray(30, 1), [2, 3, 5]);
    expect(() => scaledDotProductAttention(q, k, k)).toThrow(/\[2, 3, 4\].*\[2, 3, 5\]/);
  });
});
