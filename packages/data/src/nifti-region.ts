import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { Matrix4 } from './affine.js';
import type { Box } from './crop.js';
import { DataError } from './errors.js';
import { type NiftiHeader, parseNiftiHeader } from './nifti-read.js';
import { VOXEL_ARRAY, type Volume, type VoxelArray, type VoxelType } from './volume.js';

/**
 * Reads boxes of voxels straight from an uncompressed little-endian .nii file without loading the rest: one
 * read per z-slice of the box covering its rows. This is how crops are cut from cached volumes, so a 96³ crop
 * costs about 96 · 96 · X voxels of I/O instead of the whole volume.
 */
export class NiftiRegionReader {
  readonly file: string;
  readonly header: NiftiHeader;
  private fd: number | undefined;
  private readonly type: VoxelType;

  constructor(file: string) {
    this.file = file;
    let fd: number;
    try {
      fd = openSync(file, 'r');
    } catch (error) {
      throw new DataError('missing-file', file, `cannot open the file: ${(error as Error).message}`);
    }
    try {
      const head = new Uint8Array(540);
      const got = readSync(fd, head, 0, 540, 0);
      const header = parseNiftiHeader(head.subarray(0, got), file);
      if (head[0] === 0x1f && head[1] === 0x8b) {
        throw new DataError('unsupported-format', file, 'region reads need an uncompressed .nii file');
      }
      if (!header.littleEndian || header.datatype === 'int64' || header.datatype === 'uint64') {
        throw new DataError(
          'unsupported-format',
          file,
          `region reads need a little-endian file of a 1–4 byte or float64 type (got ${header.datatype}, ${header.littleEndian ? 'little' : 'big'}-endian) — use readNifti`,
        );
      }
      const size = fstatSync(fd).size;
      if (size < header.voxOffset + header.dataBytes) {
        throw new DataError(
          'data-length',
          file,
          `header dims ${header.dims.join('×')} need ${header.voxOffset + header.dataBytes} bytes but the file holds ${size}`,
        );
      }
      this.header = header;
      this.type = header.datatype as VoxelType;
      this.fd = fd;
    } catch (error) {
      closeSync(fd);
      throw error;
    }
  }

  get shape(): [number, number, number] {
    return [...this.header.dims];
  }

  /** The voxels of `box` (NIfTI order) with the affine moved to its first voxel; scl_slope/scl_inter applied. */
  read(box: Box): Volume {
    if (this.fd === undefined) throw new DataError('bad-argument', this.file, 'the region reader is closed');
    const [nx, ny, nz] = this.header.dims;
    for (let a = 0; a < 3; a++) {
      if (box.start[a] < 0 || box.end[a] > this.header.dims[a] || box.end[a] <= box.start[a]) {
        throw new DataError('bad-argument', this.file, `box [${box.start}]–[${box.end}] is outside ${nx}×${ny}×${nz}`);
      }
    }
    void nz;
    const Constructor = VOXEL_ARRAY[this.type];
    const width = Constructor.BYTES_PER_ELEMENT;
    const [cx, cy, cz] = [0, 1, 2].map((a) => box.end[a] - box.start[a]);
    const output = new Constructor(cx * cy * cz);
    const span = (cy - 1) * nx + cx;
    const scratch = new Uint8Array(span * width);
    const voxels = new Constructor(scratch.buffer) as VoxelArray;
    let o = 0;
    for (let z = box.start[2]; z < box.end[2]; z++) {
      const first = box.start[0] + nx * (box.start[1] + ny * z);
      const position = this.header.voxOffset + first * width;
      let done = 0;
      while (done < scratch.byteLength) {
        const got = readSync(this.fd, scratch, done, scratch.byteLength - done, position + done);
        if (got === 0) throw new DataError('data-length', this.file, 'file ended while reading a region');
        done += got;
      }
      for (let y = 0; y < cy; y++, o += cx) output.set(voxels.subarray(y * nx, y * nx + cx), o);
    }
    const slope = this.header.sclSlope;
    const inter = Number.isFinite(this.header.sclInter) ? this.header.sclInter : 0;
    let data: VoxelArray = output;
    if (Number.isFinite(slope) && slope !== 0 && !(slope === 1 && inter === 0)) {
      data = this.type === 'float64' ? new Float64Array(output.length) : new Float32Array(output.length);
      for (let i = 0; i < output.length; i++) data[i] = output[i] * slope + inter;
    }
    const affine: Matrix4 = this.header.affine.map((row) => row.slice());
    for (let r = 0; r < 3; r++) {
      for (let c = 0; c < 3; c++) affine[r][3] += this.header.affine[r][c] * box.start[c];
    }
    return { data, shape: [cx, cy, cz], affine };
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
