/**
 * Numerically stable softmax / logSoftmax along one axis, and cross-entropy on top of logSoftmax.
 * The axis is moved last (a view, copied only when the layout needs it); each row is handled by one
 * invocation (short rows) or one 64-wide workgroup (long rows). Backward kernels are fused the same way.
 */
import { recordOp } from '../../autograd/record.js';
import { DTypeError } from '../../runtime/errors.js';
import { empty, grid1d, runKernel } from '../../runtime/kernel.js';
import { normAxis } from '../../shape.js';
import type { Tensor } from '../../tensor.js';
import { contiguous } from '../movement/copy.js';
import { transpose } from '../movement/views.js';

const THREADS = 64;

type RowKind = 'softmax' | 'log_softmax' | 'softmax_backward' | 'log_softmax_backward';

/**
 * Per-row kernels on contiguous (rows, n) data. Forward reads x; backward reads (y, g).
 * softmax:        y = e^(x−m) / Σ e^(x−m)
 * log_softmax:    y = x − m − log Σ e^(x−m)
 * softmax bwd:    dx = y ⊙ (g − Σ g⊙y)
 * log_softmax bwd: dx = g − e^y · Σ g
 */
function rowKernel(kind: RowKind, rows: number, n: number): { wgsl: string; workgroups: [number, number] } {
  const backward = kind.endsWith('backward');
  const inputs = backward
    ? `@group(0) @binding(0) var<storage, read> y: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;`
    : `@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;`;
  // Per-thread partial over j = start, start+step, …; combined across the workgroup when step > 1.
  const pass1 = backward
    ? kind === 'softmax_backward'
      ? 'a = a + g[base + j] * y[base + j];'
      : 'a = a + g[base + j];'
    : 'a = max(a, x[base + j]);';
  const pass2 = 'a2 = a2 + exp(x[base + j] - m);';
  const write = {
    softmax: 'out[base + j] = exp(x[base + j] - m) / s;',
    log_softmax: 'out[base + j] = x[base + j] - m - log(s);',
    softmax_backward: 'out[base + j] = y[base + j] * (g[base + j] - m);',
    log_softmax_backward: 'out[base + j] = g[base + j] - exp(y[base + j]) * m;',
  }[kind];
  const init1 = backward ? '0.0' : 'ninf()';
  const helpers = 'fn ninf() -> f32 { var bits = 0xff800000u; return bitcast<f32>(bits); }';
  if (n <= 256) {
    const { workgroups, rowStride } = grid1d(rows);
    const second = backward
      ? 'let s = 1.0;'
      : `var a2 = 0.0; for (var j = 0u; j < ${n}u; j = j + 1u) { ${pass2} } let s = a2;`;
    return {
      workgroups,
      wgsl: `${inputs}
${helpers}
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row = gid.x + gid.y * ${rowStride}u;
  if (row >= ${rows}u) { return; }
  let base = row * ${n}u;
  var a = ${init1};
  for (var j = 0u; j < ${n}u; j = j + 1u) { ${pass1} }
  let m = a;
  ${second}
  for (var j = 0u; j < ${n}u; j = j + 1u) { ${write} }
}`,
    };
  }
  const { workgroups, rowStride } = grid1d(rows, 1);
  const second = backward
    ? 'let s = 1.0;'
    : `var a2 = 0.0; for (var j = lid; j < ${n}u; j = j + ${THREADS}u) { ${pass2} }
  let s = tree(a2, lid, false);`;
  return {
    workgroups,
    wgsl: `${inputs}
${helpers}
var<workgroup> scratch: array<f32, ${THREADS}>;
fn tree(value: f32, lid: u32, isMax: bool) -> f32 {
  scratch[lid] = value;
  workgroupBarrier();
  for (var width = ${THREADS / 2}u; width > 0u; width = width / 2u) {
    if (lid < width) {
      let v = scratch[lid]; let w = scratch[lid + width];
      scratch[lid] = select(v + w, max(v, w), isMax);
    }
    workgroupBarrier();
  }
  let result = scratch[0];
  workgroupBarrier();
  return result;
}
@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * ${rowStride}u;
  let base = row * ${n}u;
  var a = ${init1};
  for (var j = lid; j < ${n}u; j = j + ${THREADS}u) { ${pass1} }
  let m = tree(a, lid, ${backward ? 'false' : 'true'});
  ${second}
  for (var j = lid; j < ${n}u; j = j + ${THREADS}u) { ${write} }
}`,
  };
}

/** Runs a row kernel over `axis` of the given tensors (moved last); returns the result in the original layout. */
function alongAxis(kind: RowKind, tensors: Tensor[], axis: number): Tensor {
  const first = tensors[0];
  const a = normAxis(axis, Math.max(first.rank, 1), kind);
  const last = first.rank - 1;
  const moved = tensors.map((t) =>
    a === last || first.rank === 0 ? contiguous(t) : contiguous(transpose(t, a, last)),
  );
  const n = first.rank === 0 ? 1 : first.shape[a];
  const rows = n === 0 ? 0 : first.size / n;
  const out = empty(moved[0].shape, 'f32', kind);
  if (rows > 0) {
    const { wgsl, workgroups } = rowKernel(kind, rows, n);
    runKernel(kind, wgsl, moved, [out], workgroups);
  }
  for (const t of moved) t.dispose();
  if (a === last || first.rank === 0) return out;
  const back = contiguous(transpose(out, a, last));
  out.dispose();
  return back;
}

function requireF32(op: string, x: Tensor): void {
  if (x.dtype !== 'f32') throw new DTypeError(`${op}: expects f32, got ${x.dtype}`);
}

/** softmax along `axis` (default last), subtracting the row maximum first. */
export function softmax(x: Tensor, axis = -1): Tensor {
  requireF32('softmax', x);
  const y = alongAxis('softmax', [x], axis);
  recordOp('softmax', [x], [y], ([g], [sy]) => [alongAxis('softmax_backward', [sy, g!], axis)], [y]);
  return y;
}

/** log(softmax(x)) along `axis`, computed as x − max − log Σ e^(x−max). */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  requireF32('logSoftmax', x);
  const y = alongAxis('log_softmax', [x], axis);
  recordOp('logSoftmax', [x], [y], ([g], [sy]) => [alongAxis('log_softmax_backward', [sy, g!], axis)], [y]);
  return y;
}
