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
