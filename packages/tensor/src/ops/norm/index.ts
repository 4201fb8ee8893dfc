/** Normalisation layers (dense and masked / sparse): layerNorm, groupNorm, instanceNorm3d, batchNorm3d. */
export { type BatchNormOptions, batchNorm3d, groupNorm, instanceNorm3d, type NormOptions } from './group-norm.js';
export { type LayerNormOptions, layerNorm } from './layer-norm.js';
export type { NormMask } from './shared.js';
