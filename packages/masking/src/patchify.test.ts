import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fixturesDir, loadFixture } from '@mim/tensor/test';
import { describe, expect, it } from 'vitest';
import { patchify, unpatchify } from './patchify.js';

const values = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 1.7) * 3 + i * 1e-3);

describe('patchify / unpatchify', () => {
  it.each([
    [[2, 1, 4, 6, 8], 2],
    [[1, 3, 4, 4, 4], 4],
    [[2, 2, 6, 3, 9], 3],
    [[1, 1, 5, 5, 5], 1],
  ] as const)('follow the documented index formula on %j, p = %i, and invert each other', (shape, p) => {
    const [B, C, H, W, D] = shape;
    const x = values(B * C * H * W * D);
    const tokens = patchify(x, shape, p);
    const [h, w, d] = [H / p, W / p, D / p];
    const row = p * p * p * C;
    for (let b = 0; b < B; b++) {
      for (let c = 0; c < C; c++) {
        for (let X = 0; X < H; X++) {
          for (let Y = 0; Y < W; Y++) {
            for (let Z = 0; Z < D; Z++) {
              const [i, j, k] = [Math.floor(X / p), Math.floor(Y / p), Math.floor(Z / p)];
              const [al, be, ga] = [X % p, Y % p, Z % p];
              const q = (i * w + j) * d + k;
              const got = tokens[(b * h * w * d + q) * row + ((al * p + be) * p + ga) * C + c];
              expect(got).toBe(x[(((b * C + c) * H + X) * W + Y) * D + Z]);
            }
          }
        }
      }
    }
    expect(unpatchify(tokens, shape, p)).toEqual(x);
    expect(patchify(unpatchify(x, shape, p), shape, p)).toEqual(x);
  });

  it('rejects sizes that the patch does not divide', () => {
    expect(() => patchify(new Float32Array(60), [1, 1, 3, 4, 5], 2)).toThrow(/not divisible by the patch size 2/);
    expect(() => unpatchify(new Float32Array(7), [1, 1, 2, 2, 2], 2)).toThrow(/do not fill/);
  });

  // The PyTorch masked_mse_normpix loss depends on which patch is which (the visibility mask is per patch), so
  // reproducing it through our patchify checks the patch layout against the official code.
  const files = readdirSync(fixturesDir()).filter((f) => f.startsWith('masked_mse_normpix__'));
  it.each(files)('reproduces the PyTorch loss of %s', (file) => {
    const fixture = loadFixture(join(fixturesDir(), file));
    const x = fixture.tensors.get('x')!;
    const rec = fixture.tensors.get('rec')!;
    const visible = fixture.tensors.get('visible')!.data;
    const p = Number(fixture.params.patch_size);
    const target = patchify(x.data as Float32Array, x.shape, p);
    const prediction = patchify(rec.data as Float32Array, rec.shape, p);
    const n = p ** 3;
    const patches = target.length / n;
    let sum = 0;
    let count = 0;
    for (let q = 0; q < patches; q++) {
      let mean = 0;
      for (let e = 0; e < n; e++) mean += target[q * n + e];
      mean /= n;
      let variance = 0;
      for (let e = 0; e < n; e++) variance += (target[q * n + e] - mean) ** 2;
      variance /= n - 1;
      let error = 0;
      for (let e = 0; e < n; e++)
        error += (prediction[q * n + e] - (target[q * n + e] - mean) / Math.sqrt(variance + 1e-6)) ** 2;
      const m = 1 - visible[q];
      sum += (m * error) / n;
      count += m;
    }
    const loss = sum / (count + 1e-8);
    const expected = fixture.tensors.get('out_loss')!.data[0];
    expect(Math.abs(loss - expected) / Math.abs(expected)).toBeLessThan(1e-5);
  });
});
