/**
 * Cross-entropy with class weights and an ignore index (PyTorch semantics): logSoftmax over the class axis
 * (axis 1), then a fused negative-log-likelihood kernel. `mean` divides by the summed weights of the
 * non-ignored targets, like torch.nn.functional.cross_entropy.
 */
import { recordOp } from '../../autograd/record.js';
import { DTypeError, fmtShape, ShapeError } from '../../runtime/errors.js';
import { empty, grid1d, runKernel } from '../../runtime/kernel.js';
import { numel } from '../../shape.js';
import type { Tensor } from '../../tensor.js';
import { div } from '../elementwise/binary.js';
import { contiguous } from '../movement/copy.js';
import { reshape } from '../movement/views.js';
import { sum } from '../reduce/reduce.js';
import { logSoftmax } from './softmax.js';

export interface CrossEntropyOptions {
  /** Per-class weights, shape (C). */
  weight?: Tensor;
  /** Targets equal to this contribute nothing (default −100, like PyTorch). */
  ignoreIndex?: number;
  reduction?: 'mean' | 'sum' | 'none';
}

/**
 * logits: (N, C) or (N, C, d1, …); target: (N) or (N, d1, …) with i32 class indices.
 * Targets outside [0, C) that are not `ignoreIndex` produce NaN losses (a GPU kernel cannot throw).
 */
export function crossEntropy(logits: Tensor, target: Tensor, options: CrossEntropyOptions = {}): Tensor {
  if (logits.rank < 2) throw new ShapeError(`crossEntropy: logits ${fmtShape(logits.shape)} need shape (N, C, …)`);
  if (target.dtype !== 'i32')
    throw new DTypeError(`crossEntropy: target must be i32 class indices, got ${target.dtype}`);
  const [N, C] = logits.shape;
  const spatial = logits.shape.slice(2);
  const expected = [N, ...spatial];
  if (target.rank !== expected.length || target.shape.some((d, i) => d !== expected[i])) {
    throw new ShapeError(
      `crossEntropy: target ${fmtShape(target.shape)} does not match logits ${fmtShape(logits.shape)} (expected ${fmtShape(expected)})`,
    );
  }
  if (options.weight && (options.weight.rank !== 1 || options.weight.shape[0] !== C)) {
    throw new ShapeError(`crossEntropy: weight ${fmtShape(options.weight.shape)} must have shape [${C}]`);
  }
  const logp = logSoftmax(logits, 1);
  const { loss, weights } = nll(logp, target, options.weight ?? null, options.ignoreIndex ?? -100);
  logp.dispose();
  const reduction = options.reduction ?? 'mean';
  if (reduction === 'none') {
    const out = reshape(loss, expected);
    loss.dispose();
    weights.dispose();
    return out;
  }
  const total = sum(loss);
  loss.dispose();
  if (reduction === 'sum') {
    weights.dispose();
    return total;
  }
  const denominator = sum(weights);
  weights.dispose();
  const out = div(total, denominator);
  total.dispose();
  denominator.dispose();
  return out;
}

/** Per-position −w[t]·logp[t] and w[t] (0 for ignored), flattened to (N·S). */
function nll(
  logp: Tensor,
  target: Tensor,
  weight: Tensor | null,
  ignoreIndex: number,
): { loss: Tensor; weights: Tensor } {
  const [N, C] = logp.shape;
  const S = numel(logp.shape.slice(2));
  const count = N * S;
  const lp = contiguous(logp);
  const t = contiguous(target);
  const loss = empty([count], 'f32', 'nll_loss');
  const weights = empty([count], 'f32', 'nll_loss');
  const { workgroups, rowStride } = grid1d(count);
  const weightRead = weight ? 'w[u32(t)]' : '1.0';
  const wgsl = `@group(0) @binding(0) var<storage, read> lp: array<f32>;
@group(0) @binding(1) var<storage, read> targets: array<i32>;
${weight ? '@group(0) @binding(2) var<storage, read> w: array<f32>;' : ''}
@group(0) @binding(${weight ? 3 : 2}) var<storage, read_write> loss: array<f32>;
@group(0) @binding(${weight ? 4 : 3}) var<storage, read_write> weights: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * ${rowStride}u;
  if (i >= ${count}u) { return; }
  let n = i / ${S}u; let s = i % ${S}u;
  let t = targets[i + ${t.offset}u];
  if (t == ${ignoreIndex}) { loss[i] = 0.0; weights[i] = 0.0; return; }
  if (t < 0 || t >= ${C}) { var nan_bits = 0x7fc00000u; loss[i] = bitcast<f32>(nan_bits); weights[i] = 1.0; return; }
  let wt = ${weightRead};
  loss[i] = -wt * lp[${lp.offset}u + (n * ${C}u + u32(t)) * ${S}u + s];
  weights[i] = wt;
}`;
  const inputs = weight ? [lp, t, contiguous(weight)] : [lp, t];
  runKernel('nll_loss', wgsl, inputs, [loss, weights], workgroups);
  recordOp(
    'nll_loss',
    [logp, null, null],
    [loss],
    ([g], saved) => [nllBackward(g!, saved[0], saved[1] ?? null, logp.shape, ignoreIndex)],
    weight ? [t, inputs[2]] : [t],
  );
  // The backward rule holds its own references to what it saved.
  for (const x of inputs) x.dispose();
  return { loss, weights };
}

function nllBackward(
  g: Tensor,
  target: Tensor,
  weight: Tensor | null,
  shape: readonly number[],
  ignoreIndex: number,
): Tensor {
  const [N, C] = shape;
  const S = numel(shape.slice(2));
  const total = N * C * S;
  const out = empty(shape, 'f32', 'nll_loss_backward');
  const gc = contiguous(g);
  const { workgroups, rowStride } = grid1d(total);
  const wgsl = `@group(0) @binding(0) var<storage, read> g: array<f32>;
@group(0) @binding(1) var<storage, read> targets: array<i32>;
${weight ? '@group(0) @binding(2) var<storage, read> w: array<f32>;' : ''}
@group(0) @binding(${weight ? 3 : 2}) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * ${rowStride}u;
  if (i >= ${total}u) { return; }
  let s = i % ${S}u; let c = (i / ${S}u) % ${C}u; let n = i / ${S * C}u;
  let k = n * ${S}u + s;
  let t = targets[k + ${target.offset}u];
  var value = 0.0;
  if (t != ${ignoreIndex} && t == i32(c)) { value = -${weight ? 'w[c]' : '1.0'} * g[k + ${gc.offset}u]; }
  out[i] = value;
}`;
  runKernel('nll_loss_backward', wgsl, weight ? [gc, target, weight] : [gc, target], [out], workgroups);
  gc.dispose();
  return out;
}
