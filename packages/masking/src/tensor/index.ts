/**
 * `@mim/masking/tensor` — tensor-level helpers on WebGPU (@mim/tensor): masks as tensors, expanding and
 * applying them to NCDHW feature maps, feature map ↔ token sequence, gather / scatter of visible tokens in a
 * serialization order, patchify / unpatchify. Call `await init()` from @mim/tensor first.
 */
export { applyMask, expandMaskTensor, type GridMask, maskTensor } from './masks.js';
export { patchify, unpatchify } from './patchify.js';
export { fromTokens, gatherTokens, gatherVisible, scatterTokens, scatterVisible, toTokens } from './tokens.js';
