/**
 * safetensors reading and writing, byte-compatible with the reference Python implementation:
 * 8-byte little-endian header length N, a JSON header (padded with spaces so the data starts 8-aligned)
 * mapping names to {dtype, shape, data_offsets} plus optional `__metadata__` (string → string), then the
 * raw little-endian data.
 */
import { MimError } from '../runtime/errors.js';

export type SafetensorsDType =
  | 'F32'
  | 'F16'
  | 'BF16'
  | 'F64'
  | 'I64'
  | 'I32'
  | 'I16'
  | 'I8'
  | 'U8'
  | 'U16'
  | 'U32'
  | 'BOOL';

const DTYPE_BYTES: Record<SafetensorsDType, number> = {
  F64: 8,
  I64: 8,
  F32: 4,
  I32: 4,
  U32: 4,
  F16: 2,
  BF16: 2,
  I16: 2,
  U16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

export interface SafetensorsEntry {
  dtype: SafetensorsDType;
  shape: number[];
  /** The raw bytes (a view into the file buffer when read). */
  data: Uint8Array;
}

export interface SafetensorsFile {
  tensors: Map<string, SafetensorsEntry>;
  metadata: Record<string, string>;
}

export class SafetensorsError extends MimError {
  override name = 'SafetensorsError';
}

const isIntegerArray = (value: unknown): value is number[] =>
  Array.isArray(value) && value.every((v) => Number.isSafeInteger(v) && v >= 0);

/**
 * Parses a safetensors file. `source` names the file in error messages. Tensors come back in the order of
 * their data offsets (the order they are stored in), which is also the order `serializeSafetensors` writes.
 * The data area must be covered exactly: no gaps, no overlaps, no trailing bytes (as the reference
 * implementation requires).
 */
export function parseSafetensors(bytes: Uint8Array, source = 'safetensors'): SafetensorsFile {
  if (bytes.byteLength < 8)
    throw new SafetensorsError(`${source}: file is ${bytes.byteLength} bytes, too short for a safetensors header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > bytes.byteLength - 8) {
    throw new SafetensorsError(
      `${source}: header length ${headerLength} exceeds the file size ${bytes.byteLength} (truncated or not a safetensors file)`,
    );
  }
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)));
  } catch (error) {
    throw new SafetensorsError(`${source}: header is not valid UTF-8 JSON (${(error as Error).message})`);
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) {
    throw new SafetensorsError(`${source}: header must be a JSON object mapping tensor names to entries`);
  }
  const dataStart = 8 + headerLength;
  const dataLength = bytes.byteLength - dataStart;
  const entries: { name: string; start: number; end: number; entry: SafetensorsEntry }[] = [];
  let metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (!value || typeof value !== 'object' || Object.values(value).some((v) => typeof v !== 'string')) {
        throw new SafetensorsError(`${source}: __metadata__ must be an object of strings`);
      }
      metadata = value as Record<string, string>;
      continue;
    }
    const entry = value as { dtype?: SafetensorsDType; shape?: unknown; data_offsets?: unknown };
    const itemBytes = entry && Object.hasOwn(DTYPE_BYTES, entry.dtype ?? '') ? DTYPE_BYTES[entry.dtype!] : 0;
    if (!itemBytes) throw new SafetensorsError(`${source}: tensor "${name}" has unknown dtype ${entry?.dtype}`);
    if (!isIntegerArray(entry.shape)) {
      throw new SafetensorsError(`${source}: tensor "${name}" has an invalid shape ${JSON.stringify(entry.shape)}`);
    }
    if (!isIntegerArray(entry.data_offsets) || entry.data_offsets.length !== 2) {
      throw new SafetensorsError(
        `${source}: tensor "${name}" has invalid data_offsets ${JSON.stringify(entry.data_offsets)}`,
      );
    }
    const [start, end] = entry.data_offsets;
    const count = entry.shape.reduce((a, b) => a * b, 1);
    if (end - start !== count * itemBytes) {
      throw new SafetensorsError(
        `${source}: tensor "${name}" (${entry.dtype} [${entry.shape.join(', ')}]) spans ${end - start} bytes, expected ${count * itemBytes}`,
      );
    }
    if (end > dataLength) {
      throw new SafetensorsError(
        `${source}: tensor "${name}" ends at byte ${end} but the data area has ${dataLength} bytes (truncated file?)`,
      );
    }
    const data = bytes.subarray(dataStart + start, dataStart + end);
    entries.push({ name, start, end, entry: { dtype: entry.dtype!, shape: entry.shape, data } });
  }
  entries.sort((a, b) => a.start - b.start || a.end - b.end);
  let cursor = 0;
  for (const { name, start, end } of entries) {
    if (start !== cursor) {
      throw new SafetensorsError(
        `${source}: tensor "${name}" starts at data byte ${start}, expected ${cursor} (${start > cursor ? 'a gap' : 'overlapping tensors'} in the data area)`,
      );
    }
    cursor = end;
  }
  if (cursor !== dataLength) {
    throw new SafetensorsError(
      `${source}: the tensors cover ${cursor} bytes but the data area has ${dataLength} (trailing bytes or a wrong header length)`,
    );
  }
  const tensors = new Map<string, SafetensorsEntry>();
  for (const { name, entry } of entries) tensors.set(name, entry);
  return { tensors, metadata };
}

/**
 * Serialises tensors (stored in the given order) with optional string metadata, byte for byte as the Python
 * writer of the shared fixtures does: compact JSON (no spaces) with the tensor entries in data order and
 * `__metadata__` last, padded with spaces so the data area starts at a multiple of 8. So
 * `serializeSafetensors(parseSafetensors(file).tensors, metadata)` reproduces such a file exactly.
 */
export function serializeSafetensors(
  tensors: Iterable<[string, SafetensorsEntry]>,
  metadata?: Record<string, string>,
): Uint8Array {
  const header: Record<string, unknown> = {};
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const [name, entry] of tensors) {
    if (name === '__metadata__') throw new SafetensorsError('serializeSafetensors: "__metadata__" is reserved');
    if (Object.hasOwn(header, name)) throw new SafetensorsError(`serializeSafetensors: duplicate tensor "${name}"`);
    const itemBytes = DTYPE_BYTES[entry.dtype];
    if (!itemBytes)
      throw new SafetensorsError(`serializeSafetensors: tensor "${name}" has unknown dtype ${entry.dtype}`);
    const count = entry.shape.reduce((a, b) => a * b, 1);
    if (entry.data.byteLength !== count * itemBytes) {
      throw new SafetensorsError(
        `serializeSafetensors: tensor "${name}" (${entry.dtype} [${entry.shape.join(', ')}]) has ${entry.data.byteLength} bytes, expected ${count * itemBytes}`,
      );
    }
    header[name] = {
      dtype: entry.dtype,
      shape: [...entry.shape],
      data_offsets: [offset, offset + entry.data.byteLength],
    };
    parts.push(entry.data);
    offset += entry.data.byteLength;
  }
  if (metadata && Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.byteLength / 8) * 8;
  if (padded !== json.byteLength) {
    const withSpaces = new Uint8Array(padded).fill(0x20);
    withSpaces.set(json);
    json = withSpaces;
  }
  const out = new Uint8Array(8 + json.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.byteLength), true);
  out.set(json, 8);
  let cursor = 8 + json.byteLength;
  for (const part of parts) {
    out.set(part, cursor);
    cursor += part.byteLength;
  }
  return out;
}

/** The entry's values as a Float32Array / Int32Array / Uint8Array … (copied, so alignment never matters). */
export function entryToTypedArray(
  entry: SafetensorsEntry,
):
  | Float32Array
  | Int32Array
  | Uint32Array
  | Uint8Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Uint16Array
  | BigInt64Array {
  const copy = entry.data.slice().buffer;
  switch (entry.dtype) {
    case 'F32':
      return new Float32Array(copy);
    case 'F64':
      return new Float64Array(copy);
    case 'I32':
      return new Int32Array(copy);
    case 'U32':
      return new Uint32Array(copy);
    case 'I16':
      return new Int16Array(copy);
    case 'U16':
      return new Uint16Array(copy);
    case 'I8':
      return new Int8Array(copy);
    case 'I64':
      return new BigInt64Array(copy);
    case 'U8':
    case 'BOOL':
      return new Uint8Array(copy);
    default:
      throw new SafetensorsError(
        `entryToTypedArray: dtype ${entry.dtype} needs conversion (f16/bf16 are not supported for reading yet)`,
      );
  }
}

/** Wraps a typed array as an entry (F32 / I32 / U32 / U8 / F64). */
export function entryFromTypedArray(
  array: Float32Array | Int32Array | Uint32Array | Uint8Array | Float64Array,
  shape: number[],
): SafetensorsEntry {
  const dtype: SafetensorsDType =
    array instanceof Float32Array
      ? 'F32'
      : array instanceof Int32Array
        ? 'I32'
        : array instanceof Uint32Array
          ? 'U32'
          : array instanceof Float64Array
            ? 'F64'
            : 'U8';
  return { dtype, shape, data: new Uint8Array(array.buffer, array.byteOffset, array.byteLength) };
}
