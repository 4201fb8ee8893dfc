/**
 * The seeded generator of @mim/masking: **xoshiro128\*\*** (Blackman & Vigna, 2018), 128 bits of state, period
 * 2^128 − 1, seeded through **splitmix32**. Plain 32-bit integer arithmetic (`Math.imul`, `>>>`), so the same
 * seed gives the same masks on every JavaScript engine.
 *
 * Seeding: an integer seed s in [0, 2^53) is split into lo = s mod 2^32 and hi = ⌊s / 2^32⌋; the splitmix32
 * state starts at lo XOR (hi · 0x9E3779B9) and its first four outputs become the xoshiro state (never all zero).
 */
import { MaskingError } from './errors.js';

/** Anything that yields uniform 32-bit unsigned integers. */
export interface RandomSource {
  /** A uniform integer in [0, 2^32). */
  nextUint32(): number;
}

/** A seed (integer in [0, 2^53)) or a generator, which is advanced. */
export type RandomInput = number | RandomSource;

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** xoshiro128** seeded with splitmix32 (see the module comment for the exact seeding). */
export class Xoshiro128 implements RandomSource {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > Number.MAX_SAFE_INTEGER) {
      throw new MaskingError(`Xoshiro128: the seed must be an integer in [0, 2^53), got ${seed}`);
    }
    const lo = seed % 0x100000000;
    const hi = Math.floor(seed / 0x100000000);
    let state = (lo ^ Math.imul(hi, 0x9e3779b9)) | 0;
    const next = () => {
      state = (state + 0x9e3779b9) | 0;
      let z = state;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) | 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** A uniform float in [0, 1) with 32 random bits. */
  nextFloat(): number {
    return this.nextUint32() / 0x100000000;
  }

  /** An independent copy with the same state. */
  clone(): Xoshiro128 {
    const copy = new Xoshiro128(0);
    copy.s0 = this.s0;
    copy.s1 = this.s1;
    copy.s2 = this.s2;
    copy.s3 = this.s3;
    return copy;
  }
}

/** `new Xoshiro128(seed)` for a number; the generator itself otherwise. */
export function toRandomSource(rng: RandomInput, fn: string): RandomSource {
  if (typeof rng === 'number') return new Xoshiro128(rng);
  if (rng && typeof (rng as RandomSource).nextUint32 === 'function') return rng;
  throw new MaskingError(`${fn}: rng must be an integer seed or an object with nextUint32(), got ${String(rng)}`);
}

/** A uniform integer in [0, n), without modulo bias (rejection of the top partial range). n ≤ 2^32. */
export function randomInt(rng: RandomSource, n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > 0x100000000) {
    throw new MaskingError(`randomInt: n must be an integer in [1, 2^32], got ${n}`);
  }
  const limit = 0x100000000 - (0x100000000 % n);
  for (;;) {
    const x = rng.nextUint32();
    if (x < limit) return x % n;
  }
}

/** Fisher–Yates shuffle in place (Durstenfeld's variant, i from the end), returns `values`. */
export function shuffleInPlace<T extends { length: number; [i: number]: number }>(values: T, rng: RandomSource): T {
  for (let i = values.length - 1; i > 0; i--) {
    const j = randomInt(rng, i + 1);
    const v = values[i];
    values[i] = values[j];
    values[j] = v;
  }
  return values;
}

/** A uniformly random permutation of 0 … n−1. */
export function randomPermutation(n: number, rng: RandomSource): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  return shuffleInPlace(out, rng);
}

/** `k` distinct entries of `pool`, uniformly without replacement, returned in ascending order. */
export function sampleWithoutReplacement(pool: ArrayLike<number>, k: number, rng: RandomSource): Int32Array {
  if (!Number.isInteger(k) || k < 0 || k > pool.length) {
    throw new MaskingError(`sampleWithoutReplacement: cannot draw ${k} distinct items from ${pool.length}`);
  }
  const copy = Int32Array.from(pool);
  // Partial Fisher–Yates: the first k slots become a uniform k-subset.
  for (let i = 0; i < k; i++) {
    const j = i + randomInt(rng, copy.length - i);
    const v = copy[i];
    copy[i] = copy[j];
    copy[j] = v;
  }
  return copy.slice(0, k).sort();
}
