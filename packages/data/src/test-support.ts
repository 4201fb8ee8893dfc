/** Helpers shared by the tests (not part of the public API). */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { Matrix4 } from './affine.js';

export { findRepoRoot } from './repo-root.js';

export function temporaryFolder(prefix = 'mim-data-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Datatype code → (bytes, DataView setter) for building raw NIfTI files independently of the library. */
export const RAW_TYPES: Record<
  string,
  { code: number; bytes: number; set: (v: DataView, o: number, x: number, le: boolean) => void }
> = {
  uint8: { code: 2, bytes: 1, set: (v, o, x) => v.setUint8(o, x) },
  int8: { code: 256, bytes: 1, set: (v, o, x) => v.setInt8(o, x) },
  int16: { code: 4, bytes: 2, set: (v, o, x, le) => v.setInt16(o, x, le) },
  uint16: { code: 512, bytes: 2, set: (v, o, x, le) => v.setUint16(o, x, le) },
  int32: { code: 8, bytes: 4, set: (v, o, x, le) => v.setInt32(o, x, le) },
  uint32: { code: 768, bytes: 4, set: (v, o, x, le) => v.setUint32(o, x, le) },
  float32: { code: 16, bytes: 4, set: (v, o, x, le) => v.setFloat32(o, x, le) },
  float64: { code: 64, bytes: 8, set: (v, o, x, le) => v.setFloat64(o, x, le) },
  int64: { code: 1024, bytes: 8, set: (v, o, x, le) => v.setBigInt64(o, BigInt(x), le) },
  uint64: { code: 1280, bytes: 8, set: (v, o, x, le) => v.setBigUint64(o, BigInt(x), le) },
  complex64: { code: 32, bytes: 8, set: (v, o, x, le) => v.setFloat32(o, x, le) },
  rgb24: { code: 128, bytes: 3, set: (v, o, x) => v.setUint8(o, x) },
};

export interface RawNiftiSpec {
  version?: 1 | 2;
  littleEndian?: boolean;
  datatype: keyof typeof RAW_TYPES;
  /** dim[1..]; dim[0] = dims.length unless `rank` is given. */
  dims: number[];
  rank?: number;
  values: number[];
  pixdim?: number[];
  slope?: number;
  inter?: number;
  qformCode?: number;
  sformCode?: number;
  quaternion?: [number, number, number];
  qoffset?: [number, number, number];
  /** Three rows of four. */
  srow?: number[][];
  magic?: string;
  voxOffset?: number;
  /** Drop this many bytes from the end. */
  truncate?: number;
}

/** Build a NIfTI-1 or NIfTI-2 file byte by byte from the spec (an oracle independent of nifti-write.ts). */
export function buildRawNifti(spec: RawNiftiSpec): Uint8Array {
  const version = spec.version ?? 1;
  const le = spec.littleEndian ?? true;
  const type = RAW_TYPES[spec.datatype];
  const voxOffset = spec.voxOffset ?? (version === 1 ? 352 : 544);
  const count = spec.dims.reduce((a, b) => a * b, 1);
  const total = voxOffset + count * type.bytes;
  const bytes = new Uint8Array(total);
  const v = new DataView(bytes.buffer);
  const dims = [spec.rank ?? spec.dims.length, ...spec.dims];
  while (dims.length < 8) dims.push(1);
  const pixdim = spec.pixdim ?? [1, 1, 1, 1, 1, 1, 1, 1];
  const srow = spec.srow ?? [
    [1, 0, 0, 0],
    [0, 1, 0, 0],
    [0, 0, 1, 0],
  ];
  const q = spec.quaternion ?? [0, 0, 0];
  const qo = spec.qoffset ?? [0, 0, 0];
  if (version === 1) {
    v.setInt32(0, 348, le);
    dims.forEach((d, i) => {
      v.setInt16(40 + 2 * i, d, le);
    });
    v.setInt16(70, type.code, le);
    v.setInt16(72, type.bytes * 8, le);
    pixdim.forEach((p, i) => {
      v.setFloat32(76 + 4 * i, p, le);
    });
    v.setFloat32(108, voxOffset, le);
    v.setFloat32(112, spec.slope ?? 0, le);
    v.setFloat32(116, spec.inter ?? 0, le);
    v.setInt16(252, spec.qformCode ?? 0, le);
    v.setInt16(254, spec.sformCode ?? 0, le);
    q.forEach((x, i) => {
      v.setFloat32(256 + 4 * i, x, le);
    });
    qo.forEach((x, i) => {
      v.setFloat32(268 + 4 * i, x, le);
    });
    srow.forEach((row, r) => {
      row.forEach((x, c) => {
        v.setFloat32(280 + 16 * r + 4 * c, x, le);
      });
    });
    const magic = spec.magic ?? 'n+1\0';
    for (let i = 0; i < 4; i++) bytes[344 + i] = magic.charCodeAt(i) || 0;
  } else {
    v.setInt32(0, 540, le);
    const magic = spec.magic ?? 'n+2\0\r\n\x1a\n';
    for (let i = 0; i < 8; i++) bytes[4 + i] = magic.charCodeAt(i) || 0;
    v.setInt16(12, type.code, le);
    v.setInt16(14, type.bytes * 8, le);
    dims.forEach((d, i) => {
      v.setBigInt64(16 + 8 * i, BigInt(d), le);
    });
    pixdim.forEach((p, i) => {
      v.setFloat64(104 + 8 * i, p, le);
    });
    v.setBigInt64(168, BigInt(voxOffset), le);
    v.setFloat64(176, spec.slope ?? 0, le);
    v.setFloat64(184, spec.inter ?? 0, le);
    v.setInt32(344, spec.qformCode ?? 0, le);
    v.setInt32(348, spec.sformCode ?? 0, le);
    q.forEach((x, i) => {
      v.setFloat64(352 + 8 * i, x, le);
    });
    qo.forEach((x, i) => {
      v.setFloat64(376 + 8 * i, x, le);
    });
    srow.forEach((row, r) => {
      row.forEach((x, c) => {
        v.setFloat64(400 + 32 * r + 8 * c, x, le);
      });
    });
  }
  spec.values.forEach((x, i) => {
    type.set(v, voxOffset + i * type.bytes, x, le);
  });
  return spec.truncate ? bytes.slice(0, total - spec.truncate) : bytes;
}

/** Every entry of two 4×4 affines agrees to `digits` decimals. */
export function expectAffineClose(actual: Matrix4, expected: Matrix4, digits = 4): void {
  actual.forEach((row, r) => {
    row.forEach((v, c) => {
      expect(v, `affine[${r}][${c}]`).toBeCloseTo(expected[r][c], digits);
    });
  });
}
