/**
 * Real CT crops for training checks: the sample scan preprocessed with @mim/data's default pipeline
 * (RAS, 1.5 mm, window −175…250 → [0, 1], foreground crop, pad) and cut into seeded random crops.
 */
import { join } from 'node:path';
import { createRng, cropToBox, preprocessFile, randomCropBox, toTensorLayout, type Volume } from '@mim/data';
import { repoRoot } from '@mim/tensor/test';

export function loadCtVolume(file = 'ct/abdomen-3mm.nii.gz'): Volume {
  return preprocessFile(join(repoRoot(), 'data', file)).image;
}

/** `count` crops of size³ in tensor layout, concatenated: (count, 1, size, size, size) as a flat array. */
export function ctCrops(volume: Volume, size: number, count: number, seed: number): Float32Array {
  const rng = createRng(seed);
  const out = new Float32Array(count * size ** 3);
  for (let k = 0; k < count; k++) {
    const box = randomCropBox(volume.shape, size, rng);
    out.set(Float32Array.from(toTensorLayout(cropToBox(volume, box))), k * size ** 3);
  }
  return out;
}
