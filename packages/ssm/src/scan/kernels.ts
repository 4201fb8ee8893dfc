/**
 * WGSL of the chunked selective scan (shapes and flags baked in, so pipelines are cached per geometry).
 *
 * Work split: a *tile* is one workgroup of WGD consecutive channels d of one group g, one batch b and one chunk
 * c of T time steps; each invocation owns one (b, d) row of the tile and keeps the N states h[n] in registers
 * (the N loops are unrolled in TypeScript), so B[b,g,:,l] and C[b,g,:,l] are the same for the whole workgroup.
 *
 * Forward (two-pass formulation, METHODS §1.6):
 *   pass 1  per tile, chunks 0..nC−2: scan the chunk from h = 0 → chunk end state and ΣΔ of the chunk
 *   carry   per (b, d): H_in[0] = h0; H_in[c+1] = exp(A·ΣΔ_c)·H_in[c] + h_end[c]   (in place)
 *   pass 2  per tile: rescan from H_in[c], emit out (and ypre for the z-gate backward), store the state every
 *           TB steps (checkpoints for backward) and the last state.
 * Backward (adjoint λ[l] = C[l]·dy'[l] + Ā[l+1]·λ[l+1], started from dlast_state):
 *   bw1     per tile, chunks 1..nC−1: reverse scan from λ = 0 → P_c = Ā[start]·λ0[start] and ΣΔ_c
 *   bwcarry per (b, d): G[nC−1] = dlast; G[c−1] = P_c + exp(A·ΣΔ_c)·G[c]   (in place)
 *   bw2     per tile, checkpoint blocks in reverse: recompute h over TB steps from the checkpoint into a private
 *           array, then run the adjoint backwards emitting du, dΔ, per-tile partials of dA, dD, dbias, and the
 *           adjoint carry entering each checkpoint block
 *   bwbc    per (b, g, d-part, block, n): dB, dC summed over the channels in registers (recomputing h and λ
 *           from the two checkpoints), so no workgroup reduction or barrier is needed anywhere.
 *
 * Buffer layouts (f32 elements):
 *   params  [A (D·N) | Dskip (D) | deltaBias (D)]
 *   states  [carry (B·D·nC·N) | ΣΔ (B·D·nC) | checkpoints (B·D·nK·N) | last (B·D·N)]
 *   work    [G (B·D·nC·N) | ΣΔ (B·D·nC) | small partials (B·nC · (D·N + 2D)) | dh0 (B·D·N) |
 *            adjoint checkpoints (B·D·nK·N)]
 *   bcPart  [dB, dC] × (d-parts, B·G, N, L)
 */
import { MATH_HELPERS } from '@mim/tensor';

export interface ScanGeometry {
  batch: number;
  dim: number;
  len: number;
  state: number;
  groups: number;
  dimPerGroup: number;
  /** Chunk length T (a multiple of `checkpoint`). */
  chunk: number;
  chunks: number;
  /** Checkpoint stride TB of the saved states. */
  checkpoint: number;
  checkpoints: number;
  /** Channels per workgroup. */
  wgDim: number;
  /** Workgroups per group along d. */
  blocks: number;
  /** Parts the d-sum of dB/dC is split into (partial sums, then a reduce). */
  dSplit: number;
  softplus: boolean;
  /**
   * Subgroup size S of the vec4 kernels (vector-kernels.ts), or 0 for the scalar kernels. Set only when L, T and
   * TB are multiples of 4, TB ≤ 4·S and the adapter has subgroups of one fixed size.
   */
  subgroup: number;
}

/** Element offsets of the regions of the `states` and `work` buffers. */
export function layout(g: ScanGeometry, saveCheckpoints: boolean) {
  const rows = g.batch * g.dim;
  const carry = rows * g.chunks * g.state;
  const sums = rows * g.chunks;
  const ckpt = saveCheckpoints ? rows * g.checkpoints * g.state : 0;
  const smallWidth = g.dim * g.state + 2 * g.dim;
  return {
    statesSum: carry,
    statesCkpt: carry + sums,
    statesLast: carry + sums + ckpt,
    statesSize: carry + sums + ckpt + rows * g.state,
    workSum: carry,
    workSmall: carry + sums,
    smallWidth,
    smallRows: g.batch * g.chunks,
    workInit: carry + sums + g.batch * g.chunks * smallWidth,
    workAdjoint: carry + sums + g.batch * g.chunks * smallWidth + rows * g.state,
    workSize: carry + sums + g.batch * g.chunks * smallWidth + rows * g.state + rows * g.checkpoints * g.state,
    bcHalf: g.batch * g.groups * g.state * g.len,
  };
}

export const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
/** One line per state index n, with `#` replaced by n. */
export const perN = (g: ScanGeometry, line: string): string =>
  range(g.state)
    .map((n) => line.replaceAll('#', String(n)))
    .join('\n    ');

/** Constants and helpers of every scan kernel (`subgroups`: the vec4 kernels, which need the extension). */
export function header(g: ScanGeometry, subgroups = false): string {
  return `${subgroups ? 'enable subgroups;\n' : ''}${MATH_HELPERS}
const DIM = ${g.dim}u;
const LEN = ${g.len}u;
const NS = ${g.state}u;
const GROUPS = ${g.groups}u;
const DPG = ${g.dimPerGroup}u;
const CHUNK = ${g.chunk}u;
const NCHUNK = ${g.chunks}u;
const TB = ${g.checkpoint}u;
const NCKPT = ${g.checkpoints}u;
const WGD = ${g.wgDim}u;
const BLOCKS = ${g.blocks}u;
const D_OFF = ${g.dim * g.state}u;
const BIAS_OFF = ${g.dim * g.state + g.dim}u;
fn step_delta(raw: f32, bias: f32) -> f32 {
  ${g.softplus ? 'return softplus1(raw + bias);' : 'return raw + bias;'}
}`;
}

/**
 * Tile decoding (b, c, g, blk → d). `gridChunks` tiles per batch along L, starting at chunk `chunkBase`. The
 * vec4 kernels also get `lane`, the subgroup invocation id.
 */
export function tileEntry(g: ScanGeometry, gridChunks: number, chunkBase: number, subgroups = false): string {
  const tiles = g.batch * gridChunks * g.groups * g.blocks;
  const lane = subgroups ? ', @builtin(subgroup_invocation_id) lane: u32' : '';
  return `@compute @workgroup_size(${g.wgDim})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32${lane}) {
  let w = wid.x + wid.y * nwg.x;
  if (w >= ${tiles}u) { return; }
  let blk = w % BLOCKS;
  let r1 = w / BLOCKS;
  let g = r1 % GROUPS;
  let r2 = r1 / GROUPS;
  let c = r2 % ${gridChunks}u + ${chunkBase}u;
  let b = r2 / ${gridChunks}u;
  let dl = blk * WGD + lid;
  let live = dl < DPG;
  let d = g * DPG + min(dl, DPG - 1u);
  let i = b * DIM + d;
  let row = i * LEN;
  let bb = (b * GROUPS + g) * NS * LEN;
  let l0 = c * CHUNK;
  let l1 = min(l0 + CHUNK, LEN);
  let dbias = params[BIAS_OFF + d];
  ${perN(g, 'let a# = params[d * NS + #u];')}`;
}

/** Workgroup counts for `tiles` workgroups (flat index = x + y·nx). */
export function tileWorkgroups(g: ScanGeometry, gridChunks: number): [number, number] {
  const tiles = g.batch * gridChunks * g.groups * g.blocks;
  const x = Math.min(Math.max(tiles, 1), 32768);
  return [x, Math.max(1, Math.ceil(tiles / x))];
}

/** Pass 1: chunk end states from h = 0 and ΣΔ, chunks 0..nC−2. Bindings: u, delta, params, B, states. */
export function forwardChunkKernel(g: ScanGeometry): string {
  const lay = layout(g, false);
  return `${header(g)}
@group(0) @binding(0) var<storage, read> u: array<f32>;
@group(0) @binding(1) var<storage, read> delta: array<f32>;
@group(0) @binding(2) var<storage, read> params: array<f32>;
@group(0) @binding(3) var<storage, read> Bm: array<f32>;
@group(0) @binding(4) var<storage, read_write> states: array<f32>;
${tileEntry(g, g.chunks - 1, 0)}
  ${perN(g, 'var h# = 0.0;')}
  var sum_dt = 0.0;
  for (var l = l0; l < l1; l = l + 1u) {
    let dt = step_delta(delta[row + l], dbias);
    sum_dt = sum_dt + dt;
    let du = dt * u[row + l];
    ${perN(g, 'h# = exp(dt * a#) * h# + du * Bm[bb + #u * LEN + l];')}
  }
  if (live) {
    let base = (i * NCHUNK + c) * NS;
    ${perN(g, 'states[base + #u] = h#;')}
    states[${lay.statesSum}u + i * NCHUNK + c] = sum_dt;
  }
}`;
}

/**
 * Carry over chunks, per (b, d), in place: chunk end states → chunk start states. Also used (forward) to
 * place the initial state when nC = 1. Bindings: params, states[, h0].
 */
export function forwardCarryKernel(g: ScanGeometry, hasInit: boolean): string {
  const lay = layout(g, false);
  const rows = g.batch * g.dim;
  return `${header(g)}
@group(0) @binding(0) var<storage, read> params: array<f32>;
@group(0) @binding(1) var<storage, read_write> states: array<f32>;
${hasInit ? '@group(0) @binding(2) var<storage, read> init_state: array<f32>;' : ''}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= ${rows}u) { return; }
  let d = i % DIM;
  ${perN(g, 'let a# = params[d * NS + #u];')}
  ${perN(g, hasInit ? 'var h# = init_state[i * NS + #u];' : 'var h# = 0.0;')}
  for (var c = 0u; c < NCHUNK; c = c + 1u) {
    let base = (i * NCHUNK + c) * NS;
    if (c + 1u < NCHUNK) {
      let s = states[${lay.statesSum}u + i * NCHUNK + c];
      ${perN(g, 'let e# = states[base + #u]; states[base + #u] = h#; h# = exp(a# * s) * h# + e#;')}
    } else {
      ${perN(g, 'states[base + #u] = h#;')}
    }
  }
}`;
}

/**
 * Pass 2: rescan every chunk from its start state, write out (and ypre when gated and saving), checkpoints
 * and the last state. Bindings: u, delta, params, B, C, [z], states, out, [ypre].
 */
export function forwardOutputKernel(
  g: ScanGeometry,
  options: { hasStart: boolean; hasZ: boolean; save: boolean },
): string {
  const lay = layout(g, options.save);
  const { hasStart, hasZ, save } = options;
  let binding = 5;
  const zBinding = hasZ ? `@group(0) @binding(${binding++}) var<storage, read> z: array<f32>;` : '';
  const statesBinding = `@group(0) @binding(${binding++}) var<storage, read_write> states: array<f32>;`;
  const outBinding = `@group(0) @binding(${binding++}) var<storage, read_write> out: array<f32>;`;
  const ypreBinding = hasZ && save ? `@group(0) @binding(${binding++}) var<storage, read_write> ypre: array<f32>;` : '';
  return `${header(g)}
@group(0) @binding(0) var<storage, read> u: array<f32>;
@group(0) @binding(1) var<storage, read> delta: array<f32>;
@group(0) @binding(2) var<storage, read> params: array<f32>;
@group(0) @binding(3) var<storage, read> Bm: array<f32>;
@group(0) @binding(4) var<storage, read> Cm: array<f32>;
${zBinding}
${statesBinding}
${outBinding}
${ypreBinding}
${tileEntry(g, g.chunks, 0)}
  let dskip = params[D_OFF + d];
  let start = (i * NCHUNK + c) * NS;
  ${perN(g, hasStart ? 'var h# = states[start + #u];' : 'var h# = 0.0;')}
  for (var l = l0; l < l1; l = l + 1u) {
    ${
      save
        ? `if (live && l % TB == 0u) {
      let kb = ${lay.statesCkpt}u + (i * NCKPT + l / TB) * NS;
      ${perN(g, 'states[kb + #u] = h#;')}
    }`
        : ''
    }
    let uu = u[row + l];
    let dt = step_delta(delta[row + l], dbias);
    let du = dt * uu;
    var y = dskip * uu;
    ${perN(g, 'h# = exp(dt * a#) * h# + du * Bm[bb + #u * LEN + l]; y = y + Cm[bb + #u * LEN + l] * h#;')}
    ${hasZ ? `${save ? 'if (live) { ypre[row + l] = y; }' : ''}\n    let zz = z[row + l];\n    y = y * zz * sigmoid1(zz);` : ''}
    if (live) { out[row + l] = y; }
  }
  if (live && c == NCHUNK - 1u) {
    let lb = ${lay.statesLast}u + i * NS;
    ${perN(g, 'states[lb + #u] = h#;')}
  }
}`;
}

/** Gate backward: dy' = dout·silu(z), dz = dout·ypre·σ(z)·(1 + z·(1 − σ(z))). Bindings: dout, z, ypre, dyp, dz. */
export function gateBackwardKernel(n: number, rowStride: number): string {
  return `${MATH_HELPERS}
@group(0) @binding(0) var<storage, read> dout: array<f32>;
@group(0) @binding(1) var<storage, read> z: array<f32>;
@group(0) @binding(2) var<storage, read> ypre: array<f32>;
@group(0) @binding(3) var<storage, read_write> dyp: array<f32>;
@group(0) @binding(4) var<storage, read_write> dz: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * ${rowStride}u;
  if (i >= ${n}u) { return; }
  let g = dout[i];
  let zz = z[i];
  let s = sigmoid1(zz);
  dyp[i] = g * zz * s;
  dz[i] = g * ypre[i] * s * (1.0 + zz * (1.0 - s));
}`;
}

/** Backward pass 1: reverse scan of chunks 1..nC−1 from λ = 0. Bindings: delta, params, C, dyp, work. */
export function backwardChunkKernel(g: ScanGeometry): string {
  const lay = layout(g, true);
  return `${header(g)}
@group(0) @binding(0) var<storage, read> delta: array<f32>;
@group(0) @binding(1) var<storage, read> params: array<f32>;
@group(0) @binding(2) var<storage, read> Cm: array<f32>;
@group(0) @binding(3) var<storage, read> dyp: array<f32>;
@group(0) @binding(4) var<storage, read_write> work: array<f32>;
${tileEntry(g, g.chunks - 1, 1)}
  ${perN(g, 'var m# = 0.0;')}
  var sum_dt = 0.0;
  for (var l = l1; l > l0; ) {
    l = l - 1u;
    let dt = step_delta(delta[row + l], dbias);
    sum_dt = sum_dt + dt;
    let gy = dyp[row + l];
    ${perN(g, 'm# = exp(dt * a#) * (m# + Cm[bb + #u * LEN + l] * gy);')}
  }
  if (live) {
    let base = (i * NCHUNK + c) * NS;
    ${perN(g, 'work[base + #u] = m#;')}
    work[${lay.workSum}u + i * NCHUNK + c] = sum_dt;
  }
}`;
}

/** Backward carry per (b, d), in place: P_c → incoming adjoint G[c]. Bindings: params, work[, dlast]. */
export function backwardCarryKernel(g: ScanGeometry, hasLast: boolean): string {
  const lay = layout(g, true);
  const rows = g.batch * g.dim;
  return `${header(g)}
@group(0) @binding(0) var<storage, read> params: array<f32>;
@group(0) @binding(1) var<storage, read_write> work: array<f32>;
${hasLast ? '@group(0) @binding(2) var<storage, read> dlast: array<f32>;' : ''}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= ${rows}u) { return; }
  let d = i % DIM;
  ${perN(g, 'let a# = params[d * NS + #u];')}
  ${perN(g, hasLast ? 'var m# = dlast[i * NS + #u];' : 'var m# = 0.0;')}
  for (var c = NCHUNK; c > 0u; ) {
    c = c - 1u;
    let base = (i * NCHUNK + c) * NS;
    if (c > 0u) {
      let s = work[${lay.workSum}u + i * NCHUNK + c];
      ${perN(g, 'let p# = work[base + #u]; work[base + #u] = m#; m# = p# + exp(a# * s) * m#;')}
    } else {
      ${perN(g, 'work[base + #u] = m#;')}
    }
  }
}`;
}

/**
 * Backward pass 2. Bindings: u, delta, params, B, C, dyp, states (checkpoints), work, du, dΔraw. Also stores the adjoint carry entering every checkpoint block from the right.
 */
export function backwardMainKernel(g: ScanGeometry, hasCarry: boolean): string {
  const lay = layout(g, true);
  return `${header(g)}
@group(0) @binding(0) var<storage, read> u: array<f32>;
@group(0) @binding(1) var<storage, read> delta: array<f32>;
@group(0) @binding(2) var<storage, read> params: array<f32>;
@group(0) @binding(3) var<storage, read> Bm: array<f32>;
@group(0) @binding(4) var<storage, read> Cm: array<f32>;
@group(0) @binding(5) var<storage, read> dyp: array<f32>;
@group(0) @binding(6) var<storage, read> states: array<f32>;
@group(0) @binding(7) var<storage, read_write> work: array<f32>;
@group(0) @binding(8) var<storage, read_write> grad_u: array<f32>;
@group(0) @binding(9) var<storage, read_write> grad_delta: array<f32>;
${tileEntry(g, g.chunks, 0)}
  let dskip = params[D_OFF + d];
  let gbase = (i * NCHUNK + c) * NS;
  ${perN(g, hasCarry ? 'var m# = work[gbase + #u];' : 'var m# = 0.0;')}
  ${perN(g, 'var ga# = 0.0;')}
  var acc_d = 0.0;
  var acc_bias = 0.0;
  var hist: array<f32, ${g.checkpoint * g.state}>;
  var dts: array<f32, ${g.checkpoint}>;
  let k0 = l0 / TB;
  for (var k = (l1 + TB - 1u) / TB; k > k0; ) {
    k = k - 1u;
    let s0 = k * TB;
    let s1 = min(s0 + TB, LEN);
    let kb = ${lay.statesCkpt}u + (i * NCKPT + k) * NS;
    if (live) {
      let mb = ${lay.workAdjoint}u + (i * NCKPT + k) * NS;
      ${perN(g, 'work[mb + #u] = m#;')}
    }
    ${perN(g, 'var h# = states[kb + #u];')}
    for (var l = s0; l < s1; l = l + 1u) {
      let j = l - s0;
      let dt = step_delta(delta[row + l], dbias);
      dts[j] = dt;
      let du = dt * u[row + l];
      ${perN(g, 'hist[j * NS + #u] = h#; h# = exp(dt * a#) * h# + du * Bm[bb + #u * LEN + l];')}
    }
    for (var l = s1; l > s0; ) {
      l = l - 1u;
      let j = l - s0;
      let dt = dts[j];
      let uu = u[row + l];
      let gy = dyp[row + l];
      var sum_u = 0.0;
      var sum_dt = 0.0;
      ${perN(
        g,
        `{
      let ab = exp(dt * a#);
      let ah = ab * hist[j * NS + #u];
      let bn = Bm[bb + #u * LEN + l];
      let lam = m# + Cm[bb + #u * LEN + l] * gy;
      sum_u = sum_u + lam * bn;
      sum_dt = sum_dt + lam * (bn * uu + a# * ah);
      ga# = ga# + lam * dt * ah;
      m# = ab * lam;
    }`,
      )}
      let v = delta[row + l] + dbias;
      let ddt = ${g.softplus ? 'select(sum_dt * sigmoid1(v), sum_dt, v > 20.0)' : 'sum_dt'};
      if (live) {
        grad_u[row + l] = dskip * gy + dt * sum_u;
        grad_delta[row + l] = ddt;
      }
      acc_bias = acc_bias + ddt;
      acc_d = acc_d + gy * uu;
    }
  }
  if (live) {
    let sb = ${lay.workSmall}u + (b * NCHUNK + c) * ${lay.smallWidth}u;
    ${perN(g, 'work[sb + d * NS + #u] = ga#;')}
    work[sb + D_OFF + d] = acc_d;
    work[sb + BIAS_OFF + d] = acc_bias;
    if (c == 0u) {
      ${perN(g, `work[${lay.workInit}u + i * NS + #u] = m#;`)}
    }
  }
}`;
}

/** Invocations per workgroup of the dB/dC pass (one per n). */
export function projectionWorkgroupSize(g: ScanGeometry): number {
  return Math.max(g.subgroup, Math.min(64, Math.max(8, 2 ** Math.ceil(Math.log2(g.state)))));
}

/** Workgroups of the dB/dC pass. */
export function projectionWorkgroups(g: ScanGeometry): [number, number] {
  const tiles = g.batch * g.groups * g.dSplit * g.checkpoints * Math.ceil(g.state / projectionWorkgroupSize(g));
  const x = Math.min(Math.max(tiles, 1), 32768);
  return [x, Math.max(1, Math.ceil(tiles / x))];
}

/**
 * dB[b,g,n,l] = Σ_{d∈g} λ[l,n]·Δ[l]·u[l] and dC[b,g,n,l] = Σ_{d∈g} dy'[l]·h[l,n]: one invocation per
 * (b, g, d-part, checkpoint block, n) loops over its channels, recomputing h forward from the state checkpoint
 * and λ backward from the adjoint checkpoint of the block, summing in registers: race-free, no barriers.
 * Writes part[(which·dSplit + p)·B·G·N·L + ((b·G + g)·N + n)·L + l]. Bindings: u, delta, params, B, C, dyp,
 * states, work, part.
 */
export function backwardInputProjectionKernel(g: ScanGeometry): string {
  const lay = layout(g, true);
  const per = Math.ceil(g.dimPerGroup / g.dSplit);
  const wg = projectionWorkgroupSize(g);
  const slices = Math.ceil(g.state / wg);
  const tiles = g.batch * g.groups * g.dSplit * g.checkpoints * slices;
  const half = g.batch * g.groups * g.state * g.len;
  return `${header(g)}
@group(0) @binding(0) var<storage, read> u: array<f32>;
@group(0) @binding(1) var<storage, read> delta: array<f32>;
@group(0) @binding(2) var<storage, read> params: array<f32>;
@group(0) @binding(3) var<storage, read> Bm: array<f32>;
@group(0) @binding(4) var<storage, read> Cm: array<f32>;
@group(0) @binding(5) var<storage, read> dyp: array<f32>;
@group(0) @binding(6) var<storage, read> states: array<f32>;
@group(0) @binding(7) var<storage, read> work: array<f32>;
@group(0) @binding(8) var<storage, read_write> part: array<f32>;
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  // One workgroup per (b, g, part, block, n-slice): every loop bound below is uniform in the workgroup.
  let w = wid.x + wid.y * nwg.x;
  if (w >= ${tiles}u) { return; }
  let nslice = w % ${slices}u;
  let r1 = w / ${slices}u;
  let k = r1 % NCKPT;
  let r2 = r1 / NCKPT;
  let p = r2 % ${g.dSplit}u;
  let bg = r2 / ${g.dSplit}u;
  let b = bg / GROUPS;
  let g = bg % GROUPS;
  let n_live = nslice * ${wg}u + lid;
  let n = min(n_live, NS - 1u);
  let s0 = k * TB;
  let count = min(TB, LEN - s0);
  let bcrow = (bg * NS + n) * LEN + s0;
  var bn: array<f32, ${g.checkpoint}>;
  var cn: array<f32, ${g.checkpoint}>;
  var acc_b: array<f32, ${g.checkpoint}>;
  var acc_c: array<f32, ${g.checkpoint}>;
  var decay: array<f32, ${g.checkpoint}>;
  var dtu: array<f32, ${g.checkpoint}>;
  for (var j = 0u; j < count; j = j + 1u) {
    bn[j] = Bm[bcrow + j];
    cn[j] = Cm[bcrow + j];
    acc_b[j] = 0.0;
    acc_c[j] = 0.0;
  }
  let d0 = g * DPG + p * ${per}u;
  let d1 = min(d0 + ${per}u, (g + 1u) * DPG);
  for (var d = d0; d < d1; d = d + 1u) {
    let i = b * DIM + d;
    let row = i * LEN + s0;
    let a = params[d * NS + n];
    let dbias = params[BIAS_OFF + d];
    var h = states[${lay.statesCkpt}u + (i * NCKPT + k) * NS + n];
    for (var j = 0u; j < count; j = j + 1u) {
      let dt = step_delta(delta[row + j], dbias);
      let e = exp(dt * a);
      let du = dt * u[row + j];
      decay[j] = e;
      dtu[j] = du;
      h = e * h + du * bn[j];
      acc_c[j] = acc_c[j] + dyp[row + j] * h;
    }
    var m = work[${lay.workAdjoint}u + (i * NCKPT + k) * NS + n];
    for (var j = count; j > 0u; ) {
      j = j - 1u;
      let lam = m + cn[j] * dyp[row + j];
      acc_b[j] = acc_b[j] + lam * dtu[j];
      m = decay[j] * lam;
    }
  }
  let ob = p * ${half}u + bcrow;
  if (n_live >= NS) { return; }
  for (var j = 0u; j < count; j = j + 1u) {
    part[ob + j] = acc_b[j];
    part[${g.dSplit * half}u + ob + j] = acc_c[j];
  }
}`;
}
