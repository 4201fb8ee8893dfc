/**
 * @mim/tensor — tensors, WGSL kernels and autograd on WebGPU (Dawn in Node, navigator.gpu in browsers).
 *
 * ```ts
 * import { init, randn, matmul, sum } from '@mim/tensor';
 * await init();
 * const a = randn([64, 32], { seed: 1 }).requireGrad();
 * const loss = sum(matmul(a, a.transpose()));
 * loss.backward();
 * console.log(await a.grad!.toArray());
 * ```
 */
export { type BackwardOptions, backward } from './autograd/backward.js';
export { isGradEnabled, noGrad, setGradEnabled } from './autograd/grad-mode.js';
export type { BackwardRule } from './autograd/node.js';
export { needsGrad, recordOp } from './autograd/record.js';
export type { AnyTypedArray, DType } from './dtype.js';
export type { FixtureAdapter, FixtureInputs } from './fixture/adapter.js';
export {
  type DiscoveryResult,
  discoverFixtureAdapters,
  FIXTURE_PACKAGES,
  getFixtureAdapter,
  getModelFixtureRunner,
  knownFixtureOps,
  type ModelFixtureRunner,
  type ModelFixtureTensorResult,
  registerFixtureAdapter,
  registerModelFixtureRunner,
  unregisterFixtureAdapter,
} from './fixture/registry.js';
export {
  FIXTURE_TOLERANCE,
  type FixtureReport,
  type FixtureTensorResult,
  formatFixtureReport,
  type RunFixtureOptions,
  runFixture,
  upstreamName,
} from './fixture/runner.js';
export { registerTensorFixtureAdapters, tensorFixtureAdapters } from './fixture/tensor-adapters.js';
export {
  checkpointBytes,
  type LoadedCheckpoint,
  loadCheckpoint,
  loadCheckpointBytes,
  type SaveOptions,
  saveCheckpoint,
} from './io/checkpoint.js';
export {
  entryFromTypedArray,
  entryToTypedArray,
  parseSafetensors,
  type SafetensorsDType,
  type SafetensorsEntry,
  SafetensorsError,
  type SafetensorsFile,
  serializeSafetensors,
} from './io/safetensors.js';
export { memory, resetPeakBytes, sync } from './memory.js';
export * from './nn/index.js';
export * from './ops/attention/index.js';
export * from './ops/conv/index.js';
export * from './ops/creation.js';
export * from './ops/dropout/index.js';
export * from './ops/elementwise/binary.js';
export { type MapSpec, mapElementwise, type Operand } from './ops/elementwise/launcher.js';
export * from './ops/elementwise/unary.js';
export * from './ops/interpolate/index.js';
export type { MatmulVariant } from './ops/matmul/kernel.js';
export { type MatmulOptions, matmul, matmulVariant, setMatmulVariant } from './ops/matmul/matmul.js';
export * from './ops/movement/concat.js';
export { contiguous, copy } from './ops/movement/copy.js';
export * from './ops/movement/cumsum.js';
export { gather, indexSelect } from './ops/movement/gather.js';
export * from './ops/movement/one-hot.js';
export * from './ops/movement/pad.js';
export * from './ops/movement/scatter.js';
export * from './ops/movement/stack.js';
export * from './ops/movement/views.js';
export * from './ops/norm/index.js';
export * from './ops/pool/index.js';
export { argmax, argmin, max, mean, min, sum, type VarOptions, variance } from './ops/reduce/reduce.js';
export { sumToShape } from './ops/reduce/sum-to.js';
export * from './ops/softmax/index.js';
export * from './optim/index.js';
export { mulHiLo, PHILOX_WGSL, philox4x32, philoxBlock, philoxWords } from './random/philox.js';
export * from './random/random.js';
export { type PoolStats, sizeClass } from './runtime/buffer-pool.js';
export {
  type AdapterSummary,
  destroyDevice,
  type GpuContext,
  gpuContext,
  type InitOptions,
  init,
  isInitialised,
  NO_ADAPTER_HELP,
} from './runtime/device.js';
export { getEngine } from './runtime/engine.js';
export * from './runtime/errors.js';
export { empty, f32Literal, grid1d, runKernel, WG } from './runtime/kernel.js';
export { formatProfile, type KernelProfile, type KernelTiming, profileKernels } from './runtime/profile.js';
export { fixedSubgroupSize } from './runtime/subgroups.js';
export { keep, type Scope, scope, tidy } from './scope.js';
export { broadcastShapes, contiguousStrides, numel, type Shape } from './shape.js';
export { isTensor, Tensor } from './tensor.js';
