/**
 * The kernels shared by groupNorm, instanceNorm and batchNorm3d (and the affine gradients of layerNorm).
 *
 * Every norm sees its input as a contiguous "plane" (N, C, S): N samples, C channels, S positions per channel
 * (S = D·H·W). A row is one (n, c) pair: S contiguous values. The optional visibility mask is materialised as a
 * contiguous (N, S) tensor. When S and every offset are multiples of 4, kernels load `vec4<f32>` (T = vec4),
 * otherwise scalars (T = f32).
 *
 * Forward: (1) `partials`: each invocation folds a strided slice of one row into (count, mean, M2) — shifted
 * sums, then Chan's merge, so a large mean does not cancel the variance — and stores it in the slot of its
 * statistics group; (2) `merge` folds F slots into one until each group has one; (3) `finalizeForward` turns a
 * group's (count, mean, M2) into per-row coefficients (μ, rstd·w_c, b_c, rstd), and updates running
 * statistics; (4) `applyForward`: y = (x − μ)·a + b, 0 at masked positions. No shared memory, no barriers.
 *
 * Backward: (1) `partials` in grad mode gives per-row Σ g·x̂ and Σ g over visible positions; (2) `merge`;
 * (3) `finalizeBackward` forms the group sums A = Σ w·g·x̂, B = Σ w·g and per-row coefficients of
 * dx = g·α + (x − μ)·β + γ, plus Σ_n of the row sums for the weight and bias gradients; (4) `applyBackward`.
 */
import { empty, f32Literal, grid1d, runKernel } from '../../runtime/kernel.js';
import type { Tensor } from '../../tensor.js';

export interface Plane {
  N: number;
  C: number;
  S: number;
  /** 4 when every tensor of the plane can be read as vec4 along S. */
  V: 1 | 4;
  /** Contiguous (N, C, S) f32. */
  x: Tensor;
  /** Contiguous (N, S) visibility (u32 / i32 / f32, non-zero = visible), or null. */
  mask: Tensor | null;
}

/** How rows (n, c) are grouped into statistics groups. */
export type Grouping = { kind: 'block'; groups: number } | { kind: 'batch' } | { kind: 'row' };

/** Loads (of T) per invocation in the partial-sum pass. */
const ITEMS_PER_INVOCATION = 32;
/** Slots folded by one invocation of the merge pass. */
const MERGE_FAN_IN = 64;

export const typeOf = (V: number): string => (V === 4 ? 'vec4<f32>' : 'f32');
const boolOf = (V: number): string => (V === 4 ? 'vec4<bool>' : 'bool');

/** Number of invocations sharing one row in the partial pass. */
export function piecesPerRow(S: number, V: number): number {
  return Math.max(1, Math.ceil(S / V / ITEMS_PER_INVOCATION));
}

export function groupCount(plane: Plane, grouping: Grouping): number {
  if (grouping.kind === 'block') return plane.N * grouping.groups;
  return grouping.kind === 'batch' ? plane.C : plane.N * plane.C;
}

function groupingCode(plane: Plane, grouping: Grouping, P: number): { members: number; code: string } {
  const { N, C } = plane;
  if (grouping.kind === 'block') {
    const Cg = C / grouping.groups;
    return {
      members: Cg * P,
      code: `let group = n * ${grouping.groups}u + c / ${Cg}u; let member = (c % ${Cg}u) * ${P}u + p;`,
    };
  }
  if (grouping.kind === 'batch') return { members: N * P, code: `let group = c; let member = n * ${P}u + p;` };
  return { members: P, code: 'let group = row; let member = p;' };
}

/** WGSL `visible(k)` over the (N, S) mask in units of T; the mask binding is declared when present. */
export function maskCode(mask: Tensor | null, V: number, binding: number): string {
  const B = boolOf(V);
  if (!mask) return `fn visible(k: u32) -> ${B} { return ${B}(true); }`;
  const M = V === 4 ? `vec4<${mask.dtype}>` : mask.dtype;
  return `@group(0) @binding(${binding}) var<storage, read> mask: array<${M}>;
fn visible(k: u32) -> ${B} { return mask[k + ${mask.offset / V}u] != ${M}(0); }`;
}

/** Chan et al.'s merge of two (count, mean, M2) summaries. */
export const CHAN = `fn chan(a: vec3<f32>, b: vec3<f32>) -> vec3<f32> {
  if (b.x == 0.0) { return a; }
  if (a.x == 0.0) { return b; }
  let n = a.x + b.x;
  let d = b.y - a.y;
  let f = b.x / n;
  return vec3<f32>(n, a.y + d * f, a.z + b.z + d * d * a.x * f);
}
fn lane(count: f32, shift: f32, s1: f32, s2: f32) -> vec3<f32> {
  if (count == 0.0) { return vec3<f32>(0.0); }
  let m = s1 / count;
  return vec3<f32>(count, shift + m, max(s2 - s1 * m, 0.0));
}`;

/** Sum of the lanes of a T value. */
const laneSum = (V: number, v: string): string => (V === 4 ? `dot(${v}, vec4<f32>(1.0))` : v);

/** Per-group statistics for the layerNorm affine gradients: x̂ = (x − mean[n, s]) · rstd[n, s]. */
export interface VoxelStats {
  mean: Tensor;
  rstd: Tensor;
}

/**
 * Partial sums, one vec4 slot per (group, member). Stats mode: (count, mean, M2, 0) of visible x.
 * Grad mode: (Σ g·x̂, Σ g, 0, 0) over visible positions, x̂ from per-row coefficients (`rowCoef`: μ in .x,
 * rstd in .w) or from per-voxel statistics (layerNorm).
 */
export function partials(
  plane: Plane,
  grouping: Grouping,
  grad: { g: Tensor; rowCoef: Tensor } | { g: Tensor; voxel: VoxelStats } | null,
): { slots: Tensor; groups: number; members: number } {
  const { N, C, S, V, x, mask } = plane;
  const T = typeOf(V);
  const SV = S / V;
  const P = piecesPerRow(S, V);
  const { members, code } = groupingCode(plane, grouping, P);
  const groups = groupCount(plane, grouping);
  const slots = empty([groups * members * 4], 'f32', 'norm.partials');
  const total = N * C * P;
  const { workgroups, rowStride } = grid1d(total);
  const inputs: Tensor[] = [x];
  const decls = [`@group(0) @binding(0) var<storage, read> x: array<${T}>;`];
  let body: string;
  let finish: string;
  if (!grad) {
    body = `var shift = ${T}(0.0);
  if (p < ${SV}u) { shift = select(${T}(0.0), x[base + p], visible(mbase + p)); }
  var cnt = ${T}(0.0); var s1 = ${T}(0.0); var s2 = ${T}(0.0);
  for (var j = p; j < ${SV}u; j = j + ${P}u) {
    let m = visible(mbase + j);
    let d = select(${T}(0.0), x[base + j] - shift, m);
    cnt = cnt + select(${T}(0.0), ${T}(1.0), m); s1 = s1 + d; s2 = s2 + d * d;
  }`;
    finish =
      V === 4
        ? `var acc = lane(cnt.x, shift.x, s1.x, s2.x);
  acc = chan(acc, lane(cnt.y, shift.y, s1.y, s2.y));
  acc = chan(acc, lane(cnt.z, shift.z, s1.z, s2.z));
  acc = chan(acc, lane(cnt.w, shift.w, s1.w, s2.w));
  slots[group * ${members}u + member] = vec4<f32>(acc, 0.0);`
        : `slots[group * ${members}u + member] = vec4<f32>(lane(cnt, shift, s1, s2), 0.0);`;
  } else {
    inputs.push(grad.g);
    decls.push(`@group(0) @binding(1) var<storage, read> g: array<${T}>;`);
    let stats: string;
    if ('rowCoef' in grad) {
      inputs.push(grad.rowCoef);
      decls.push(`@group(0) @binding(2) var<storage, read> row_coef: array<vec4<f32>>;`);
      stats = `let coef = row_coef[row]; let mu = ${T}(coef.x); let r = ${T}(coef.w);`;
    } else {
      inputs.push(grad.voxel.mean, grad.voxel.rstd);
      decls.push(`@group(0) @binding(2) var<storage, read> voxel_mean: array<${T}>;`);
      decls.push(`@group(0) @binding(3) var<storage, read> voxel_rstd: array<${T}>;`);
      stats = '';
    }
    const perVoxel = stats === '' ? 'let mu = voxel_mean[mbase + j]; let r = voxel_rstd[mbase + j];' : '';
    body = `${stats}
  var a1 = ${T}(0.0); var a2 = ${T}(0.0);
  let gbase = ${grad.g.offset / V}u + row * ${SV}u;
  for (var j = p; j < ${SV}u; j = j + ${P}u) {
    let m = visible(mbase + j);
    ${perVoxel}
    let gv = g[gbase + j];
    a1 = a1 + select(${T}(0.0), gv * (x[base + j] - mu) * r, m);
    a2 = a2 + select(${T}(0.0), gv, m);
  }`;
    finish = `slots[group * ${members}u + member] = vec4<f32>(${laneSum(V, 'a1')}, ${laneSum(V, 'a2')}, 0.0, 0.0);`;
  }
  if (mask) inputs.push(mask);
  const maskBinding = inputs.length - 1;
  const outBinding = inputs.length;
  const wgsl = `${decls.join('\n')}
${maskCode(mask, V, maskBinding)}
@group(0) @binding(${outBinding}) var<storage, read_write> slots: array<vec4<f32>>;
${CHAN}
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * ${rowStride}u;
  if (i >= ${total}u) { return; }
  let p = i % ${P}u; let row = i / ${P}u; let n = row / ${C}u; let c = row % ${C}u;
  ${code}
  let base = ${x.offset / V}u + row * ${SV}u;
  let mbase = n * ${SV}u;
  ${body}
  ${finish}
}`;
  runKernel(grad ? 'norm.gradPartials' : 'norm.statPartials', wgsl, inputs, [slots], workgroups);
  return { slots, groups, members };
}

/** Folds `members` slots per group down to one: Chan merges (stats) or sums (grad). Consumes `slots`. */
export function mergeSlots(slots: Tensor, groups: number, members: number, kind: 'stats' | 'sum'): Tensor {
  let current = slots;
  let count = members;
  while (count > 1) {
    const outCount = Math.ceil(count / MERGE_FAN_IN);
    const out = empty([groups * outCount * 4], 'f32', 'norm.merge');
    const total = groups * outCount;
    const { workgroups, rowStride } = grid1d(total);
    const fold = kind === 'stats' ? 'acc = chan(acc, slots[k].xyz);' : 'acc = acc + slots[k];';
    const init = kind === 'stats' ? 'var acc = slots[begin].xyz;' : 'var acc = slots[begin];';
    const store = kind === 'stats' ? 'out[i] = vec4<f32>(acc, 0.0);' : 'out[i] = acc;';
    const wgsl = `@group(0) @binding(0) var<storage, read> slots: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> out: array<vec4<f32>>;
${CHAN}
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * ${rowStride}u;
  if (i >= ${total}u) { return; }
  let group = i / ${outCount}u; let o = i % ${outCount}u;
  let begin = group * ${count}u + o * ${MERGE_FAN_IN}u;
  let end = group * ${count}u + min(${count}u, (o + 1u) * ${MERGE_FAN_IN}u);
  ${init}
  for (var k = begin + 1u; k < end; k = k + 1u) { ${fold} }
  ${store}
}`;
    runKernel(`norm.merge.${kind}`, wgsl, [current], [out], workgroups);
    current.dispose();
    current = out;
    count = outCount;
  }
  return current;
}

/** WGSL reading element c of a 1-D tensor (any offset/stride), or `fallback` when absent. */
export const channelRead = (t: Tensor | null, name: string, index: string, fallback: string): string =>
  t ? `${name}[${t.offset}u + ${index} * ${t.strides[0] ?? 1}u]` : fallback;

export interface FinalizeForwardOptions {
  eps: number;
  weight: Tensor | null;
  bias: Tensor | null;
  /** Batch statistics from merged slots (training), or the running statistics (eval). */
  source: { kind: 'batch'; stats: Tensor } | { kind: 'running'; mean: Tensor; variance: Tensor };
  /** Training batchNorm: update these in place with momentum (unbiased variance). */
  update: { mean: Tensor; variance: Tensor; momentum: number } | null;
}

/**
 * Per-row coefficients (μ, rstd·w_c, b_c, rstd) and per-group (mean, rstd, count, biased var).
 */
export function finalizeForward(
  plane: Plane,
  grouping: Grouping,
  options: FinalizeForwardOptions,
): { rowCoef: Tensor; groupStats: Tensor } {
  const { N, C } = plane;
  const groups = groupCount(plane, grouping);
  const rowCoef = empty([N * C * 4], 'f32', 'norm.finalize');
  const groupStats = empty([groups * 4], 'f32', 'norm.finalize');
  const { weight, bias, source, update } = options;
  const inputs: Tensor[] = [];
  const decls: string[] = [];
  const bind = (t: Tensor, name: string, type: string, write = false): void => {
    decls.push(
      `@group(0) @binding(${decls.length}) var<storage, ${write ? 'read_write' : 'read'}> ${name}: array<${type}>;`,
    );
    if (!write) inputs.push(t);
  };
  let stats: string;
  if (source.kind === 'batch') {
    bind(source.stats, 'stats', 'vec4<f32>');
    stats = `let st = stats[group]; let count = st.x; let mean = st.y; let variance = st.z / max(count, 1.0);`;
  } else {
    bind(source.mean, 'running_mean', 'f32');
    bind(source.variance, 'running_var', 'f32');
    stats = `let count = 0.0; let mean = ${channelRead(source.mean, 'running_mean', 'c', '')};
  let variance = ${channelRead(source.variance, 'running_var', 'c', '')};`;
  }
  if (weight) bind(weight, 'weight', 'f32');
  if (bias) bind(bias, 'bias', 'f32');
  bind(rowCoef, 'row_coef', 'vec4<f32>', true);
  bind(groupStats, 'group_stats', 'vec4<f32>', true);
  const outputs = [rowCoef, groupStats];
  let updateCode = '';
  if (update) {
    bind(update.mean, 'update_mean', 'f32', true);
    bind(update.variance, 'update_var', 'f32', true);
    outputs.push(update.mean, update.variance);
    const m = f32Literal(update.momentum);
    const im = f32Literal(1 - update.momentum);
    const mi = `${update.mean.offset}u + c * ${update.mean.strides[0] ?? 1}u`;
    const vi = `${update.variance.offset}u + c * ${update.variance.strides[0] ?? 1}u`;
    updateCode = `if (count > 0.0) {
      update_mean[${mi}] = ${im} * update_mean[${mi}] + ${m} * mean;
      update_var[${vi}] = ${im} * update_var[${vi}] + ${m} * variance * count / max(count - 1.0, 1.0);
    }`;
  }
  const first =
    grouping.kind === 'block' ? `c % ${C / grouping.groups}u == 0u` : grouping.kind === 'batch' ? 'n == 0u' : 'true';
  const groupOf =
    grouping.kind === 'block'
      ? `n * ${grouping.groups}u + c / ${C / grouping.groups}u`
      : grouping.kind === 'batch'
        ? 'c'
        : 'row';
  const total = N * C;
  const { workgroups, rowStride } = grid1d(total);
  const wgsl = `${decls.join('\n')}
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row = gid.x + gid.y * ${rowStride}u;
  if (row >= ${total}u) { return; }
  let n = row / ${C}u; let c = row % ${C}u;
  let group = ${groupOf};
  ${stats}
  let rstd = inverseSqrt(variance + ${f32Literal(options.eps)});
  let w = ${channelRead(weight, 'weight', 'c', '1.0')};
  let b = ${channelRead(bias, 'bias', 'c', '0.0')};
  row_coef[row] = vec4<f32>(mean, rstd * w, b, rstd);
  if (${first}) {
    group_stats[group] = vec4<f32>(mean, rstd, count, variance);
    ${updateCode}
  }
}`;
  runKernel('norm.finalizeForward', wgsl, inputs, outputs, workgroups);
  return { rowCoef, groupStats };
}

/**
 * From per-row (Σ g·x̂, Σ g) sums: per-row coefficients (μ, α, β, γ) of dx = g·α + (x − μ)·β + γ, and the
 * weight / bias gradients Σ_n of the row sums. `running`: statistics were constants (eval), so β = γ = 0.
 */
export function finalizeBackward(
  plane: Plane,
  grouping: Grouping,
  rowSums: Tensor,
  groupStats: Tensor,
  weight: Tensor | null,
  running: boolean,
): { dxCoef: Tensor; dWeight: Tensor; dBias: Tensor } {
  const { N, C } = plane;
  const dxCoef = empty([N * C * 4], 'f32', 'norm.finalizeBackward');
  const dWeight = empty([C], 'f32', 'norm.finalizeBackward');
  const dBias = empty([C], 'f32', 'norm.finalizeBackward');
  const inputs = weight ? [rowSums, groupStats, weight] : [rowSums, groupStats];
  const w = (index: string): string => channelRead(weight, 'weight', index, '1.0');
  let sums: string;
  let groupOf: string;
  if (grouping.kind === 'block') {
    const Cg = C / grouping.groups;
    groupOf = `n * ${grouping.groups}u + c / ${Cg}u`;
    sums = `for (var k = 0u; k < ${Cg}u; k = k + 1u) {
      let cc = (c / ${Cg}u) * ${Cg}u + k;
      let s = row_sums[n * ${C}u + cc].xy * ${w('cc')};
      A = A + s.x; B = B + s.y;
    }`;
  } else if (grouping.kind === 'batch') {
    groupOf = 'c';
    sums = `for (var k = 0u; k < ${N}u; k = k + 1u) {
      let s = row_sums[k * ${C}u + c].xy * ${w('c')};
      A = A + s.x; B = B + s.y;
    }`;
  } else {
    groupOf = 'row';
    sums = `let s = row_sums[row].xy * ${w('c')}; A = s.x; B = s.y;`;
  }
  const total = N * C + C;
  const { workgroups, rowStride } = grid1d(total);
  const wb = inputs.length;
  const wgsl = `@group(0) @binding(0) var<storage, read> row_sums: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> group_stats: array<vec4<f32>>;
${weight ? '@group(0) @binding(2) var<storage, read> weight: array<f32>;' : ''}
@group(0) @binding(${wb}) var<storage, read_write> dx_coef: array<vec4<f32>>;
@group(0) @binding(${wb + 1}) var<storage, read_write> d_weight: array<f32>;
@group(0) @binding(${wb + 2}) var<storage, read_write> d_bias: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * ${rowStride}u;
  if (i >= ${total}u) { return; }
  if (i >= ${N * C}u) {
    let c = i - ${N * C}u;
    var dw = 0.0; var db = 0.0;
    for (var k = 0u; k < ${N}u; k = k + 1u) { let s = row_sums[k * ${C}u + c]; dw = dw + s.x; db = db + s.y; }
    d_weight[c] = dw; d_bias[c] = db;
    return;
  }
  let row = i; let n = row / ${C}u; let c = row % ${C}u;
  let gs = group_stats[${groupOf}];
  let r = gs.y;
  var A = 0.0; var B = 0.0;
  ${sums}
  let M = max(gs.z, 1.0);
  ${running ? 'let beta = 0.0; let gamma = 0.0;' : 'let beta = -r * r * A / M; let gamma = -r * B / M;'}
  dx_coef[row] = vec4<f32>(gs.x, r * ${w('c')}, beta, gamma);
}`;
  runKernel('norm.finalizeBackward', wgsl, inputs, [dxCoef, dWeight, dBias], workgroups);
  return { dxCoef, dWeight, dBias };
}

/**
 * Forward: y = (x − c.x)·c.y + c.z. Backward (`g` given): dx = g·c.y + (x − c.x)·c.z + c.w. 0 where masked.
 */
export function applyRows(plane: Plane, coef: Tensor, g: Tensor | null): Tensor {
  const { N, C, S, V, x, mask } = plane;
  const T = typeOf(V);
  const SV = S / V;
  const out = empty([N, C, S], 'f32', g ? 'norm.backward' : 'norm.forward');
  const total = N * C * SV;
  const { workgroups, rowStride } = grid1d(total);
  const inputs = g ? [x, g, coef] : [x, coef];
  if (mask) inputs.push(mask);
  const value = g
    ? `g[${g.offset / V}u + i] * ${T}(k.y) + (x[${x.offset / V}u + i] - ${T}(k.x)) * ${T}(k.z) + ${T}(k.w)`
    : `(x[${x.offset / V}u + i] - ${T}(k.x)) * ${T}(k.y) + ${T}(k.z)`;
  const wgsl = `@group(0) @binding(0) var<storage, read> x: array<${T}>;
${g ? `@group(0) @binding(1) var<storage, read> g: array<${T}>;` : ''}
@group(0) @binding(${g ? 2 : 1}) var<storage, read> coef: array<vec4<f32>>;
${maskCode(mask, V, inputs.length - 1)}
@group(0) @binding(${inputs.length}) var<storage, read_write> out: array<${T}>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * ${rowStride}u;
  if (i >= ${total}u) { return; }
  let row = i / ${SV}u; let j = i % ${SV}u; let n = row / ${C}u;
  let k = coef[row];
  out[i] = select(${T}(0.0), ${value}, visible(n * ${SV}u + j));
}`;
  runKernel(g ? 'norm.applyBackward' : 'norm.applyForward', wgsl, inputs, [out], workgroups);
  return out;
}
