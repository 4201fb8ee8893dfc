/**
 * 3-D grids of cells (tokens, patches, voxels). Axis 0 is the slowest: the raster index of cell (i, j, k) on a
 * grid (X, Y, Z) is `t = (i·Y + j)·Z + k`, the order PyTorch's `flatten(2)` produces on a (B, C, X, Y, Z) tensor.
 */
import { MaskingError } from './errors.js';

/** A grid or a size per axis: (X, Y, Z), axis 0 slowest. */
export type Grid3 = readonly [number, number, number];

/** A cube edge (`6` means 6×6×6) or three sizes. */
export type GridLike = number | readonly number[];

/** Validates and normalises a grid: positive integers, three axes. */
export function toGrid(grid: GridLike, fn: string, what = 'grid'): Grid3 {
  const axes = typeof grid === 'number' ? [grid, grid, grid] : [...grid];
  if (axes.length !== 3 || axes.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new MaskingError(
      `${fn}: ${what} must be a positive integer or three positive integers (X, Y, Z), got ${JSON.stringify(grid)}`,
    );
  }
  return [axes[0], axes[1], axes[2]];
}

/** Number of cells X·Y·Z. */
export function cellCount(grid: Grid3): number {
  return grid[0] * grid[1] * grid[2];
}

/** Raster index of cell (i, j, k): `(i·Y + j)·Z + k`. */
export function rasterIndex(grid: Grid3, i: number, j: number, k: number): number {
  return (i * grid[1] + j) * grid[2] + k;
}

/** Cell (i, j, k) of raster index `t`. */
export function cellCoords(grid: Grid3, t: number): [number, number, number] {
  const k = t % grid[2];
  const rest = (t - k) / grid[2];
  const j = rest % grid[1];
  return [(rest - j) / grid[1], j, k];
}

/** Per-axis ratio `fine / coarse`; throws unless every axis divides exactly. */
export function blockSize(coarse: Grid3, fine: Grid3, fn: string): Grid3 {
  const ratio = fine.map((n, a) => n / coarse[a]);
  if (ratio.some((r) => !Number.isInteger(r) || r < 1)) {
    throw new MaskingError(
      `${fn}: grid [${fine.join(', ')}] is not an integer multiple of [${coarse.join(', ')}] on every axis; ` +
        'choose sizes where each coarse cell covers a whole block of fine cells',
    );
  }
  return [ratio[0], ratio[1], ratio[2]];
}

export function sameGrid(a: Grid3, b: Grid3): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2];
}
