import type { Matrix4 } from './affine.js';
import { type AugmentOptions, applyAugmentationToTensor, drawAugmentation } from './augment.js';
import { VolumeCache } from './cache.js';
import { cropToTensorLayout, randomCropBox, type Size3 } from './crop.js';
import { DataError, type DataErrorJson, dataErrorToJson } from './errors.js';
import { type PreprocessOptions, preprocessFile } from './preprocess.js';
import { createRng } from './random.js';
import type { Sample, VoxelArray } from './volume.js';

/** What a worker does for one dataset item: load (cache or preprocess), then cut and augment crops. */
export interface SampleTask {
  image: string;
  label?: string;
  preprocess: PreprocessOptions;
  /** Cache folder; without it every call preprocesses from scratch. */
  cacheDirectory?: string;
  /** Crop size and number of crops; null returns the whole preprocessed volume (NIfTI order, with affine). */
  crop: { size: Size3; count: number } | null;
  augment: AugmentOptions | null;
  seed: number;
}

export interface SampleCrop {
  /** Float32, tensor layout: C-order [X][Y][Z] (z fastest). */
  image: Float32Array;
  label?: VoxelArray;
}

export interface SampleResult {
  file: string;
  cacheHit: boolean;
  /** Shape of each crop (or of the whole volume when `crop` was null). */
  shape: Size3;
  crops: SampleCrop[];
  /** Only for whole-volume tasks: data in NIfTI order and the affine. */
  volume?: { image: Float32Array; label?: VoxelArray; affine: Matrix4 };
  milliseconds: { load: number; crop: number };
}

export type SampleResponse = { ok: true; result: SampleResult } | { ok: false; error: DataErrorJson };

function loadPreprocessed(task: SampleTask): { sample: Sample; cacheHit: boolean } {
  if (!task.cacheDirectory) return { sample: preprocessFile(task.image, task.label, task.preprocess), cacheHit: false };
  const cache = new VolumeCache(task.cacheDirectory);
  let key: string;
  try {
    key = cache.key(task.image, task.label, task.preprocess);
  } catch (error) {
    throw new DataError('missing-file', task.image, `cannot stat the file: ${(error as Error).message}`);
  }
  const cached = cache.read(key, Boolean(task.label));
  if (cached) return { sample: cached, cacheHit: true };
  const sample = preprocessFile(task.image, task.label, task.preprocess);
  cache.write(key, sample);
  return { sample, cacheHit: false };
}

/** Run one task in this thread. Throws DataError (always naming the file). */
export function runSampleTask(task: SampleTask): SampleResult {
  const started = performance.now();
  const { sample, cacheHit } = loadPreprocessed(task);
  const loaded = performance.now();
  const image = sample.image;
  if (!task.crop) {
    return {
      file: task.image,
      cacheHit,
      shape: [...image.shape],
      crops: [],
      volume: {
        image: image.data instanceof Float32Array ? image.data : new Float32Array(image.data),
        label: sample.label?.data,
        affine: image.affine,
      },
      milliseconds: { load: loaded - started, crop: 0 },
    };
  }
  const rng = createRng(task.seed);
  const crops: SampleCrop[] = [];
  let shape: Size3 = task.crop.size;
  for (let c = 0; c < task.crop.count; c++) {
    const box = randomCropBox(image.shape, task.crop.size, rng);
    const cropShape = [...task.crop.size] as Size3;
    let imageCrop = { data: cropToTensorLayout(image, box) as VoxelArray, shape: cropShape };
    let labelCrop = sample.label ? { data: cropToTensorLayout(sample.label, box), shape: cropShape } : undefined;
    if (task.augment) {
      const params = drawAugmentation(rng, task.augment);
      imageCrop = applyAugmentationToTensor(imageCrop.data, imageCrop.shape, params, 'image');
      if (labelCrop) labelCrop = applyAugmentationToTensor(labelCrop.data, labelCrop.shape, params, 'label');
    }
    shape = imageCrop.shape;
    crops.push({
      image: imageCrop.data instanceof Float32Array ? imageCrop.data : new Float32Array(imageCrop.data),
      label: labelCrop?.data,
    });
  }
  return {
    file: task.image,
    cacheHit,
    shape,
    crops,
    milliseconds: { load: loaded - started, crop: performance.now() - loaded },
  };
}

/** Like runSampleTask but never throws: unexpected errors become a DataError naming the image file. */
export function runSampleTaskSafely(task: SampleTask): SampleResponse {
  try {
    return { ok: true, result: runSampleTask(task) };
  } catch (error) {
    if (error instanceof DataError) return { ok: false, error: dataErrorToJson(error) };
    const message = error instanceof Error ? error.message : String(error);
    return {
      ok: false,
      error: { code: 'unreadable-file', file: task.image, problem: `preprocessing failed: ${message}` },
    };
  }
}

/** The buffers of a result, for zero-copy transfer between threads. */
export function transferList(result: SampleResult): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const crop of result.crops) {
    buffers.add(crop.image.buffer as ArrayBuffer);
    if (crop.label) buffers.add(crop.label.buffer as ArrayBuffer);
  }
  if (result.volume) {
    buffers.add(result.volume.image.buffer as ArrayBuffer);
    if (result.volume.label) buffers.add(result.volume.label.buffer as ArrayBuffer);
  }
  return [...buffers];
}
