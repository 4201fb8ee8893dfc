/**
 * @mim/masking — masks for 3-D masked image modeling on plain typed arrays (no GPU): random patch masks with
 * MAE index lists, MambaMIM bottom-up hierarchical masks, serialization orders (raster, zigzag, Hilbert,
 * shuffle), MiM multi-level masked volumes, patchify / unpatchify. Tensor-level helpers (WebGPU, @mim/tensor)
 * live in `@mim/masking/tensor`.
 */
export { type BottomUpMask, bottomUpMask, expandMask, type StageMask, stageGrids } from './bottom-up.js';
export { MaskingError } from './errors.js';
export { blockSize, cellCoords, cellCount, type Grid3, type GridLike, rasterIndex, toGrid } from './grid.js';
export {
  type MimLevel,
  type MimOptions,
  type MimSample,
  mimMultiLevel,
  mimMultiLevelBatch,
  type ResolvedMimOptions,
  resolveMimOptions,
} from './mim.js';
export { patchify, unpatchify, type VolumeShape } from './patchify.js';
export {
  type RandomInput,
  type RandomSource,
  randomInt,
  randomPermutation,
  sampleWithoutReplacement,
  shuffleInPlace,
  toRandomSource,
  Xoshiro128,
} from './random.js';
export {
  type BinaryMaskOptions,
  concatMasks,
  type IdsOrder,
  invertPermutation,
  maskedCount,
  maskFromBinary,
  type PatchMask,
  type RandomMaskOptions,
  randomPatchMask,
} from './random-mask.js';
export {
  gatherTokens,
  hilbertOrder,
  orderRanks,
  rasterOrder,
  type SerializationKind,
  scatterTokens,
  serializationOrder,
  shuffleOrder,
  type VisibilityMask,
  visibleTokenIds,
  zigzagOrder,
} from './serialization.js';
export { type Box, cutBox, resizeTrilinear, type Volume } from './volume.js';
