import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AugmentOptions } from './augment.js';
import { DEFAULT_AUGMENT } from './augment.js';
import { type Size3, toSize3 } from './crop.js';
import type { Dataset, DatasetItem } from './dataset.js';
import { DataError } from './errors.js';
import { type PreprocessOptions, resolvePreprocess } from './preprocess.js';
import { mixSeed, shuffledIndices } from './random.js';
import type { SampleCrop, SampleResult, SampleTask } from './sample-task.js';
import { WorkerPool } from './worker-pool.js';

export interface LoaderOptions {
  /** Crops per batch (default 2). */
  batchSize?: number;
  /** Crop size (default 96³). */
  cropSize?: number | Size3;
  /** Crops cut from each loaded volume (MONAI RandSpatialCropSamples num_samples; default 1). */
  cropsPerVolume?: number;
  /** Preprocessing settings (defaults: RAS, 1.5 mm, CT window, foreground crop, pad to the crop size). */
  preprocess?: Partial<PreprocessOptions>;
  /** Augmentation (default DEFAULT_AUGMENT); false turns it off. */
  augment?: AugmentOptions | false;
  /** Seed for shuffling, crops and augmentation (default 0). Same seed → same batches. */
  seed?: number;
  /** Shuffle the items every epoch (default true). */
  shuffle?: boolean;
  /** Batches prepared ahead of the consumer (default 2). */
  prefetch?: number;
  /** worker_threads used for loading/preprocessing (default 1; 0 runs inline). */
  workers?: number;
  /** Cache folder (default <tmpdir>/mim-data-cache); null disables the cache. */
  cacheDirectory?: string | null;
  /** Drop the last incomplete batch of an epoch (default false). */
  dropLast?: boolean;
  /** Skip items that fail while loading (e.g. NaN voxels found only on decoding) with a warning (default false). */
  skipBad?: boolean;
  /** Where skip warnings go (default console.warn). */
  onWarning?: (message: string) => void;
}

/**
 * A batch of crops. `image` is Float32 (B, 1, X, Y, Z) in C order (the (N, C, H, W, D) layout of PyTorch/MONAI);
 * `label`, when the dataset has labels, is Int32 (B, 1, X, Y, Z).
 */
export interface Batch {
  image: Float32Array;
  label?: Int32Array;
  shape: [number, number, number, number, number];
  /** Source image file of each crop. */
  files: string[];
  epoch: number;
  /** Index of this batch since the start of iteration. */
  step: number;
}

export interface LoaderStats {
  tasks: number;
  cacheHits: number;
  cacheMisses: number;
  skipped: number;
}

interface Planned {
  item: DatasetItem;
  epoch: number;
  seed: number;
}

/**
 * Turns a Dataset into batches of random crops: seeded shuffling per epoch, loading and preprocessing in
 * worker_threads through the on-disk cache, `prefetch` batches prepared ahead.
 */
export class DataLoader {
  readonly dataset: Dataset;
  readonly batchSize: number;
  readonly cropSize: Size3;
  readonly cropsPerVolume: number;
  readonly stats: LoaderStats = { tasks: 0, cacheHits: 0, cacheMisses: 0, skipped: 0 };
  private readonly options: LoaderOptions;
  private readonly preprocess: PreprocessOptions;
  private readonly pool: WorkerPool;
  private readonly cacheDirectory: string | undefined;

  constructor(dataset: Dataset, options: LoaderOptions = {}) {
    this.dataset = dataset;
    this.options = options;
    this.batchSize = options.batchSize ?? 2;
    this.cropSize = toSize3(options.cropSize ?? 96, 'cropSize');
    this.cropsPerVolume = options.cropsPerVolume ?? 1;
    this.preprocess = resolvePreprocess({ padTo: this.cropSize, ...options.preprocess });
    if (!this.preprocess.padTo) this.preprocess.padTo = this.cropSize;
    this.preprocess.padTo = this.preprocess.padTo.map((n, a) => Math.max(n, this.cropSize[a])) as Size3;
    this.cacheDirectory =
      options.cacheDirectory === null ? undefined : (options.cacheDirectory ?? join(tmpdir(), 'mim-data-cache'));
    this.pool = new WorkerPool(options.workers ?? 1);
  }

  /** Item order of an epoch (seeded shuffle, or dataset order with shuffle: false). */
  order(epoch: number): number[] {
    const n = this.dataset.items.length;
    if (this.options.shuffle === false) return Array.from({ length: n }, (_, i) => i);
    return shuffledIndices(n, mixSeed(this.options.seed ?? 0, epoch));
  }

  private *plan(firstEpoch: number, epochs: number): Generator<Planned> {
    for (let epoch = firstEpoch; epoch < firstEpoch + epochs; epoch++) {
      const order = this.order(epoch);
      for (let position = 0; position < order.length; position++) {
        yield {
          item: this.dataset.items[order[position]],
          epoch,
          seed: mixSeed(this.options.seed ?? 0, epoch, position, 1),
        };
      }
    }
  }

  private task(planned: Planned): SampleTask {
    return {
      image: planned.item.image,
      label: planned.item.label,
      preprocess: this.preprocess,
      cacheDirectory: this.cacheDirectory,
      crop: { size: this.cropSize, count: this.cropsPerVolume },
      augment: this.options.augment === false ? null : { ...DEFAULT_AUGMENT, ...this.options.augment },
      seed: planned.seed,
    };
  }

  private collate(crops: { crop: SampleCrop; file: string }[], epoch: number, step: number): Batch {
    const [x, y, z] = this.cropSize;
    const volume = x * y * z;
    // a single crop is handed over as is (it was transferred from the worker, nobody else holds it)
    const image = crops.length === 1 ? crops[0].crop.image : new Float32Array(crops.length * volume);
    const hasLabel = crops.some((c) => c.crop.label);
    const label = hasLabel ? new Int32Array(crops.length * volume) : undefined;
    crops.forEach(({ crop }, b) => {
      if (image !== crop.image) image.set(crop.image, b * volume);
      if (label && crop.label) label.set(crop.label, b * volume);
    });
    return { image, label, shape: [crops.length, 1, x, y, z], files: crops.map((c) => c.file), epoch, step };
  }

  private async *batches(planned: Iterator<Planned>, dropLast: boolean): AsyncGenerator<Batch> {
    const prefetch = Math.max(0, this.options.prefetch ?? 2);
    const tasksAhead = Math.max(1, Math.ceil(((prefetch + 1) * this.batchSize) / this.cropsPerVolume));
    const inFlight: { promise: Promise<SampleResult>; epoch: number }[] = [];
    let exhausted = false;
    const fill = () => {
      while (!exhausted && inFlight.length < tasksAhead) {
        const next = planned.next();
        if (next.done) {
          exhausted = true;
          break;
        }
        const promise = this.pool.run(this.task(next.value));
        promise.catch(() => undefined);
        inFlight.push({ promise, epoch: next.value.epoch });
      }
    };
    let pending: { crop: SampleCrop; file: string }[] = [];
    let step = 0;
    let epoch = 0;
    fill();
    while (inFlight.length > 0) {
      const head = inFlight.shift()!;
      fill();
      let result: SampleResult;
      try {
        result = await head.promise;
      } catch (error) {
        if (!(this.options.skipBad && error instanceof DataError)) throw error;
        this.stats.skipped++;
        (this.options.onWarning ?? console.warn)(`mim-data: skipping ${error.message}`);
        continue;
      }
      this.stats.tasks++;
      if (result.cacheHit) this.stats.cacheHits++;
      else this.stats.cacheMisses++;
      epoch = head.epoch;
      for (const crop of result.crops) {
        pending.push({ crop, file: result.file });
        if (pending.length === this.batchSize) {
          yield this.collate(pending, epoch, step++);
          pending = [];
        }
      }
    }
    if (pending.length > 0 && !dropLast) yield this.collate(pending, epoch, step++);
  }

  /** The batches of one epoch (every item once, in the epoch's shuffled order). */
  epoch(epoch = 0): AsyncGenerator<Batch> {
    return this.batches(this.plan(epoch, 1), this.options.dropLast ?? false);
  }

  /** An endless stream of batches across epochs (for step-based training); stop by breaking out of the loop. */
  steps(firstEpoch = 0): AsyncGenerator<Batch> {
    return this.batches(this.plan(firstEpoch, Number.POSITIVE_INFINITY), true);
  }

  /** Stop the workers. */
  close(): Promise<void> {
    return this.pool.close();
  }
}
