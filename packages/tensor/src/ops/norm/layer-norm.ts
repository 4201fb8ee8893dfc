/**
 * layerNorm over the channel vector of every position: the last axis of (…, C), or axis 1 of a
 * channels-first (N, C, D, H, W) volume (ConvNeXt/MedNeXt `LayerNorm(data_format="channels_first")`).
 *
 * Both are the plane (N, C, S) with one statistics group per (n, s): the last-axis form is S = 1. One
 * invocation owns a group (four neighbouring groups with vec4 loads when S % 4 = 0) and loops over C twice
 * (shifted sums, output), so no reduction crosses invocations. Backward does the same for the input
 * gradient; the weight and bias gradients reduce over (n, s) with the chunked partial sums of plane.ts.
 */
import { empty, f32Literal, grid1d, runKernel } from '../../runtime/kernel.js';
import type { Tensor } from '../../tensor.js';
import { reshape } from '../movement/views.js';
import { maskCode, mergeSlots, type Plane, partials, typeOf, type VoxelStats } from './plane.js';
import { checkAffine, disposeAll, makePlane, type NormMask, prepareMask, recordNorm } from './shared.js';

export interface LayerNormOptions {
  /** Added to the variance (default 1e-5, PyTorch's; ConvNeXt/MedNeXt use 1e-6). */
  eps?: number;
  /** 'last': normalise over the last axis of (…, C). 'channels': over axis 1 of (N, C, …). */
  axis?: 'last' | 'channels';
  /**
   * Visible positions (non-zero): broadcastable to (…, 1) for 'last', to (N, 1, D, H, W) for 'channels'.
   * Masked positions output 0 and get zero gradient.
   */
  mask?: NormMask | null;
}

function voxelForward(plane: Plane, eps: number, weight: Tensor | null, bias: Tensor | null): [Tensor, VoxelStats] {
  const { N, C, S, V, x, mask } = plane;
  const T = typeOf(V);
  const SV = S / V;
  const out = empty([N, C, S], 'f32', 'layerNorm');
  const mean = empty([N * S], 'f32', 'layerNorm');
  const rstd = empty([N * S], 'f32', 'layerNorm');
  const inputs = [x, ...(weight ? [weight] : []), ...(bias ? [bias] : []), ...(mask ? [mask] : [])];
  const wIndex = weight ? 1 : 0;
  const bIndex = wIndex + (bias ? 1 : 0);
  const total = N * SV;
  const { workgroups, rowStride } = grid1d(total);
  const w = weight ? `weight[${weight.offset}u + c * ${weight.strides[0]}u]` : '1.0';
  const b = bias ? `bias[${bias.offset}u + c * ${bias.strides[0]}u]` : '0.0';
  const o = inputs.length;
  const wgsl = `@group(0) @binding(0) var<storage, read> x: array<${T}>;
${weight ? `@group(0) @binding(${wIndex}) var<storage, read> weight: array<f32>;` : ''}
${bias ? `@group(0) @binding(${bIndex}) var<storage, read> bias: array<f32>;` : ''}
${maskCode(mask, V, inputs.length - 1)}
@group(0) @binding(${o}) var<storage, read_write> out: array<${T}>;
@group(0) @binding(${o + 1}) var<storage, read_write> mean_out: array<${T}>;
@group(0) @binding(${o + 2}) var<storage, read_write> rstd_out: array<${T}>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * ${rowStride}u;
  if (i >= ${total}u) { return; }
  let n = i / ${SV}u; let j = i % ${SV}u;
  let base = ${x.offset / V}u + n * ${C * SV}u + j;
  let obase = n * ${C * SV}u + j;
  // One pass of sums shifted by the first channel's value: |shift − μ|² ≤ C·var bounds the cancellation.
  let shift = x[base];
  var s1 = ${T}(0.0); var s2 = ${T}(0.0);
  for (var c = 0u; c < ${C}u; c = c + 1u) { let d = x[base + c * ${SV}u] - shift; s1 = s1 + d; s2 = s2 + d * d; }
  let m1 = s1 / ${T}(${C}.0);
  let mu = shift + m1;
  let r = inverseSqrt(max(s2 / ${T}(${C}.0) - m1 * m1, ${T}(0.0)) + ${T}(${f32Literal(eps)}));
  let vis = visible(i);
  for (var c = 0u; c < ${C}u; c = c + 1u) {
    let y = (x[base + c * ${SV}u] - mu) * (r * ${w}) + ${b};
    out[obase + c * ${SV}u] = select(${T}(0.0), y, vis);
  }
  mean_out[i] = mu; rstd_out[i] = r;
}`;
  runKernel('layerNorm', wgsl, inputs, [out, mean, rstd], workgroups);
  return [out, { mean, rstd }];
}

function voxelBackward(plane: Plane, g: Tensor, stats: VoxelStats, weight: Tensor | null): Tensor {
  const { N, C, S, V, x, mask } = plane;
  const T = typeOf(V);
  const SV = S / V;
  const dx = empty([N, C, S], 'f32', 'layerNorm.backward');
  const inputs = [x, g, stats.mean, stats.rstd, ...(weight ? [weight] : []), ...(mask ? [mask] : [])];
  const total = N * SV;
  const { workgroups, rowStride } = grid1d(total);
  const w = weight ? `weight[${weight.offset}u + c * ${weight.strides[0]}u]` : '1.0';
  const wgsl = `@group(0) @binding(0) var<storage, read> x: array<${T}>;
@group(0) @binding(1) var<storage, read> g: array<${T}>;
@group(0) @binding(2) var<storage, read> mean: array<${T}>;
@group(0) @binding(3) var<storage, read> rstd: array<${T}>;
${weight ? '@group(0) @binding(4) var<storage, read> weight: array<f32>;' : ''}
${maskCode(mask, V, inputs.length - 1)}
@group(0) @binding(${inputs.length}) var<storage, read_write> dx: array<${T}>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * ${rowStride}u;
  if (i >= ${total}u) { return; }
  let n = i / ${SV}u; let j = i % ${SV}u;
  let base = ${x.offset / V}u + n * ${C * SV}u + j;
  let gb = ${g.offset / V}u + n * ${C * SV}u + j;
  let obase = n * ${C * SV}u + j;
  let mu = mean[i]; let r = rstd[i];
  var A = ${T}(0.0); var B = ${T}(0.0);
  for (var c = 0u; c < ${C}u; c = c + 1u) {
    let gw = g[gb + c * ${SV}u] * ${w};
    A = A + gw * (x[base + c * ${SV}u] - mu) * r; B = B + gw;
  }
  A = A / ${T}(${C}.0); B = B / ${T}(${C}.0);
  let vis = visible(i);
  for (var c = 0u; c < ${C}u; c = c + 1u) {
    let xh = (x[base + c * ${SV}u] - mu) * r;
    let v = r * (g[gb + c * ${SV}u] * ${w} - B - xh * A);
    dx[obase + c * ${SV}u] = select(${T}(0.0), v, vis);
  }
}`;
  runKernel('layerNorm.backward', wgsl, inputs, [dx], workgroups);
  return dx;
}

/** Σ_(n,s visible) g·x̂ and Σ g per channel → (dWeight, dBias), each (C). */
function affineGrads(plane: Plane, g: Tensor, stats: VoxelStats): [Tensor, Tensor] {
  const { slots, groups, members } = partials(plane, { kind: 'batch' }, { g, voxel: stats });
  const sums = mergeSlots(slots, groups, members, 'sum');
  const C = plane.C;
  const dw = empty([C], 'f32', 'layerNorm.backward');
  const db = empty([C], 'f32', 'layerNorm.backward');
  const { workgroups } = grid1d(C);
  const wgsl = `@group(0) @binding(0) var<storage, read> sums: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> dw: array<f32>;
@group(0) @binding(2) var<storage, read_write> db: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  if (c >= ${C}u) { return; }
  dw[c] = sums[c].x; db[c] = sums[c].y;
}`;
  runKernel('layerNorm.affineGrads', wgsl, [sums], [dw, db], workgroups);
  sums.dispose();
  return [dw, db];
}

/**
 * Layer normalisation over channels: x (…, C) with axis 'last', or x (N, C, D, H, W) (any rank ≥ 2) with
 * axis 'channels'. weight, bias: (C). Returns x's shape. Biased variance, like PyTorch.
 */
export function layerNorm(
  x: Tensor,
  weight: Tensor | null = null,
  bias: Tensor | null = null,
  options: LayerNormOptions = {},
): Tensor {
  const op = 'layerNorm';
  const eps = options.eps ?? 1e-5;
  const axis = options.axis ?? 'last';
  const last = axis === 'last';
  const shape = x.shape;
  const C = last ? (shape[shape.length - 1] ?? 1) : shape[1];
  const N = last ? shape.slice(0, -1).reduce((a, d) => a * d, 1) : shape[0];
  const S = last ? 1 : shape.slice(2).reduce((a, d) => a * d, 1);
  checkAffine(op, x, C, weight, bias, last ? 'the last axis' : 'axis 1', axis === 'channels' ? 2 : 1);
  const maskShape = last ? [...shape.slice(0, -1), 1] : [shape[0], 1, ...shape.slice(2)];
  const mask = prepareMask(op, x, options.mask ?? null, maskShape, [N, S]);
  const plane = makePlane(x, N, C, S, mask);
  let out: Tensor;
  let stats: VoxelStats | null = null;
  if (x.size === 0) out = empty([N, C, S], 'f32', op);
  else [out, stats] = voxelForward(plane, eps, weight, bias);
  const result = reshape(out, shape);
  out.dispose();
  const needAffine = Boolean(weight?.requiresGrad || bias?.requiresGrad);
  recordNorm(
    op,
    { x, weight, bias },
    result,
    plane,
    stats ? [stats.mean, stats.rstd] : null,
    (p, g, [mean, rstd], w) => {
      const voxel = { mean, rstd };
      const dx = voxelBackward(p, g, voxel, w);
      const [dWeight, dBias] = needAffine ? affineGrads(p, g, voxel) : [null, null];
      return { dx, dWeight, dBias };
    },
  );
  disposeAll(plane.x, mask, stats?.mean, stats?.rstd);
  return result;
}
