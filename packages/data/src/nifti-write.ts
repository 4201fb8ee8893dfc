import { mkdirSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { gzipSync } from 'node:zlib';
import { affineToQuaternion, type Matrix4 } from './affine.js';
import { DataError } from './errors.js';
import { NIFTI_DATATYPE_CODES } from './nifti-read.js';
import { VOXEL_ARRAY, type Volume, type VoxelArray, type VoxelType, voxelType } from './volume.js';

export interface WriteNiftiOptions {
  /** Stored type (default: the type of `volume.data`); integers are rounded and clamped to the type's range. */
  datatype?: VoxelType;
  /** gzip the output (default: when the file name ends in .gz). */
  gzip?: boolean;
  /** gzip level 1–9 (default 6). */
  gzipLevel?: number;
  /** qform_code / sform_code (default 1 = scanner anatomical for both; both transforms always hold the affine). */
  qformCode?: number;
  sformCode?: number;
  /** Up to 79 characters stored in the header's descrip field. */
  description?: string;
}

const INTEGER_RANGE: Partial<Record<VoxelType, [number, number]>> = {
  uint8: [0, 255],
  int8: [-128, 127],
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
};

function convert(data: VoxelArray, datatype: VoxelType): VoxelArray {
  if (voxelType(data) === datatype) return data;
  const out = new VOXEL_ARRAY[datatype](data.length);
  const range = INTEGER_RANGE[datatype];
  if (!range) {
    out.set(data);
    return out;
  }
  const [low, high] = range;
  for (let i = 0; i < data.length; i++) {
    const v = Math.round(data[i]);
    out[i] = v < low ? low : Math.min(v, high);
  }
  return out;
}

/**
 * Encode a volume as a single-file NIfTI-1 (.nii) byte array, gzip-compressed when `gzip` is set.
 * Header: sizeof_hdr 348, magic "n+1", vox_offset 352, dim = [3, X, Y, Z, 1, 1, 1, 1], pixdim[1..3] = column
 * lengths of the affine, pixdim[0] = qfac, xyzt_units = mm + s, scl_slope 1 / scl_inter 0, and the affine stored
 * twice: exactly in srow_x/y/z (sform) and as quaternion + offset (qform; the rotation nearest to it when the
 * affine has shear). Data little-endian.
 */
export function encodeNifti(volume: Volume, options: WriteNiftiOptions = {}): Uint8Array {
  const [nx, ny, nz] = volume.shape;
  const datatype = options.datatype ?? voxelType(volume.data);
  if (volume.data.length !== nx * ny * nz) {
    throw new DataError(
      'bad-argument',
      'encodeNifti',
      `data holds ${volume.data.length} voxels but shape ${nx}×${ny}×${nz} needs ${nx * ny * nz}`,
    );
  }
  const data = convert(volume.data, datatype);
  const width = data.BYTES_PER_ELEMENT;
  const voxOffset = 352;
  const bytes = new Uint8Array(voxOffset + data.length * width);
  const view = new DataView(bytes.buffer);
  const le = true;
  view.setInt32(0, 348, le);
  bytes[38] = 'r'.charCodeAt(0);
  const dims = [3, nx, ny, nz, 1, 1, 1, 1];
  for (let i = 0; i < 8; i++) view.setInt16(40 + i * 2, dims[i], le);
  view.setInt16(70, NIFTI_DATATYPE_CODES[datatype], le);
  view.setInt16(72, width * 8, le);
  const affine: Matrix4 = volume.affine;
  const quaternion = affineToQuaternion(affine);
  const pixdim = [quaternion.qfac, ...quaternion.spacing, 1, 1, 1, 1];
  for (let i = 0; i < 8; i++) view.setFloat32(76 + i * 4, pixdim[i], le);
  view.setFloat32(108, voxOffset, le);
  view.setFloat32(112, 1, le);
  view.setFloat32(116, 0, le);
  bytes[123] = 2 | 8; // NIFTI_UNITS_MM | NIFTI_UNITS_SEC
  const description = (options.description ?? 'written by @mim/data').slice(0, 79);
  for (let i = 0; i < description.length; i++) bytes[148 + i] = description.charCodeAt(i) & 0x7f;
  view.setInt16(252, options.qformCode ?? 1, le);
  view.setInt16(254, options.sformCode ?? 1, le);
  view.setFloat32(256, quaternion.b, le);
  view.setFloat32(260, quaternion.c, le);
  view.setFloat32(264, quaternion.d, le);
  view.setFloat32(268, quaternion.offset[0], le);
  view.setFloat32(272, quaternion.offset[1], le);
  view.setFloat32(276, quaternion.offset[2], le);
  for (let r = 0; r < 3; r++) for (let c = 0; c < 4; c++) view.setFloat32(280 + (r * 4 + c) * 4, affine[r][c], le);
  bytes.set([0x6e, 0x2b, 0x31, 0x00], 344); // "n+1\0"
  // bytes 348..351: extension flag, all zero (no extensions).
  bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), voxOffset);
  if (options.gzip) return gzipSync(bytes, { level: options.gzipLevel ?? 6 });
  return bytes;
}

/** Write bytes atomically: to a temporary file in the same folder, then rename over the target. */
export function writeFileAtomic(file: string, bytes: Uint8Array): void {
  mkdirSync(dirname(file), { recursive: true });
  const temporary = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  try {
    writeFileSync(temporary, bytes);
    renameSync(temporary, file);
  } catch (error) {
    try {
      unlinkSync(temporary);
    } catch {
      // the temporary file may not exist
    }
    throw error;
  }
}

/** Write a volume to `file` (.nii or .nii.gz; gzip follows the name unless `options.gzip` says otherwise). */
export function writeNifti(file: string, volume: Volume, options: WriteNiftiOptions = {}): void {
  const gzip = options.gzip ?? file.toLowerCase().endsWith('.gz');
  writeFileAtomic(file, encodeNifti(volume, { ...options, gzip }));
}
