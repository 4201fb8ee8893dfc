import { invert4, type Matrix4, multiply4, type Vector3 } from './affine.js';
import { DataError } from './errors.js';
import { allocateLike, type Volume, type VoxelArray } from './volume.js';

export type InterpolationMode = 'trilinear' | 'nearest';

/** Output grid of a resampling: shape and voxel-to-world affine. */
export interface Grid {
  shape: [number, number, number];
  affine: Matrix4;
}

function gramSchmidt(affine: Matrix4): number[][] {
  const columns = [0, 1, 2].map((c) => [affine[0][c], affine[1][c], affine[2][c]]);
  const basis: number[][] = [];
  for (const column of columns) {
    const v = column.slice();
    for (const q of basis) {
      const dot = q[0] * column[0] + q[1] * column[1] + q[2] * column[2];
      for (let r = 0; r < 3; r++) v[r] -= dot * q[r];
    }
    const norm = Math.hypot(v[0], v[1], v[2]);
    basis.push(v.map((x) => x / norm));
  }
  return basis;
}

function normalizeSpacing(spacing: number | readonly number[]): Vector3 {
  const s = typeof spacing === 'number' ? [spacing, spacing, spacing] : [...spacing];
  if (s.length !== 3 || s.some((v) => !(v > 0) || !Number.isFinite(v))) {
    throw new DataError(
      'bad-argument',
      'resample',
      `spacing must be a positive number or three positive numbers, got ${JSON.stringify(spacing)}`,
    );
  }
  return s as Vector3;
}

/**
 * The output grid of MONAI `Spacing(pixdim=spacing)` (diagonal=False, scale_extent=False): the affine keeps the
 * input's directions with columns of length `spacing`; the shape covers the input's voxel-centre extent,
 * `round(extent / spacing) + 1` along each axis; the origin stays at the input corner that is smallest in the
 * output's voxel coordinates (the first voxel for axis-aligned grids), else the two grids share their centre.
 */
export function spacingGrid(
  affine: Matrix4,
  shape: readonly [number, number, number],
  spacing: number | readonly number[],
): Grid {
  const target = normalizeSpacing(spacing);
  const basis = gramSchmidt(affine);
  const outLinear: Matrix4 = [
    [basis[0][0] * target[0], basis[1][0] * target[1], basis[2][0] * target[2], 0],
    [basis[0][1] * target[0], basis[1][1] * target[1], basis[2][1] * target[2], 0],
    [basis[0][2] * target[0], basis[1][2] * target[1], basis[2][2] * target[2], 0],
    [0, 0, 0, 1],
  ];
  const inToOut = multiply4(invert4(outLinear), affine);
  const corners: number[][] = [];
  for (const i of [0, shape[0] - 1])
    for (const j of [0, shape[1] - 1])
      for (const k of [0, shape[2] - 1]) {
        corners.push([i, j, k]);
      }
  const outCorners = corners.map((c) =>
    [0, 1, 2].map((r) => inToOut[r][0] * c[0] + inToOut[r][1] * c[1] + inToOut[r][2] * c[2] + inToOut[r][3]),
  );
  const outShape = [0, 1, 2].map((axis) => {
    const values = outCorners.map((c) => c[axis]);
    return Math.max(1, Math.round(Math.max(...values) - Math.min(...values) + 1));
  }) as [number, number, number];
  let offset: number[] | undefined;
  for (let i = 0; i < corners.length && !offset; i++) {
    const isMinimum = [0, 1, 2].every((axis) => {
      const smallest = Math.min(...outCorners.map((c) => c[axis] - outCorners[i][axis]));
      return Math.abs(smallest) <= 1e-8 + 1e-3 * Math.abs(outCorners[i][axis]);
    });
    if (isMinimum) {
      offset = [0, 1, 2].map(
        (r) =>
          affine[r][0] * corners[i][0] + affine[r][1] * corners[i][1] + affine[r][2] * corners[i][2] + affine[r][3],
      );
    }
  }
  if (!offset) {
    offset = [0, 1, 2].map((r) => {
      let value = affine[r][3];
      for (let c = 0; c < 3; c++) value += affine[r][c] * (shape[c] / 2) - outLinear[r][c] * (outShape[c] / 2);
      return value;
    });
  }
  const outAffine = outLinear.map((row) => row.slice());
  for (let r = 0; r < 3; r++) outAffine[r][3] = offset[r];
  return { shape: outShape, affine: outAffine };
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function clamp(v: number, high: number): number {
  return v < 0 ? 0 : Math.min(v, high);
}

/**
 * Resample `volume` onto `grid` (voxel centres mapped through both affines; coordinates outside the input are
 * clamped to its border, like grid_sample's padding_mode="border"). Trilinear returns Float32Array; nearest keeps
 * the input type and rounds half to even (as torch's grid_sample does).
 */
export function resampleToGrid(volume: Volume, grid: Grid, mode: InterpolationMode = 'trilinear'): Volume {
  const m = multiply4(invert4(volume.affine), grid.affine);
  const [nx, ny, nz] = volume.shape;
  const [ox, oy, oz] = grid.shape;
  const input = volume.data;
  const output: VoxelArray = mode === 'nearest' ? allocateLike(input, ox * oy * oz) : new Float32Array(ox * oy * oz);
  const sx = 1;
  const sy = nx;
  const sz = nx * ny;
  const scale = Math.max(Math.abs(m[0][0]), Math.abs(m[1][1]), Math.abs(m[2][2]), 1e-12);
  const offDiagonal = [m[0][1], m[0][2], m[1][0], m[1][2], m[2][0], m[2][1]].every((v) => Math.abs(v) < 1e-9 * scale);
  const isIdentity =
    offDiagonal &&
    [0, 1, 2].every((a) => Math.abs(m[a][a] - 1) < 1e-7 && Math.abs(m[a][3]) < 1e-5) &&
    ox === nx &&
    oy === ny &&
    oz === nz;
  if (isIdentity) {
    if (mode === 'nearest' || input instanceof Float32Array) output.set(input);
    else for (let i = 0; i < input.length; i++) output[i] = input[i];
    return { data: output, shape: [...grid.shape], affine: grid.affine.map((r) => r.slice()) };
  }
  if (offDiagonal) {
    const axis = (a: number, count: number, n: number) => {
      const low = new Int32Array(count);
      const high = new Int32Array(count);
      const weight = new Float32Array(count);
      for (let o = 0; o < count; o++) {
        const c = clamp(m[a][a] * o + m[a][3], n - 1);
        if (mode === 'nearest') {
          low[o] = clamp(roundHalfEven(m[a][a] * o + m[a][3]), n - 1);
          continue;
        }
        const f = Math.floor(c);
        low[o] = f;
        high[o] = Math.min(f + 1, n - 1);
        weight[o] = c - f;
      }
      return { low, high, weight };
    };
    const X = axis(0, ox, nx);
    const Y = axis(1, oy, ny);
    const Z = axis(2, oz, nz);
    let o = 0;
    if (mode === 'nearest') {
      for (let k = 0; k < oz; k++) {
        for (let j = 0; j < oy; j++) {
          const base = Z.low[k] * sz + Y.low[j] * sy;
          for (let i = 0; i < ox; i++) output[o++] = input[base + X.low[i] * sx];
        }
      }
    } else {
      for (let k = 0; k < oz; k++) {
        const z0 = Z.low[k] * sz;
        const z1 = Z.high[k] * sz;
        const wz = Z.weight[k];
        for (let j = 0; j < oy; j++) {
          const y0 = Y.low[j] * sy;
          const y1 = Y.high[j] * sy;
          const wy = Y.weight[j];
          const w00 = (1 - wy) * (1 - wz);
          const w10 = wy * (1 - wz);
          const w01 = (1 - wy) * wz;
          const w11 = wy * wz;
          const r00 = z0 + y0;
          const r10 = z0 + y1;
          const r01 = z1 + y0;
          const r11 = z1 + y1;
          for (let i = 0; i < ox; i++) {
            const x0 = X.low[i];
            const x1 = X.high[i];
            const wx = X.weight[i];
            const a = input[r00 + x0] * w00 + input[r10 + x0] * w10 + input[r01 + x0] * w01 + input[r11 + x0] * w11;
            const b = input[r00 + x1] * w00 + input[r10 + x1] * w10 + input[r01 + x1] * w01 + input[r11 + x1] * w11;
            output[o++] = a + (b - a) * wx;
          }
        }
      }
    }
    return { data: output, shape: [...grid.shape], affine: grid.affine.map((r) => r.slice()) };
  }
  // General (oblique) mapping: every output voxel centre goes through the full 3×3 matrix.
  let o = 0;
  for (let k = 0; k < oz; k++) {
    for (let j = 0; j < oy; j++) {
      for (let i = 0; i < ox; i++) {
        const cx = m[0][0] * i + m[0][1] * j + m[0][2] * k + m[0][3];
        const cy = m[1][0] * i + m[1][1] * j + m[1][2] * k + m[1][3];
        const cz = m[2][0] * i + m[2][1] * j + m[2][2] * k + m[2][3];
        if (mode === 'nearest') {
          output[o++] =
            input[
              clamp(roundHalfEven(cx), nx - 1) +
                clamp(roundHalfEven(cy), ny - 1) * sy +
                clamp(roundHalfEven(cz), nz - 1) * sz
            ];
          continue;
        }
        const px = clamp(cx, nx - 1);
        const py = clamp(cy, ny - 1);
        const pz = clamp(cz, nz - 1);
        const x0 = Math.floor(px);
        const y0 = Math.floor(py);
        const z0 = Math.floor(pz);
        const x1 = Math.min(x0 + 1, nx - 1);
        const y1 = Math.min(y0 + 1, ny - 1);
        const z1 = Math.min(z0 + 1, nz - 1);
        const wx = px - x0;
        const wy = py - y0;
        const wz = pz - z0;
        const at = (x: number, y: number, z: number) => input[x + y * sy + z * sz];
        const c00 = at(x0, y0, z0) * (1 - wx) + at(x1, y0, z0) * wx;
        const c10 = at(x0, y1, z0) * (1 - wx) + at(x1, y1, z0) * wx;
        const c01 = at(x0, y0, z1) * (1 - wx) + at(x1, y0, z1) * wx;
        const c11 = at(x0, y1, z1) * (1 - wx) + at(x1, y1, z1) * wx;
        output[o++] = (c00 * (1 - wy) + c10 * wy) * (1 - wz) + (c01 * (1 - wy) + c11 * wy) * wz;
      }
    }
  }
  return { data: output, shape: [...grid.shape], affine: grid.affine.map((r) => r.slice()) };
}

/** Resample to a voxel spacing in mm (MONAI `Spacing`): trilinear for images, `mode: 'nearest'` for labels. */
export function resample(
  volume: Volume,
  spacing: number | readonly number[],
  options: { mode?: InterpolationMode } = {},
): Volume {
  return resampleToGrid(volume, spacingGrid(volume.affine, volume.shape, spacing), options.mode ?? 'trilinear');
}
