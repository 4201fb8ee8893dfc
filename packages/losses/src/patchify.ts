/**
 * SparK / MambaMIM patch layout: a volume (B, C, H, W, D) becomes (B, L, C·p³) with L = (H/p)(W/p)(D/p) patches
 * in raster order over (H/p, W/p, D/p). Inside a patch the order is (C, p_h, p_w, p_d); for C = 1 this is the
 * order of fixtures/README.md (`masked_mse_normpix`). The per-patch losses do not depend on it.
 */
import { contiguous, fmtShape, permute, reshape, ShapeError, type Tensor } from '@mim/tensor';

/** Patch-grid size (h, w, d) of a (B, C, H, W, D) volume; throws unless every spatial size divides by p. */
export function patchGrid(op: string, volume: Tensor, patchSize: number): [number, number, number] {
  if (volume.rank !== 5) {
    throw new ShapeError(
      `${op}: expected a volume (B, C, H, W, D), got ${fmtShape(volume.shape)} — add batch/channel axes with unsqueeze`,
    );
  }
  if (!Number.isInteger(patchSize) || patchSize < 1) {
    throw new ShapeError(`${op}: patchSize must be a positive integer, got ${patchSize}`);
  }
  const [, , H, W, D] = volume.shape;
  if (H % patchSize || W % patchSize || D % patchSize) {
    throw new ShapeError(
      `${op}: spatial size ${H}×${W}×${D} of ${fmtShape(volume.shape)} is not divisible by patchSize ${patchSize} — crop or pad the volume`,
    );
  }
  return [H / patchSize, W / patchSize, D / patchSize];
}

/** (B, C, H, W, D) → (B, L, C·p³), contiguous. Differentiable. */
export function patchify(volume: Tensor, patchSize: number): Tensor {
  const [h, w, d] = patchGrid('patchify', volume, patchSize);
  const [B, C] = volume.shape;
  const p = patchSize;
  const split = reshape(volume, [B, C, h, p, w, p, d, p]);
  const moved = permute(split, [0, 2, 4, 6, 1, 3, 5, 7]);
  const packed = contiguous(moved);
  const out = reshape(packed, [B, h * w * d, C * p * p * p]);
  for (const t of [split, moved, packed]) if (t !== out) t.dispose();
  return out;
}
