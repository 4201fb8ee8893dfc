import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixturesDir, seededRandom } from '../test/index.js';
import {
  entryFromTypedArray,
  entryToTypedArray,
  parseSafetensors,
  type SafetensorsDType,
  type SafetensorsEntry,
  SafetensorsError,
  serializeSafetensors,
} from './safetensors.js';

/** Every safetensors file of the shared fixture set (op fixtures and whole-model fixtures), written by Python. */
function fixtureFiles(): string[] {
  const dir = fixturesDir();
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith('.safetensors')) files.push(join(entry.parentPath, entry.name));
  }
  return files.sort();
}

const encoder = new TextEncoder();

/** Builds a file by hand: `header` is written verbatim (padded with spaces to 8), then `data`. */
function rawFile(header: string, data: Uint8Array = new Uint8Array(0), pad = true): Uint8Array {
  let json = encoder.encode(header);
  if (pad && json.byteLength % 8 !== 0) {
    const padded = new Uint8Array(Math.ceil(json.byteLength / 8) * 8).fill(0x20);
    padded.set(json);
    json = padded;
  }
  const out = new Uint8Array(8 + json.byteLength + data.byteLength);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.byteLength), true);
  out.set(json, 8);
  out.set(data, 8 + json.byteLength);
  return out;
}

const BYTES: Record<SafetensorsDType, number> = {
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

function randomBytes(n: number, seed: number): Uint8Array {
  const rand = seededRandom(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(rand() * 256);
  return out;
}

describe('safetensors: byte compatibility with the Python writer of the shared fixtures', () => {
  const files = fixtureFiles();

  it('finds the fixture files', () => {
    expect(files.length).toBeGreaterThanOrEqual(56);
  });

  it.each(files.map((file) => [basename(file), file]))('%s: parse + serialize reproduces the file', (_, file) => {
    const original = new Uint8Array(readFileSync(file));
    const parsed = parseSafetensors(original, file);
    expect(parsed.tensors.size).toBeGreaterThan(0);
    expect(Object.keys(parsed.metadata).length).toBeGreaterThan(0);
    // Tensors come back in data order.
    let cursor = 8 + Number(new DataView(original.buffer, original.byteOffset).getBigUint64(0, true));
    for (const entry of parsed.tensors.values()) {
      expect(entry.data.byteOffset - original.byteOffset).toBe(cursor);
      cursor += entry.data.byteLength;
    }
    expect(cursor).toBe(original.byteLength);
    const again = serializeSafetensors(parsed.tensors, parsed.metadata);
    expect(again.byteLength).toBe(original.byteLength);
    expect(Buffer.compare(Buffer.from(again), Buffer.from(original))).toBe(0);
  });

  it('reads the stored values (gelu fixture: out = x·Φ(x) matches the float64 formula)', () => {
    const file = files.find((f) => basename(f) === 'gelu__3x5x7_scale1.safetensors')!;
    const { tensors, metadata } = parseSafetensors(new Uint8Array(readFileSync(file)), file);
    expect(metadata.op).toBe('gelu');
    const x = entryToTypedArray(tensors.get('x')!) as Float32Array;
    const out = entryToTypedArray(tensors.get('out')!) as Float32Array;
    expect(tensors.get('x')!.shape).toEqual([3, 5, 7]);
    // Φ through erf's series is exact enough for |x| ≲ 4 (the scale-1 fixture).
    const erf = (v: number) => {
      let sum = 0;
      let term = v;
      for (let n = 0; n < 60; n++) {
        sum += term / (2 * n + 1);
        term *= (-v * v) / (n + 1);
      }
      return (2 / Math.sqrt(Math.PI)) * sum;
    };
    for (let i = 0; i < x.length; i++) {
      expect(out[i]).toBeCloseTo(0.5 * x[i] * (1 + erf(x[i] / Math.SQRT2)), 6);
    }
  });
});

describe('safetensors: round trips', () => {
  const dtypes = Object.keys(BYTES) as SafetensorsDType[];

  it.each(dtypes)('%s: bytes, shape and dtype survive serialize → parse', (dtype) => {
    const shapes = [[3, 1, 5], [], [0, 4], [7]];
    const tensors: [string, SafetensorsEntry][] = shapes.map((shape, i) => {
      const count = shape.reduce((a, b) => a * b, 1);
      return [`layer.${i}.weight`, { dtype, shape, data: randomBytes(count * BYTES[dtype], 17 * i + dtype.length) }];
    });
    const bytes = serializeSafetensors(tensors, { format: 'pt', note: 'ünïcødé "quoted" \\ \n' });
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(headerLength % 8).toBe(0);
    const parsed = parseSafetensors(bytes, 'round-trip');
    expect(parsed.metadata).toEqual({ format: 'pt', note: 'ünïcødé "quoted" \\ \n' });
    expect([...parsed.tensors.keys()]).toEqual(tensors.map(([name]) => name));
    for (const [name, entry] of tensors) {
      const back = parsed.tensors.get(name)!;
      expect(back.dtype).toBe(dtype);
      expect(back.shape).toEqual(entry.shape);
      expect([...back.data]).toEqual([...entry.data]);
    }
    expect(Buffer.compare(Buffer.from(serializeSafetensors(parsed.tensors, parsed.metadata)), Buffer.from(bytes))).toBe(
      0,
    );
  });

  it('typed arrays come back with their values (F32, I32, U32, U8, F64)', () => {
    const arrays = [
      new Float32Array([1.5, -2.25, Number.POSITIVE_INFINITY, 3e-38]),
      new Int32Array([-2147483648, 0, 7, 2147483647]),
      new Uint32Array([0, 1, 4294967295, 12345]),
      new Uint8Array([0, 1, 255, 128]),
      new Float64Array([Math.PI, -0, 1e300, Number.MIN_VALUE]),
    ];
    const bytes = serializeSafetensors(arrays.map((a, i) => [`t${i}`, entryFromTypedArray(a, [2, 2])]));
    const parsed = parseSafetensors(bytes);
    arrays.forEach((array, i) => {
      const back = entryToTypedArray(parsed.tensors.get(`t${i}`)!);
      expect(back.constructor).toBe(array.constructor);
      expect([...back]).toEqual([...array]);
    });
  });

  it('writes no __metadata__ key without metadata, and puts it last with metadata', () => {
    const entry = entryFromTypedArray(new Float32Array([1, 2]), [2]);
    const plain = new TextDecoder().decode(serializeSafetensors([['a', entry]]));
    expect(plain).not.toContain('__metadata__');
    const text = new TextDecoder().decode(serializeSafetensors([['a', entry]], { op: 'x' }));
    expect(text).toContain('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"__metadata__":{"op":"x"}}');
  });

  it('returns tensors in data order whatever the order of the header keys', () => {
    const header = JSON.stringify({
      second: { dtype: 'U8', shape: [2], data_offsets: [4, 6] },
      __metadata__: { k: 'v' },
      first: { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
    });
    const parsed = parseSafetensors(rawFile(header, new Uint8Array([0, 0, 128, 63, 9, 10])), 'reordered.safetensors');
    expect([...parsed.tensors.keys()]).toEqual(['first', 'second']);
    expect([...entryToTypedArray(parsed.tensors.get('first')!)]).toEqual([1]);
    expect([...parsed.tensors.get('second')!.data]).toEqual([9, 10]);
  });

  it('rejects what it cannot write faithfully', () => {
    const entry = entryFromTypedArray(new Float32Array(3), [2]);
    expect(() => serializeSafetensors([['w', entry]])).toThrow(/"w" \(F32 \[2\]\) has 12 bytes, expected 8/);
    const ok = entryFromTypedArray(new Float32Array(2), [2]);
    expect(() =>
      serializeSafetensors([
        ['w', ok],
        ['w', ok],
      ]),
    ).toThrow(/duplicate tensor "w"/);
    expect(() => serializeSafetensors([['__metadata__', ok]])).toThrow(/reserved/);
  });
});

describe('safetensors: truncated and corrupt files fail with a message naming the file', () => {
  const file = fixtureFiles().find((f) => basename(f) === 'silu__3x5x7_scale1.safetensors')!;
  const original = new Uint8Array(readFileSync(file));
  const name = 'broken/silu.safetensors';

  it('a file shorter than the 8-byte length prefix', () => {
    expect(() => parseSafetensors(original.slice(0, 5), name)).toThrow(SafetensorsError);
    expect(() => parseSafetensors(original.slice(0, 5), name)).toThrow(/broken\/silu\.safetensors: file is 5 bytes/);
  });

  it('a file cut inside the header', () => {
    expect(() => parseSafetensors(original.slice(0, 100), name)).toThrow(
      /broken\/silu\.safetensors: header length \d+ exceeds the file size 100/,
    );
  });

  it('a file cut inside the data', () => {
    const cut = original.slice(0, original.byteLength - 3);
    expect(() => parseSafetensors(cut, name)).toThrow(/broken\/silu\.safetensors: tensor "grad_x" ends at byte/);
  });

  it('trailing bytes after the last tensor', () => {
    const longer = new Uint8Array(original.byteLength + 4);
    longer.set(original);
    expect(() => parseSafetensors(longer, name)).toThrow(/broken\/silu\.safetensors: the tensors cover \d+ bytes/);
  });

  it('a header that is not JSON', () => {
    const corrupt = original.slice();
    corrupt[8] = 0x5b; // '[' in place of '{' … then garbage
    corrupt[9] = 0x7d;
    expect(() => parseSafetensors(corrupt, name)).toThrow(/broken\/silu\.safetensors: header is not valid UTF-8 JSON/);
  });

  it('a header that is JSON but not an object', () => {
    expect(() => parseSafetensors(rawFile('[1, 2, 3]'), name)).toThrow(/header must be a JSON object/);
  });

  it('an unknown dtype, a bad shape, bad offsets, a wrong byte span, a gap', () => {
    const data = new Uint8Array(8);
    const cases: [object, RegExp][] = [
      [{ a: { dtype: 'F8', shape: [2], data_offsets: [0, 8] } }, /tensor "a" has unknown dtype F8/],
      [{ a: { dtype: 'F32', shape: [-2], data_offsets: [0, 8] } }, /tensor "a" has an invalid shape \[-2\]/],
      [{ a: { dtype: 'F32', shape: [2], data_offsets: [0] } }, /tensor "a" has invalid data_offsets \[0\]/],
      [
        { a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } },
        /tensor "a" \(F32 \[3\]\) spans 8 bytes, expected 12/,
      ],
      [
        { a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } },
        /tensor "a" starts at data byte 4, expected 0 \(a gap/,
      ],
      [
        {
          a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
          b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] },
        },
        /starts at data byte 4, expected 8 \(overlapping tensors/,
      ],
      [{ __metadata__: { n: 3 }, a: { dtype: 'U8', shape: [8], data_offsets: [0, 8] } }, /__metadata__ must be/],
    ];
    for (const [header, message] of cases) {
      expect(() => parseSafetensors(rawFile(JSON.stringify(header), data), name)).toThrow(message);
      expect(() => parseSafetensors(rawFile(JSON.stringify(header), data), name)).toThrow(/^broken\/silu/);
    }
  });
});
