import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { openDataset, validateItem } from './dataset.js';
import { DataError, type DataErrorCode } from './errors.js';
import { DataLoader } from './loader.js';
import { readNifti, readNiftiHeader } from './nifti-read.js';
import { writeNifti } from './nifti-write.js';
import { loadSample } from './preprocess.js';
import { buildRawNifti, type RawNiftiSpec, temporaryFolder } from './test-support.js';

const folder = temporaryFolder();
afterAll(() => rmSync(folder, { recursive: true, force: true }));

const values = Array.from({ length: 24 }, (_, i) => i * 10 - 100);
const good: RawNiftiSpec = { datatype: 'int16', dims: [2, 3, 4], values, pixdim: [1, 1, 1, 1] };

function write(name: string, bytes: Uint8Array): string {
  const file = join(folder, name);
  writeFileSync(file, bytes);
  return file;
}

function expectDataError(run: () => unknown, file: string, code: DataErrorCode, pattern?: RegExp): DataError {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(DataError);
  const error = caught as DataError;
  expect(error.code).toBe(code);
  expect(error.file).toBe(file);
  expect(error.message.startsWith(`${file}: `)).toBe(true);
  if (pattern) expect(error.message).toMatch(pattern);
  return error;
}

/** Both the full reader and the header-only validation must name the file and the problem. */
function expectBoth(file: string, code: DataErrorCode, pattern?: RegExp, headerCode: DataErrorCode = code) {
  expectDataError(() => readNifti(file), file, code, pattern);
  expectDataError(() => readNiftiHeader(file), file, headerCode);
  const problems = validateItem({ image: file }, 'header');
  expect(problems).toHaveLength(1);
  expect(problems[0].file).toBe(file);
  expect(problems[0].message).toContain(file);
}

describe('bad input gets a DataError naming the file', () => {
  it('missing file', () => {
    const file = join(folder, 'does-not-exist.nii.gz');
    expectBoth(file, 'missing-file', /not found/);
  });

  it('truncated .gz', () => {
    const full = gzipSync(buildRawNifti({ ...good, dims: [20, 20, 20], values: [] }));
    const file = write('truncated.nii.gz', full.subarray(0, Math.floor(full.length / 2)));
    expectDataError(() => readNifti(file), file, 'truncated-gzip', /truncated or corrupt/);
    expect(validateItem({ image: file }, 'full')[0].code).toBe('truncated-gzip');
  });

  it('a .gz that is not gzip', () => {
    const file = write('plain.nii.gz', buildRawNifti(good));
    expectBoth(file, 'not-gzip', /not gzip-compressed/);
  });

  it('wrong magic and non-NIfTI bytes', () => {
    const wrongMagic = write('magic.nii', buildRawNifti({ ...good, magic: 'xyz\0' }));
    expectBoth(wrongMagic, 'bad-magic', /magic "xyz"/);
    const text = write('text.nii', new TextEncoder().encode('this is not an image at all, just some text '.repeat(20)));
    expectBoth(text, 'bad-magic', /sizeof_hdr/);
    const tiny = write('tiny.nii', new Uint8Array([1, 2]));
    expectBoth(tiny, 'truncated-header', /348/);
  });

  it('header dims that disagree with the data length (.nii and .nii.gz)', () => {
    const short = buildRawNifti({ ...good, truncate: 10 });
    const plain = write('short.nii', short);
    expectBoth(plain, 'data-length', /need 48 bytes.*holds only 38/);
    const gz = write('short.nii.gz', gzipSync(short));
    expectBoth(gz, 'data-length', /need 48 bytes/);
  });

  it('unsupported datatypes (complex, RGB)', () => {
    const complex = write('complex.nii', buildRawNifti({ ...good, datatype: 'complex64' }));
    expectBoth(complex, 'unsupported-datatype', /complex64/);
    const rgb = write('rgb.nii.gz', gzipSync(buildRawNifti({ ...good, datatype: 'rgb24' })));
    expectBoth(rgb, 'unsupported-datatype', /RGB24/);
  });

  it('2D, 4D series and 5D+ images', () => {
    const flat = write('flat.nii', buildRawNifti({ ...good, dims: [4, 6], values: values.slice(0, 24) }));
    expectBoth(flat, 'bad-dimensions', /2D image \(4×6\)/);
    const series = write('series.nii', buildRawNifti({ ...good, dims: [2, 3, 2, 2], values }));
    expectBoth(series, 'bad-dimensions', /4D image with 2 volumes/);
    const field = write('field.nii', buildRawNifti({ ...good, dims: [2, 3, 2, 1, 2], values }));
    expectBoth(field, 'bad-dimensions', /5D image/);
    const single = write('single-frame.nii', buildRawNifti({ ...good, dims: [2, 3, 4, 1], values }));
    expect(readNifti(single).shape).toEqual([2, 3, 4]);
  });

  it('zero-size dimensions', () => {
    const file = write('empty.nii', buildRawNifti({ ...good, dims: [4, 0, 3], values: [] }));
    expectBoth(file, 'zero-size', /4×0×3/);
  });

  it('NaN and Inf voxels', () => {
    const nan = write(
      'nan.nii',
      buildRawNifti({ datatype: 'float32', dims: [2, 2, 2], values: [0, 1, 2, Number.NaN, 4, 5, Number.NaN, 7] }),
    );
    expectDataError(
      () => readNifti(nan),
      nan,
      'non-finite',
      /2 voxel\(s\) are NaN or ±Inf \(first at voxel \[1, 1, 0\]/,
    );
    const inf = write(
      'inf.nii.gz',
      gzipSync(
        buildRawNifti({
          datatype: 'float64',
          dims: [2, 2, 2],
          values: [0, 1, 2, 3, 4, 5, 6, Number.POSITIVE_INFINITY],
        }),
      ),
    );
    expectDataError(() => readNifti(inf), inf, 'non-finite', /\[1, 1, 1\] = Infinity/);
    expect(validateItem({ image: inf }, 'full')[0].code).toBe('non-finite');
    expect(validateItem({ image: inf }, 'header')).toEqual([]);
  });

  it('a label whose grid differs from its image', () => {
    const affine = [
      [1, 0, 0, 0],
      [0, 1, 0, 0],
      [0, 0, 1, 0],
      [0, 0, 0, 1],
    ];
    const image = join(folder, 'grid-image.nii.gz');
    writeNifti(image, { data: new Int16Array(24), shape: [2, 3, 4], affine });
    const wrongShape = join(folder, 'grid-label-shape.nii.gz');
    writeNifti(wrongShape, { data: new Uint8Array(24), shape: [3, 2, 4], affine });
    const moved = affine.map((row) => row.slice());
    moved[0][3] = 5;
    const wrongAffine = join(folder, 'grid-label-affine.nii.gz');
    writeNifti(wrongAffine, { data: new Uint8Array(24), shape: [2, 3, 4], affine: moved });
    for (const label of [wrongShape, wrongAffine]) {
      const error = expectDataError(() => loadSample(image, label), label, 'grid-mismatch', /does not match its image/);
      expect(error.message).toContain(image);
      for (const mode of ['header', 'full'] as const) {
        const problems = validateItem({ image, label }, mode);
        expect(problems[0].code).toBe('grid-mismatch');
        expect(problems[0].file).toBe(label);
      }
    }
  });
});

describe('datasets fail fast or skip bad files', () => {
  const affine = [
    [1.5, 0, 0, 0],
    [0, 1.5, 0, 0],
    [0, 0, 1.5, 0],
    [0, 0, 0, 1],
  ];
  const datasetFolder = join(folder, 'mixed');

  function makeFolder() {
    writeNifti(join(datasetFolder, 'a.nii.gz'), {
      data: new Int16Array(8 * 8 * 8).fill(100),
      shape: [8, 8, 8],
      affine,
    });
    writeNifti(join(datasetFolder, 'b.nii.gz'), { data: new Int16Array(8 * 8 * 8).fill(50), shape: [8, 8, 8], affine });
    writeFileSync(join(datasetFolder, 'c.nii.gz'), buildRawNifti(good));
    writeFileSync(join(datasetFolder, 'd.nii'), buildRawNifti({ ...good, datatype: 'complex64' }));
  }

  it('fails before training, listing every bad file', () => {
    makeFolder();
    const error = expectDataError(
      () => openDataset(datasetFolder),
      datasetFolder,
      'bad-dataset',
      /2 of 4 items have problems/,
    );
    expect(error.message).toContain(join(datasetFolder, 'c.nii.gz'));
    expect(error.message).toContain(join(datasetFolder, 'd.nii'));
  });

  it('skips bad files with one warning each and a summary line', () => {
    makeFolder();
    const warnings: string[] = [];
    const dataset = openDataset(datasetFolder, { skipBad: true, onWarning: (m) => warnings.push(m) });
    expect(dataset.items.map((i) => i.image)).toEqual([
      join(datasetFolder, 'a.nii.gz'),
      join(datasetFolder, 'b.nii.gz'),
    ]);
    expect(warnings).toHaveLength(3);
    expect(warnings[0]).toContain('c.nii.gz');
    expect(warnings[1]).toContain('d.nii');
    expect(warnings[2]).toMatch(/skipped 2 of 4 items/);
    expect(dataset.skipped.map((p) => p.code)).toEqual(['not-gzip', 'unsupported-datatype']);
  });

  it('a dataset.json entry pointing at a missing file', () => {
    const json = join(folder, 'dataset.json');
    writeFileSync(json, JSON.stringify({ training: [{ image: './nowhere/x.nii.gz' }] }));
    const error = expectDataError(() => openDataset(json), json, 'bad-dataset');
    expect(error.message).toContain(join(folder, 'nowhere', 'x.nii.gz'));
    expect(error.message).toContain('file not found');
  });

  it('a problem found only while loading comes back from the worker as a DataError naming the file', async () => {
    const nan = join(folder, 'worker-nan.nii');
    writeFileSync(
      nan,
      buildRawNifti({
        datatype: 'float32',
        dims: [4, 4, 4],
        values: Array.from({ length: 64 }, (_, i) => (i === 9 ? Number.NaN : i)),
      }),
    );
    const dataset = openDataset(nan.replace(/worker-nan\.nii$/, ''), {
      validate: 'none',
      skipBad: true,
      onWarning: () => {},
    });
    const loader = new DataLoader(
      { ...dataset, items: [{ image: nan }] },
      { workers: 1, cropSize: 4, cacheDirectory: null, batchSize: 1 },
    );
    try {
      await expect(async () => {
        for await (const _ of loader.epoch(0)) {
          // consume
        }
      }).rejects.toThrow(new RegExp(`^${nan.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: 1 voxel\\(s\\) are NaN`));
    } finally {
      await loader.close();
    }
    const warnings: string[] = [];
    const skipping = new DataLoader(
      { ...dataset, items: [{ image: nan }, { image: join(datasetFolder, 'a.nii.gz') }] },
      {
        workers: 1,
        cropSize: 4,
        cacheDirectory: null,
        batchSize: 1,
        skipBad: true,
        onWarning: (m) => warnings.push(m),
        shuffle: false,
        preprocess: { spacing: null },
      },
    );
    try {
      const files: string[] = [];
      for await (const batch of skipping.epoch(0)) files.push(...batch.files);
      expect(files).toEqual([join(datasetFolder, 'a.nii.gz')]);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain(nan);
    } finally {
      await skipping.close();
    }
  });
});
