/**
 * Tensor-level patchify / unpatchify in the layout of the index-level functions (fixtures/README.md,
 * masked_mse_normpix, channel last inside a patch), as reshape → permute → contiguous → reshape, so the
 * gradient is the inverse permutation.
 */
import { contiguous, permute, reshape, type Tensor } from '@mim/tensor';
import { MaskingError } from '../errors.js';
import { checkPatchShape } from '../patchify.js';

/** (B, C, H, W, D) → (B, L, p³·C), L = (H/p)(W/p)(D/p). */
export function patchify(x: Tensor, patch: number): Tensor {
  const [B, C, H, W, D] = checkPatchShape('patchify', x.shape, patch);
  const p = patch;
  const split = reshape(x, [B, C, H / p, p, W / p, p, D / p, p]);
  const moved = permute(split, [0, 2, 4, 6, 3, 5, 7, 1]);
  const dense = contiguous(moved);
  const out = reshape(dense, [B, (H / p) * (W / p) * (D / p), p * p * p * C]);
  for (const t of [split, moved, dense]) t.dispose();
  return out;
}

/** (B, L, p³·C) → (B, C, H, W, D) for the volume shape `shape` = (B, C, H, W, D). */
export function unpatchify(tokens: Tensor, shape: readonly number[], patch: number): Tensor {
  const [B, C, H, W, D] = checkPatchShape('unpatchify', shape, patch);
  const p = patch;
  const L = (H / p) * (W / p) * (D / p);
  if (tokens.rank !== 3 || tokens.shape[0] !== B || tokens.shape[1] !== L || tokens.shape[2] !== p * p * p * C) {
    throw new MaskingError(`unpatchify: expected tokens (${B}, ${L}, ${p ** 3 * C}), got [${tokens.shape}]`);
  }
  const split = reshape(tokens, [B, H / p, W / p, D / p, p, p, p, C]);
  const moved = permute(split, [0, 7, 1, 4, 2, 5, 3, 6]);
  const dense = contiguous(moved);
  const out = reshape(dense, [B, C, H, W, D]);
  for (const t of [split, moved, dense]) t.dispose();
  return out;
}
