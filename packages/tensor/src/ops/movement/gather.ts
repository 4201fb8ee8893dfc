/**
 * gather (torch.gather) and indexSelect (torch.index_select): one invocation per output element reads its
 * index and then the (strided) source. Indices are i32 (or u32); an out-of-range index yields NaN (f32) or 0
 * (integer dtypes) rather than reading outside the tensor. Backward: scatter-add of g into zeros shaped like x.
 */
import { recordOp } from '../../autograd/record.js';
import type { DType } from '../../dtype.js';
import { DTypeError, fmtShape, ShapeError } from '../../runtime/errors.js';
import { empty, grid1d, runKernel, WG } from '../../runtime/kernel.js';
import { normAxis, numel } from '../../shape.js';
import type { Tensor } from '../../tensor.js';
import { scatterAdd } from './scatter.js';
import { expand, reshape } from './views.js';

/** WGSL lines declaring `${prefix}0 … ${prefix}{r−1}` (u32), the row-major coordinates of `flat` in `shape`. */
export function coordinateLines(shape: readonly number[], flat: string, prefix = 'c'): string {
  if (shape.length === 0) return '';
  const lines = [`  var ${prefix}_rest = ${flat};`];
  for (let d = shape.length - 1; d >= 1; d--) {
    lines.push(`  let ${prefix}${d} = ${prefix}_rest % ${shape[d]}u; ${prefix}_rest = ${prefix}_rest / ${shape[d]}u;`);
  }
  lines.push(`  let ${prefix}0 = ${prefix}_rest;`);
  return lines.join('\n');
}

/** WGSL u32 expression: storage offset of `t` at coordinates `coords[d]` (expressions). */
export function offsetAt(t: Tensor, coords: readonly string[]): string {
  const terms = coords
    .map((c, d) => (t.shape[d] === 1 || t.strides[d] === 0 ? '' : t.strides[d] === 1 ? c : `${c} * ${t.strides[d]}u`))
    .filter(Boolean);
  if (t.offset) terms.push(`${t.offset}u`);
  return terms.length ? terms.join(' + ') : '0u';
}

/** Throws a DTypeError unless `index` holds i32 / u32 indices. */
export function checkIndexDtype(op: string, index: Tensor): void {
  if (index.dtype !== 'i32' && index.dtype !== 'u32') {
    throw new DTypeError(
      `${op}: indices must be i32 (or u32), got ${index.dtype} of shape ${fmtShape(index.shape)}; convert with cast(index, 'i32')`,
    );
  }
}

/** WGSL value written for an out-of-range index (NaN built at run time: WGSL rejects constant NaN). */
export function outOfRangeValue(dtype: DType): string {
  return dtype === 'f32' ? 'nan_f32()' : `${dtype}(0)`;
}

const NAN_HELPER = 'fn nan_f32() -> f32 { var bits = 0x7fc00000u; return bitcast<f32>(bits); }';

function readIndex(index: Tensor, offset: string): string {
  return index.dtype === 'i32' ? `index[${offset}]` : `bitcast<i32>(index[${offset}])`;
}

/**
 * torch.gather: out[c] = x[c with c[axis] replaced by index[c]]. `index` has x's rank and index.shape[d] ≤
 * x.shape[d] on every other axis. Shapes: x (…, n, …), index (…, m, …) → out = index.shape.
 */
export function gather(x: Tensor, axis: number, index: Tensor): Tensor {
  const a = normAxis(axis, x.rank, 'gather');
  checkIndexDtype('gather', index);
  if (index.rank !== x.rank || index.shape.some((d, i) => i !== a && d > x.shape[i])) {
    throw new ShapeError(
      `gather: index ${fmtShape(index.shape)} must have the rank of x ${fmtShape(x.shape)} and be no larger on every axis but ${a}`,
    );
  }
  const out = empty(index.shape, x.dtype, 'gather');
  const n = out.size;
  if (n > 0) {
    const coords = index.shape.map((_, d) => `c${d}`);
    const source = coords.map((c, d) => (d === a ? 'u32(k)' : c));
    const { workgroups, rowStride } = grid1d(n);
    const wgsl = `${NAN_HELPER}
@group(0) @binding(0) var<storage, read> x: array<${x.dtype}>;
@group(0) @binding(1) var<storage, read> index: array<${index.dtype}>;
@group(0) @binding(2) var<storage, read_write> out: array<${x.dtype}>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * ${rowStride}u;
  if (i >= ${n}u) { return; }
${coordinateLines(index.shape, 'i')}
  let k = ${readIndex(index, offsetAt(index, coords))};
  if (k < 0 || k >= ${x.shape[a]}) { out[i] = ${outOfRangeValue(x.dtype)}; return; }
  out[i] = x[${offsetAt(x, source)}];
}`;
    runKernel('gather', wgsl, [x, index], [out], workgroups);
  }
  const xShape = x.shape;
  recordOp('gather', [x], [out], ([g], [savedIndex]) => [scatterAdd(null, a, savedIndex, g!, { shape: xShape })], [
    index,
  ]);
  return out;
}

/**
 * torch.index_select: picks entries `indices` (1-D, i32) of `axis`. Shapes: x (…, n, …), indices (m) →
 * (…, m, …).
 */
export function indexSelect(x: Tensor, axis: number, indices: Tensor): Tensor {
  const a = normAxis(axis, x.rank, 'indexSelect');
  checkIndexDtype('indexSelect', indices);
  if (indices.rank !== 1) {
    throw new ShapeError(
      `indexSelect: indices must be 1-D, got ${fmtShape(indices.shape)} (x ${fmtShape(x.shape)}); flatten() them first`,
    );
  }
  const shape = [...x.shape];
  shape[a] = indices.shape[0];
  const out = empty(shape, x.dtype, 'indexSelect');
  const n = numel(shape);
  if (n > 0) {
    const coords = shape.map((_, d) => `c${d}`);
    const source = coords.map((c, d) => (d === a ? 'u32(k)' : c));
    const { workgroups, rowStride } = grid1d(n);
    const wgsl = `${NAN_HELPER}
@group(0) @binding(0) var<storage, read> x: array<${x.dtype}>;
@group(0) @binding(1) var<storage, read> index: array<${indices.dtype}>;
@group(0) @binding(2) var<storage, read_write> out: array<${x.dtype}>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * ${rowStride}u;
  if (i >= ${n}u) { return; }
${coordinateLines(shape, 'i')}
  let k = ${readIndex(indices, offsetAt(indices, [`c${a}`]))};
  if (k < 0 || k >= ${x.shape[a]}) { out[i] = ${outOfRangeValue(x.dtype)}; return; }
  out[i] = x[${offsetAt(x, source)}];
}`;
    runKernel('indexSelect', wgsl, [x, indices], [out], workgroups);
  }
  const xShape = x.shape;
  recordOp(
    'indexSelect',
    [x],
    [out],
    ([g], [savedIndices]) => {
      const lined = reshape(
        savedIndices,
        shape.map((d, i) => (i === a ? d : 1)),
      );
      const wide = expand(lined, g!.shape);
      const grad = scatterAdd(null, a, wide, g!, { shape: xShape });
      lined.dispose();
      wide.dispose();
      return [grad];
    },
    [indices],
  );
  return out;
}
