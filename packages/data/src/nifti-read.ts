import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { gunzipSync, constants as zlibConstants } from 'node:zlib';
import * as nifti from 'nifti-reader-js';
import { affineSpacing, determinant3, linearPart, type Matrix4, quaternionToAffine, type Vector3 } from './affine.js';
import { DataError } from './errors.js';
import { VOXEL_ARRAY, type Volume, type VoxelArray, type VoxelType } from './volume.js';

/** Stored datatypes that @mim/data can read (int64/uint64 are read into float64). */
export type NiftiDatatype = VoxelType | 'int64' | 'uint64';

interface DatatypeInfo {
  name: NiftiDatatype;
  bytes: number;
}

const SUPPORTED_DATATYPES: Record<number, DatatypeInfo> = {
  2: { name: 'uint8', bytes: 1 },
  4: { name: 'int16', bytes: 2 },
  8: { name: 'int32', bytes: 4 },
  16: { name: 'float32', bytes: 4 },
  64: { name: 'float64', bytes: 8 },
  256: { name: 'int8', bytes: 1 },
  512: { name: 'uint16', bytes: 2 },
  768: { name: 'uint32', bytes: 4 },
  1024: { name: 'int64', bytes: 8 },
  1280: { name: 'uint64', bytes: 8 },
};

const UNSUPPORTED_DATATYPES: Record<number, string> = {
  0: 'none/unknown (0)',
  1: 'binary (1)',
  32: 'complex64 (32)',
  128: 'RGB24 (128)',
  1536: 'float128 (1536)',
  1792: 'complex128 (1792)',
  2048: 'complex256 (2048)',
  2304: 'RGBA32 (2304)',
};

export const NIFTI_DATATYPE_CODES: Record<NiftiDatatype, number> = {
  uint8: 2,
  int16: 4,
  int32: 8,
  float32: 16,
  float64: 64,
  int8: 256,
  uint16: 512,
  uint32: 768,
  int64: 1024,
  uint64: 1280,
};

/** The parts of a NIfTI header that matter for 3D volumes, already validated. */
export interface NiftiHeader {
  version: 1 | 2;
  littleEndian: boolean;
  datatype: NiftiDatatype;
  datatypeCode: number;
  /** Voxels along the three stored axes. */
  dims: [number, number, number];
  /** pixdim[0..7] as stored (pixdim[0] is qfac). */
  pixdim: number[];
  voxOffset: number;
  sclSlope: number;
  sclInter: number;
  qformCode: number;
  sformCode: number;
  /** Which transform the affine came from. */
  affineSource: 'sform' | 'qform' | 'pixdim';
  affine: Matrix4;
  /** Column lengths of the affine, in mm. */
  spacing: Vector3;
  /** Bytes of voxel data the header describes. */
  dataBytes: number;
  description: string;
}

/** A NIfTI file read into memory: a Volume plus its file name and header. */
export interface NiftiImage<T extends VoxelArray = VoxelArray> extends Volume<T> {
  file: string;
  header: NiftiHeader;
}

export interface ReadNiftiOptions {
  /** Apply scl_slope/scl_inter (default true; only when slope is finite and ≠ 0). */
  scale?: boolean;
  /** Fail on NaN/±Inf voxels (default true). */
  checkFinite?: boolean;
}

const textDecoder = new TextDecoder('latin1');

function readString(bytes: Uint8Array, start: number, end: number): string {
  const slice = bytes.subarray(start, end);
  const zero = slice.indexOf(0);
  return textDecoder.decode(zero >= 0 ? slice.subarray(0, zero) : slice);
}

function formatDims(dims: readonly number[]): string {
  return dims.join('×');
}

/**
 * Parse and validate a NIfTI-1/NIfTI-2 header from the first bytes of an (uncompressed) file.
 * Throws DataError naming `file` for wrong magic, unsupported datatypes, 2D/5D+/zero-size images.
 */
export function parseNiftiHeader(bytes: Uint8Array, file: string): NiftiHeader {
  if (bytes.byteLength < 4) {
    throw new DataError('truncated-header', file, `file holds ${bytes.byteLength} bytes; a NIfTI header needs 348`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const sizeLittle = view.getInt32(0, true);
  const sizeBig = view.getInt32(0, false);
  let version: 1 | 2;
  let littleEndian: boolean;
  if (sizeLittle === 348 || sizeBig === 348) {
    version = 1;
    littleEndian = sizeLittle === 348;
  } else if (sizeLittle === 540 || sizeBig === 540) {
    version = 2;
    littleEndian = sizeLittle === 540;
  } else {
    const first = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new DataError(
      'bad-magic',
      file,
      `not a NIfTI file: sizeof_hdr is ${sizeLittle} (first bytes ${first}); expected 348 (NIfTI-1) or 540 (NIfTI-2)`,
    );
  }
  const headerSize = version === 1 ? 348 : 540;
  if (bytes.byteLength < headerSize) {
    throw new DataError(
      'truncated-header',
      file,
      `file holds ${bytes.byteLength} bytes but a NIfTI-${version} header needs ${headerSize} — the file is truncated`,
    );
  }
  const magic = version === 1 ? readString(bytes, 344, 348) : readString(bytes, 4, 8);
  if (magic === 'ni1' || magic === 'ni2') {
    throw new DataError(
      'unsupported-format',
      file,
      `this is the header of a .hdr/.img pair (magic "${magic}"); convert it to a single .nii/.nii.gz file`,
    );
  }
  if (magic !== (version === 1 ? 'n+1' : 'n+2')) {
    throw new DataError(
      'bad-magic',
      file,
      `wrong NIfTI-${version} magic "${magic}" (expected "${version === 1 ? 'n+1' : 'n+2'}")`,
    );
  }
  const headerCopy = new Uint8Array(bytes.subarray(0, headerSize)).buffer; // a copy (Buffer.slice would share memory)
  let parsed: nifti.NIFTI1 | nifti.NIFTI2;
  try {
    parsed = nifti.readHeader(headerCopy);
  } catch (error) {
    throw new DataError('bad-magic', file, `nifti-reader-js could not parse the header: ${(error as Error).message}`);
  }
  const rank = parsed.dims[0];
  const allDims = parsed.dims.slice(1, Math.max(1, Math.min(rank, 7)) + 1);
  if (rank < 1 || rank > 7) {
    throw new DataError('bad-dimensions', file, `dim[0] is ${rank}; NIfTI allows 1 to 7 dimensions`);
  }
  if (allDims.some((d) => d <= 0)) {
    throw new DataError(
      'zero-size',
      file,
      `image has a zero-size or negative dimension (${formatDims(allDims)}); every dimension must be ≥ 1`,
    );
  }
  if (rank < 3) {
    throw new DataError(
      'bad-dimensions',
      file,
      `${rank}D image (${formatDims(allDims)}); expected a 3D volume — 2D slices cannot be used for 3D pre-training`,
    );
  }
  if (rank >= 5) {
    throw new DataError(
      'bad-dimensions',
      file,
      `${rank}D image (${formatDims(allDims)}); expected a 3D volume (5D+ images such as vector fields are not supported)`,
    );
  }
  if (rank === 4 && allDims[3] > 1) {
    throw new DataError(
      'bad-dimensions',
      file,
      `4D image with ${allDims[3]} volumes (${formatDims(allDims)}); expected a 3D volume — split the series into 3D files first`,
    );
  }
  const datatypeCode = parsed.datatypeCode;
  const info = SUPPORTED_DATATYPES[datatypeCode];
  if (!info) {
    const name = UNSUPPORTED_DATATYPES[datatypeCode] ?? `unknown code ${datatypeCode}`;
    throw new DataError(
      'unsupported-datatype',
      file,
      `unsupported datatype ${name}; supported: uint8, int8, int16, uint16, int32, uint32, int64, uint64, float32, float64 — convert complex/RGB images to a scalar type`,
    );
  }
  const dims: [number, number, number] = [allDims[0], allDims[1], allDims[2]];
  const voxOffset = Math.round(Number(parsed.vox_offset));
  if (!Number.isFinite(voxOffset) || voxOffset < headerSize) {
    throw new DataError(
      'bad-magic',
      file,
      `vox_offset is ${parsed.vox_offset}; it must be at least the header size ${headerSize}`,
    );
  }
  const pixdim = parsed.pixDims.slice(0, 8).map(Number);
  const { affine, source } = headerAffine(view, version, littleEndian, parsed, pixdim);
  return {
    version,
    littleEndian,
    datatype: info.name,
    datatypeCode,
    dims,
    pixdim,
    voxOffset,
    sclSlope: parsed.scl_slope,
    sclInter: parsed.scl_inter,
    qformCode: parsed.qform_code,
    sformCode: parsed.sform_code,
    affineSource: source,
    affine,
    spacing: affineSpacing(affine),
    dataBytes: dims[0] * dims[1] * dims[2] * info.bytes,
    description: parsed.description ?? '',
  };
}

function isUsable(affine: Matrix4): boolean {
  const det = determinant3(linearPart(affine));
  return Number.isFinite(det) && det !== 0 && affine.every((row) => row.every(Number.isFinite));
}

/** sform when sform_code > 0, else qform when qform_code > 0, else diag(pixdim) (nifti1_io's method 1). */
function headerAffine(
  view: DataView,
  version: 1 | 2,
  littleEndian: boolean,
  parsed: nifti.NIFTI1 | nifti.NIFTI2,
  pixdim: number[],
): { affine: Matrix4; source: NiftiHeader['affineSource'] } {
  if (parsed.sform_code > 0) {
    const affine: Matrix4 = [0, 1, 2].map((r) =>
      [0, 1, 2, 3].map((c) =>
        version === 1
          ? view.getFloat32(280 + (r * 4 + c) * 4, littleEndian)
          : view.getFloat64(400 + (r * 4 + c) * 8, littleEndian),
      ),
    );
    affine.push([0, 0, 0, 1]);
    if (isUsable(affine)) return { affine, source: 'sform' };
  }
  if (parsed.qform_code > 0) {
    const affine = quaternionToAffine({
      b: parsed.quatern_b,
      c: parsed.quatern_c,
      d: parsed.quatern_d,
      qfac: pixdim[0] < 0 ? -1 : 1,
      offset: [parsed.qoffset_x, parsed.qoffset_y, parsed.qoffset_z],
      spacing: [pixdim[1], pixdim[2], pixdim[3]],
    });
    if (isUsable(affine)) return { affine, source: 'qform' };
  }
  const scale = [1, 2, 3].map((i) => (pixdim[i] > 0 && Number.isFinite(pixdim[i]) ? pixdim[i] : 1));
  return {
    affine: [
      [scale[0], 0, 0, 0],
      [0, scale[1], 0, 0],
      [0, 0, scale[2], 0],
      [0, 0, 0, 1],
    ],
    source: 'pixdim',
  };
}

function isGzip(bytes: Uint8Array): boolean {
  return bytes.byteLength >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

function checkGzipName(bytes: Uint8Array, file: string): void {
  if (file.toLowerCase().endsWith('.gz') && !isGzip(bytes)) {
    const first = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new DataError(
      'not-gzip',
      file,
      `name ends in .gz but the file is not gzip-compressed (first bytes ${first || 'none'}, expected 1f 8b) — rename it to .nii or gzip it`,
    );
  }
}

function gunzip(bytes: Uint8Array, file: string): Uint8Array {
  try {
    return gunzipSync(bytes);
  } catch (error) {
    throw new DataError(
      'truncated-gzip',
      file,
      `gzip data is truncated or corrupt (${(error as Error).message}) — re-download or re-export the file`,
    );
  }
}

function readBytes(file: string): Uint8Array {
  if (!existsSync(file)) {
    throw new DataError(
      'missing-file',
      file,
      'file not found — check the path (relative paths resolve from the current directory or the dataset.json folder)',
    );
  }
  try {
    return readFileSync(file);
  } catch (error) {
    throw new DataError('unreadable-file', file, `cannot read the file: ${(error as Error).message}`);
  }
}

/** Read a .nii or .nii.gz file (NIfTI-1 or NIfTI-2, either endianness). */
export function readNifti(file: string, options: ReadNiftiOptions = {}): NiftiImage {
  return decodeNifti(readBytes(file), file, options);
}

/** Decode the bytes of a .nii or .nii.gz file; `file` names it in errors. */
export function decodeNifti(fileBytes: Uint8Array, file: string, options: ReadNiftiOptions = {}): NiftiImage {
  checkGzipName(fileBytes, file);
  const bytes = isGzip(fileBytes) ? gunzip(fileBytes, file) : fileBytes;
  const header = parseNiftiHeader(bytes, file);
  const available = bytes.byteLength - header.voxOffset;
  if (available < header.dataBytes) {
    throw new DataError(
      'data-length',
      file,
      `header dims ${formatDims(header.dims)} of ${header.datatype} need ${header.dataBytes} bytes of voxel data after offset ${header.voxOffset}, but the file holds only ${Math.max(0, available)} — the file is truncated or its header is wrong`,
    );
  }
  const raw = decodeVoxels(bytes, header);
  if (options.checkFinite !== false) checkFinite(raw, header, file);
  const data = options.scale === false ? raw : applyScaling(raw, header);
  return { file, header, data, shape: [...header.dims], affine: header.affine };
}

function decodeVoxels(bytes: Uint8Array, header: NiftiHeader): VoxelArray {
  const count = header.dims[0] * header.dims[1] * header.dims[2];
  const start = bytes.byteOffset + header.voxOffset;
  const type = header.datatype;
  if (type === 'int64' || type === 'uint64') {
    const view = new DataView(bytes.buffer, start, count * 8);
    const out = new Float64Array(count);
    for (let i = 0; i < count; i++) {
      out[i] = Number(
        type === 'int64' ? view.getBigInt64(i * 8, header.littleEndian) : view.getBigUint64(i * 8, header.littleEndian),
      );
    }
    return out;
  }
  const Constructor = VOXEL_ARRAY[type];
  const width = Constructor.BYTES_PER_ELEMENT;
  if (header.littleEndian || width === 1) {
    const ownsBuffer = bytes.byteOffset === 0 && bytes.buffer.byteLength === bytes.byteLength;
    if (ownsBuffer && start % width === 0) return new Constructor(bytes.buffer as ArrayBuffer, start, count);
    return new Constructor(bytes.buffer.slice(start, start + count * width) as ArrayBuffer);
  }
  // Big-endian: copy, then swap bytes in place.
  const copy = new Uint8Array(bytes.buffer.slice(start, start + count * width) as ArrayBuffer);
  for (let i = 0; i < copy.length; i += width) {
    for (let a = i, b = i + width - 1; a < b; a++, b--) {
      const t = copy[a];
      copy[a] = copy[b];
      copy[b] = t;
    }
  }
  return new Constructor(copy.buffer);
}

function checkFinite(data: VoxelArray, header: NiftiHeader, file: string): void {
  if (!(data instanceof Float32Array || data instanceof Float64Array)) return;
  let bad = 0;
  let first = -1;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v - v !== 0) {
      if (first < 0) first = i;
      bad++;
    }
  }
  if (bad > 0) {
    const [nx, ny] = header.dims;
    const x = first % nx;
    const y = Math.floor(first / nx) % ny;
    const z = Math.floor(first / (nx * ny));
    throw new DataError(
      'non-finite',
      file,
      `${bad} voxel(s) are NaN or ±Inf (first at voxel [${x}, ${y}, ${z}] = ${data[first]}) — fix the export or replace them before training`,
    );
  }
}

function applyScaling(raw: VoxelArray, header: NiftiHeader): VoxelArray {
  const slope = header.sclSlope;
  const inter = Number.isFinite(header.sclInter) ? header.sclInter : 0;
  if (!Number.isFinite(slope) || slope === 0 || (slope === 1 && inter === 0)) return raw;
  const out = raw instanceof Float64Array ? new Float64Array(raw.length) : new Float32Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw[i] * slope + inter;
  return out;
}

/** Header-only information about a file, without decompressing the voxel data. */
export interface NiftiFileInfo {
  file: string;
  fileBytes: number;
  mtimeMs: number;
  compressed: boolean;
  header: NiftiHeader;
}

/**
 * Read and validate only the header (cheap even for large .nii.gz files: the first kilobytes are inflated and
 * the data length is checked against the file size or the gzip trailer's ISIZE field).
 */
export function readNiftiHeader(file: string): NiftiFileInfo {
  if (!existsSync(file)) {
    throw new DataError('missing-file', file, 'file not found — check the path');
  }
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    throw new DataError('unreadable-file', file, `cannot open the file: ${(error as Error).message}`);
  }
  try {
    const stat = fstatSync(fd);
    const size = stat.size;
    const first = Buffer.alloc(Math.min(size, 4));
    readSync(fd, first, 0, first.length, 0);
    checkGzipName(first, file);
    const compressed = isGzip(first);
    let header: NiftiHeader;
    let uncompressedSize: number;
    if (!compressed) {
      const head = Buffer.alloc(Math.min(size, 540));
      readSync(fd, head, 0, head.length, 0);
      header = parseNiftiHeader(head, file);
      uncompressedSize = size;
    } else {
      header = parseNiftiHeader(inflatePrefix(fd, size, file), file);
      const trailer = Buffer.alloc(4);
      readSync(fd, trailer, 0, 4, Math.max(0, size - 4));
      uncompressedSize = size >= 18 ? trailer.readUInt32LE(0) : 0;
    }
    const needed = header.voxOffset + header.dataBytes;
    const mismatch = compressed ? needed < 2 ** 32 && uncompressedSize < needed : uncompressedSize < needed;
    if (mismatch) {
      throw new DataError(
        'data-length',
        file,
        `header dims ${formatDims(header.dims)} of ${header.datatype} need ${needed} bytes but the ${
          compressed ? 'gzip trailer gives an uncompressed size of' : 'file holds'
        } ${uncompressedSize} — the file is truncated or its header dims are wrong`,
      );
    }
    return { file, fileBytes: size, mtimeMs: stat.mtimeMs, compressed, header };
  } finally {
    closeSync(fd);
  }
}

function inflatePrefix(fd: number, size: number, file: string): Uint8Array {
  let chunk = 16_384;
  for (;;) {
    const length = Math.min(size, chunk);
    const compressed = Buffer.alloc(length);
    readSync(fd, compressed, 0, length, 0);
    let inflated: Uint8Array;
    try {
      inflated = gunzipSync(compressed, { finishFlush: zlibConstants.Z_SYNC_FLUSH });
    } catch (error) {
      throw new DataError('truncated-gzip', file, `gzip data is corrupt (${(error as Error).message})`);
    }
    if (inflated.byteLength >= 540 || length === size) return inflated;
    chunk *= 4;
  }
}

/** File size and modification time (for cache keys). */
export function fileIdentity(file: string): { size: number; mtimeMs: number } {
  const stat = statSync(file);
  return { size: stat.size, mtimeMs: stat.mtimeMs };
}
