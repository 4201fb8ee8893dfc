export { AdamW, type AdamWOptions } from './adamw.js';
export { clipGradNorm } from './clip.js';
export { LAMB, type LAMBOptions } from './lamb.js';
export {
  type NamedParameters,
  Optimizer,
  type OptimizerState,
  type ParamGroup,
  type ParamGroupSpec,
  paramGroupsNoDecay,
} from './optimizer.js';
export { constantSchedule, type WarmupCosineOptions, warmupCosine } from './schedule.js';
export { SGD, type SGDOptions } from './sgd.js';
