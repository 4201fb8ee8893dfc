/**
 * concat: joins tensors along an existing axis. One dispatch per (non-empty) input writes it into its slot of
 * the contiguous output; inputs may be any strided view. Backward: each input's gradient is the matching
 * slice of g (a view, no copy).
 */
import { recordOp } from '../../autograd/record.js';
import { DTypeError, fmtShape, ShapeError } from '../../runtime/errors.js';
import { empty, grid1d, runKernel, WG } from '../../runtime/kernel.js';
import { normAxis, numel } from '../../shape.js';
import type { Tensor } from '../../tensor.js';
import { stridedOffset } from './copy.js';
import { narrow } from './views.js';

/**
 * Concatenates `tensors` along `axis` (negative counts from the end). Every input has the same rank, dtype and
 * size on the other axes. Shapes: (…, n_k, …) for each k → (…, Σ n_k, …).
 */
export function concat(tensors: readonly Tensor[], axis: number): Tensor {
  if (tensors.length === 0) throw new ShapeError('concat: needs at least one tensor; got an empty list');
  const first = tensors[0];
  const a = normAxis(axis, first.rank, 'concat');
  const shapes = tensors.map((t) => fmtShape(t.shape)).join(', ');
  if (first.rank === 0) throw new ShapeError('concat: cannot concatenate 0-d tensors; use stack() instead');
  for (const [k, t] of tensors.entries()) {
    if (t.dtype !== first.dtype) {
      throw new DTypeError(
        `concat: tensor ${k} has dtype ${t.dtype} but tensor 0 has ${first.dtype} (shapes ${shapes}); cast() them to one dtype`,
      );
    }
    if (t.rank !== first.rank || t.shape.some((d, i) => i !== a && d !== first.shape[i])) {
      throw new ShapeError(
        `concat: shapes ${shapes} must match on every axis except ${a}; tensor ${k} ${fmtShape(t.shape)} differs from tensor 0 ${fmtShape(first.shape)}`,
      );
    }
  }
  const shape = [...first.shape];
  shape[a] = tensors.reduce((p, t) => p + t.shape[a], 0);
  const out = empty(shape, first.dtype, 'concat');
  const inner = numel(shape.slice(a + 1));
  let start = 0;
  const starts: number[] = [];
  for (const t of tensors) {
    starts.push(start);
    const n = t.size;
    if (n > 0) {
      const slab = t.shape[a] * inner;
      const { workgroups, rowStride } = grid1d(n);
      const wgsl = `@group(0) @binding(0) var<storage, read> src: array<${t.dtype}>;
@group(0) @binding(1) var<storage, read_write> dst: array<${t.dtype}>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * ${rowStride}u;
  if (i >= ${n}u) { return; }
  dst[(i / ${slab}u) * ${shape[a] * inner}u + ${start * inner}u + i % ${slab}u] = src[${stridedOffset(t)}];
}`;
      runKernel('concat', wgsl, [t], [out], workgroups);
    }
    start += t.shape[a];
  }
  const lengths = tensors.map((t) => t.shape[a]);
  recordOp('concat', tensors, [out], ([g]) => tensors.map((_, k) => narrow(g!, a, starts[k], lengths[k])));
  return out;
}
