export {
  affineSpacing,
  affinesClose,
  affineToQuaternion,
  applyAffine,
  axisOrientation,
  identity4,
  invert4,
  type Matrix4,
  multiply4,
  orientationCode,
  parseOrientationCode,
  type Quaternion,
  quaternionToAffine,
  type Vector3,
} from './affine.js';
export {
  type AugmentOptions,
  type AugmentParams,
  applyAugmentation,
  augmentationPlan,
  augmentSample,
  augmentToTensorLayout,
  DEFAULT_AUGMENT,
  drawAugmentation,
  flip,
  rotate90,
  rotate90Plan,
} from './augment.js';
export { CACHE_VERSION, VolumeCache } from './cache.js';
export {
  type Box,
  cropForeground,
  cropToBox,
  foregroundBox,
  padToSize,
  randomCropBox,
  randomCrops,
  type Size3,
  toTensorLayout,
} from './crop.js';
export {
  type Dataset,
  type DatasetItem,
  type DatasetProblem,
  listDataset,
  type OpenDatasetOptions,
  openDataset,
  type ValidationMode,
  validateItem,
} from './dataset.js';
export { DataError, type DataErrorCode } from './errors.js';
export { CT_WINDOW, type IntensityWindow, scaleIntensityRange, shiftIntensity } from './intensity.js';
export { type Batch, DataLoader, type LoaderOptions, type LoaderStats } from './loader.js';
export {
  decodeNifti,
  type NiftiDatatype,
  type NiftiFileInfo,
  type NiftiHeader,
  type NiftiImage,
  parseNiftiHeader,
  type ReadNiftiOptions,
  readNifti,
  readNiftiHeader,
} from './nifti-read.js';
export { NiftiRegionReader } from './nifti-region.js';
export { encodeNifti, type WriteNiftiOptions, writeFileAtomic, writeNifti } from './nifti-write.js';
export {
  type AxisPlan,
  composePlans,
  orientationPlan,
  permuteFlip,
  reorient,
  TENSOR_LAYOUT_PLAN,
} from './orientation.js';
export {
  checkSameGrid,
  DEFAULT_PREPROCESS,
  loadSample,
  type PreprocessOptions,
  preprocessFile,
  preprocessHash,
  preprocessSample,
  resolvePreprocess,
} from './preprocess.js';
export { createRng, mixSeed, type Rng, shuffledIndices } from './random.js';
export { type Grid, type InterpolationMode, resample, resampleToGrid, spacingGrid } from './resample.js';
export { runSampleTask, type SampleResult, type SampleTask } from './sample-task.js';
export {
  type IntensityStats,
  intensityStats,
  type Sample,
  type Volume,
  type VoxelArray,
  type VoxelType,
  voxelType,
} from './volume.js';
export { WorkerPool } from './worker-pool.js';
