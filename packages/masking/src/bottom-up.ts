/**
 * MambaMIM bottom-up hierarchical masking (MambaMIM §3.2, `_get_active_ex_or_ii`): the mask is drawn on the
 * deepest stage's grid and mapped to every shallower stage by nearest repetition, so one deep cell covers a
 * whole block of cells above it and every stage of the hybrid encoder sees the same masked regions.
 *
 * HyMamba at 96³: stage grids 96³ / 48³ / 24³ / 12³ / 6³, mask drawn on 6³ (216 cells, 162 masked at r = 0.75),
 * each 6³ cell covering 16³ input voxels, 8³ cells of 48³, …
 */
import { MaskingError } from './errors.js';
import { blockSize, cellCount, type Grid3, type GridLike, toGrid } from './grid.js';
import type { RandomInput } from './random.js';
import { type PatchMask, type RandomMaskOptions, randomPatchMask } from './random-mask.js';

/** A mask on one stage's grid. `visible` and `masked` are (B, X·Y·Z) u8 in raster order, `visible = 1 − masked`. */
export interface StageMask {
  grid: Grid3;
  batch: number;
  visible: Uint8Array;
  masked: Uint8Array;
}

export interface BottomUpMask {
  /** The random mask on the deepest grid, with its index lists. */
  deepest: PatchMask;
  /** One mask per stage, in the order the grids were given (shallowest first, deepest last). */
  stages: StageMask[];
}

/**
 * Nearest-repetition upsampling of a (B, x·y·z) mask to (B, X·Y·Z), where every axis of `target` is an integer
 * multiple f of `grid`: out[b, I, J, K] = mask[b, ⌊I/fx⌋, ⌊J/fy⌋, ⌊K/fz⌋] (torch `repeat_interleave` on each
 * axis). Works for any typed array of values (u8 masks, f32 weights).
 */
export function expandMask<T extends Uint8Array | Float32Array | Int32Array>(
  mask: T,
  grid: GridLike,
  target: GridLike,
  batch = 1,
): T {
  const g = toGrid(grid, 'expandMask');
  const t = toGrid(target, 'expandMask', 'target');
  const [fx, fy, fz] = blockSize(g, t, 'expandMask');
  const cells = cellCount(g);
  if (mask.length !== batch * cells) {
    throw new MaskingError(
      `expandMask: got ${mask.length} values for batch ${batch} on grid [${g.join(', ')}] (expected ${batch * cells})`,
    );
  }
  const out = new (mask.constructor as new (n: number) => T)(batch * cellCount(t));
  let o = 0;
  for (let b = 0; b < batch; b++) {
    const base = b * cells;
    for (let I = 0; I < t[0]; I++) {
      const i = Math.floor(I / fx);
      for (let J = 0; J < t[1]; J++) {
        const row = base + (i * g[1] + Math.floor(J / fy)) * g[2];
        for (let K = 0; K < t[2]; K++) out[o++] = mask[row + Math.floor(K / fz)];
      }
    }
  }
  return out;
}

/** Stage grids `input / stride` for each stride: `stageGrids(96, [1, 2, 4, 8, 16])` gives 96³ … 6³ (HyMamba). */
export function stageGrids(input: GridLike, strides: readonly number[]): Grid3[] {
  const size = toGrid(input, 'stageGrids', 'input');
  return strides.map((s) => {
    const grid = size.map((n) => n / s);
    if (!Number.isInteger(s) || s < 1 || grid.some((n) => !Number.isInteger(n))) {
      throw new MaskingError(`stageGrids: stride ${s} does not divide the input [${size.join(', ')}]`);
    }
    return [grid[0], grid[1], grid[2]] as const;
  });
}

/**
 * Draws one random mask on the deepest (last) grid and maps it to every stage. Each grid must be an integer
 * multiple of the next one on every axis.
 *
 * ```ts
 * const m = bottomUpMask(stageGrids(96, [1, 2, 4, 8, 16]), 0.75, 7, { batch: 4 });
 * m.stages[0].visible; // (4, 96·96·96), multiply the input by it
 * m.deepest.idsKeep;   // (4, 54) tokens of the 6³ Mamba stage
 * ```
 */
export function bottomUpMask(
  grids: readonly GridLike[],
  ratio: number,
  rng: RandomInput,
  options: RandomMaskOptions = {},
): BottomUpMask {
  if (grids.length === 0) throw new MaskingError('bottomUpMask: give at least one stage grid (deepest last)');
  const stages = grids.map((g, s) => toGrid(g, 'bottomUpMask', `grid ${s}`));
  for (let s = 0; s + 1 < stages.length; s++) blockSize(stages[s + 1], stages[s], 'bottomUpMask');
  const deepGrid = stages[stages.length - 1];
  const deepest = randomPatchMask(deepGrid, ratio, rng, options);
  return {
    deepest,
    stages: stages.map((grid) => {
      const visible = expandMask(deepest.visible, deepGrid, grid, deepest.batch);
      const masked = new Uint8Array(visible.length);
      for (let i = 0; i < visible.length; i++) masked[i] = 1 - visible[i];
      return { grid, batch: deepest.batch, visible, masked };
    }),
  };
}
