/**
 * @mim/ssm — selective scan (Mamba S6), causal conv1d, Mamba / BiMamba layers and TOKI token interpolation
 * on WebGPU, on top of @mim/tensor.
 */
export { type CausalConv1dOptions, causalConv1d } from './conv1d/causal-conv1d.js';
export * from './mamba/index.js';
export {
  type SelectiveScanOptions,
  type SelectiveScanResult,
  selectiveScan,
} from './scan/selective-scan.js';
export { selectiveScanRef } from './scan/selective-scan-ref.js';
export * from './toki/index.js';
