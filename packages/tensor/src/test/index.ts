/**
 * `@mim/tensor/test`: helpers shared by the test suites of every @mim package — seeded random data, the
 * max-normalised error metric of the fixtures, float64 finite differences, fixture loading, output poisoning,
 * and the float64 reference implementations of the ops (never used outside tests).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { entryToTypedArray, parseSafetensors } from '../io/safetensors.js';
import { getEngine } from '../runtime/engine.js';

export * from './reference.js';

/** Named tolerances (max-normalised relative error, see `maxRelError`). */
export const TOLERANCE = {
  elementwise: 1e-5,
  reduction: 1e-5,
  matmul: 1e-4,
  fixtureForward: 1e-4,
  fixtureGrad: 1e-3,
  /** Float32 kernels vs float64 finite differences of the float64 reference. */
  finiteDifference: 1e-3,
} as const;

/** mulberry32: a tiny seeded generator for test data (not the library's Philox generator). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uniform values in [low, high), rounded to float32 so the GPU and the reference see the same inputs. */
export function randomArray(n: number, seed: number, low = -1, high = 1): Float32Array {
  const rand = seededRandom(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = low + (high - low) * rand();
  return out;
}

/** Standard normal values (Box–Muller), float32-rounded. */
export function randomNormal(n: number, seed: number, std = 1): Float32Array {
  const rand = seededRandom(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.max(rand(), 1e-12);
    out[i] = std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
  }
  return out;
}

/**
 * The fixtures' metric: max|got − ref| / (max|ref| + 1e-6) over the whole tensor, plus where the worst
 * element is. NaN anywhere in `got` gives Infinity.
 */
export function maxRelError(
  got: ArrayLike<number>,
  ref: ArrayLike<number>,
): { rel: number; worst: number; absMax: number } {
  if (got.length !== ref.length) return { rel: Number.POSITIVE_INFINITY, worst: -1, absMax: Number.NaN };
  let maxDiff = 0;
  let maxRef = 0;
  let worst = -1;
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(got[i] - ref[i]);
    if (!(d <= maxDiff)) {
      maxDiff = Number.isNaN(d) ? Number.POSITIVE_INFINITY : d;
      worst = i;
    }
    maxRef = Math.max(maxRef, Math.abs(ref[i]));
  }
  return { rel: maxDiff / (maxRef + 1e-6), worst, absMax: maxRef };
}

/** Throws (with the worst index and values) unless `maxRelError(got, ref) ≤ tol`. */
export function expectAllClose(got: ArrayLike<number>, ref: ArrayLike<number>, tol: number, name = 'tensor'): number {
  if (got.length !== ref.length) throw new Error(`${name}: got ${got.length} elements, expected ${ref.length}`);
  const { rel, worst } = maxRelError(got, ref);
  if (!(rel <= tol)) {
    throw new Error(
      `${name}: max relative error ${rel.toExponential(2)} > ${tol.toExponential(1)} (worst at index ${worst}: got ${got[worst]}, expected ${ref[worst]})`,
    );
  }
  return rel;
}

/** For tensors the reference makes exactly zero: requires max|got| ≤ atol. */
export function expectZero(got: ArrayLike<number>, atol: number, name = 'tensor'): void {
  for (let i = 0; i < got.length; i++) {
    if (!(Math.abs(got[i]) <= atol)) throw new Error(`${name}: expected zeros, got ${got[i]} at index ${i}`);
  }
}

/**
 * Central finite differences in float64 of L = Σ f(inputs) ⊙ upstream, for each input element.
 * `f` must be the float64 reference. Returns one gradient array per input (in `which`, default all).
 */
export function finiteDifferences(
  f: (inputs: Float64Array[]) => ArrayLike<number>,
  inputs: Float64Array[],
  upstream: ArrayLike<number>,
  options: { eps?: number; which?: number[] } = {},
): Float64Array[] {
  const eps = options.eps ?? 1e-6;
  const which = options.which ?? inputs.map((_, i) => i);
  const loss = (xs: Float64Array[]) => {
    const y = f(xs);
    let s = 0;
    for (let i = 0; i < y.length; i++) s += y[i] * upstream[i];
    return s;
  };
  return inputs.map((input, k) => {
    const grad = new Float64Array(input.length);
    if (!which.includes(k)) return grad;
    for (let i = 0; i < input.length; i++) {
      const keepValue = input[i];
      input[i] = keepValue + eps;
      const plus = loss(inputs);
      input[i] = keepValue - eps;
      const minus = loss(inputs);
      input[i] = keepValue;
      grad[i] = (plus - minus) / (2 * eps);
    }
    return grad;
  });
}

/** Fills every buffer the pool hands out with NaN, so kernels that leave outputs unwritten fail tests. */
export function enablePoison(enabled = true): void {
  getEngine('enablePoison').pool.poison = enabled;
}

/** Walks up from `start` to the repository root (the folder holding `fixtures/`). */
export function repoRoot(start = process.cwd()): string {
  let dir = resolve(start);
  for (;;) {
    if (existsSync(join(dir, 'fixtures', 'README.md')) && existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`repoRoot: no fixtures/ folder above ${start}`);
    dir = parent;
  }
}

export const fixturesDir = (): string => join(repoRoot(), 'fixtures');
export const dataDir = (): string => join(repoRoot(), 'data');

export interface LoadedFixture {
  file: string;
  op: string;
  params: Record<string, unknown>;
  metadata: Record<string, string>;
  tensors: Map<string, { shape: number[]; data: Float32Array | Int32Array | Uint8Array }>;
}

/** Reads a fixture file of the shared format (see fixtures/README.md). */
export function loadFixture(file: string): LoadedFixture {
  const parsed = parseSafetensors(new Uint8Array(readFileSync(file)), file);
  const tensors = new Map<string, { shape: number[]; data: Float32Array | Int32Array | Uint8Array }>();
  for (const [name, entry] of parsed.tensors) {
    tensors.set(name, { shape: entry.shape, data: entryToTypedArray(entry) as Float32Array | Int32Array | Uint8Array });
  }
  return {
    file,
    op: parsed.metadata.op ?? '',
    params: JSON.parse(parsed.metadata.params ?? '{}'),
    metadata: parsed.metadata,
    tensors,
  };
}
