/**
 * TypeScript twins of the random tensor ops (test-only): the same Philox words and the same transforms, in
 * float64 where the GPU uses float32 (`randRef` is exact; the others agree to float32 rounding).
 */
import { philoxWords, unitOpenHigh, unitOpenLow } from './philox.js';

/** `rand(shape, {seed, offset, low, high})` for n elements. */
export function randRef(n: number, seed: number, offset = 0, low = 0, high = 1): Float64Array {
  const words = philoxWords(seed, offset, n);
  const out = new Float64Array(n);
  const l = Math.fround(low);
  const h = Math.fround(high);
  for (let i = 0; i < n; i++) {
    const u = unitOpenHigh(words[i]);
    out[i] = low === 0 && high === 1 ? u : Math.fround(l + Math.fround(Math.fround(h - l) * u));
  }
  return out;
}

/** `randn(shape, {seed, offset, mean, std})` for n elements (Box–Muller per pair of words). */
export function randnRef(n: number, seed: number, offset = 0, mean = 0, std = 1): Float64Array {
  const words = philoxWords(seed, offset, Math.ceil(n / 4) * 4);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const pair = i - (i % 2);
    const radius = Math.sqrt(-2 * Math.log(unitOpenLow(words[pair])));
    const angle = Math.PI * (2 * unitOpenHigh(words[pair + 1]) - 1);
    out[i] = mean + std * radius * (i % 2 === 0 ? Math.cos(angle) : Math.sin(angle));
  }
  return out;
}

/** `bernoulli(p, shape, {seed, offset})` for n elements; `p(i)` gives the probability of element i. */
export function bernoulliRef(n: number, p: (i: number) => number, seed: number, offset = 0): Float64Array {
  const words = philoxWords(seed, offset, n);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = unitOpenHigh(words[i]) < Math.fround(p(i)) ? 1 : 0;
  return out;
}

/** `randint(low, high, shape, {seed, offset})` for n elements. */
export function randintRef(n: number, low: number, high: number, seed: number, offset = 0): Float64Array {
  const words = philoxWords(seed, offset, n);
  const range = high - low;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = low + Number((BigInt(words[i]) * BigInt(range)) >> 32n);
  return out;
}
