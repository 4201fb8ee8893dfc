import type { Matrix4 } from './affine.js';
import { DataError } from './errors.js';
import type { Rng } from './random.js';
import { allocateLike, type Volume, type VoxelArray } from './volume.js';

/** A box of voxels: `start` inclusive, `end` exclusive, per axis. */
export interface Box {
  start: [number, number, number];
  end: [number, number, number];
}

export type Size3 = [number, number, number];

export function toSize3(size: number | readonly number[], what = 'size'): Size3 {
  const s = typeof size === 'number' ? [size, size, size] : [...size];
  if (s.length !== 3 || s.some((v) => !Number.isInteger(v) || v < 1)) {
    throw new DataError('bad-argument', what, `expected a positive integer or three, got ${JSON.stringify(size)}`);
  }
  return s as Size3;
}

function shiftAffine(affine: Matrix4, voxels: readonly number[]): Matrix4 {
  const out = affine.map((row) => row.slice());
  for (let r = 0; r < 3; r++) {
    out[r][3] += affine[r][0] * voxels[0] + affine[r][1] * voxels[1] + affine[r][2] * voxels[2];
  }
  return out;
}

/**
 * Bounding box of the voxels whose value is > `threshold` (MONAI `CropForeground`'s default select_fn is `x > 0`),
 * grown by `margin` voxels and clipped to the volume. A volume without foreground keeps its full extent.
 */
export function foregroundBox(volume: Volume, options: { threshold?: number; margin?: number } = {}): Box {
  const threshold = options.threshold ?? 0;
  const margin = options.margin ?? 0;
  const [nx, ny, nz] = volume.shape;
  const data = volume.data;
  const start: Size3 = [nx, ny, nz];
  const end: Size3 = [-1, -1, -1];
  let i = 0;
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      let rowMin = -1;
      let rowMax = -1;
      for (let x = 0; x < nx; x++, i++) {
        if (data[i] > threshold) {
          if (rowMin < 0) rowMin = x;
          rowMax = x;
        }
      }
      if (rowMin >= 0) {
        if (rowMin < start[0]) start[0] = rowMin;
        if (rowMax > end[0]) end[0] = rowMax;
        if (y < start[1]) start[1] = y;
        if (y > end[1]) end[1] = y;
        if (z < start[2]) start[2] = z;
        if (z > end[2]) end[2] = z;
      }
    }
  }
  if (end[0] < 0) return { start: [0, 0, 0], end: [nx, ny, nz] };
  return {
    start: start.map((s) => Math.max(0, s - margin)) as Size3,
    end: end.map((e, a) => Math.min(volume.shape[a], e + 1 + margin)) as Size3,
  };
}

/** Copy the voxels of `box` (which must lie inside the volume); the affine moves to the box's first voxel. */
export function cropToBox<T extends VoxelArray>(volume: Volume<T>, box: Box): Volume<T> {
  const [nx, ny, nz] = volume.shape;
  for (let a = 0; a < 3; a++) {
    if (box.start[a] < 0 || box.end[a] > volume.shape[a] || box.end[a] <= box.start[a]) {
      throw new DataError(
        'bad-argument',
        'cropToBox',
        `box [${box.start}]–[${box.end}] does not lie inside a ${nx}×${ny}×${nz} volume`,
      );
    }
  }
  const shape = [0, 1, 2].map((a) => box.end[a] - box.start[a]) as Size3;
  const output = allocateLike(volume.data, shape[0] * shape[1] * shape[2]) as T;
  const input = volume.data;
  let o = 0;
  const width = shape[0];
  for (let z = box.start[2]; z < box.end[2]; z++) {
    for (let y = box.start[1]; y < box.end[1]; y++) {
      const row = box.start[0] + nx * (y + ny * z);
      if (width >= 256) {
        output.set(input.subarray(row, row + width), o);
        o += width;
      } else {
        for (let x = 0; x < width; x++) output[o++] = input[row + x];
      }
    }
  }
  return { data: output, shape, affine: shiftAffine(volume.affine, box.start) };
}

/** MONAI `CropForeground` on a single volume. */
export function cropForeground<T extends VoxelArray>(
  volume: Volume<T>,
  options: { threshold?: number; margin?: number } = {},
): Volume<T> {
  return cropToBox(volume, foregroundBox(volume, options));
}

/**
 * MONAI `SpatialPad` (method "symmetric"): grow each axis shorter than `size` to `size`, splitting the padding
 * as floor(d/2) before and the rest after; axes already long enough are kept. The affine keeps world positions.
 */
export function padToSize<T extends VoxelArray>(
  volume: Volume<T>,
  size: number | readonly number[],
  value = 0,
): Volume<T> {
  const target = toSize3(size, 'padToSize');
  const shape = volume.shape.map((n, a) => Math.max(n, target[a])) as Size3;
  const before = volume.shape.map((n, a) => Math.floor((shape[a] - n) / 2)) as Size3;
  if (shape.every((n, a) => n === volume.shape[a])) {
    return { data: volume.data.slice() as T, shape, affine: volume.affine.map((r) => r.slice()) };
  }
  const [nx, ny, nz] = volume.shape;
  const output = allocateLike(volume.data, shape[0] * shape[1] * shape[2]) as T;
  if (value !== 0) output.fill(value);
  for (let z = 0; z < nz; z++) {
    for (let y = 0; y < ny; y++) {
      const source = nx * (y + ny * z);
      const target = before[0] + shape[0] * (y + before[1] + shape[1] * (z + before[2]));
      output.set(volume.data.subarray(source, source + nx), target);
    }
  }
  return {
    data: output,
    shape,
    affine: shiftAffine(
      volume.affine,
      before.map((b) => -b),
    ),
  };
}

/** A uniformly random box of `size` inside `shape` (MONAI `RandSpatialCrop`, random_center, fixed size). */
export function randomCropBox(shape: readonly number[], size: number | readonly number[], rng: Rng): Box {
  const s = toSize3(size, 'randomCropBox');
  if (s.some((v, a) => v > shape[a])) {
    throw new DataError(
      'bad-argument',
      'randomCropBox',
      `crop ${s.join('×')} is larger than the volume ${shape.join('×')} — pad the volume first (padToSize)`,
    );
  }
  const start = s.map((v, a) => rng.int(shape[a] - v + 1)) as Size3;
  return { start, end: start.map((v, a) => v + s[a]) as Size3 };
}

/** `count` random crops of `size` (MONAI `RandSpatialCropSamples`). */
export function randomCrops<T extends VoxelArray>(
  volume: Volume<T>,
  size: number | readonly number[],
  count: number,
  rng: Rng,
): Volume<T>[] {
  return Array.from({ length: count }, () => cropToBox(volume, randomCropBox(volume.shape, size, rng)));
}

/**
 * Copy a volume from NIfTI order (x fastest) into tensor order: a C-order array of shape [X][Y][Z] (z fastest),
 * which is the (H, W, D) layout of MONAI / PyTorch tensors loaded from the same file.
 */
export function toTensorLayout<T extends VoxelArray>(volume: Volume<T>, output?: T): T {
  const [nx, ny, nz] = volume.shape;
  const input = volume.data;
  const out = output ?? (allocateLike(input, input.length) as T);
  const plane = nx * ny;
  let o = 0;
  for (let x = 0; x < nx; x++) {
    for (let y = 0; y < ny; y++) {
      let source = x + nx * y;
      for (let z = 0; z < nz; z++, source += plane) out[o++] = input[source];
    }
  }
  return out;
}

/**
 * Crop `box` out of a NIfTI-order volume straight into tensor layout (C-order [X][Y][Z], z fastest) — the same
 * result as `toTensorLayout(cropToBox(volume, box))` without the intermediate copy.
 */
export function cropToTensorLayout<T extends VoxelArray>(volume: Volume<T>, box: Box): T {
  const [nx, ny] = volume.shape;
  for (let a = 0; a < 3; a++) {
    if (box.start[a] < 0 || box.end[a] > volume.shape[a] || box.end[a] <= box.start[a]) {
      throw new DataError(
        'bad-argument',
        'cropToTensorLayout',
        `box [${box.start}]–[${box.end}] does not lie inside a ${volume.shape.join('×')} volume`,
      );
    }
  }
  const [cx, cy, cz] = [0, 1, 2].map((a) => box.end[a] - box.start[a]);
  const output = allocateLike(volume.data, cx * cy * cz) as T;
  const input = volume.data;
  const plane = nx * ny;
  let o = 0;
  for (let x = box.start[0]; x < box.end[0]; x++) {
    for (let y = box.start[1]; y < box.end[1]; y++) {
      let source = x + nx * (y + ny * box.start[2]);
      for (let z = 0; z < cz; z++, source += plane) output[o++] = input[source];
    }
  }
  return output;
}
