import { shiftIntensity } from './intensity.js';
import { type AxisPlan, permuteFlip } from './orientation.js';
import type { Rng } from './random.js';
import type { Sample, Volume, VoxelArray } from './volume.js';

/**
 * Random augmentation settings. Defaults follow the MONAI recipes used by the SSL papers' code:
 * RandFlip on each spatial axis with p = 0.1, RandRotate90 (k ∈ {1, 2, 3}, axes (0, 1)) with p = 0.1,
 * RandShiftIntensity (offset uniform in ±0.1) with p = 0.5.
 */
export interface AugmentOptions {
  flipProbability?: number;
  rotate90Probability?: number;
  /** The plane that rot90 turns (two spatial axes); MONAI's default is (0, 1). */
  rotate90Axes?: [number, number];
  /** k is drawn from 1..maxRotations (MONAI max_k = 3). */
  maxRotations?: number;
  intensityShiftProbability?: number;
  intensityShiftOffset?: number;
}

export const DEFAULT_AUGMENT: Required<AugmentOptions> = {
  flipProbability: 0.1,
  rotate90Probability: 0.1,
  rotate90Axes: [0, 1],
  maxRotations: 3,
  intensityShiftProbability: 0.5,
  intensityShiftOffset: 0.1,
};

/** One draw of the random augmentation; apply it to an image and its label so both get the same geometry. */
export interface AugmentParams {
  flips: [boolean, boolean, boolean];
  /** Quarter turns (0–3) in the plane `rotationAxes`. */
  rotations: number;
  rotationAxes: [number, number];
  intensityShift: number;
}

export function drawAugmentation(rng: Rng, options: AugmentOptions = {}): AugmentParams {
  const o = { ...DEFAULT_AUGMENT, ...options };
  const flips = [0, 1, 2].map(() => rng.next() < o.flipProbability) as [boolean, boolean, boolean];
  const rotations = rng.next() < o.rotate90Probability ? 1 + rng.int(o.maxRotations) : 0;
  const shift = rng.next() < o.intensityShiftProbability ? (rng.next() * 2 - 1) * o.intensityShiftOffset : 0;
  return { flips, rotations, rotationAxes: [...o.rotate90Axes], intensityShift: shift };
}

/** Reverse the listed axes. */
export function flip<T extends VoxelArray>(volume: Volume<T>, axes: readonly number[]): Volume<T> {
  const flips = [0, 1, 2].map((a) => axes.includes(a)) as [boolean, boolean, boolean];
  return permuteFlip(volume, { permutation: [0, 1, 2], flips });
}

/** numpy's `rot90(m, k, axes)`: k quarter turns from the first axis towards the second. */
export function rotate90<T extends VoxelArray>(
  volume: Volume<T>,
  k: number,
  axes: [number, number] = [0, 1],
): Volume<T> {
  const turns = ((k % 4) + 4) % 4;
  const [a, b] = axes;
  const plan: AxisPlan = { permutation: [0, 1, 2], flips: [false, false, false] };
  if (turns === 0) return permuteFlip(volume, plan);
  if (turns === 2) {
    plan.flips[a] = true;
    plan.flips[b] = true;
    return permuteFlip(volume, plan);
  }
  plan.permutation[a] = b;
  plan.permutation[b] = a;
  if (turns === 1) plan.flips[a] = true;
  else plan.flips[b] = true;
  return permuteFlip(volume, plan);
}

/** Apply one augmentation draw; labels get the geometry only (no intensity shift). */
export function applyAugmentation<T extends VoxelArray>(
  volume: Volume<T>,
  params: AugmentParams,
  kind: 'image' | 'label' = 'image',
): Volume {
  let out: Volume = volume;
  if (params.flips.some(Boolean))
    out = flip(
      out,
      [0, 1, 2].filter((a) => params.flips[a]),
    );
  if (params.rotations) out = rotate90(out, params.rotations, params.rotationAxes);
  if (kind === 'image' && params.intensityShift !== 0) out = shiftIntensity(out, params.intensityShift);
  return out;
}

/** Draw once and apply to the image and (geometry only) the label. */
export function augmentSample(sample: Sample, rng: Rng, options: AugmentOptions = {}): Sample {
  const params = drawAugmentation(rng, options);
  return {
    image: applyAugmentation(sample.image, params, 'image'),
    label: sample.label ? applyAugmentation(sample.label, params, 'label') : undefined,
  };
}

/**
 * Apply an augmentation draw to data in tensor layout (C-order [X][Y][Z] of `shape`); returns the new data and
 * shape. Tensor layout is NIfTI order with the axes reversed, so tensor axis a is volume axis 2 − a.
 */
export function applyAugmentationToTensor<T extends VoxelArray>(
  data: T,
  shape: readonly [number, number, number],
  params: AugmentParams,
  kind: 'image' | 'label' = 'image',
): { data: T; shape: [number, number, number] } {
  const reversed: AugmentParams = {
    flips: [params.flips[2], params.flips[1], params.flips[0]],
    rotations: params.rotations,
    rotationAxes: [2 - params.rotationAxes[0], 2 - params.rotationAxes[1]],
    intensityShift: params.intensityShift,
  };
  const volume: Volume<T> = { data, shape: [shape[2], shape[1], shape[0]], affine: IDENTITY };
  const out = applyAugmentation(volume, reversed, kind);
  return { data: out.data as T, shape: [out.shape[2], out.shape[1], out.shape[0]] };
}

const IDENTITY = [
  [1, 0, 0, 0],
  [0, 1, 0, 0],
  [0, 0, 1, 0],
  [0, 0, 0, 1],
];
