import { DataError } from './errors.js';
import type { Volume } from './volume.js';

/** MONAI `ScaleIntensityRange` parameters; the papers' CT window is a_min = −175, a_max = 250 → [0, 1], clipped. */
export interface IntensityWindow {
  aMin: number;
  aMax: number;
  bMin?: number;
  bMax?: number;
  clip?: boolean;
}

export const CT_WINDOW: Required<IntensityWindow> = { aMin: -175, aMax: 250, bMin: 0, bMax: 1, clip: true };

/** Linearly map [aMin, aMax] to [bMin, bMax] (default [0, 1]), clipping to [bMin, bMax] unless `clip: false`. */
export function scaleIntensityRange(volume: Volume, window: IntensityWindow = CT_WINDOW): Volume<Float32Array> {
  const { aMin, aMax } = window;
  const bMin = window.bMin ?? 0;
  const bMax = window.bMax ?? 1;
  if (!(aMax > aMin)) {
    throw new DataError('bad-argument', 'scaleIntensityRange', `window needs aMax > aMin, got [${aMin}, ${aMax}]`);
  }
  const scale = (bMax - bMin) / (aMax - aMin);
  const low = Math.min(bMin, bMax);
  const high = Math.max(bMin, bMax);
  const input = volume.data;
  const output = new Float32Array(input.length);
  const clip = window.clip ?? true;
  for (let i = 0; i < input.length; i++) {
    let v = (input[i] - aMin) * scale + bMin;
    if (clip) v = v < low ? low : Math.min(v, high);
    output[i] = v;
  }
  return { data: output, shape: [...volume.shape], affine: volume.affine.map((r) => r.slice()) };
}

/** Add `offset` to every voxel (MONAI `ShiftIntensity`), in place on a Float32Array copy. */
export function shiftIntensity(volume: Volume, offset: number): Volume<Float32Array> {
  const output = volume.data instanceof Float32Array ? volume.data.slice() : new Float32Array(volume.data);
  for (let i = 0; i < output.length; i++) output[i] += offset;
  return { data: output, shape: [...volume.shape], affine: volume.affine.map((r) => r.slice()) };
}
