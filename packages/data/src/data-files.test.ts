import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { orientationCode } from './affine.js';
import { readNifti, readNiftiHeader } from './nifti-read.js';
import { findRepoRoot } from './test-support.js';
import { intensityStats } from './volume.js';

const root = findRepoRoot();
const dataFolder = join(root, 'data');
const files = ['ct', 'mr', 'labels'].flatMap((sub) =>
  readdirSync(join(dataFolder, sub))
    .filter((name) => /\.nii(\.gz)?$/.test(name))
    .map((name) => join(dataFolder, sub, name)),
);

/** An independent NIfTI-1 parse straight from the bytes. */
function parseIndependently(file: string) {
  const raw = readFileSync(file);
  const bytes = raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = view.getInt32(0, true) === 348;
  expect(view.getInt32(0, le)).toBe(348);
  const dims = [1, 2, 3].map((i) => view.getInt16(40 + 2 * i, le));
  const code = view.getInt16(70, le);
  const offset = view.getFloat32(108, le);
  const slope = view.getFloat32(112, le);
  const inter = view.getFloat32(116, le);
  const sformCode = view.getInt16(254, le);
  const pixdim = [1, 2, 3].map((i) => view.getFloat32(76 + 4 * i, le));
  const srow = [0, 1, 2].map((r) => [0, 1, 2, 3].map((c) => view.getFloat32(280 + 16 * r + 4 * c, le)));
  const read: Record<number, [number, (o: number) => number]> = {
    2: [1, (o) => view.getUint8(o)],
    4: [2, (o) => view.getInt16(o, le)],
    8: [4, (o) => view.getInt32(o, le)],
    16: [4, (o) => view.getFloat32(o, le)],
    64: [8, (o) => view.getFloat64(o, le)],
    256: [1, (o) => view.getInt8(o)],
    512: [2, (o) => view.getUint16(o, le)],
    768: [4, (o) => view.getUint32(o, le)],
  };
  const [width, get] = read[code];
  const n = dims[0] * dims[1] * dims[2];
  const scale = slope !== 0 && Number.isFinite(slope);
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let sumSquares = 0;
  const probes: number[] = [];
  for (let i = 0; i < n; i++) {
    let v = get(offset + i * width);
    if (scale) v = v * slope + inter;
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
    sumSquares += v * v;
    if (i % 9973 === 0) probes.push(v);
  }
  const mean = sum / n;
  const std = Math.sqrt(Math.max(0, sumSquares / n - mean * mean));
  return { dims, code, sformCode, pixdim, srow, min, max, mean, std, probes };
}

const DATATYPE_NAMES: Record<number, string> = { 2: 'uint8', 4: 'int16', 8: 'int32', 16: 'float32', 64: 'float64' };

describe('the sample scans in data/', () => {
  it('finds the sample files', () => {
    expect(files.length).toBeGreaterThanOrEqual(6);
  });

  for (const file of files) {
    it(`reads ${relative(root, file)} with the shape, affine and intensities of an independent parse`, () => {
      const expected = parseIndependently(file);
      const image = readNifti(file);
      expect(image.shape).toEqual(expected.dims);
      expect(image.header.datatype).toBe(DATATYPE_NAMES[expected.code]);
      if (expected.sformCode > 0) {
        expect(image.header.affineSource).toBe('sform');
        expect(image.affine.slice(0, 3)).toEqual(expected.srow);
      }
      expect(image.affine[3]).toEqual([0, 0, 0, 1]);
      image.header.spacing.forEach((s, a) => {
        expect(s).toBeCloseTo(expected.pixdim[a], 4);
      });
      const stats = intensityStats(image.data);
      expect(stats.min).toBe(expected.min);
      expect(stats.max).toBe(expected.max);
      expect(stats.mean).toBeCloseTo(expected.mean, 6);
      expect(stats.std / expected.std).toBeCloseTo(1, 6);
      expected.probes.forEach((v, i) => {
        expect(image.data[i * 9973]).toBe(v);
      });
      const header = readNiftiHeader(file);
      expect(header.header.dims).toEqual(expected.dims);
      expect(header.header.affine).toEqual(image.affine);
    });
  }

  it('knows the orientation of each sample (the diagonal signs of the affine)', () => {
    for (const file of files) {
      const { srow } = parseIndependently(file);
      const code = ['RL', 'AP', 'SI'].map((pair, a) => (srow[a][a] > 0 ? pair[0] : pair[1])).join('');
      expect(orientationCode(readNifti(file).affine)).toBe(code);
    }
  });

  it('CT intensities are Hounsfield units and labels are small integers', () => {
    for (const file of files) {
      const stats = intensityStats(readNifti(file).data);
      if (file.includes('/ct/')) {
        expect(stats.min).toBeLessThan(-900);
        expect(stats.max).toBeGreaterThan(1000);
      }
      if (file.includes('/labels/')) {
        expect(stats.min).toBe(0);
        expect(stats.max).toBeLessThan(256);
      }
    }
  });
});
