/**
 * Real CT crops for training checks: the sample scan preprocessed with @mim/data's default pipeline
 * (RAS, 1.5 mm, window −175…250 → [0, 1], foreground crop, pad) and cut into seeded random crops.
 */
import { join } from 'node:path';
import {
  type Box,
  createRng,
  cropToBox,
  permuteFlip,
  preprocessFile,
  type Rng,
  randomCropBox,
  toTensorLayout,
  type Volume,
} from '@mim/data';
import { repoRoot } from '@mim/tensor/test';

export function loadCtVolume(file = 'ct/abdomen-3mm.nii.gz'): Volume {
  return preprocessFile(join(repoRoot(), 'data', file)).image;
}

/** The boxes `ctCrops(volume, size, count, seed)` cuts, in the same order. */
export function ctCropBoxes(volume: Volume, size: number, count: number, seed: number): Box[] {
  const rng = createRng(seed);
  return Array.from({ length: count }, () => randomCropBox(volume.shape, size, rng));
}

/** `count` crops of size³ in tensor layout, concatenated: (count, 1, size, size, size) as a flat array. */
export function ctCrops(volume: Volume, size: number, count: number, seed: number): Float32Array {
  const out = new Float32Array(count * size ** 3);
  ctCropBoxes(volume, size, count, seed).forEach((box, k) => {
    out.set(Float32Array.from(toTensorLayout(cropToBox(volume, box))), k * size ** 3);
  });
  return out;
}

export interface ViewOptions {
  /** Draw one of the 48 symmetries of the cube (an axis permutation and flips); needs a cubic crop. */
  geometry?: boolean;
  /** Intensity scale drawn uniformly from [1 − scale, 1 + scale] (0: none). */
  scale?: number;
  /** Intensity offset drawn uniformly from [−shift, shift] (0: none). */
  shift?: number;
}

/**
 * One random view of a crop (a NIfTI-order volume, e.g. `cropToBox(volume, box)`) in tensor layout, for
 * augmenting a single training crop: a random axis permutation with random flips, then x·a + b.
 */
export function randomView(crop: Volume, rng: Rng, options: ViewOptions = {}): Float32Array {
  let view = crop;
  if (options.geometry) {
    const permutation = [0, 1, 2];
    for (let i = 2; i > 0; i--) {
      const j = rng.int(i + 1);
      [permutation[i], permutation[j]] = [permutation[j], permutation[i]];
    }
    const flips = [0, 1, 2].map(() => rng.next() < 0.5) as [boolean, boolean, boolean];
    view = permuteFlip(crop, { permutation: permutation as [number, number, number], flips });
  }
  const data = Float32Array.from(toTensorLayout(view));
  const a = 1 + (options.scale ?? 0) * (2 * rng.next() - 1);
  const b = (options.shift ?? 0) * (2 * rng.next() - 1);
  if (a !== 1 || b !== 0) for (let i = 0; i < data.length; i++) data[i] = data[i] * a + b;
  return data;
}
