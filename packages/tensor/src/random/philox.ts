/**
 * Philox-4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11): a counter-based
 * generator that maps (counter: 4 × u32, key: 2 × u32) to 4 × u32. The WGSL and TypeScript versions below are
 * the same arithmetic step for step (32×32→64-bit products built from 16-bit limbs, since WGSL has no 64-bit
 * integers), so the GPU and the tests agree bit for bit.
 *
 * How tensors use it (see random.ts): element i of a random tensor reads lane i % 4 of
 * philox(counter = [block, blockHigh, offsetLow, offsetHigh], key = [seedLow, seedHigh]) with
 * block = floor(i / 4), so a value depends only on (seed, offset, i) — never on the dispatch layout.
 */

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;
export const PHILOX_ROUNDS = 10;

/** High and low 32 bits of the 64-bit product a·b, computed with 16-bit limbs like the WGSL version. */
export function mulHiLo(a: number, b: number): [number, number] {
  const a0 = a & 0xffff;
  const a1 = a >>> 16;
  const b0 = b & 0xffff;
  const b1 = b >>> 16;
  const p00 = a0 * b0;
  const p01 = a0 * b1;
  const p10 = a1 * b0;
  const p11 = a1 * b1;
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
  const hi = (p11 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16)) >>> 0;
  const lo = Math.imul(a, b) >>> 0;
  return [hi, lo];
}

/** Philox-4x32 with `rounds` rounds (10 is the standard). Returns 4 u32 words. */
export function philox4x32(
  counter: readonly [number, number, number, number],
  key: readonly [number, number],
  rounds = PHILOX_ROUNDS,
): [number, number, number, number] {
  let [c0, c1, c2, c3] = counter.map((v) => v >>> 0);
  let k0 = key[0] >>> 0;
  let k1 = key[1] >>> 0;
  for (let r = 0; r < rounds; r++) {
    if (r > 0) {
      k0 = (k0 + W0) >>> 0;
      k1 = (k1 + W1) >>> 0;
    }
    const [hi0, lo0] = mulHiLo(M0, c0);
    const [hi1, lo1] = mulHiLo(M1, c2);
    [c0, c1, c2, c3] = [(hi1 ^ c1 ^ k0) >>> 0, lo1, (hi0 ^ c3 ^ k1) >>> 0, lo0];
  }
  return [c0, c1, c2, c3];
}

/** WGSL: `philox4x32(counter, key) -> vec4<u32>`, `mul_hi_lo`, and the u32 → float conversions. */
export const PHILOX_WGSL = `
fn mul_hi_lo(a: u32, b: u32) -> vec2<u32> {
  let a0 = a & 0xffffu; let a1 = a >> 16u; let b0 = b & 0xffffu; let b1 = b >> 16u;
  let p00 = a0 * b0; let p01 = a0 * b1; let p10 = a1 * b0; let p11 = a1 * b1;
  let mid = (p00 >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
  return vec2<u32>(p11 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u), a * b);
}
fn philox4x32(counter: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
  var c = counter; var k = key;
  for (var r = 0u; r < ${PHILOX_ROUNDS}u; r = r + 1u) {
    if (r > 0u) { k = k + vec2<u32>(${W0}u, ${W1}u); }
    let p0 = mul_hi_lo(${M0}u, c.x); let p1 = mul_hi_lo(${M1}u, c.z);
    c = vec4<u32>(p1.x ^ c.y ^ k.x, p1.y, p0.x ^ c.w ^ k.y, p0.y);
  }
  return c;
}
fn unit_open_high(x: u32) -> f32 { return f32(x >> 8u) * ${2 ** -24}; }
fn unit_open_low(x: u32) -> f32 { return f32((x >> 8u) + 1u) * ${2 ** -24}; }
// −ln(u) for u in (0, 1]; near 1 a series in d = 1 − u (exact), where f32 log() loses the small result.
fn neg_log_unit(u: f32) -> f32 {
  let d = 1.0 - u;
  if (d < 0.0625) {
    return d * (1.0 + d * (0.5 + d * (${1 / 3} + d * (0.25 + d * (0.2 + d * (${1 / 6} + d * ${1 / 7}))))));
  }
  return -log(u);
}
`;

/** u32 → [0, 1) with 24 random bits (exact in float32): the value of `rand`. */
export const unitOpenHigh = (x: number): number => (x >>> 8) * 2 ** -24;
/** u32 → (0, 1] with 24 random bits: the Box–Muller radius input (never log(0)). */
export const unitOpenLow = (x: number): number => ((x >>> 8) + 1) * 2 ** -24;

/** The 4 words for block `block` of the stream (seed, offset): counter [blockLo, blockHi, offsetLo, offsetHi]. */
export function philoxBlock(seed: number, offset: number, block: number): [number, number, number, number] {
  return philox4x32(
    [block >>> 0, Math.floor(block / 2 ** 32) >>> 0, offset >>> 0, Math.floor(offset / 2 ** 32) >>> 0],
    [seed >>> 0, Math.floor(seed / 2 ** 32) >>> 0],
  );
}

/** The raw u32 stream of (seed, offset): element i is lane i % 4 of block floor(i / 4). */
export function philoxWords(seed: number, offset: number, n: number): Uint32Array {
  const out = new Uint32Array(n);
  for (let b = 0; b * 4 < n; b++) {
    const words = philoxBlock(seed, offset, b);
    for (let l = 0; l < 4 && b * 4 + l < n; l++) out[b * 4 + l] = words[l];
  }
  return out;
}
