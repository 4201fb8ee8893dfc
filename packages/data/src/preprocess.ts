import { createHash } from 'node:crypto';
import { affinesClose } from './affine.js';
import { cropToBox, foregroundBox, padToSize, type Size3, toSize3 } from './crop.js';
import { DataError } from './errors.js';
import { CT_WINDOW, type IntensityWindow, scaleIntensityRange } from './intensity.js';
import { type NiftiImage, readNifti } from './nifti-read.js';
import { orientationPlan, permuteFlip } from './orientation.js';
import { resampleToGrid, spacingGrid } from './resample.js';
import type { Sample, Volume } from './volume.js';

/**
 * The deterministic part of the pipeline (what the cache stores), MONAI's usual SSL chain:
 * Orientation → Spacing → ScaleIntensityRange → CropForeground → SpatialPad. `null` skips a step.
 */
export interface PreprocessOptions {
  /** Target orientation code (default "RAS"). */
  orientation: string | null;
  /** Target voxel spacing in mm (default 1.5 isotropic, MambaMIM). */
  spacing: number | [number, number, number] | null;
  /** Intensity window (default CT: −175…250 HU → 0…1, clipped). */
  window: IntensityWindow | null;
  /** Crop to the bounding box of voxels > threshold after windowing (default true, threshold 0, margin 0). */
  cropForeground: boolean | { threshold?: number; margin?: number };
  /** Pad to at least this size (default 96³, the crop size). */
  padTo: Size3 | null;
}

export const DEFAULT_PREPROCESS: PreprocessOptions = {
  orientation: 'RAS',
  spacing: 1.5,
  window: CT_WINDOW,
  cropForeground: true,
  padTo: [96, 96, 96],
};

/** Fill unset fields with the defaults and normalise (so equal settings hash equally). */
export function resolvePreprocess(options: Partial<PreprocessOptions> = {}): PreprocessOptions {
  const merged = { ...DEFAULT_PREPROCESS, ...options };
  return {
    orientation: merged.orientation ? merged.orientation.toUpperCase() : null,
    spacing:
      merged.spacing === null
        ? null
        : typeof merged.spacing === 'number'
          ? [merged.spacing, merged.spacing, merged.spacing]
          : [...merged.spacing],
    window: merged.window ? { bMin: 0, bMax: 1, clip: true, ...merged.window } : null,
    cropForeground: merged.cropForeground,
    padTo: merged.padTo ? toSize3(merged.padTo, 'padTo') : null,
  };
}

function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** A short hash of the (resolved) preprocessing settings; part of every cache key. */
export function preprocessHash(options: Partial<PreprocessOptions> = {}): string {
  return createHash('sha256')
    .update(stableStringify(resolvePreprocess(options)))
    .digest('hex')
    .slice(0, 16);
}

/** Throw a `grid-mismatch` DataError unless the label has the image's shape and affine. */
export function checkSameGrid(image: Volume, imageFile: string, label: Volume, labelFile: string): void {
  const sameShape = image.shape.every((n, a) => n === label.shape[a]);
  if (!sameShape || !affinesClose(image.affine, label.affine, 1e-3)) {
    const what = sameShape
      ? `its affine differs from the image's (label origin [${label.affine.map((r) => +r[3].toFixed(3)).slice(0, 3)}], image origin [${image.affine.map((r) => +r[3].toFixed(3)).slice(0, 3)}])`
      : `its grid ${label.shape.join('×')} differs from the image's ${image.shape.join('×')}`;
    throw new DataError(
      'grid-mismatch',
      labelFile,
      `label does not match its image ${imageFile}: ${what} — resample the label onto the image grid`,
    );
  }
}

/** Read an image (and optional label, checked to share its grid). */
export function loadSample(imageFile: string, labelFile?: string): Sample & { image: NiftiImage } {
  const image = readNifti(imageFile);
  if (!labelFile) return { image };
  const label = readNifti(labelFile);
  checkSameGrid(image, imageFile, label, labelFile);
  return { image, label };
}

/**
 * Run the deterministic pipeline on an image and its optional label with identical geometry: reorient both,
 * resample both onto the image's new grid (trilinear / nearest), window the image, crop both to the image's
 * foreground box, pad both. Returns Float32Array images; labels keep their stored type.
 */
export function preprocessSample(sample: Sample, options: Partial<PreprocessOptions> = {}): Sample {
  const o = resolvePreprocess(options);
  let image: Volume = sample.image;
  let label: Volume | undefined = sample.label;
  if (o.orientation) {
    const plan = orientationPlan(image.affine, o.orientation);
    image = permuteFlip(image, plan);
    if (label) label = permuteFlip(label, plan);
  }
  if (o.spacing) {
    const grid = spacingGrid(image.affine, image.shape, o.spacing);
    image = resampleToGrid(image, grid, 'trilinear');
    if (label) label = resampleToGrid(label, grid, 'nearest');
  } else if (!(image.data instanceof Float32Array)) {
    image = { ...image, data: Float32Array.from(image.data) };
  }
  if (o.window) image = scaleIntensityRange(image, o.window);
  if (o.cropForeground) {
    const settings = typeof o.cropForeground === 'object' ? o.cropForeground : {};
    const box = foregroundBox(image, settings);
    image = cropToBox(image, box);
    if (label) label = cropToBox(label, box);
  }
  if (o.padTo) {
    image = padToSize(image, o.padTo);
    if (label) label = padToSize(label, o.padTo);
  }
  return label ? { image, label } : { image };
}

/** Read and preprocess in one call (what `mim-data preprocess` and the dataset workers run). */
export function preprocessFile(
  imageFile: string,
  labelFile?: string,
  options: Partial<PreprocessOptions> = {},
): Sample {
  return preprocessSample(loadSample(imageFile, labelFile), options);
}
