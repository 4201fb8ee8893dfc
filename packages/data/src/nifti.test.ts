import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import * as nifti from 'nifti-reader-js';
import { afterAll, describe, expect, it } from 'vitest';
import { affineToQuaternion, orientationCode, quaternionToAffine } from './affine.js';
import { readNifti, readNiftiHeader } from './nifti-read.js';
import { encodeNifti, writeNifti } from './nifti-write.js';
import { buildRawNifti, expectAffineClose, RAW_TYPES, temporaryFolder } from './test-support.js';

const folder = temporaryFolder();
afterAll(() => rmSync(folder, { recursive: true, force: true }));

/** Values that exercise each type's range (including negative and extreme values where the type allows). */
const VALUES: Record<string, number[]> = {
  uint8: [0, 1, 2, 127, 128, 200, 254, 255, 3, 4, 5, 6],
  int8: [-128, -1, 0, 1, 2, 64, 127, -64, 3, 4, 5, 6],
  int16: [-32768, -1000, -1, 0, 1, 3000, 32767, 12, 13, 14, 15, 16],
  uint16: [0, 1, 65535, 40000, 2, 3, 4, 5, 6, 7, 8, 9],
  int32: [-2147483648, -5, 0, 5, 2147483647, 123456, 7, 8, 9, 10, 11, 12],
  uint32: [0, 4294967295, 3000000000, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  float32: [-1.5, 0, 3.25, 1e-20, -3e30, 7.125, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
  float64: [-1.5, 0, Math.PI, 1e-300, -1e300, 7.125, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
  int64: [-(2 ** 53), -1, 0, 1, 2 ** 40, 5, 6, 7, 8, 9, 10, 11],
  uint64: [0, 1, 2 ** 52, 3, 4, 5, 6, 7, 8, 9, 10, 11],
};

const dims = [2, 3, 2];

function expectedValues(type: string): number[] {
  return VALUES[type].map((x) => (type === 'float32' ? Math.fround(x) : x));
}

describe('reading every datatype', () => {
  for (const type of Object.keys(VALUES)) {
    for (const littleEndian of [true, false]) {
      for (const version of [1, 2] as const) {
        it(`${type}, ${littleEndian ? 'little' : 'big'}-endian, NIfTI-${version}, .nii and .nii.gz`, () => {
          const bytes = buildRawNifti({ version, littleEndian, datatype: type, dims, values: VALUES[type] });
          const plain = join(folder, `${type}-${littleEndian}-${version}.nii`);
          writeFileSync(plain, bytes);
          writeFileSync(`${plain}.gz`, gzipSync(bytes));
          for (const file of [plain, `${plain}.gz`]) {
            const image = readNifti(file);
            expect(image.shape).toEqual(dims);
            expect(image.header.version).toBe(version);
            expect(image.header.littleEndian).toBe(littleEndian);
            expect(image.header.datatype).toBe(type);
            expect(Array.from(image.data)).toEqual(expectedValues(type));
            expect(readNiftiHeader(file).header.dims).toEqual(dims);
          }
        });
      }
    }
  }
});

describe('scaling and geometry', () => {
  it('applies scl_slope / scl_inter when slope ≠ 0 and ignores them when slope = 0', () => {
    const values = [0, 1, 2, 3, -4, 100, 7, 8];
    const scaled = join(folder, 'scaled.nii');
    writeFileSync(scaled, buildRawNifti({ datatype: 'int16', dims: [2, 2, 2], values, slope: 0.5, inter: -10 }));
    expect(Array.from(readNifti(scaled).data)).toEqual(values.map((v) => v * 0.5 - 10));
    expect(Array.from(readNifti(scaled, { scale: false }).data)).toEqual(values);
    const unscaled = join(folder, 'unscaled.nii');
    writeFileSync(unscaled, buildRawNifti({ datatype: 'int16', dims: [2, 2, 2], values, slope: 0, inter: 5 }));
    const image = readNifti(unscaled);
    expect(image.data).toBeInstanceOf(Int16Array);
    expect(Array.from(image.data)).toEqual(values);
  });

  it('takes the sform when sform_code > 0, even when a qform is present', () => {
    const srow = [
      [0, 0, 2.5, -10],
      [-0.8, 0, 0, 20],
      [0, 1.2, 0, 30],
    ];
    const file = join(folder, 'sform.nii');
    writeFileSync(
      file,
      buildRawNifti({
        datatype: 'uint8',
        dims: [2, 2, 2],
        values: [1, 2, 3, 4, 5, 6, 7, 8],
        srow,
        sformCode: 2,
        qformCode: 1,
        quaternion: [0, 0, 1],
        pixdim: [1, 0.8, 1.2, 2.5],
      }),
    );
    const image = readNifti(file);
    expect(image.header.affineSource).toBe('sform');
    expect(image.affine.slice(0, 3)).toEqual(srow.map((row) => row.map(Math.fround)));
    expect(image.header.spacing.map((s) => +s.toFixed(5))).toEqual([0.8, 1.2, 2.5]);
    expect(orientationCode(image.affine)).toBe('PSR');
  });

  it('builds the affine from the quaternion (with qfac) when only the qform is set', () => {
    // 180° about z: (b, c, d) = (0, 0, 1) → R = diag(−1, −1, 1); qfac −1 flips the third column.
    const file = join(folder, 'qform.nii');
    writeFileSync(
      file,
      buildRawNifti({
        datatype: 'uint8',
        dims: [2, 2, 2],
        values: [1, 2, 3, 4, 5, 6, 7, 8],
        qformCode: 1,
        quaternion: [0, 0, 1],
        qoffset: [5, 6, 7],
        pixdim: [-1, 2, 3, 4],
      }),
    );
    const image = readNifti(file);
    expect(image.header.affineSource).toBe('qform');
    const expected = [
      [-2, 0, 0, 5],
      [0, -3, 0, 6],
      [0, 0, -4, 7],
      [0, 0, 0, 1],
    ];
    expectAffineClose(image.affine, expected, 6);
    expect(orientationCode(image.affine)).toBe('LPI');
  });

  it('falls back to diag(pixdim) without qform and sform', () => {
    const file = join(folder, 'pixdim.nii');
    writeFileSync(
      file,
      buildRawNifti({
        datatype: 'uint8',
        dims: [2, 2, 2],
        values: [1, 2, 3, 4, 5, 6, 7, 8],
        pixdim: [1, 0.5, 0.75, 3],
      }),
    );
    const image = readNifti(file);
    expect(image.header.affineSource).toBe('pixdim');
    expect(image.affine).toEqual([
      [0.5, 0, 0, 0],
      [0, 0.75, 0, 0],
      [0, 0, 3, 0],
      [0, 0, 0, 1],
    ]);
  });

  it('quaternion ↔ affine conversion round-trips proper and improper rotations', () => {
    const angle = 0.3;
    const rotation = [
      [Math.cos(angle), -Math.sin(angle), 0],
      [Math.sin(angle), Math.cos(angle), 0],
      [0, 0, 1],
    ];
    for (const qfac of [1, -1]) {
      for (const axisFlip of [1, -1]) {
        const spacing = [0.7, 1.3, 2.1];
        const affine = [0, 1, 2].map((r) => [
          ...[0, 1, 2].map((c) => rotation[r][c] * spacing[c] * (c === 2 ? qfac : 1) * (c === 0 ? axisFlip : 1)),
          [3, -4, 5][r],
        ]);
        affine.push([0, 0, 0, 1]);
        const q = affineToQuaternion(affine);
        const back = quaternionToAffine(q);
        expectAffineClose(back, affine, 9);
      }
    }
  });
});

describe('writer', () => {
  const angle = 0.25;
  const oblique = [
    [-1.5 * Math.cos(angle), 1.5 * Math.sin(angle), 0, 71.5],
    [-1.5 * Math.sin(angle), -1.5 * Math.cos(angle), 0, 255.25],
    [0, 0, 2, -540.5],
    [0, 0, 0, 1],
  ];
  const shape: [number, number, number] = [5, 4, 3];
  const n = 60;
  const cases = {
    float32: Float32Array.from({ length: n }, (_, i) => Math.fround(Math.sin(i) * 1000)),
    int16: Int16Array.from({ length: n }, (_, i) => ((i * 977) % 65536) - 32768),
    uint8: Uint8Array.from({ length: n }, (_, i) => (i * 37) % 256),
  };

  for (const [type, data] of Object.entries(cases)) {
    for (const gz of [false, true]) {
      it(`writes ${type}${gz ? ' gzipped' : ''} with sform and qform that agree, read back by nifti-reader-js and readNifti`, () => {
        const file = join(folder, `written-${type}.nii${gz ? '.gz' : ''}`);
        writeNifti(file, { data, shape, affine: oblique });
        const raw = readFileSync(file);
        expect(raw[0] === 0x1f && raw[1] === 0x8b).toBe(gz);
        const bytes = gz ? gunzipSync(raw) : raw;
        const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
        // nifti-reader-js: header fields and data
        const header = nifti.readHeader(buffer);
        expect(header.dims.slice(0, 4)).toEqual([3, ...shape]);
        expect(header.datatypeCode).toBe(RAW_TYPES[type].code);
        expect(header.numBitsPerVoxel).toBe(RAW_TYPES[type].bytes * 8);
        expect(header.vox_offset).toBe(352);
        expect(header.magic).toBe('n+1');
        expect(header.qform_code).toBe(1);
        expect(header.sform_code).toBe(1);
        expect(header.scl_slope).toBe(1);
        const imageBytes = nifti.readImage(header, buffer);
        const Constructor = data.constructor as new (b: ArrayBuffer) => ArrayLike<number>;
        expect(Array.from(new Constructor(imageBytes))).toEqual(Array.from(data));
        // sform = affine exactly (float32)
        const view = new DataView(buffer);
        for (let r = 0; r < 3; r++) {
          for (let c = 0; c < 4; c++)
            expect(view.getFloat32(280 + (r * 4 + c) * 4, true)).toBe(Math.fround(oblique[r][c]));
        }
        // qform built from the stored quaternion agrees with the affine
        const qform = quaternionToAffine({
          b: header.quatern_b,
          c: header.quatern_c,
          d: header.quatern_d,
          qfac: header.pixDims[0],
          offset: [header.qoffset_x, header.qoffset_y, header.qoffset_z],
          spacing: [header.pixDims[1], header.pixDims[2], header.pixDims[3]],
        });
        expectAffineClose(qform, oblique, 4);
        // our reader
        const image = readNifti(file);
        expect(Array.from(image.data)).toEqual(Array.from(data));
        expectAffineClose(image.affine, oblique, 4);
      });
    }
  }

  it('the qform alone reproduces the affine (nifti-reader-js uses it when sform_code is 0)', () => {
    const file = join(folder, 'qform-only.nii');
    const improper = oblique.map((row) => row.slice());
    for (let r = 0; r < 3; r++) improper[r][2] = -improper[r][2];
    writeNifti(file, { data: cases.uint8, shape, affine: improper }, { sformCode: 0 });
    const bytes = readFileSync(file);
    const header = nifti.readHeader(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    expect(header.pixDims[0]).toBe(-1);
    expectAffineClose(header.affine, improper, 4);
    const image = readNifti(file);
    expect(image.header.affineSource).toBe('qform');
    expectAffineClose(image.affine, improper, 4);
  });

  it('converts to a requested datatype with rounding and clamping', () => {
    const bytes = encodeNifti(
      { data: Float32Array.from([-3.6, 0.4, 0.5, 254.6, 300, -1, 7, 8]), shape: [2, 2, 2], affine: oblique },
      { datatype: 'uint8' },
    );
    const file = join(folder, 'converted.nii');
    writeFileSync(file, bytes);
    const image = readNifti(file);
    expect(image.data).toBeInstanceOf(Uint8Array);
    expect(Array.from(image.data)).toEqual([0, 0, 1, 255, 255, 0, 7, 8]);
  });
});
