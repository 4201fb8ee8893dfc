/**
 * @mim/backbones — the MambaMIM pre-training model on WebGPU: the HyMamba sparse encoder, densify with TOKI, the
 * LightDecoder and the assembly `MambaMIM.forward(volume, { visible }) → { loss, reconstruction }`, with the
 * official state-dict names. Configurations `tiny32`, `tiny48`, `paper` (or JSON).
 */
export {
  MAMBAMIM_CONFIGS,
  type MambaMimConfig,
  OFFICIAL_FLAGS,
  resolveMambaMimConfig,
} from './config.js';
export { FusionBlock, LightDecoder, UNetBlock } from './decoder.js';
export {
  Embeddings,
  HyMambaEncoder,
  type HyMambaEncoderOptions,
  type MambaSequence,
  MambaStage,
  MedNeXtBlock,
  UnetResBlock,
} from './hymamba/encoder.js';
export { sinCosPositionEmbedding3d } from './hymamba/position.js';
export { MambaMIM, type MambaMimOutput } from './mambamim.js';
export { ParameterList } from './parameter-list.js';
export { SparseMasks, sparse } from './sparse.js';
