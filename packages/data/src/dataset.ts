import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { affinesClose } from './affine.js';
import { DataError, type DataErrorCode } from './errors.js';
import { readNifti, readNiftiHeader } from './nifti-read.js';
import { checkSameGrid } from './preprocess.js';

/** One training example: an image file and an optional label file on the same grid. */
export interface DatasetItem {
  image: string;
  label?: string;
}

export interface DatasetProblem {
  file: string;
  code: DataErrorCode;
  /** The full message (starts with the file name). */
  message: string;
}

export interface Dataset {
  /** The folder or dataset.json it came from. */
  source: string;
  items: DatasetItem[];
  /** Items left out because of a problem (only with `skipBad`). */
  skipped: DatasetProblem[];
}

export type ValidationMode = 'header' | 'full' | 'none';

export interface OpenDatasetOptions {
  /** dataset.json list to use (default "training"). */
  split?: string;
  /** Use labels when the dataset lists them (default true). */
  labels?: boolean;
  /** For folders: a folder of labels matched to images by file name. */
  labelFolder?: string;
  /** For folders: also search sub-folders (default false). */
  recursive?: boolean;
  /**
   * Up-front checks: "header" (default) reads every header (cheap: magic, datatype, dims, data length from the
   * file size or gzip trailer, label grid); "full" also decodes every voxel (NaN/Inf, gzip integrity); "none".
   */
  validate?: ValidationMode;
  /** Leave bad items out with one warning each and a summary line, instead of failing (default false). */
  skipBad?: boolean;
  /** Where warnings go (default console.warn). */
  onWarning?: (message: string) => void;
}

const NIFTI_NAME = /\.nii(\.gz)?$/i;

function listFolder(folder: string, recursive: boolean): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    if (entry.isDirectory() && recursive) out.push(...listFolder(path, true));
    else if (entry.isFile() && NIFTI_NAME.test(entry.name)) out.push(path);
  }
  return out.sort();
}

function entryPath(base: string, value: unknown, source: string, where: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new DataError('bad-dataset', source, `${where} must be a file path string, got ${JSON.stringify(value)}`);
  }
  return resolve(base, value);
}

/** Items of a MONAI / Medical Decathlon / nnU-Net v1 style list, or nnU-Net v2 (imagesTr + file_ending). */
function listJson(file: string, options: OpenDatasetOptions): DatasetItem[] {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new DataError('bad-dataset', file, `not valid JSON: ${(error as Error).message}`);
  }
  const base = dirname(file);
  const split = options.split ?? 'training';
  let entries: unknown;
  if (Array.isArray(json)) entries = json;
  else if (json && typeof json === 'object') {
    const record = json as Record<string, unknown>;
    entries = record[split];
    if (entries === undefined && typeof record.file_ending === 'string') {
      return listNnUnetV2(base, record.file_ending, split, options);
    }
    if (entries === undefined) {
      const lists = Object.keys(record).filter((k) => Array.isArray(record[k]));
      throw new DataError(
        'bad-dataset',
        file,
        `no "${split}" list${lists.length ? `; lists present: ${lists.join(', ')} (choose one with split)` : ''}`,
      );
    }
  }
  if (!Array.isArray(entries)) throw new DataError('bad-dataset', file, `"${split}" must be a list of entries`);
  return entries.map((entry, index) => {
    const where = `${split}[${index}]`;
    if (typeof entry === 'string') return { image: entryPath(base, entry, file, where) };
    if (!entry || typeof entry !== 'object') {
      throw new DataError('bad-dataset', file, `${where} must be a path or an object with "image"`);
    }
    const record = entry as Record<string, unknown>;
    if (Array.isArray(record.image)) {
      throw new DataError(
        'bad-dataset',
        file,
        `${where}.image lists several channels; only single-channel images are supported`,
      );
    }
    const item: DatasetItem = { image: entryPath(base, record.image, file, `${where}.image`) };
    if (record.label !== undefined && options.labels !== false) {
      item.label = entryPath(base, record.label, file, `${where}.label`);
    }
    return item;
  });
}

function listNnUnetV2(base: string, ending: string, split: string, options: OpenDatasetOptions): DatasetItem[] {
  const suffix = split === 'test' ? 'Ts' : 'Tr';
  const imageFolder = join(base, `images${suffix}`);
  const labelFolder = join(base, `labels${suffix}`);
  if (!existsSync(imageFolder)) throw new DataError('bad-dataset', imageFolder, 'nnU-Net images folder not found');
  return readdirSync(imageFolder)
    .filter((name) => name.endsWith(`_0000${ending}`))
    .sort()
    .map((name) => {
      const image = join(imageFolder, name);
      const labelFile = join(labelFolder, name.replace(`_0000${ending}`, ending));
      return options.labels !== false && existsSync(labelFile) ? { image, label: labelFile } : { image };
    });
}

/** List the items of a folder of NIfTI files or a dataset.json without checking them. */
export function listDataset(source: string, options: OpenDatasetOptions = {}): DatasetItem[] {
  if (!existsSync(source)) throw new DataError('missing-file', source, 'dataset folder or dataset.json not found');
  if (statSync(source).isDirectory()) {
    const images = listFolder(source, options.recursive ?? false);
    if (images.length === 0) throw new DataError('bad-dataset', source, 'folder contains no .nii or .nii.gz files');
    return images.map((image) => {
      if (!options.labelFolder) return { image };
      const label = join(options.labelFolder, basename(image));
      return { image, label };
    });
  }
  return listJson(source, options);
}

function problemOf(error: unknown, file: string): DatasetProblem {
  if (error instanceof DataError) return { file: error.file, code: error.code, message: error.message };
  return { file, code: 'unreadable-file', message: `${file}: ${(error as Error).message}` };
}

/** Check one item; returns its problems (empty when fine). */
export function validateItem(item: DatasetItem, mode: ValidationMode = 'header'): DatasetProblem[] {
  if (mode === 'none') return [];
  if (mode === 'full') {
    try {
      const image = readNifti(item.image);
      if (item.label) {
        try {
          checkSameGrid(image, item.image, readNifti(item.label), item.label);
        } catch (error) {
          return [problemOf(error, item.label)];
        }
      }
      return [];
    } catch (error) {
      return [problemOf(error, item.image)];
    }
  }
  let image: ReturnType<typeof readNiftiHeader>;
  try {
    image = readNiftiHeader(item.image);
  } catch (error) {
    return [problemOf(error, item.image)];
  }
  if (!item.label) return [];
  try {
    const label = readNiftiHeader(item.label);
    const a = image.header;
    const b = label.header;
    const sameShape = a.dims.every((n, i) => n === b.dims[i]);
    if (!sameShape || !affinesClose(a.affine, b.affine, 1e-3)) {
      checkSameGrid(
        { data: new Uint8Array(0), shape: a.dims, affine: a.affine },
        item.image,
        { data: new Uint8Array(0), shape: b.dims, affine: b.affine },
        item.label,
      );
    }
    return [];
  } catch (error) {
    return [problemOf(error, item.label)];
  }
}

/**
 * Open a dataset: a folder of .nii/.nii.gz files or a MONAI / nnU-Net dataset.json (entries resolved relative to
 * the JSON's folder). Every item is validated up front (default: headers); by default any problem throws one
 * DataError listing all problems, so training never starts on a broken dataset. With `skipBad`, bad items are
 * left out with one warning each plus a summary line.
 */
export function openDataset(source: string, options: OpenDatasetOptions = {}): Dataset {
  const items = listDataset(source, options);
  const mode = options.validate ?? 'header';
  const good: DatasetItem[] = [];
  const problems: DatasetProblem[] = [];
  for (const item of items) {
    const found = validateItem(item, mode);
    if (found.length === 0) good.push(item);
    else problems.push(...found);
  }
  if (problems.length > 0 && !options.skipBad) {
    const list = problems.map((p) => `  ${p.message}`).join('\n');
    throw new DataError(
      'bad-dataset',
      source,
      `${problems.length} of ${items.length} items have problems (fix them, or pass skipBad to leave them out):\n${list}`,
    );
  }
  const warn = options.onWarning ?? ((message: string) => console.warn(message));
  for (const problem of problems) warn(`mim-data: skipping ${problem.message}`);
  if (problems.length > 0) {
    warn(`mim-data: skipped ${problems.length} of ${items.length} items with problems; using ${good.length}`);
  }
  if (good.length === 0) throw new DataError('bad-dataset', source, 'no usable items');
  return { source, items: good, skipped: problems };
}
