/**
 * CPU volume helpers for MiM's multi-level inputs: boxes, cutting a box out of a (C, X, Y, Z) volume, and
 * trilinear resizing with PyTorch's `align_corners=False` rule (fixtures/README.md, interpolate3d):
 * per axis src = max((o + 0.5)·n/m − 0.5, 0), i0 = min(⌊src⌋, n−1), i1 = min(i0+1, n−1), λ = src − i0,
 * value = (1−λ)·v[i0] + λ·v[i1]; separable, one axis at a time, in float64, rounded once to float32.
 */
import { MaskingError } from './errors.js';
import type { Grid3 } from './grid.js';

/** An axis-aligned box of voxels: [start, start + size) on each axis. */
export interface Box {
  start: Grid3;
  size: Grid3;
}

/** A single volume with its channel count and spatial size: data is (C, X, Y, Z) row-major. */
export interface Volume {
  data: Float32Array;
  /** (C, X, Y, Z). */
  shape: readonly [number, number, number, number];
}

function checkVolume(fn: string, volume: Volume): void {
  const [C, X, Y, Z] = volume.shape;
  if (volume.shape.length !== 4 || volume.data.length !== C * X * Y * Z) {
    throw new MaskingError(
      `${fn}: ${volume.data.length} values do not fill a (C, X, Y, Z) volume of shape [${volume.shape.join(', ')}]`,
    );
  }
}

/** Copies the voxels of `box` out of a (C, X, Y, Z) volume: (C, size). */
export function cutBox(volume: Volume, box: Box): Volume {
  checkVolume('cutBox', volume);
  const [C, X, Y, Z] = volume.shape;
  const [sx, sy, sz] = box.start;
  const [nx, ny, nz] = box.size;
  if (sx < 0 || sy < 0 || sz < 0 || sx + nx > X || sy + ny > Y || sz + nz > Z) {
    throw new MaskingError(`cutBox: box start [${box.start}] size [${box.size}] leaves the volume [${X}, ${Y}, ${Z}]`);
  }
  const out = new Float32Array(C * nx * ny * nz);
  let o = 0;
  for (let c = 0; c < C; c++) {
    for (let x = 0; x < nx; x++) {
      for (let y = 0; y < ny; y++) {
        const from = ((c * X + sx + x) * Y + sy + y) * Z + sz;
        out.set(volume.data.subarray(from, from + nz), o);
        o += nz;
      }
    }
  }
  return { data: out, shape: [C, nx, ny, nz] };
}

function axisWeights(n: number, m: number): { i0: Int32Array; i1: Int32Array; lambda: Float64Array } {
  const i0 = new Int32Array(m);
  const i1 = new Int32Array(m);
  const lambda = new Float64Array(m);
  const scale = n / m;
  for (let o = 0; o < m; o++) {
    const src = Math.max((o + 0.5) * scale - 0.5, 0);
    const lo = Math.min(Math.floor(src), n - 1);
    i0[o] = lo;
    i1[o] = Math.min(lo + 1, n - 1);
    lambda[o] = src - lo;
  }
  return { i0, i1, lambda };
}

/** Resizes one axis of a row-major array seen as (outer, n, inner) to (outer, m, inner). */
function resizeAxis(src: Float64Array, outer: number, n: number, inner: number, m: number): Float64Array {
  const { i0, i1, lambda } = axisWeights(n, m);
  const out = new Float64Array(outer * m * inner);
  for (let a = 0; a < outer; a++) {
    for (let o = 0; o < m; o++) {
      const r0 = (a * n + i0[o]) * inner;
      const r1 = (a * n + i1[o]) * inner;
      const l = lambda[o];
      const base = (a * m + o) * inner;
      for (let e = 0; e < inner; e++) out[base + e] = (1 - l) * src[r0 + e] + l * src[r1 + e];
    }
  }
  return out;
}

/** Trilinear resize (align_corners = False) of a (C, X, Y, Z) volume to (C, size). Equal sizes copy. */
export function resizeTrilinear(volume: Volume, size: Grid3): Volume {
  checkVolume('resizeTrilinear', volume);
  const [C, X, Y, Z] = volume.shape;
  if (size.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new MaskingError(`resizeTrilinear: the target size must be three positive integers, got [${size}]`);
  }
  if (X === size[0] && Y === size[1] && Z === size[2]) return { data: volume.data.slice(), shape: [C, X, Y, Z] };
  let cur: Float64Array = Float64Array.from(volume.data);
  cur = resizeAxis(cur, C * X * Y, Z, 1, size[2]);
  cur = resizeAxis(cur, C * X, Y, size[2], size[1]);
  cur = resizeAxis(cur, C, X, size[1] * size[2], size[0]);
  return { data: Float32Array.from(cur), shape: [C, size[0], size[1], size[2]] };
}
