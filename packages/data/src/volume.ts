import type { Matrix4 } from './affine.js';

/** Voxel storage types that @mim/data reads and writes. */
export type VoxelArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array;

export type VoxelType = 'uint8' | 'int8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'float32' | 'float64';

/**
 * A 3D volume in NIfTI storage order: `data[x + X·(y + Y·z)]` for `shape = [X, Y, Z]` (x fastest, i.e. a
 * C-order array of shape [Z][Y][X]); `affine` maps voxel (x, y, z) to RAS+ world millimetres.
 */
export interface Volume<T extends VoxelArray = VoxelArray> {
  data: T;
  shape: [number, number, number];
  affine: Matrix4;
}

/** An image and an optional label map on the same grid; geometric transforms apply to both identically. */
export interface Sample {
  image: Volume;
  label?: Volume;
}

interface VoxelArrayConstructor {
  new (length: number): VoxelArray;
  new (buffer: ArrayBuffer, byteOffset?: number, length?: number): VoxelArray;
  readonly BYTES_PER_ELEMENT: number;
}

export const VOXEL_ARRAY: Record<VoxelType, VoxelArrayConstructor> = {
  uint8: Uint8Array,
  int8: Int8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  float32: Float32Array,
  float64: Float64Array,
};

export function voxelType(data: VoxelArray): VoxelType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Uint8Array) return 'uint8';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Uint16Array) return 'uint16';
  if (data instanceof Int32Array) return 'int32';
  return 'uint32';
}

/** A new zero-filled array of the same type as `like`. */
export function allocateLike(like: VoxelArray, length: number): VoxelArray {
  return new VOXEL_ARRAY[voxelType(like)](length);
}

export function voxelCount(shape: readonly number[]): number {
  return shape[0] * shape[1] * shape[2];
}

/** Convert to Float32Array (no copy when it already is one). */
export function toFloat32(data: VoxelArray): Float32Array {
  return data instanceof Float32Array ? data : Float32Array.from(data);
}

/** Intensity statistics over all voxels (float64 accumulation; std is the population standard deviation). */
export interface IntensityStats {
  min: number;
  max: number;
  mean: number;
  std: number;
}

export function intensityStats(data: VoxelArray): IntensityStats {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  let sum = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
  }
  const mean = sum / data.length;
  let squares = 0;
  for (let i = 0; i < data.length; i++) {
    const delta = data[i] - mean;
    squares += delta * delta;
  }
  return { min, max, mean, std: Math.sqrt(squares / data.length) };
}
