/**
 * Random patch masks with the index lists of MAE-style encoders (PyTorch MAE `random_masking` semantics).
 *
 * Shapes (B = batch, L = X·Y·Z cells, N = visible cells per sample, M = L − N masked cells per sample):
 * - `masked`      (B, L) u8, 1 = masked (MAE's `mask`), raster order
 * - `visible`     (B, L) u8, 1 = visible (MambaMIM's `active`), = 1 − masked
 * - `idsShuffle`  (B, L) i32, a permutation of the raster indices: the N visible cells first, then the M masked
 * - `idsRestore`  (B, L) i32, `argsort(idsShuffle)`: `idsShuffle[idsRestore[t]] = t`
 * - `idsKeep`     (B, N) i32, `idsShuffle[:, :N]`, the tokens an MAE encoder keeps, in that order
 * - `idsMasked`   (B, M) i32, `idsShuffle[:, N:]`
 */
import { MaskingError } from './errors.js';
import { cellCount, type Grid3, type GridLike, toGrid } from './grid.js';
import { type RandomInput, type RandomSource, randomPermutation, shuffleInPlace, toRandomSource } from './random.js';

export interface PatchMask {
  grid: Grid3;
  batch: number;
  /** L = X·Y·Z. */
  cells: number;
  /** M, masked cells per sample (the same for every sample). */
  numMasked: number;
  /** N = L − M, visible cells per sample. */
  numVisible: number;
  masked: Uint8Array;
  visible: Uint8Array;
  idsShuffle: Int32Array;
  idsRestore: Int32Array;
  idsKeep: Int32Array;
  idsMasked: Int32Array;
}

/**
 * How the visible and the masked part of `idsShuffle` are ordered: `'random'` (MAE: the order of the noise
 * argsort) or `'sorted'` (ascending raster order inside each part: MambaMIM's stable `argsort(1 − active)`).
 */
export type IdsOrder = 'random' | 'sorted';

export interface RandomMaskOptions {
  /** Samples, each with its own independent mask (default 1). */
  batch?: number;
  /** Order inside the visible and the masked parts of `idsShuffle` (default `'random'`). */
  order?: IdsOrder;
  /** Exact number of masked cells per sample; overrides `round(ratio · L)`. */
  numMasked?: number;
}

/** round(ratio · cells), half up: the number of masked cells. */
export function maskedCount(cells: number, ratio: number, fn = 'maskedCount'): number {
  if (!(ratio >= 0 && ratio <= 1)) throw new MaskingError(`${fn}: the mask ratio must lie in [0, 1], got ${ratio}`);
  return Math.round(ratio * cells);
}

/** Inverse permutation per row: `out[b, perm[b, s]] = s` (= argsort of a permutation). */
export function invertPermutation(perm: Int32Array, rowLength = perm.length): Int32Array {
  const out = new Int32Array(perm.length).fill(-1);
  for (let base = 0; base < perm.length; base += rowLength) {
    for (let s = 0; s < rowLength; s++) {
      const t = perm[base + s];
      if (!(t >= 0 && t < rowLength) || out[base + t] !== -1) {
        throw new MaskingError(`invertPermutation: row ${base / rowLength} is not a permutation of 0…${rowLength - 1}`);
      }
      out[base + t] = s;
    }
  }
  return out;
}

function fromShuffle(grid: Grid3, batch: number, numVisible: number, idsShuffle: Int32Array): PatchMask {
  const cells = cellCount(grid);
  const numMasked = cells - numVisible;
  const idsRestore = invertPermutation(idsShuffle, cells);
  const masked = new Uint8Array(batch * cells);
  const visible = new Uint8Array(batch * cells);
  const idsKeep = new Int32Array(batch * numVisible);
  const idsMasked = new Int32Array(batch * numMasked);
  for (let b = 0; b < batch; b++) {
    for (let s = 0; s < cells; s++) {
      const t = idsShuffle[b * cells + s];
      if (s < numVisible) {
        visible[b * cells + t] = 1;
        idsKeep[b * numVisible + s] = t;
      } else {
        masked[b * cells + t] = 1;
        idsMasked[b * numMasked + s - numVisible] = t;
      }
    }
  }
  return { grid, batch, cells, numMasked, numVisible, masked, visible, idsShuffle, idsRestore, idsKeep, idsMasked };
}

function sortParts(idsShuffle: Int32Array, cells: number, numVisible: number): void {
  for (let base = 0; base < idsShuffle.length; base += cells) {
    idsShuffle.subarray(base, base + numVisible).sort();
    idsShuffle.subarray(base + numVisible, base + cells).sort();
  }
}

/**
 * Draws `batch` independent masks on `grid`, each with exactly `round(ratio · L)` masked cells chosen uniformly
 * (a Fisher–Yates permutation per sample = MAE's argsort of uniform noise, without ties). Deterministic per seed;
 * sample b uses the generator after samples 0…b−1.
 *
 * ```ts
 * const m = randomPatchMask(6, 0.75, 42, { batch: 2 }); // 6×6×6 grid, 162 masked / 54 visible per sample
 * m.idsKeep; // Int32Array (2, 54)
 * ```
 */
export function randomPatchMask(
  grid: GridLike,
  ratio: number,
  rng: RandomInput,
  options: RandomMaskOptions = {},
): PatchMask {
  const g = toGrid(grid, 'randomPatchMask');
  const cells = cellCount(g);
  const batch = options.batch ?? 1;
  if (!Number.isInteger(batch) || batch < 1) {
    throw new MaskingError(`randomPatchMask: batch must be a positive integer, got ${batch}`);
  }
  const numMasked = options.numMasked ?? maskedCount(cells, ratio, 'randomPatchMask');
  if (!Number.isInteger(numMasked) || numMasked < 0 || numMasked > cells) {
    throw new MaskingError(`randomPatchMask: numMasked must be an integer in [0, ${cells}], got ${numMasked}`);
  }
  const source = toRandomSource(rng, 'randomPatchMask');
  const idsShuffle = new Int32Array(batch * cells);
  for (let b = 0; b < batch; b++) idsShuffle.set(randomPermutation(cells, source), b * cells);
  const numVisible = cells - numMasked;
  if (options.order === 'sorted') sortParts(idsShuffle, cells, numVisible);
  return fromShuffle(g, batch, numVisible, idsShuffle);
}

export interface BinaryMaskOptions {
  batch?: number;
  /** `'sorted'` (default) or `'random'` (then `rng` is required). */
  order?: IdsOrder;
  rng?: RandomInput;
  /** Whether the 1s of the given array mark masked cells (default) or visible ones. */
  ones?: 'masked' | 'visible';
}

/**
 * Builds the index lists for a given binary mask (B, L). Every sample must have the same number of masked
 * cells, because `idsKeep` is a dense (B, N) array.
 */
export function maskFromBinary(values: ArrayLike<number>, grid: GridLike, options: BinaryMaskOptions = {}): PatchMask {
  const g = toGrid(grid, 'maskFromBinary');
  const cells = cellCount(g);
  const batch = options.batch ?? 1;
  if (values.length !== batch * cells) {
    throw new MaskingError(
      `maskFromBinary: got ${values.length} values, expected batch · cells = ${batch} · ${cells} = ${batch * cells}`,
    );
  }
  const maskedOnes = (options.ones ?? 'masked') === 'masked';
  const source: RandomSource | null = options.rng === undefined ? null : toRandomSource(options.rng, 'maskFromBinary');
  const order = options.order ?? 'sorted';
  if (order === 'random' && !source) throw new MaskingError("maskFromBinary: order 'random' needs options.rng");
  const idsShuffle = new Int32Array(batch * cells);
  let numVisible = -1;
  for (let b = 0; b < batch; b++) {
    const keep: number[] = [];
    const drop: number[] = [];
    for (let t = 0; t < cells; t++) ((values[b * cells + t] !== 0) === maskedOnes ? drop : keep).push(t);
    if (numVisible === -1) numVisible = keep.length;
    else if (keep.length !== numVisible) {
      throw new MaskingError(
        `maskFromBinary: sample ${b} has ${keep.length} visible cells but sample 0 has ${numVisible}; ids_keep needs the same count in every sample (build one PatchMask per sample instead)`,
      );
    }
    const row = Int32Array.from([...keep, ...drop]);
    if (order === 'random' && source) {
      shuffleInPlace(row.subarray(0, keep.length), source);
      shuffleInPlace(row.subarray(keep.length), source);
    }
    idsShuffle.set(row, b * cells);
  }
  return fromShuffle(g, batch, numVisible, idsShuffle);
}

/** Concatenates masks on the same grid along the batch axis (same visible count required). */
export function concatMasks(masks: readonly PatchMask[]): PatchMask {
  if (masks.length === 0) throw new MaskingError('concatMasks: no masks given');
  const { grid, cells, numVisible } = masks[0];
  for (const [i, m] of masks.entries()) {
    if (m.cells !== cells || m.grid.some((n, a) => n !== grid[a])) {
      throw new MaskingError(`concatMasks: mask ${i} is on grid [${m.grid}] but mask 0 on [${grid}]`);
    }
    if (m.numVisible !== numVisible) {
      throw new MaskingError(
        `concatMasks: mask ${i} keeps ${m.numVisible} cells but mask 0 keeps ${numVisible}; ids_keep must be dense (in MiM's approximate level-1 mode, where sub-volumes cover different token counts, keep the samples apart)`,
      );
    }
  }
  const batch = masks.reduce((n, m) => n + m.batch, 0);
  const idsShuffle = new Int32Array(batch * cells);
  let offset = 0;
  for (const m of masks) {
    idsShuffle.set(m.idsShuffle, offset);
    offset += m.idsShuffle.length;
  }
  return fromShuffle(grid, batch, numVisible, idsShuffle);
}
