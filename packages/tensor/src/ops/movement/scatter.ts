/**
 * scatterAdd (torch.scatter_add): out = target, then out[c with c[axis] = index[c]] += src[c] for every c in
 * index's shape. Two race-free kernels:
 * - 'loop' (deterministic): one invocation per output element walks the index column that can reach it and
 *   sums the matching sources in order. Cost: |target| × index.shape[axis].
 * - 'atomic': the output is initialised with target, then one invocation per index element adds its source
 *   with an atomic (f32 through a compare-exchange loop on the u32 bits). Cost: |index|; the order of the
 *   additions (so the last bits of f32 sums) may vary between runs.
 * 'auto' takes the loop when it costs at most a few times the atomic pass. Indices outside [0, n) are skipped.
 * Backward: grad target = g, grad src = gather(g, axis, index) (zero where index does not reach src).
 */
import { recordOp } from '../../autograd/record.js';
import { DTypeError, fmtShape, ShapeError } from '../../runtime/errors.js';
import { empty, grid1d, runKernel, WG } from '../../runtime/kernel.js';
import { normAxis, numel, type Shape } from '../../shape.js';
import type { Tensor } from '../../tensor.js';
import { stridedOffset } from './copy.js';
import { checkIndexDtype, coordinateLines, gather, offsetAt } from './gather.js';
import { pad } from './pad.js';

export interface ScatterAddOptions {
  /** Kernel choice (see the file comment). Default 'auto'. */
  method?: 'auto' | 'loop' | 'atomic';
  /** Output shape when `target` is null (a zero target). */
  shape?: Shape;
}

function readIndex(index: Tensor, offset: string): string {
  return index.dtype === 'i32' ? `index[${offset}]` : `bitcast<i32>(index[${offset}])`;
}

/**
 * Adds `src` into a copy of `target` at the positions `index` gives along `axis` (collisions add up).
 * Shapes: target (…, n, …); index (…, m, …) with index.shape[d] ≤ src.shape[d] on every axis and
 * ≤ target.shape[d] on every axis but `axis`; src at least index's shape → out = target.shape.
 * `target` may be null for zeros of `options.shape`.
 */
export function scatterAdd(
  target: Tensor | null,
  axis: number,
  index: Tensor,
  src: Tensor,
  options: ScatterAddOptions = {},
): Tensor {
  const shape = [...(target?.shape ?? options.shape ?? [])];
  if (!target && !options.shape) throw new ShapeError('scatterAdd: pass options.shape when target is null');
  const a = normAxis(axis, shape.length, 'scatterAdd');
  checkIndexDtype('scatterAdd', index);
  const shapes = `target ${fmtShape(shape)}, index ${fmtShape(index.shape)}, src ${fmtShape(src.shape)}`;
  if (target && target.dtype !== src.dtype) {
    throw new DTypeError(
      `scatterAdd: target is ${target.dtype} but src is ${src.dtype} (${shapes}); cast() one of them`,
    );
  }
  if (
    index.rank !== shape.length ||
    src.rank !== shape.length ||
    index.shape.some((d, i) => d > src.shape[i] || (i !== a && d > shape[i]))
  ) {
    throw new ShapeError(
      `scatterAdd: ${shapes} along axis ${a}: all three need the same rank, index no larger than src on every axis and than target on every other axis`,
    );
  }
  const dtype = src.dtype;
  const out = empty(shape, dtype, 'scatterAdd');
  const n = numel(shape);
  const L = index.shape[a];
  const box = numel(index.shape.map((d, i) => (i === a ? shape[a] : d)));
  const method =
    options.method === undefined || options.method === 'auto'
      ? box * L <= 4 * (index.size + n)
        ? 'loop'
        : 'atomic'
      : options.method;
  const inputs = target ? [target, index, src] : [index, src];
  const decls = `${target ? `@group(0) @binding(0) var<storage, read> target_values: array<${dtype}>;` : ''}
@group(0) @binding(${inputs.length - 2}) var<storage, read> index: array<${index.dtype}>;
@group(0) @binding(${inputs.length - 1}) var<storage, read> src: array<${dtype}>;`;
  const initial = target ? `target_values[${stridedOffset(target)}]` : `${dtype}(0)`;
  if (n > 0 && method === 'loop') {
    const coords = shape.map((_, d) => `c${d}`);
    const walk = coords.map((c, d) => (d === a ? 'j' : c));
    const inBox = index.shape
      .map((d, i) => (i === a || d === shape[i] ? '' : `c${i} < ${d}u`))
      .filter(Boolean)
      .join(' && ');
    const { workgroups, rowStride } = grid1d(n);
    const wgsl = `${decls}
@group(0) @binding(${inputs.length}) var<storage, read_write> out: array<${dtype}>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * ${rowStride}u;
  if (i >= ${n}u) { return; }
${coordinateLines(shape, 'i')}
  var acc = ${initial};
  if (${inBox || 'true'}) {
    for (var j = 0u; j < ${L}u; j = j + 1u) {
      if (${readIndex(index, offsetAt(index, walk))} == i32(c${a})) { acc = acc + src[${offsetAt(src, walk)}]; }
    }
  }
  out[i] = acc;
}`;
    runKernel('scatterAdd', wgsl, inputs, [out], workgroups);
  } else if (n > 0) {
    const init = grid1d(n);
    const initWgsl = `${target ? `@group(0) @binding(0) var<storage, read> target_values: array<${dtype}>;` : ''}
@group(0) @binding(${target ? 1 : 0}) var<storage, read_write> out: array<${dtype}>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * ${init.rowStride}u;
  if (i >= ${n}u) { return; }
  out[i] = ${initial};
}`;
    runKernel('scatterAdd_init', initWgsl, target ? [target] : [], [out], init.workgroups);
    const m = index.size;
    if (m > 0) {
      const coords = index.shape.map((_, d) => `c${d}`);
      const destination = coords.map((c, d) => (d === a ? 'u32(k)' : c));
      const outStrides = shape.map((_, d) => numel(shape.slice(d + 1)));
      const outOffset = destination.map((c, d) => `${c} * ${outStrides[d]}u`).join(' + ');
      const add =
        dtype === 'f32'
          ? `var old = atomicLoad(&out[at]);
  loop {
    let swapped = atomicCompareExchangeWeak(&out[at], old, bitcast<u32>(bitcast<f32>(old) + value));
    if (swapped.exchanged) { break; }
    old = swapped.old_value;
  }`
          : 'atomicAdd(&out[at], value);';
      const { workgroups, rowStride } = grid1d(m);
      const wgsl = `@group(0) @binding(0) var<storage, read> index: array<${index.dtype}>;
@group(0) @binding(1) var<storage, read> src: array<${dtype}>;
@group(0) @binding(2) var<storage, read_write> out: array<atomic<${dtype === 'f32' ? 'u32' : dtype}>>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * ${rowStride}u;
  if (i >= ${m}u) { return; }
${coordinateLines(index.shape, 'i')}
  let k = ${readIndex(index, offsetAt(index, coords))};
  if (k < 0 || k >= ${shape[a]}) { return; }
  let value = src[${offsetAt(src, coords)}];
  let at = ${outOffset};
  ${add}
}`;
      runKernel('scatterAdd_atomic', wgsl, [index, src], [out], workgroups);
    }
  }
  const srcShape = src.shape;
  recordOp(
    'scatterAdd',
    [target, index, src],
    [out],
    ([g], [savedIndex]) => {
      const picked = gather(g!, a, savedIndex);
      const pads = srcShape.flatMap((_, k) => [
        0,
        srcShape[srcShape.length - 1 - k] - savedIndex.shape[srcShape.length - 1 - k],
      ]);
      const gradSrc = pads.every((p) => p === 0) ? picked : pad(picked, pads);
      if (gradSrc !== picked) picked.dispose();
      return [g!, null, gradSrc];
    },
    [index],
  );
  return out;
}
