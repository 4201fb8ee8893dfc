/**
 * Float64 reference of the view ops (reshape, permute, slice, expand) and their gradients. Test-only.
 */
import { broadcastToRef, type RefArray, refSize, refStrides, sumToShapeRef } from '../elementwise/reference.js';

/** Same data, new shape (one axis may be −1). */
export function reshapeRef(x: RefArray, shape: readonly number[]): RefArray {
  const out = [...shape];
  const unknown = out.indexOf(-1);
  if (unknown >= 0) out[unknown] = x.data.length / refSize(out.filter((_, i) => i !== unknown));
  if (refSize(out) !== x.data.length) throw new Error(`reshapeRef: [${x.shape}] to [${shape}]`);
  return { shape: out, data: Float64Array.from(x.data) };
}

/** out[c] = x[c permuted back]: axis i of the output is axis axes[i] of x. */
export function permuteRef(x: RefArray, axes: readonly number[]): RefArray {
  const rank = x.shape.length;
  const norm = axes.map((a) => (a < 0 ? a + rank : a));
  const shape = norm.map((a) => x.shape[a]);
  const inStrides = refStrides(x.shape);
  const data = new Float64Array(x.data.length);
  for (let i = 0; i < data.length; i++) {
    let rest = i;
    let k = 0;
    for (let d = rank - 1; d >= 0; d--) {
      const c = rest % shape[d];
      rest = Math.floor(rest / shape[d]);
      k += c * inStrides[norm[d]];
    }
    data[i] = x.data[k];
  }
  return { shape, data };
}

/** Gradient of permute: the inverse permutation of g. */
export function permuteGradRef(g: RefArray, axes: readonly number[]): RefArray {
  const rank = axes.length;
  const inverse = new Array<number>(rank);
  axes.forEach((a, i) => {
    inverse[a < 0 ? a + rank : a] = i;
  });
  return permuteRef(g, inverse);
}

export interface SliceRangeRef {
  start?: number;
  end?: number;
  step?: number;
}

function resolveRanges(shape: readonly number[], ranges: readonly (SliceRangeRef | null | undefined)[]) {
  return shape.map((n, d) => {
    const r = ranges[d] ?? {};
    const step = r.step ?? 1;
    const clampIndex = (v: number) => Math.min(Math.max(v < 0 ? v + n : v, 0), n);
    const start = clampIndex(r.start ?? 0);
    const end = clampIndex(r.end ?? n);
    return { start, step, length: Math.max(0, Math.ceil((end - start) / step)) };
  });
}

/** Python slicing per axis (positive steps). */
export function sliceRef(x: RefArray, ranges: readonly (SliceRangeRef | null | undefined)[]): RefArray {
  const resolved = resolveRanges(x.shape, ranges);
  const shape = resolved.map((r) => r.length);
  const inStrides = refStrides(x.shape);
  const data = new Float64Array(refSize(shape));
  for (let i = 0; i < data.length; i++) {
    let rest = i;
    let k = 0;
    for (let d = shape.length - 1; d >= 0; d--) {
      const c = rest % shape[d];
      rest = Math.floor(rest / shape[d]);
      k += (resolved[d].start + c * resolved[d].step) * inStrides[d];
    }
    data[i] = x.data[k];
  }
  return { shape, data };
}

/** Gradient of slice: zeros of the input shape with g scattered to the sliced positions. */
export function sliceGradRef(
  inputShape: readonly number[],
  ranges: readonly (SliceRangeRef | null | undefined)[],
  g: RefArray,
): RefArray {
  const resolved = resolveRanges(inputShape, ranges);
  const inStrides = refStrides(inputShape);
  const data = new Float64Array(refSize(inputShape));
  const shape = resolved.map((r) => r.length);
  for (let i = 0; i < g.data.length; i++) {
    let rest = i;
    let k = 0;
    for (let d = shape.length - 1; d >= 0; d--) {
      const c = rest % shape[d];
      rest = Math.floor(rest / shape[d]);
      k += (resolved[d].start + c * resolved[d].step) * inStrides[d];
    }
    data[k] += g.data[i];
  }
  return { shape: [...inputShape], data };
}

/** Broadcast to `shape` (−1 keeps an axis). */
export function expandRef(x: RefArray, shape: readonly number[]): RefArray {
  const lead = shape.length - x.shape.length;
  return broadcastToRef(
    x,
    shape.map((d, i) => (d === -1 ? x.shape[i - lead] : d)),
  );
}

/** Gradient of expand: g summed over the broadcast axes. */
export function expandGradRef(inputShape: readonly number[], g: RefArray): RefArray {
  return sumToShapeRef(g, inputShape);
}
