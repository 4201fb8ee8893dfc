/**
 * The held-out scoring helpers of the learning test: fixed masks, and the mean-intensity baseline checked against
 * its definition computed straight from the voxels (float64) through the real `maskedMseNormPix`.
 */
import { maskedMseNormPix } from '@mim/losses';
import { reshape, tensor, zeros } from '@mim/tensor';
import { randomArray } from '@mim/tensor/test';
import { describe, expect, it } from 'vitest';
import { fixedMasks, meanIntensityPrediction } from './held-out.js';

const S = 32;
const P = 16;
const f = S / P;

describe('held-out scoring', () => {
  it('fixedMasks: the asked number of visible tokens, different masks, same masks for the same seed', () => {
    const masks = fixedMasks(3, 7, 4, 100);
    expect(masks.map((m) => m.reduce((a, b) => a + b, 0))).toEqual([7, 7, 7, 7]);
    expect(new Set(masks.map((m) => m.join(''))).size).toBe(4);
    expect(fixedMasks(3, 7, 4, 100)).toEqual(masks);
  });

  it('meanIntensityPrediction: maskedMseNormPix of it is the error of one visible-mean intensity in patch σ units', async () => {
    // Patches with different means and spreads, so the baseline pays for the wrong mean.
    const crop = randomArray(S ** 3, 3, 0, 1);
    for (let x = 0; x < S; x++)
      for (let y = 0; y < S; y++)
        for (let z = 0; z < S; z++) {
          const q = (Math.floor(x / P) * f + Math.floor(y / P)) * f + Math.floor(z / P);
          crop[(x * S + y) * S + z] = 0.1 * q + (0.05 + 0.02 * q) * crop[(x * S + y) * S + z];
        }
    const visible = Uint8Array.from([1, 0, 0, 1, 0, 0, 0, 0]);
    const index = (x: number, y: number, z: number) => (x * S + y) * S + z;
    const inPatch = (q: number, x: number, y: number, z: number) =>
      (Math.floor(x / P) * f + Math.floor(y / P)) * f + Math.floor(z / P) === q;
    // c: the mean of the visible voxels; expected: mean over masked patches of mean((c − x)²) / (var_unbiased + 1e-6).
    let sum = 0;
    let count = 0;
    const voxels: number[][] = Array.from({ length: f ** 3 }, () => []);
    for (let x = 0; x < S; x++)
      for (let y = 0; y < S; y++)
        for (let z = 0; z < S; z++)
          for (let q = 0; q < f ** 3; q++) if (inPatch(q, x, y, z)) voxels[q].push(crop[index(x, y, z)]);
    for (let q = 0; q < f ** 3; q++) {
      if (!visible[q]) continue;
      for (const v of voxels[q]) sum += v;
      count += voxels[q].length;
    }
    const c = sum / count;
    let expected = 0;
    for (let q = 0; q < f ** 3; q++) {
      if (visible[q]) continue;
      const mu = voxels[q].reduce((a, b) => a + b, 0) / voxels[q].length;
      const variance = voxels[q].reduce((a, v) => a + (v - mu) ** 2, 0) / (voxels[q].length - 1);
      expected += voxels[q].reduce((a, v) => a + (c - v) ** 2, 0) / voxels[q].length / (variance + 1e-6);
    }
    expected /= f ** 3 - 2;

    const grid = reshape(tensor(Uint32Array.from(visible), [1, f ** 3], { dtype: 'u32' }), [1, f, f, f]);
    const target = tensor(crop, [1, 1, S, S, S]);
    const prediction = tensor(meanIntensityPrediction(crop, S, P, visible), [1, 1, S, S, S]);
    const baseline = await maskedMseNormPix(prediction, target, grid, P).item();
    const zero = zeros([1, 1, S, S, S]);
    const oracle = await maskedMseNormPix(zero, target, grid, P).item();
    expect(baseline).toBeCloseTo(expected, 4);
    expect(expected).toBeGreaterThan(oracle + 1); // the per-patch means differ by ≥ 0.1 ≫ their spread here
    for (const t of [grid, target, prediction, zero]) t.dispose();
  });
});
