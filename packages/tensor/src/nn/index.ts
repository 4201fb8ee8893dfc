export { Conv3d, type Conv3dLayerOptions, ConvTranspose3d, type ConvTranspose3dLayerOptions } from './conv-layers.js';
export * as weightInit from './init.js';
export {
  Dropout,
  DropPath,
  GELU,
  Identity,
  Linear,
  ModuleList,
  ReLU,
  Sequential,
  SiLU,
  type UnaryModule,
} from './layers.js';
export { copyTensorInto, type LoadResult, Module, StateDictError, type StateEntry, writeInto } from './module.js';
export { BatchNorm3d, GroupNorm, InstanceNorm3d, LayerNorm, type MaskedForward } from './norm-layers.js';
