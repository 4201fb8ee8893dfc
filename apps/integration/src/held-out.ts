/**
 * Held-out scoring for masked reconstruction on one crop: fixed masks, and the two constant baselines that the
 * model's masked per-patch-normalised MSE (`maskedMseNormPix`, patch p) is compared with.
 */
import { shuffledIndices } from '@mim/data';

/**
 * `count` fixed token masks on an f³ grid, each with `visibleCount` visible tokens (raster order, 1 = visible),
 * drawn from `seed` independently of any model's mask generator.
 */
export function fixedMasks(f: number, visibleCount: number, count: number, seed: number): Uint8Array[] {
  return Array.from({ length: count }, (_, k) => {
    const visible = new Uint8Array(f ** 3);
    for (const t of shuffledIndices(f ** 3, seed + k).slice(0, visibleCount)) visible[t] = 1;
    return visible;
  });
}

/** Mean and 1/√(unbiased variance + eps) of every p³ patch of an S³ tensor-layout crop, raster patch order. */
function patchStatistics(crop: Float32Array, S: number, p: number, varianceEpsilon = 1e-6) {
  const f = S / p;
  const n = p ** 3;
  const means = new Float64Array(f ** 3);
  const inverseStd = new Float64Array(f ** 3);
  for (let q = 0; q < f ** 3; q++) {
    const [i, j, k] = [Math.floor(q / (f * f)), Math.floor(q / f) % f, q % f];
    let sum = 0;
    let sumSquares = 0;
    for (let x = i * p; x < (i + 1) * p; x++) {
      for (let y = j * p; y < (j + 1) * p; y++) {
        for (let z = k * p; z < (k + 1) * p; z++) {
          const v = crop[(x * S + y) * S + z];
          sum += v;
          sumSquares += v * v;
        }
      }
    }
    means[q] = sum / n;
    inverseStd[q] = 1 / Math.sqrt(Math.max(0, sumSquares - n * means[q] ** 2) / (n - 1) + varianceEpsilon);
  }
  return { means, inverseStd };
}

/**
 * The literal mean-intensity baseline, (S, S, S) in the per-patch-normalised units of the loss: every voxel is
 * predicted by one intensity c, the mean of the crop's VISIBLE voxels (it never reads a masked voxel). Expressed
 * in the loss's units, the prediction c in patch q is (c − μ_q)/σ_q, so `maskedMseNormPix` of this tensor is the
 * error of predicting c, measured in each masked patch's own standard deviations (≈ 1 + (c − μ_q)²/σ_q²).
 * μ_q and σ_q are only the loss's unit conversion, exactly as for the model's output.
 */
export function meanIntensityPrediction(crop: Float32Array, S: number, p: number, visible: Uint8Array): Float32Array {
  const f = S / p;
  const { means, inverseStd } = patchStatistics(crop, S, p);
  let visibleSum = 0;
  let visibleCount = 0;
  for (let q = 0; q < f ** 3; q++) {
    if (!visible[q]) continue;
    visibleSum += means[q];
    visibleCount++;
  }
  if (visibleCount === 0) throw new Error('meanIntensityPrediction: the mask has no visible token');
  const c = visibleSum / visibleCount; // all patches hold p³ voxels: the mean of the patch means
  const out = new Float32Array(S ** 3);
  for (let x = 0; x < S; x++) {
    for (let y = 0; y < S; y++) {
      for (let z = 0; z < S; z++) {
        const q = (Math.floor(x / p) * f + Math.floor(y / p)) * f + Math.floor(z / p);
        out[(x * S + y) * S + z] = (c - means[q]) * inverseStd[q];
      }
    }
  }
  return out;
}
