/**
 * oneHot: class indices → one-hot rows. One invocation per output element. Not differentiable.
 */
import type { DType } from '../../dtype.js';
import { fmtShape, ShapeError } from '../../runtime/errors.js';
import { empty, grid1d, runKernel, WG } from '../../runtime/kernel.js';
import type { Tensor } from '../../tensor.js';
import { stridedOffset } from './copy.js';
import { checkIndexDtype } from './gather.js';

/**
 * out[…, k] = 1 where indices[…] == k, else 0 (rows of out-of-range indices are all zero).
 * Shapes: indices (…) i32 → (…, numClasses) of `dtype` (default f32).
 */
export function oneHot(indices: Tensor, numClasses: number, dtype: DType = 'f32'): Tensor {
  checkIndexDtype('oneHot', indices);
  if (!Number.isInteger(numClasses) || numClasses < 0) {
    throw new ShapeError(
      `oneHot: numClasses must be a non-negative integer, got ${numClasses} (indices ${fmtShape(indices.shape)})`,
    );
  }
  const out = empty([...indices.shape, numClasses], dtype, 'oneHot');
  const n = out.size;
  if (n > 0) {
    const { workgroups, rowStride } = grid1d(n);
    const read = indices.dtype === 'i32' ? 'index[at]' : 'bitcast<i32>(index[at])';
    const wgsl = `@group(0) @binding(0) var<storage, read> index: array<${indices.dtype}>;
@group(0) @binding(1) var<storage, read_write> out: array<${dtype}>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * ${rowStride}u;
  if (i >= ${n}u) { return; }
  let row = i / ${numClasses}u;
  let at = ${stridedOffset(indices, 'row')};
  out[i] = select(${dtype}(0), ${dtype}(1), ${read} == i32(i % ${numClasses}u));
}`;
    runKernel('oneHot', wgsl, [indices], [out], workgroups);
  }
  return out;
}
