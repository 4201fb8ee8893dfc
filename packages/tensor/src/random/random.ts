/**
 * Random tensors from the counter-based Philox-4x32-10 generator (./philox.ts): the same seed gives the same
 * numbers on every adapter, whatever the shape of the dispatch. Calls without `seed` draw a fresh stream from
 * the global generator (`manualSeed`), which advances its offset by one per call.
 *
 * Streams: a call uses key = seed (low, high 32 bits) and counter words 2–3 = offset; element i reads lane
 * i % 4 of block floor(i / 4) (counter words 0–1). Each invocation computes one block and writes 4 elements.
 */
import type { DType } from '../dtype.js';
import { stridedOffset } from '../ops/movement/copy.js';
import { expand } from '../ops/movement/views.js';
import { DTypeError, fmtShape, ShapeError } from '../runtime/errors.js';
import { empty, grid1d, runKernel, WG } from '../runtime/kernel.js';
import { assertShape, numel, type Shape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { PHILOX_WGSL } from './philox.js';

export interface RandomOptions {
  /** Key of the stream (a non-negative integer below 2^53). Omitted: the global generator picks the stream. */
  seed?: number;
  /** Counter offset of the stream (default 0 with an explicit seed). */
  offset?: number;
}

const DEFAULT_SEED = 0x5eed;
const generator = { seed: DEFAULT_SEED, offset: 0 };

function checkSeed(seed: number, op: string): void {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new RangeError(`${op}: seed must be an integer in [0, 2^53), got ${seed}`);
  }
}

/** Resets the global generator: later calls without a seed use `seed` with offsets 0, 1, 2 … */
export function manualSeed(seed: number): void {
  checkSeed(seed, 'manualSeed');
  generator.seed = seed;
  generator.offset = 0;
}

/** The global generator's state (save it with a checkpoint; restore with `setGeneratorState`). */
export function generatorState(): { seed: number; offset: number } {
  return { ...generator };
}

export function setGeneratorState(state: { seed: number; offset: number }): void {
  checkSeed(state.seed, 'setGeneratorState');
  checkSeed(state.offset, 'setGeneratorState');
  generator.seed = state.seed;
  generator.offset = state.offset;
}

/** The (seed, offset) stream a call uses: explicit, or the next one of the global generator. */
export function resolveStream(options: RandomOptions, op: string): { seed: number; offset: number } {
  if (options.seed === undefined) {
    if (options.offset !== undefined) checkSeed(options.offset, op);
    return { seed: generator.seed, offset: options.offset ?? generator.offset++ };
  }
  checkSeed(options.seed, op);
  const offset = options.offset ?? 0;
  checkSeed(offset, op);
  return { seed: options.seed, offset };
}

/** Uniform block: key (2 × u32), offset (2 × u32), then 4 op parameters as f32 or i32 / u32 words. */
function streamUniform(stream: { seed: number; offset: number }, params: { f?: number[]; i?: number[]; u?: number[] }) {
  const buffer = new ArrayBuffer(32);
  const u = new Uint32Array(buffer);
  u[0] = stream.seed >>> 0;
  u[1] = Math.floor(stream.seed / 2 ** 32) >>> 0;
  u[2] = stream.offset >>> 0;
  u[3] = Math.floor(stream.offset / 2 ** 32) >>> 0;
  const f = new Float32Array(buffer);
  const i = new Int32Array(buffer);
  params.f?.forEach((v, k) => {
    f[4 + k] = v;
  });
  params.i?.forEach((v, k) => {
    i[4 + k] = v;
  });
  params.u?.forEach((v, k) => {
    u[4 + k] = v >>> 0;
  });
  return u;
}

const STREAM_STRUCT = (params: string) => `struct Stream { key: vec2<u32>, offset: vec2<u32>, ${params} }`;

/**
 * Launches a kernel with one invocation per Philox block of `out`: `body` sees `words: vec4<u32>` and the
 * element index `e` of lane `l` (inside a loop over the 4 lanes) and assigns `value`.
 */
function launchBlocks(
  name: string,
  out: Tensor,
  inputs: readonly Tensor[],
  decls: string,
  params: string,
  body: string,
  uniform: Uint32Array,
): void {
  const n = out.size;
  if (n === 0) return;
  const blocks = Math.ceil(n / 4);
  const { workgroups, rowStride } = grid1d(blocks);
  const binding = inputs.length;
  const wgsl = `${PHILOX_WGSL}
${decls}
@group(0) @binding(${binding}) var<storage, read_write> out: array<${out.dtype}>;
${STREAM_STRUCT(params)}
@group(0) @binding(${binding + 1}) var<uniform> stream: Stream;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let b = gid.x + gid.y * ${rowStride}u;
  if (b >= ${blocks}u) { return; }
  let words = philox4x32(vec4<u32>(b, 0u, stream.offset.x, stream.offset.y), stream.key);
  for (var l = 0u; l < 4u; l = l + 1u) {
    let e = b * 4u + l;
    if (e >= ${n}u) { break; }
    let w = words[l];
${body}
  }
}`;
  runKernel(name, wgsl, inputs, [out], workgroups, { uniform });
}

function checkedShape(shape: Shape, op: string): number[] {
  assertShape(shape, op);
  if (numel(shape) >= 2 ** 32) throw new ShapeError(`${op}: shape ${fmtShape(shape)} has 2^32 or more elements`);
  return [...shape];
}

export interface UniformOptions extends RandomOptions {
  low?: number;
  high?: number;
}

/** Uniform float32 values in [low, high) (default [0, 1)), 24 random bits each. Shape: `shape`. */
export function rand(shape: Shape, options: UniformOptions = {}): Tensor {
  const s = checkedShape(shape, 'rand');
  const stream = resolveStream(options, 'rand');
  const low = options.low ?? 0;
  const high = options.high ?? 1;
  const out = empty(s, 'f32', 'rand');
  const transform = low === 0 && high === 1 ? 'u' : 'stream.low + (stream.high - stream.low) * u';
  launchBlocks(
    'rand',
    out,
    [],
    '',
    'low: f32, high: f32, pad0: u32, pad1: u32,',
    `    let u = unit_open_high(w);\n    out[e] = ${transform};`,
    streamUniform(stream, { f: [low, high] }),
  );
  return out;
}

export interface NormalOptions extends RandomOptions {
  mean?: number;
  std?: number;
}

/**
 * Normal float32 values (Box–Muller on the block's 4 words: lanes (0, 1) from words (0, 1), lanes (2, 3) from
 * words (2, 3); radius sqrt(−2 ln u1) with u1 in (0, 1], angle π·(2·u2 − 1) in [−π, π)). Shape: `shape`.
 */
export function randn(shape: Shape, options: NormalOptions = {}): Tensor {
  const s = checkedShape(shape, 'randn');
  const stream = resolveStream(options, 'randn');
  const out = empty(s, 'f32', 'randn');
  launchBlocks(
    'randn',
    out,
    [],
    '',
    'mean: f32, deviation: f32, pad0: u32, pad1: u32,',
    `    let pair = l & 2u;
    let radius = sqrt(2.0 * neg_log_unit(unit_open_low(words[pair])));
    let angle = ${Math.PI} * (2.0 * unit_open_high(words[pair + 1u]) - 1.0);
    let z = select(radius * cos(angle), radius * sin(angle), (l & 1u) == 1u);
    out[e] = stream.mean + stream.deviation * z;`,
    streamUniform(stream, { f: [options.mean ?? 0, options.std ?? 1] }),
  );
  return out;
}

/**
 * 0/1 float32 samples: out = (u < p) with u uniform in [0, 1). `p` is a number or an f32 tensor broadcast to
 * `shape` (default `p.shape`). Not differentiable: the output never requires grad.
 */
export function bernoulli(p: number | Tensor, shape?: Shape, options: RandomOptions = {}): Tensor {
  if (typeof p === 'number') {
    if (!(p >= 0 && p <= 1)) throw new RangeError(`bernoulli: p must be in [0, 1], got ${p}`);
    if (!shape) throw new ShapeError('bernoulli: pass a shape when p is a number');
    const s = checkedShape(shape, 'bernoulli');
    const stream = resolveStream(options, 'bernoulli');
    const out = empty(s, 'f32', 'bernoulli');
    launchBlocks(
      'bernoulli',
      out,
      [],
      '',
      'p: f32, pad0: u32, pad1: u32, pad2: u32,',
      '    out[e] = select(0.0, 1.0, unit_open_high(w) < stream.p);',
      streamUniform(stream, { f: [p] }),
    );
    return out;
  }
  if (p.dtype !== 'f32') throw new DTypeError(`bernoulli: p must be f32, got ${p.dtype} ${fmtShape(p.shape)}`);
  const s = checkedShape(shape ?? p.shape, 'bernoulli');
  const lead = s.length - p.rank;
  if (lead < 0 || p.shape.some((d, i) => d !== 1 && d !== s[lead + i])) {
    throw new ShapeError(`bernoulli: p ${fmtShape(p.shape)} does not broadcast to the shape ${fmtShape(s)}`);
  }
  const view = expand(p, s);
  const stream = resolveStream(options, 'bernoulli');
  const out = empty(s, 'f32', 'bernoulli');
  launchBlocks(
    'bernoulli',
    out,
    [view],
    '@group(0) @binding(0) var<storage, read> p: array<f32>;',
    'pad0: u32, pad1: u32, pad2: u32, pad3: u32,',
    `    out[e] = select(0.0, 1.0, unit_open_high(w) < p[${stridedOffset(view, 'e')}]);`,
    streamUniform(stream, {}),
  );
  view.dispose();
  return out;
}

export interface RandintOptions extends RandomOptions {
  dtype?: Extract<DType, 'i32' | 'u32'>;
}

/**
 * Integers uniform in [low, high) (i32 by default): low + floor(w · (high − low) / 2^32) for a 32-bit word w,
 * the multiply-high of Lemire's method (bias below (high − low) / 2^32). Shape: `shape`.
 */
export function randint(low: number, high: number, shape: Shape, options: RandintOptions = {}): Tensor {
  const dtype = options.dtype ?? 'i32';
  const min = dtype === 'i32' ? -(2 ** 31) : 0;
  const max = dtype === 'i32' ? 2 ** 31 : 2 ** 32;
  if (!Number.isInteger(low) || !Number.isInteger(high) || low >= high || low < min || high > max) {
    throw new RangeError(`randint: need integers ${min} ≤ low < high ≤ ${max} for ${dtype}, got [${low}, ${high})`);
  }
  const s = checkedShape(shape, 'randint');
  const stream = resolveStream(options, 'randint');
  const out = empty(s, dtype, 'randint');
  const range = high - low;
  // The full 2^32 range is the word itself (range 0 in the uniform flags it).
  launchBlocks(
    'randint',
    out,
    [],
    '',
    'low: u32, range: u32, pad0: u32, pad1: u32,',
    `    let r = select(mul_hi_lo(w, stream.range).x, w, stream.range == 0u);
    out[e] = bitcast<${dtype}>(stream.low + r);`,
    streamUniform(stream, { u: [low >>> 0, range >>> 0] }),
  );
  return out;
}
