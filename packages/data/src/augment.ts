import { shiftIntensity } from './intensity.js';
import { type AxisPlan, composePlans, permuteFlip, TENSOR_LAYOUT_PLAN } from './orientation.js';
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

/** The axis plan of numpy's `rot90(m, k, axes)`: k quarter turns from the first axis towards the second. */
export function rotate90Plan(k: number, axes: [number, number] = [0, 1]): AxisPlan {
  const turns = ((k % 4) + 4) % 4;
  const [a, b] = axes;
  const plan: AxisPlan = { permutation: [0, 1, 2], flips: [false, false, false] };
  if (turns === 2) {
    plan.flips[a] = true;
    plan.flips[b] = true;
  } else if (turns !== 0) {
    plan.permutation[a] = b;
    plan.permutation[b] = a;
    if (turns === 1) plan.flips[a] = true;
    else plan.flips[b] = true;
  }
  return plan;
}

/** numpy's `rot90(m, k, axes)`: k quarter turns from the first axis towards the second. */
export function rotate90<T extends VoxelArray>(
  volume: Volume<T>,
  k: number,
  axes: [number, number] = [0, 1],
): Volume<T> {
  return permuteFlip(volume, rotate90Plan(k, axes));
}

/** The geometric part of an augmentation draw as one axis plan (flips first, then the rotation). */
export function augmentationPlan(params: AugmentParams): AxisPlan {
  return composePlans(
    { permutation: [0, 1, 2], flips: [...params.flips] },
    rotate90Plan(params.rotations, params.rotationAxes),
  );
}

/** Apply one augmentation draw (one pass for all flips and rotations); labels get the geometry only. */
export function applyAugmentation<T extends VoxelArray>(
  volume: Volume<T>,
  params: AugmentParams,
  kind: 'image' | 'label' = 'image',
): Volume {
  let out: Volume = volume;
  if (params.flips.some(Boolean) || params.rotations % 4 !== 0) out = permuteFlip(volume, augmentationPlan(params));
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
 * Cut-and-augment in one pass: a volume (NIfTI order) → its augmented copy in tensor layout (C-order [X][Y][Z]
 * of the augmented shape). Equals `toTensorLayout(applyAugmentation(volume, params, kind))`.
 */
export function augmentToTensorLayout<T extends VoxelArray>(
  volume: Volume<T>,
  params: AugmentParams | null,
  kind: 'image' | 'label' = 'image',
): { data: VoxelArray; shape: [number, number, number] } {
  const plan = params ? composePlans(augmentationPlan(params), TENSOR_LAYOUT_PLAN) : TENSOR_LAYOUT_PLAN;
  const out = permuteFlip(volume, plan);
  let data: VoxelArray = out.data;
  if (params && kind === 'image' && params.intensityShift !== 0) {
    if (!(data instanceof Float32Array)) data = new Float32Array(data);
    const shift = params.intensityShift;
    for (let i = 0; i < data.length; i++) data[i] += shift;
  }
  return { data, shape: [out.shape[2], out.shape[1], out.shape[0]] };
}
