/**
 * @mim/losses — losses for 3D masked image modeling on WebGPU:
 * - `maskedMseNormPix(prediction, target, visible, patchSize)`: SparK / MambaMIM reconstruction loss (per-patch
 *   normalised target, mean squared error over masked patches);
 * - `infoNce(c, p, pos, tau)`: InfoNCE over cosine similarities (MiM cross-level alignment).
 * Fixture adapters for the `mim-fixture` runner live in `@mim/losses/fixtures`.
 */
export { infoNce, normalizeRows } from './info-nce.js';
export { type MaskedMseNormPixOptions, maskedMseNormPix, normalizedPatches } from './masked-mse-normpix.js';
export { patchGrid, patchify } from './patchify.js';
