/**
 * View ops: no copy when the strides allow it. Each records its backward (the inverse view, or a
 * reduction / zero-fill for expand and slice).
 */
import { recordOp } from '../../autograd/record.js';
import { fmtShape, ShapeError } from '../../runtime/errors.js';
import { empty, grid1d, runKernel, WG } from '../../runtime/kernel.js';
import { assertShape, contiguousStrides, normAxis, numel, type Shape } from '../../shape.js';
import type { Tensor } from '../../tensor.js';
import { sumToShape } from '../reduce/sum-to.js';
import { copy } from './copy.js';

function resolveShape(shape: Shape, size: number, op: string, from: Shape): number[] {
  const out = [...shape];
  const unknown = out.indexOf(-1);
  if (unknown >= 0) {
    const known = out.reduce((p, d, i) => (i === unknown ? p : p * d), 1);
    if (known === 0 || size % known !== 0) {
      throw new ShapeError(`${op}: cannot reshape ${fmtShape(from)} (${size} elements) to ${fmtShape(shape)}`);
    }
    out[unknown] = size / known;
  }
  if (numel(out) !== size || out.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new ShapeError(`${op}: cannot reshape ${fmtShape(from)} (${size} elements) to ${fmtShape(shape)}`);
  }
  return out;
}

/** Strides for viewing `t` as `shape` without a copy, or null if impossible (like torch's view rules). */
function viewStrides(t: Tensor, shape: number[]): number[] | null {
  if (t.isContiguous) return contiguousStrides(shape);
  // Merge/split dims only inside runs of t's dims that are contiguous with each other.
  const oldShape = t.shape.filter((d) => d !== 1);
  const oldStrides = t.strides.filter((_, i) => t.shape[i] !== 1);
  const strides = new Array<number>(shape.length).fill(0);
  let oi = 0;
  let ni = 0;
  while (ni < shape.length) {
    if (shape[ni] === 1) {
      strides[ni] = 1;
      ni++;
      continue;
    }
    if (oi >= oldShape.length) return null;
    // Collect a chunk of old dims whose product matches a chunk of new dims.
    let oldProd = oldShape[oi];
    let newProd = shape[ni];
    const oStart = oi;
    const nStart = ni;
    while (oldProd !== newProd) {
      if (oldProd < newProd) oldProd *= oldShape[++oi];
      else newProd *= shape[++ni];
      if (oi >= oldShape.length || ni >= shape.length) return null;
    }
    for (let k = oStart; k < oi; k++) if (oldStrides[k] !== oldStrides[k + 1] * oldShape[k + 1]) return null;
    let stride = oldStrides[oi];
    for (let k = ni; k >= nStart; k--) {
      strides[k] = stride;
      stride *= shape[k];
    }
    oi++;
    ni++;
  }
  return strides;
}

/** Reshapes (one axis may be −1). A view when the layout allows, otherwise a copy. */
export function reshape(t: Tensor, shape: Shape): Tensor {
  const target = resolveShape(shape, t.size, 'reshape', t.shape);
  const strides = viewStrides(t, target);
  const source = strides ? t : copy(t);
  const out = source.viewOf(target, strides ?? contiguousStrides(target), source.offset, 'reshape');
  const inputShape = t.shape;
  recordOp('reshape', [source], [out], ([g]) => [reshape(g!, inputShape)]);
  if (source !== t) source.dispose();
  return out;
}

/** Flattens axes [start, end] into one. */
export function flatten(t: Tensor, start = 0, end = -1): Tensor {
  if (t.rank === 0) return reshape(t, [1]);
  const s = normAxis(start, t.rank, 'flatten');
  const e = normAxis(end, t.rank, 'flatten');
  const shape = [...t.shape.slice(0, s), numel(t.shape.slice(s, e + 1)), ...t.shape.slice(e + 1)];
  return reshape(t, shape);
}

/** Reorders axes (a view). */
export function permute(t: Tensor, axes: readonly number[]): Tensor {
  if (axes.length !== t.rank) {
    throw new ShapeError(`permute: got ${axes.length} axes [${axes.join(', ')}] for a tensor of rank ${t.rank}`);
  }
  const norm = axes.map((a) => normAxis(a, t.rank, 'permute'));
  if (new Set(norm).size !== norm.length) throw new ShapeError(`permute: repeated axis in [${axes.join(', ')}]`);
  const out = t.viewOf(
    norm.map((a) => t.shape[a]),
    norm.map((a) => t.strides[a]),
    t.offset,
    'permute',
  );
  const inverse = new Array<number>(norm.length);
  norm.forEach((a, i) => {
    inverse[a] = i;
  });
  recordOp('permute', [t], [out], ([g]) => [permute(g!, inverse)]);
  return out;
}

/** Swaps two axes (a view). Defaults to the last two. */
export function transpose(t: Tensor, a = -2, b = -1): Tensor {
  const axes = Array.from({ length: t.rank }, (_, i) => i);
  const x = normAxis(a, t.rank, 'transpose');
  const y = normAxis(b, t.rank, 'transpose');
  [axes[x], axes[y]] = [axes[y], axes[x]];
  return permute(t, axes);
}

/** Inserts a size-1 axis at `axis`. */
export function unsqueeze(t: Tensor, axis: number): Tensor {
  const a = normAxis(axis < 0 ? axis + t.rank + 1 : axis, t.rank + 1, 'unsqueeze');
  return reshape(t, [...t.shape.slice(0, a), 1, ...t.shape.slice(a)]);
}

/** Removes size-1 axes (all, or the given ones). */
export function squeeze(t: Tensor, axes?: number | readonly number[]): Tensor {
  const list =
    axes === undefined
      ? t.shape.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0)
      : (typeof axes === 'number' ? [axes] : [...axes]).map((a) => normAxis(a, t.rank, 'squeeze'));
  for (const a of list) {
    if (t.shape[a] !== 1)
      throw new ShapeError(`squeeze: axis ${a} of ${fmtShape(t.shape)} has size ${t.shape[a]}, not 1`);
  }
  return reshape(
    t,
    t.shape.filter((_, i) => !list.includes(i)),
  );
}

/** Broadcasts to `shape` with stride-0 axes (a view); −1 keeps an axis. */
export function expand(t: Tensor, shape: Shape): Tensor {
  const lead = shape.length - t.rank;
  if (lead < 0) throw new ShapeError(`expand: cannot expand ${fmtShape(t.shape)} to fewer dims ${fmtShape(shape)}`);
  const target = shape.map((d, i) => {
    if (d !== -1) return d;
    if (i < lead) {
      throw new ShapeError(
        `expand: −1 is not allowed for the new leading axis ${i} in ${fmtShape(shape)} (input ${fmtShape(t.shape)})`,
      );
    }
    return t.shape[i - lead];
  });
  assertShape(target, 'expand');
  const strides = target.map((d, i) => {
    if (i < lead) return 0;
    const own = t.shape[i - lead];
    if (own === d) return t.strides[i - lead];
    if (own === 1) return 0;
    throw new ShapeError(
      `expand: cannot expand ${fmtShape(t.shape)} to ${fmtShape(shape)} (axis ${i}: ${own} vs ${d})`,
    );
  });
  const out = t.viewOf(target, strides, t.offset, 'expand');
  const inputShape = t.shape;
  recordOp('expand', [t], [out], ([g]) => [sumToShape(g!, inputShape)]);
  return out;
}

export interface SliceRange {
  start?: number;
  end?: number;
  step?: number;
}

/**
 * Slices every axis with `[start, end, step]` ranges (Python semantics, negative indices allowed, step > 0);
 * axes without a range are kept whole. A view. `slice(t, [null, {start: 1, end: 3}])`.
 */
export function slice(t: Tensor, ranges: readonly (SliceRange | null | undefined)[]): Tensor {
  if (ranges.length > t.rank) throw new ShapeError(`slice: ${ranges.length} ranges for a tensor of rank ${t.rank}`);
  const starts: number[] = [];
  const steps: number[] = [];
  const shape: number[] = [];
  let offset = t.offset;
  const strides: number[] = [];
  for (let d = 0; d < t.rank; d++) {
    const n = t.shape[d];
    const r = ranges[d] ?? {};
    const step = r.step ?? 1;
    if (!Number.isInteger(step) || step <= 0)
      throw new ShapeError(`slice: step must be a positive integer, got ${step}`);
    const clampIndex = (v: number) => Math.min(Math.max(v < 0 ? v + n : v, 0), n);
    const start = clampIndex(r.start ?? 0);
    const end = clampIndex(r.end ?? n);
    const len = Math.max(0, Math.ceil((end - start) / step));
    starts.push(start);
    steps.push(step);
    shape.push(len);
    strides.push(t.strides[d] * step);
    offset += start * t.strides[d];
  }
  const out = t.viewOf(shape, strides, offset, 'slice');
  const inputShape = t.shape;
  recordOp('slice', [t], [out], ([g]) => [sliceBackward(g!, inputShape, starts, steps)]);
  return out;
}

/** Selects `length` entries of one axis from `start` (a view). */
export function narrow(t: Tensor, axis: number, start: number, length: number): Tensor {
  const a = normAxis(axis, t.rank, 'narrow');
  if (start < 0 || start + length > t.shape[a]) {
    throw new ShapeError(`narrow: [${start}, ${start + length}) is outside axis ${a} of ${fmtShape(t.shape)}`);
  }
  const ranges: SliceRange[] = t.shape.map(() => ({}));
  ranges[a] = { start, end: start + length };
  return slice(t, ranges);
}

/** Zero tensor of `shape` with `g` written at the sliced positions (the adjoint of `slice`). */
function sliceBackward(g: Tensor, shape: Shape, starts: number[], steps: number[]): Tensor {
  const src = g.isContiguous ? g : copy(g);
  const out = empty(shape, 'f32', 'slice_backward');
  const n = numel(shape);
  if (n === 0) return out;
  const lines: string[] = ['  var rest = i;', '  var inside = true;', '  var src_index = 0u;'];
  let srcStride = 1;
  const srcStrides: number[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    srcStrides[d] = srcStride;
    srcStride *= src.shape[d];
  }
  for (let d = shape.length - 1; d >= 0; d--) {
    lines.push(`  { let c = i32(rest % ${shape[d]}u); rest = rest / ${shape[d]}u;
    let k = c - ${starts[d]}; let q = k / ${steps[d]};
    inside = inside && k >= 0 && k % ${steps[d]} == 0 && q < ${src.shape[d]};
    src_index = src_index + u32(max(q, 0)) * ${srcStrides[d]}u; }`);
  }
  const { workgroups, rowStride } = grid1d(n);
  const wgsl = `@group(0) @binding(0) var<storage, read> g: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * ${rowStride}u;
  if (i >= ${n}u) { return; }
${lines.join('\n')}
  out[i] = select(0.0, g[min(src_index + ${src.offset}u, ${src.offset + Math.max(src.size - 1, 0)}u)], inside);
}`;
  runKernel('slice_backward', wgsl, [src], [out], workgroups);
  if (src !== g) src.dispose();
  return out;
}
