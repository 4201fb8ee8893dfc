/**
 * Masks as tensors: upload, expand to a feature map (nearest repetition, MambaMIM's `_get_active_ex_or_ii`),
 * apply to an NCDHW tensor (SparK / MambaMIM `x * active`).
 */
import { contiguous, expand, fromTypedArray, mul, reshape, type Tensor } from '@mim/tensor';
import { MaskingError } from '../errors.js';
import { blockSize, cellCount, type Grid3, type GridLike, toGrid } from '../grid.js';

/** A mask on a grid with B samples, (B, X·Y·Z) values in raster order (`StageMask`, `PatchMask` fit). */
export interface GridMask {
  grid: Grid3;
  batch: number;
  visible: Uint8Array;
}

/**
 * Uploads a (B, X·Y·Z) mask as a (B, 1, X, Y, Z) tensor: f32 0/1 (default, for multiplying) or u32 (for `where`).
 * `which` picks the visible (default) or masked cells as ones.
 */
export function maskTensor(
  mask: GridMask,
  options: { dtype?: 'f32' | 'u32'; which?: 'visible' | 'masked' } = {},
): Tensor {
  const cells = cellCount(mask.grid);
  if (mask.visible.length !== mask.batch * cells) {
    throw new MaskingError(`maskTensor: ${mask.visible.length} values for batch ${mask.batch} on [${mask.grid}]`);
  }
  const flip = options.which === 'masked';
  const values =
    options.dtype === 'u32'
      ? Uint32Array.from(mask.visible, (v) => (flip ? 1 - v : v))
      : Float32Array.from(mask.visible, (v) => (flip ? 1 - v : v));
  return fromTypedArray(values, [mask.batch, 1, ...mask.grid]);
}

/**
 * Nearest-repetition upsampling of a (B, 1, x, y, z) tensor to (B, 1, X, Y, Z); every target axis must be an
 * integer multiple. Built from reshape → expand → contiguous → reshape; differentiable.
 */
export function expandMaskTensor(mask: Tensor, size: GridLike): Tensor {
  if (mask.rank !== 5) {
    throw new MaskingError(`expandMaskTensor: expected a (B, C, x, y, z) mask, got rank ${mask.rank}`);
  }
  const [B, C, x, y, z] = mask.shape;
  const target = toGrid(size, 'expandMaskTensor', 'size');
  const [fx, fy, fz] = blockSize([x, y, z], target, 'expandMaskTensor');
  if (fx === 1 && fy === 1 && fz === 1) return contiguous(mask);
  const split = reshape(mask, [B, C, x, 1, y, 1, z, 1]);
  const wide = expand(split, [B, C, x, fx, y, fy, z, fz]);
  const dense = contiguous(wide);
  const out = reshape(dense, [B, C, ...target]);
  for (const t of [split, wide, dense]) t.dispose();
  return out;
}

/**
 * Zeroes the masked positions of an NCDHW tensor: `x ⊙ expand(visible)`. `mask` is an f32 (B, 1, x, y, z)
 * tensor or a `GridMask` on any grid that divides x's spatial size. Differentiable in x.
 * Shapes: x (B, C, X, Y, Z) → (B, C, X, Y, Z).
 */
export function applyMask(x: Tensor, mask: Tensor | GridMask): Tensor {
  if (x.rank !== 5) throw new MaskingError(`applyMask: expected x of shape (B, C, X, Y, Z), got rank ${x.rank}`);
  const uploaded = 'visible' in mask ? maskTensor(mask) : null;
  const source = uploaded ?? (mask as Tensor);
  if (source.shape[0] !== x.shape[0] || source.shape[1] !== 1) {
    throw new MaskingError(
      `applyMask: mask [${source.shape}] must be (B, 1, x, y, z) with B = ${x.shape[0]} to match x [${x.shape}]`,
    );
  }
  const full = expandMaskTensor(source, x.shape.slice(2));
  const out = mul(x, full);
  full.dispose();
  uploaded?.dispose();
  return out;
}
