import type { Matrix4 } from './affine.js';
import { type AugmentOptions, augmentToTensorLayout, drawAugmentation } from './augment.js';
import { VolumeCache } from './cache.js';
import { type Box, cropToBox, randomCropBox, type Size3 } from './crop.js';
import { DataError, type DataErrorJson, dataErrorToJson } from './errors.js';
import type { NiftiRegionReader } from './nifti-region.js';
import { type PreprocessOptions, preprocessFile } from './preprocess.js';
import { createRng } from './random.js';
import type { Sample, Volume, VoxelArray } from './volume.js';

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

/** Where crops come from: a volume in memory, or region reads from a cached file. */
interface CropSource {
  shape: Size3;
  hasLabel: boolean;
  cut(box: Box): { image: Volume; label?: Volume };
  close(): void;
}

function memorySource(sample: Sample): CropSource {
  return {
    shape: sample.image.shape,
    hasLabel: Boolean(sample.label),
    cut: (box) => ({
      image: cropToBox(sample.image, box),
      label: sample.label ? cropToBox(sample.label, box) : undefined,
    }),
    close: () => {},
  };
}

function regionSource(readers: { image: NiftiRegionReader; label?: NiftiRegionReader }): CropSource {
  return {
    shape: readers.image.shape,
    hasLabel: Boolean(readers.label),
    cut: (box) => ({ image: readers.image.read(box), label: readers.label?.read(box) }),
    close: () => {
      readers.image.close();
      readers.label?.close();
    },
  };
}

function cacheKey(cache: VolumeCache, task: SampleTask): string {
  try {
    return cache.key(task.image, task.label, task.preprocess);
  } catch (error) {
    throw new DataError('missing-file', task.image, `cannot stat the file: ${(error as Error).message}`);
  }
}

/** Preprocess (cache miss) and store the result when a cache folder is given. */
function preprocessAndStore(task: SampleTask, cache: VolumeCache | undefined, key: string | undefined): Sample {
  const sample = preprocessFile(task.image, task.label, task.preprocess);
  if (cache && key) cache.write(key, sample);
  return sample;
}

/**
 * Open the crop source of a task. On a cache hit, crops are read as regions of the cached file when that reads
 * less than the whole volume; otherwise the whole cached volume is loaded.
 */
function openSource(task: SampleTask): { source: CropSource; cacheHit: boolean; sample?: Sample } {
  const cache = task.cacheDirectory ? new VolumeCache(task.cacheDirectory) : undefined;
  const key = cache ? cacheKey(cache, task) : undefined;
  if (cache && key) {
    if (task.crop) {
      const readers = cache.openRegions(key, Boolean(task.label));
      if (readers) {
        const cropVoxels = task.crop.size[0] * task.crop.size[1] * task.crop.size[2];
        const [nx, ny, nz] = readers.image.shape;
        if (task.crop.count * cropVoxels * (nx / task.crop.size[0]) < nx * ny * nz) {
          return { source: regionSource(readers), cacheHit: true };
        }
        readers.image.close();
        readers.label?.close();
      }
    }
    const cached = cache.read(key, Boolean(task.label));
    if (cached) return { source: memorySource(cached), cacheHit: true, sample: cached };
  }
  const sample = preprocessAndStore(task, cache, key);
  return { source: memorySource(sample), cacheHit: false, sample };
}

/** Run one task in this thread. Throws DataError (always naming the file). */
export function runSampleTask(task: SampleTask): SampleResult {
  const started = performance.now();
  const { source, cacheHit, sample } = openSource(task);
  const loaded = performance.now();
  try {
    if (!task.crop) {
      const image = sample!.image;
      return {
        file: task.image,
        cacheHit,
        shape: [...image.shape],
        crops: [],
        volume: {
          image: image.data instanceof Float32Array ? image.data : new Float32Array(image.data),
          label: sample!.label?.data,
          affine: image.affine,
        },
        milliseconds: { load: loaded - started, crop: 0 },
      };
    }
    const rng = createRng(task.seed);
    const crops: SampleCrop[] = [];
    let shape: Size3 = task.crop.size;
    for (let c = 0; c < task.crop.count; c++) {
      const box = randomCropBox(source.shape, task.crop.size, rng);
      const cut = source.cut(box);
      const params = task.augment ? drawAugmentation(rng, task.augment) : null;
      const imageCrop = augmentToTensorLayout(cut.image, params, 'image');
      const labelCrop = cut.label ? augmentToTensorLayout(cut.label, params, 'label') : undefined;
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
  } finally {
    source.close();
  }
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
