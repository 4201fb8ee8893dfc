/**
 * The strided copy kernel behind `contiguous()` and every view op that must materialise: reads any
 * (shape, strides, offset) view and writes it row-major.
 */
import { recordOp } from '../../autograd/record.js';
import { empty, grid1d, runKernel, usableStorage, WG } from '../../runtime/kernel.js';
import type { Tensor } from '../../tensor.js';

/** WGSL expression for the storage offset of the element at flat (row-major) index `i` of view `t`. */
export function stridedOffset(t: Tensor, flatIndex = 'i'): string {
  const { shape, strides, offset } = t;
  if (shape.length === 0) return `${offset}u`;
  const lines: string[] = [];
  let rest = flatIndex;
  const terms: string[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    const coord = d === 0 ? rest : `(${rest} % ${shape[d]}u)`;
    if (strides[d] !== 0 && shape[d] !== 1) terms.push(strides[d] === 1 ? coord : `${coord} * ${strides[d]}u`);
    if (d > 0) rest = `(${rest} / ${shape[d]}u)`;
  }
  lines.push(...terms);
  if (offset) lines.push(`${offset}u`);
  return lines.length ? lines.join(' + ') : '0u';
}

/** A row-major copy of `t` (always a new buffer). Differentiable. */
export function copy(t: Tensor): Tensor {
  usableStorage(t, 'copy');
  const out = empty(t.shape, t.dtype, 'copy');
  const n = t.size;
  if (n > 0) {
    const { workgroups, rowStride } = grid1d(n);
    const wgsl = `@group(0) @binding(0) var<storage, read> src: array<${t.dtype}>;
@group(0) @binding(1) var<storage, read_write> dst: array<${t.dtype}>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * ${rowStride}u;
  if (i >= ${n}u) { return; }
  dst[i] = src[${stridedOffset(t)}];
}`;
    runKernel('copy', wgsl, [t], [out], workgroups);
  }
  recordOp('copy', [t], [out], ([g]) => [g]);
  return out;
}

/** `t` itself as a new tensor object if already row-major, otherwise a row-major copy. Differentiable. */
export function contiguous(t: Tensor): Tensor {
  if (t.isContiguous) {
    const view = t.detach();
    recordOp('contiguous', [t], [view], ([g]) => [g]);
    return view;
  }
  return copy(t);
}
