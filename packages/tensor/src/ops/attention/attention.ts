/**
 * Scaled dot-product attention with a memory-efficient fused kernel (FlashAttention-style online softmax):
 * each invocation owns one query row, streams over the keys keeping a running max, normaliser and output
 * accumulator in registers, and saves only the row's log-sum-exp for backward. No (L×S) score matrix is
 * ever materialised, forward or backward. Backward recomputes the probabilities row by row:
 *   D_i = Σ dO_i ⊙ O_i,  P_ij = exp(s_ij − lse_i),  dS_ij = P_ij (dO_i·v_j − D_i)
 *   dQ_i = scale Σ_j dS_ij k_j   (one invocation per query row)
 *   dK_j = scale Σ_i dS_ij q_i,  dV_j = Σ_i P_ij dO_i   (one invocation per key row)
 */
import { recordOp } from '../../autograd/record.js';
import { DTypeError, fmtShape, ShapeError } from '../../runtime/errors.js';
import { empty, f32Literal, grid1d, runKernel } from '../../runtime/kernel.js';
import { numel } from '../../shape.js';
import type { Tensor } from '../../tensor.js';
import { contiguous } from '../movement/copy.js';
import { expand } from '../movement/views.js';

export interface AttentionOptions {
  /** Multiplies q·k (default 1/√d). */
  scale?: number;
  /**
   * Broadcastable to (…, L, S). u32/i32: 1 = attend, 0 = masked out. f32: added to the scores.
   * A query row with every key masked outputs zeros (PyTorch would give NaN).
   */
  mask?: Tensor;
  /** Query i attends to keys j ≤ i (+ S − L offset as in PyTorch's is_causal with L == S). */
  causal?: boolean;
}

interface Geometry {
  batch: number;
  L: number;
  S: number;
  d: number;
  dv: number;
  scale: number;
  batchShape: readonly number[];
  /** 4 when d and dv are multiples of 4: rows are loaded and combined as vec4 (dot products, fused updates). */
  V: number;
}

const WG_ROWS = 64;

const T = (g: Geometry): string => (g.V === 4 ? 'vec4<f32>' : 'f32');
const dot = (g: Geometry, a: string, b: string): string => (g.V === 4 ? `dot(${a}, ${b})` : `${a} * ${b}`);

/** WGSL for the masked score s_ij (returns false when masked out). */
function scoreCode(g: Geometry, mask: Tensor | null, causal: boolean): string {
  const lines: string[] = [];
  if (causal) lines.push('if (j > i) { return false; }');
  if (mask) {
    // Offset of mask[b…, i, j] from its (broadcast) strides.
    const rank = g.batchShape.length;
    const terms: string[] = [`${mask.offset}u`];
    let rest = 'bh';
    for (let d = rank - 1; d >= 0; d--) {
      const stride = mask.strides[d];
      const coord = d === 0 ? rest : `(${rest} % ${g.batchShape[d]}u)`;
      if (stride !== 0) terms.push(`${coord} * ${stride}u`);
      rest = `(${rest} / ${g.batchShape[d]}u)`;
    }
    if (mask.strides[rank] !== 0) terms.push(`i * ${mask.strides[rank]}u`);
    if (mask.strides[rank + 1] !== 0) terms.push(`j * ${mask.strides[rank + 1]}u`);
    const at = `mask_data[${terms.join(' + ')}]`;
    if (mask.dtype === 'f32') lines.push(`s = s + ${at};`);
    else lines.push(`if (${at} == 0) { return false; }`);
  }
  return lines.join('\n  ');
}

function maskBinding(mask: Tensor | null, binding: number): string {
  return mask ? `@group(0) @binding(${binding}) var<storage, read> mask_data: array<${mask.dtype}>;` : '';
}

/** Shared WGSL: row dot products over d (q·k) and dv (dO·v), vectorised when the sizes allow. */
function helpers(g: Geometry, mask: Tensor | null, causal: boolean): string {
  return `
fn score(bh: u32, i: u32, j: u32, qrow: ptr<function, array<${T(g)}, ${g.d / g.V}>>, s_out: ptr<function, f32>) -> bool {
  var s = 0.0;
  let kb = (bh * ${g.S}u + j) * ${g.d / g.V}u;
  for (var c = 0u; c < ${g.d / g.V}u; c = c + 1u) { s = s + ${dot(g, '(*qrow)[c]', 'k[kb + c]')}; }
  s = s * ${f32Literal(g.scale)};
  ${scoreCode(g, mask, causal)}
  *s_out = s;
  return true;
}`;
}

function forwardKernel(
  g: Geometry,
  mask: Tensor | null,
  causal: boolean,
): { wgsl: string; workgroups: [number, number] } {
  const rows = g.batch * g.L;
  const { workgroups, rowStride } = grid1d(rows, WG_ROWS);
  const wgsl = `@group(0) @binding(0) var<storage, read> q: array<${T(g)}>;
@group(0) @binding(1) var<storage, read> k: array<${T(g)}>;
@group(0) @binding(2) var<storage, read> v: array<${T(g)}>;
${maskBinding(mask, 3)}
@group(0) @binding(${mask ? 4 : 3}) var<storage, read_write> out: array<${T(g)}>;
@group(0) @binding(${mask ? 5 : 4}) var<storage, read_write> lse: array<f32>;
${helpers(g, mask, causal)}
@compute @workgroup_size(${WG_ROWS})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row = gid.x + gid.y * ${rowStride}u;
  if (row >= ${rows}u) { return; }
  let bh = row / ${g.L}u; let i = row % ${g.L}u;
  var qrow: array<${T(g)}, ${g.d / g.V}>;
  for (var c = 0u; c < ${g.d / g.V}u; c = c + 1u) { qrow[c] = q[row * ${g.d / g.V}u + c]; }
  var acc: array<${T(g)}, ${g.dv / g.V}>;
  for (var c = 0u; c < ${g.dv / g.V}u; c = c + 1u) { acc[c] = ${T(g)}(0.0); }
  var m = -3.0e38; var l = 0.0;
  for (var j = 0u; j < ${g.S}u; j = j + 1u) {
    var s = 0.0;
    if (!score(bh, i, j, &qrow, &s)) { continue; }
    let m_new = max(m, s);
    let correction = exp(m - m_new);
    let p = exp(s - m_new);
    l = l * correction + p;
    let vb = (bh * ${g.S}u + j) * ${g.dv / g.V}u;
    for (var c = 0u; c < ${g.dv / g.V}u; c = c + 1u) { acc[c] = acc[c] * correction + p * v[vb + c]; }
    m = m_new;
  }
  let inv = select(0.0, 1.0 / l, l > 0.0);
  for (var c = 0u; c < ${g.dv / g.V}u; c = c + 1u) { out[row * ${g.dv / g.V}u + c] = acc[c] * inv; }
  // A fully masked row gets lse = +huge so every recomputed probability is 0 in backward.
  lse[row] = select(3.0e38, m + log(l), l > 0.0);
}`;
  return { wgsl, workgroups };
}

function backwardQueryKernel(
  g: Geometry,
  mask: Tensor | null,
  causal: boolean,
): { wgsl: string; workgroups: [number, number] } {
  const rows = g.batch * g.L;
  const { workgroups, rowStride } = grid1d(rows, WG_ROWS);
  const wgsl = `@group(0) @binding(0) var<storage, read> q: array<${T(g)}>;
@group(0) @binding(1) var<storage, read> k: array<${T(g)}>;
@group(0) @binding(2) var<storage, read> v: array<${T(g)}>;
@group(0) @binding(3) var<storage, read> o: array<${T(g)}>;
@group(0) @binding(4) var<storage, read> d_o: array<${T(g)}>;
@group(0) @binding(5) var<storage, read> lse: array<f32>;
${maskBinding(mask, 6)}
@group(0) @binding(${mask ? 7 : 6}) var<storage, read_write> dq: array<${T(g)}>;
@group(0) @binding(${mask ? 8 : 7}) var<storage, read_write> delta: array<f32>;
${helpers(g, mask, causal)}
@compute @workgroup_size(${WG_ROWS})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row = gid.x + gid.y * ${rowStride}u;
  if (row >= ${rows}u) { return; }
  let bh = row / ${g.L}u; let i = row % ${g.L}u;
  var qrow: array<${T(g)}, ${g.d / g.V}>;
  for (var c = 0u; c < ${g.d / g.V}u; c = c + 1u) { qrow[c] = q[row * ${g.d / g.V}u + c]; }
  var dorow: array<${T(g)}, ${g.dv / g.V}>;
  var D = 0.0;
  for (var c = 0u; c < ${g.dv / g.V}u; c = c + 1u) {
    dorow[c] = d_o[row * ${g.dv / g.V}u + c];
    D = D + ${dot(g, 'dorow[c]', `o[row * ${g.dv / g.V}u + c]`)};
  }
  delta[row] = D;
  let row_lse = lse[row];
  var acc: array<${T(g)}, ${g.d / g.V}>;
  for (var c = 0u; c < ${g.d / g.V}u; c = c + 1u) { acc[c] = ${T(g)}(0.0); }
  for (var j = 0u; j < ${g.S}u; j = j + 1u) {
    var s = 0.0;
    if (!score(bh, i, j, &qrow, &s)) { continue; }
    let p = exp(s - row_lse);
    let vb = (bh * ${g.S}u + j) * ${g.dv / g.V}u;
    var dp = 0.0;
    for (var c = 0u; c < ${g.dv / g.V}u; c = c + 1u) { dp = dp + ${dot(g, 'dorow[c]', 'v[vb + c]')}; }
    let ds = p * (dp - D);
    let kb = (bh * ${g.S}u + j) * ${g.d / g.V}u;
    for (var c = 0u; c < ${g.d / g.V}u; c = c + 1u) { acc[c] = acc[c] + ds * k[kb + c]; }
  }
  for (var c = 0u; c < ${g.d / g.V}u; c = c + 1u) { dq[row * ${g.d / g.V}u + c] = acc[c] * ${f32Literal(g.scale)}; }
}`;
  return { wgsl, workgroups };
}

function backwardKeyKernel(
  g: Geometry,
  mask: Tensor | null,
  causal: boolean,
): { wgsl: string; workgroups: [number, number] } {
  const rows = g.batch * g.S;
  const { workgroups, rowStride } = grid1d(rows, WG_ROWS);
  const wgsl = `@group(0) @binding(0) var<storage, read> q: array<${T(g)}>;
@group(0) @binding(1) var<storage, read> k: array<${T(g)}>;
@group(0) @binding(2) var<storage, read> v: array<${T(g)}>;
@group(0) @binding(3) var<storage, read> d_o: array<${T(g)}>;
@group(0) @binding(4) var<storage, read> lse: array<f32>;
@group(0) @binding(5) var<storage, read> delta: array<f32>;
${maskBinding(mask, 6)}
@group(0) @binding(${mask ? 7 : 6}) var<storage, read_write> dk: array<${T(g)}>;
@group(0) @binding(${mask ? 8 : 7}) var<storage, read_write> dv: array<${T(g)}>;
${helpers(g, mask, causal)}
@compute @workgroup_size(${WG_ROWS})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row = gid.x + gid.y * ${rowStride}u;
  if (row >= ${rows}u) { return; }
  let bh = row / ${g.S}u; let j = row % ${g.S}u;
  var vrow: array<${T(g)}, ${g.dv / g.V}>;
  for (var c = 0u; c < ${g.dv / g.V}u; c = c + 1u) { vrow[c] = v[row * ${g.dv / g.V}u + c]; }
  var dk_acc: array<${T(g)}, ${g.d / g.V}>;
  for (var c = 0u; c < ${g.d / g.V}u; c = c + 1u) { dk_acc[c] = ${T(g)}(0.0); }
  var dv_acc: array<${T(g)}, ${g.dv / g.V}>;
  for (var c = 0u; c < ${g.dv / g.V}u; c = c + 1u) { dv_acc[c] = ${T(g)}(0.0); }
  for (var i = 0u; i < ${g.L}u; i = i + 1u) {
    let qi = bh * ${g.L}u + i;
    var qrow: array<${T(g)}, ${g.d / g.V}>;
    for (var c = 0u; c < ${g.d / g.V}u; c = c + 1u) { qrow[c] = q[qi * ${g.d / g.V}u + c]; }
    var s = 0.0;
    if (!score(bh, i, j, &qrow, &s)) { continue; }
    let p = exp(s - lse[qi]);
    var dp = 0.0;
    for (var c = 0u; c < ${g.dv / g.V}u; c = c + 1u) {
      let g_o = d_o[qi * ${g.dv / g.V}u + c];
      dp = dp + ${dot(g, 'g_o', 'vrow[c]')};
      dv_acc[c] = dv_acc[c] + p * g_o;
    }
    let ds = p * (dp - delta[qi]);
    for (var c = 0u; c < ${g.d / g.V}u; c = c + 1u) { dk_acc[c] = dk_acc[c] + ds * qrow[c]; }
  }
  for (var c = 0u; c < ${g.d / g.V}u; c = c + 1u) { dk[row * ${g.d / g.V}u + c] = dk_acc[c] * ${f32Literal(g.scale)}; }
  for (var c = 0u; c < ${g.dv / g.V}u; c = c + 1u) { dv[row * ${g.dv / g.V}u + c] = dv_acc[c]; }
}`;
  return { wgsl, workgroups };
}

function geometry(q: Tensor, k: Tensor, v: Tensor, scale: number | undefined): Geometry {
  const op = 'scaledDotProductAttention';
  for (const [name, t] of [
    ['q', q],
    ['k', k],
    ['v', v],
  ] as const) {
    if (t.dtype !== 'f32') throw new DTypeError(`${op}: ${name} must be f32, got ${t.dtype}`);
    if (t.rank < 2) throw new ShapeError(`${op}: ${name} ${fmtShape(t.shape)} needs shape (…, length, features)`);
  }
  const batchShape = q.shape.slice(0, -2);
  const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((x, i) => x === b[i]);
  if (!same(k.shape.slice(0, -2), batchShape) || !same(v.shape.slice(0, -2), batchShape)) {
    throw new ShapeError(
      `${op}: batch dims differ: q ${fmtShape(q.shape)}, k ${fmtShape(k.shape)}, v ${fmtShape(v.shape)} (expand them first)`,
    );
  }
  const [L, d] = q.shape.slice(-2);
  const [S, dk] = k.shape.slice(-2);
  const [Sv, dv] = v.shape.slice(-2);
  if (dk !== d)
    throw new ShapeError(`${op}: q ${fmtShape(q.shape)} and k ${fmtShape(k.shape)} differ in the feature size`);
  if (Sv !== S)
    throw new ShapeError(`${op}: k ${fmtShape(k.shape)} and v ${fmtShape(v.shape)} differ in the key length`);
  const V = d % 4 === 0 && dv % 4 === 0 ? 4 : 1;
  return { batch: numel(batchShape), L, S, d, dv, scale: scale ?? 1 / Math.sqrt(d), batchShape, V };
}

/**
 * softmax(q·kᵀ·scale + mask)·v. q: (…, L, d), k: (…, S, d), v: (…, S, dv) → (…, L, dv).
 */
export function scaledDotProductAttention(q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions = {}): Tensor {
  const g = geometry(q, k, v, options.scale);
  const causal = options.causal ?? false;
  let mask: Tensor | null = null;
  if (options.mask) {
    try {
      mask = expand(options.mask, [...g.batchShape, g.L, g.S]);
    } catch {
      throw new ShapeError(
        `scaledDotProductAttention: mask ${fmtShape(options.mask.shape)} does not broadcast to ${fmtShape([...g.batchShape, g.L, g.S])}`,
      );
    }
  }
  const qc = contiguous(q);
  const kc = contiguous(k);
  const vc = contiguous(v);
  const out = empty([...g.batchShape, g.L, g.dv], 'f32', 'attention');
  const lse = empty([g.batch * g.L], 'f32', 'attention');
  if (out.size > 0) {
    const fwd = forwardKernel(g, mask, causal);
    runKernel('attention', fwd.wgsl, mask ? [qc, kc, vc, mask] : [qc, kc, vc], [out, lse], fwd.workgroups);
  }
  recordOp(
    'attention',
    [q, k, v],
    [out],
    ([grad], saved) => {
      const [sq, sk, sv, so, slse, smask] = saved;
      const gradOut = contiguous(grad!);
      const dq = empty(sq.shape, 'f32', 'attention_backward');
      const dk = empty(sk.shape, 'f32', 'attention_backward');
      const dvv = empty(sv.shape, 'f32', 'attention_backward');
      const delta = empty([g.batch * g.L], 'f32', 'attention_backward');
      const m = smask ?? null;
      const kq = backwardQueryKernel(g, m, causal);
      runKernel(
        'attention_backward_q',
        kq.wgsl,
        m ? [sq, sk, sv, so, gradOut, slse, m] : [sq, sk, sv, so, gradOut, slse],
        [dq, delta],
        kq.workgroups,
      );
      const kk = backwardKeyKernel(g, m, causal);
      runKernel(
        'attention_backward_kv',
        kk.wgsl,
        m ? [sq, sk, sv, gradOut, slse, delta, m] : [sq, sk, sv, gradOut, slse, delta],
        [dk, dvv],
        kk.workgroups,
      );
      gradOut.dispose();
      delta.dispose();
      return [dq, dk, dvv];
    },
    mask ? [qc, kc, vc, out, lse, mask] : [qc, kc, vc, out, lse],
  );
  for (const t of [qc, kc, vc, lse]) t.dispose();
  mask?.dispose();
  return out;
}
