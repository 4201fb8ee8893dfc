import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readNifti } from './nifti-read.js';
import { NiftiRegionReader } from './nifti-region.js';
import { encodeNifti, writeFileAtomic } from './nifti-write.js';
import { type PreprocessOptions, preprocessHash } from './preprocess.js';
import type { Sample } from './volume.js';

/** Bump when the cached representation or the meaning of the preprocessing changes. */
export const CACHE_VERSION = 1;

function identity(file: string): string {
  const stat = statSync(file);
  return `${resolve(file)}|${stat.size}|${stat.mtimeMs}`;
}

/**
 * On-disk cache of preprocessed volumes. The key hashes (absolute path, size, mtime) of the image and label
 * plus the preprocessing settings; entries are uncompressed NIfTI files (`<key>.image.nii`, `<key>.label.nii`),
 * each written to a temporary file and renamed, so a crash never leaves a half-written entry behind.
 */
export class VolumeCache {
  readonly directory: string;

  constructor(directory: string) {
    this.directory = resolve(directory);
    mkdirSync(this.directory, { recursive: true });
  }

  key(imageFile: string, labelFile: string | undefined, options: Partial<PreprocessOptions>): string {
    const parts = [
      `v${CACHE_VERSION}`,
      identity(imageFile),
      labelFile ? identity(labelFile) : '-',
      preprocessHash(options),
    ];
    return createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 40);
  }

  paths(key: string): { image: string; label: string } {
    return { image: join(this.directory, `${key}.image.nii`), label: join(this.directory, `${key}.label.nii`) };
  }

  /** The cached sample, or undefined on a miss (a damaged entry counts as a miss and is rewritten later). */
  read(key: string, withLabel: boolean): Sample | undefined {
    const paths = this.paths(key);
    if (!existsSync(paths.image) || (withLabel && !existsSync(paths.label))) return undefined;
    try {
      const image = readNifti(paths.image, { checkFinite: false });
      const label = withLabel ? readNifti(paths.label, { checkFinite: false }) : undefined;
      return label ? { image, label } : { image };
    } catch {
      return undefined;
    }
  }

  /** Region readers on a cached entry (for cutting crops without loading whole volumes), or undefined on a miss. */
  openRegions(key: string, withLabel: boolean): { image: NiftiRegionReader; label?: NiftiRegionReader } | undefined {
    const paths = this.paths(key);
    if (!existsSync(paths.image) || (withLabel && !existsSync(paths.label))) return undefined;
    let image: NiftiRegionReader | undefined;
    try {
      image = new NiftiRegionReader(paths.image);
      const label = withLabel ? new NiftiRegionReader(paths.label) : undefined;
      if (label && !label.shape.every((n, a) => n === image!.shape[a])) {
        label.close();
        image.close();
        return undefined;
      }
      return label ? { image, label } : { image };
    } catch {
      image?.close();
      return undefined;
    }
  }

  /** Store a sample (label first, image last: the image file marks a complete entry). */
  write(key: string, sample: Sample): void {
    const paths = this.paths(key);
    if (sample.label) writeFileAtomic(paths.label, encodeNifti(sample.label));
    writeFileAtomic(paths.image, encodeNifti(sample.image, { datatype: 'float32' }));
  }
}
