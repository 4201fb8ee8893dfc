import { axisOrientation, type Matrix4, parseOrientationCode } from './affine.js';
import { DataError } from './errors.js';
import { allocateLike, type Volume, type VoxelArray } from './volume.js';

/** For each output axis: which input axis it reads and whether that axis is reversed. */
export interface AxisPlan {
  permutation: [number, number, number];
  flips: [boolean, boolean, boolean];
}

/** The permutation/flips that bring a volume with this affine to `target` orientation (e.g. "RAS"). */
export function orientationPlan(affine: Matrix4, target = 'RAS'): AxisPlan {
  const wanted = parseOrientationCode(target);
  if (!wanted) {
    throw new DataError(
      'bad-argument',
      'orientation',
      `"${target}" is not an orientation code; use three letters, one of R/L, A/P, S/I each (e.g. "RAS", "LPS")`,
    );
  }
  const current = axisOrientation(affine);
  const permutation = [0, 0, 0] as [number, number, number];
  const flips = [false, false, false] as [boolean, boolean, boolean];
  wanted.forEach(({ worldAxis, sign }, outputAxis) => {
    const inputAxis = current.findIndex((c) => c.worldAxis === worldAxis);
    permutation[outputAxis] = inputAxis;
    flips[outputAxis] = current[inputAxis].sign !== sign;
  });
  return { permutation, flips };
}

/**
 * Permute and flip the axes of a volume: output axis k reads input axis `permutation[k]`, reversed when
 * `flips[k]`. The affine is updated so that every voxel keeps its world position.
 */
export function permuteFlip<T extends VoxelArray>(volume: Volume<T>, plan: AxisPlan): Volume<T> {
  const { permutation, flips } = plan;
  const inShape = volume.shape;
  const inStrides = [1, inShape[0], inShape[0] * inShape[1]];
  const shape = permutation.map((axis) => inShape[axis]) as [number, number, number];
  const identity = permutation.every((axis, k) => axis === k) && !flips.some(Boolean);
  const affine = permuteFlipAffine(volume.affine, inShape, plan);
  if (identity) return { data: volume.data.slice() as T, shape, affine };
  const steps = permutation.map((axis, k) => (flips[k] ? -inStrides[axis] : inStrides[axis]));
  let base = 0;
  permutation.forEach((axis, k) => {
    if (flips[k]) base += (inShape[axis] - 1) * inStrides[axis];
  });
  const input = volume.data;
  const output = allocateLike(input, input.length) as T;
  const [n0, n1, n2] = shape;
  const [s0, s1, s2] = steps;
  if (s0 === 1 || s0 === -1) {
    let o = 0;
    for (let k = 0; k < n2; k++) {
      const offsetK = base + k * s2;
      for (let j = 0; j < n1; j++) {
        let source = offsetK + j * s1;
        for (let i = 0; i < n0; i++, source += s0) output[o++] = input[source];
      }
    }
  } else {
    // Strided reads (a transpose): walk the output's fastest axis in chunks of 8 so that consecutive reads of
    // the middle loop stay in nearby cache lines (about 2× faster on 96³ crops).
    const chunk = 8;
    for (let i0 = 0; i0 < n0; i0 += chunk) {
      const i1 = Math.min(n0, i0 + chunk);
      for (let k = 0; k < n2; k++) {
        const offsetK = base + k * s2 + i0 * s0;
        for (let j = 0; j < n1; j++) {
          let source = offsetK + j * s1;
          let o = i0 + n0 * (j + n1 * k);
          for (let i = i0; i < i1; i++, source += s0) output[o++] = input[source];
        }
      }
    }
  }
  return { data: output, shape, affine };
}

/** The affine after permuteFlip: columns reordered/negated, origin moved to the new first voxel. */
export function permuteFlipAffine(affine: Matrix4, inShape: readonly number[], plan: AxisPlan): Matrix4 {
  const out: Matrix4 = [
    [0, 0, 0, affine[0][3]],
    [0, 0, 0, affine[1][3]],
    [0, 0, 0, affine[2][3]],
    [0, 0, 0, 1],
  ];
  plan.permutation.forEach((axis, k) => {
    const sign = plan.flips[k] ? -1 : 1;
    for (let r = 0; r < 3; r++) {
      out[r][k] = sign * affine[r][axis];
      if (plan.flips[k]) out[r][3] += affine[r][axis] * (inShape[axis] - 1);
    }
  });
  return out;
}

/** Reorient to `target` (default "RAS"), like MONAI `Orientation(axcodes="RAS")`. */
export function reorient<T extends VoxelArray>(volume: Volume<T>, target = 'RAS'): Volume<T> {
  return permuteFlip(volume, orientationPlan(volume.affine, target));
}

/** The plan of applying `first`, then `second`: one pass instead of two. */
export function composePlans(first: AxisPlan, second: AxisPlan): AxisPlan {
  return {
    permutation: second.permutation.map((axis) => first.permutation[axis]) as [number, number, number],
    flips: second.flips.map((flip, k) => flip !== first.flips[second.permutation[k]]) as [boolean, boolean, boolean],
  };
}

/** Volume (NIfTI order, shape [X, Y, Z]) → tensor layout (C-order [X][Y][Z], i.e. NIfTI order of shape [Z, Y, X]). */
export const TENSOR_LAYOUT_PLAN: AxisPlan = { permutation: [2, 1, 0], flips: [false, false, false] };
