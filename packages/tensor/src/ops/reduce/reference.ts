/**
 * Float64 reference of the reductions (sum, mean, max, min, argmax, argmin, variance over any axes, keepdim)
 * and their analytic gradients. Test-only.
 */
import { type RefArray, refSize, refStrides } from '../elementwise/reference.js';

function normaliseAxes(axes: number | readonly number[] | undefined, rank: number): number[] {
  if (axes === undefined) return Array.from({ length: rank }, (_, i) => i);
  const list = typeof axes === 'number' ? [axes] : [...axes];
  return [...new Set(list.map((a) => (a < 0 ? a + rank : a)))].sort((x, y) => x - y);
}

/** Groups the elements of `x` by output position: `groups[o]` lists the input flat indices reduced into o. */
function groups(
  x: RefArray,
  axes: number | readonly number[] | undefined,
): { list: number[][]; keepShape: number[]; outShape: number[] } {
  const reduced = normaliseAxes(axes, x.shape.length);
  const keepShape = x.shape.map((d, i) => (reduced.includes(i) ? 1 : d));
  const outShape = x.shape.filter((_, i) => !reduced.includes(i));
  const keepStrides = refStrides(keepShape);
  const list: number[][] = Array.from({ length: refSize(keepShape) }, () => []);
  const n = x.data.length;
  for (let i = 0; i < n; i++) {
    let rest = i;
    let o = 0;
    for (let d = x.shape.length - 1; d >= 0; d--) {
      const c = rest % x.shape[d];
      rest = Math.floor(rest / x.shape[d]);
      if (!reduced.includes(d)) o += c * keepStrides[d];
    }
    list[o].push(i);
  }
  return { list, keepShape, outShape };
}

function reduceWith(
  x: RefArray,
  axes: number | readonly number[] | undefined,
  keepdim: boolean,
  f: (values: number[], indices: number[]) => number,
): RefArray {
  const { list, keepShape, outShape } = groups(x, axes);
  const data = Float64Array.from(list, (indices) =>
    f(
      indices.map((i) => x.data[i]),
      indices,
    ),
  );
  return { shape: keepdim ? keepShape : outShape, data };
}

export function sumRef(x: RefArray, axes?: number | readonly number[], keepdim = false): RefArray {
  return reduceWith(x, axes, keepdim, (v) => v.reduce((s, a) => s + a, 0));
}

export function meanRef(x: RefArray, axes?: number | readonly number[], keepdim = false): RefArray {
  return reduceWith(x, axes, keepdim, (v) => v.reduce((s, a) => s + a, 0) / v.length);
}

/** NaN propagates (PyTorch amax / amin). */
export function maxRef(x: RefArray, axes?: number | readonly number[], keepdim = false): RefArray {
  return reduceWith(x, axes, keepdim, (v) => (v.some(Number.isNaN) ? Number.NaN : Math.max(...v)));
}

export function minRef(x: RefArray, axes?: number | readonly number[], keepdim = false): RefArray {
  return reduceWith(x, axes, keepdim, (v) => (v.some(Number.isNaN) ? Number.NaN : Math.min(...v)));
}

/** Position along the reduced axis (flattened when `axis` is omitted); ties and NaN: the first one. */
function argRef(kind: 'max' | 'min', x: RefArray, axis: number | undefined, keepdim: boolean): RefArray {
  return reduceWith(x, axis === undefined ? undefined : [axis], keepdim && axis !== undefined, (v) => {
    let best = 0;
    for (let j = 0; j < v.length; j++) {
      if (Number.isNaN(v[j])) return j;
      if (kind === 'max' ? v[j] > v[best] : v[j] < v[best]) best = j;
    }
    return best;
  });
}

export const argmaxRef = (x: RefArray, axis?: number, keepdim = false): RefArray => argRef('max', x, axis, keepdim);
export const argminRef = (x: RefArray, axis?: number, keepdim = false): RefArray => argRef('min', x, axis, keepdim);

export function varianceRef(
  x: RefArray,
  axes?: number | readonly number[],
  options: { correction?: number; keepdim?: boolean } = {},
): RefArray {
  const correction = options.correction ?? 1;
  return reduceWith(x, axes, options.keepdim ?? false, (v) => {
    const m = v.reduce((s, a) => s + a, 0) / v.length;
    return v.reduce((s, a) => s + (a - m) ** 2, 0) / Math.max(v.length - correction, 0);
  });
}

/** Gradient of Σ reduce(x) ⊙ g: `perElement(values, indices, k, upstream)` gives ∂/∂x for member k. */
function reduceGrad(
  x: RefArray,
  axes: number | readonly number[] | undefined,
  g: RefArray,
  perElement: (values: number[], k: number) => number,
): RefArray {
  const { list } = groups(x, axes);
  const data = new Float64Array(x.data.length);
  list.forEach((indices, o) => {
    const values = indices.map((i) => x.data[i]);
    indices.forEach((i, k) => {
      data[i] = g.data[o] * perElement(values, k);
    });
  });
  return { shape: [...x.shape], data };
}

/** `g` has the output shape (with or without keepdim: only its element order matters). */
export const sumGradRef = (x: RefArray, axes: number | readonly number[] | undefined, g: RefArray): RefArray =>
  reduceGrad(x, axes, g, () => 1);

export const meanGradRef = (x: RefArray, axes: number | readonly number[] | undefined, g: RefArray): RefArray =>
  reduceGrad(x, axes, g, (v) => 1 / v.length);

/** Ties share the gradient evenly. */
function extremeGrad(kind: 'max' | 'min', x: RefArray, axes: number | readonly number[] | undefined, g: RefArray) {
  return reduceGrad(x, axes, g, (v, k) => {
    const best = kind === 'max' ? Math.max(...v) : Math.min(...v);
    return v[k] === best ? 1 / v.filter((a) => a === best).length : 0;
  });
}

export const maxGradRef = (x: RefArray, axes: number | readonly number[] | undefined, g: RefArray): RefArray =>
  extremeGrad('max', x, axes, g);
export const minGradRef = (x: RefArray, axes: number | readonly number[] | undefined, g: RefArray): RefArray =>
  extremeGrad('min', x, axes, g);

/** ∂var/∂x_k = 2 (x_k − mean) / (R − correction). */
export function varianceGradRef(
  x: RefArray,
  axes: number | readonly number[] | undefined,
  g: RefArray,
  correction = 1,
): RefArray {
  return reduceGrad(x, axes, g, (v, k) => {
    const m = v.reduce((s, a) => s + a, 0) / v.length;
    return (2 * (v[k] - m)) / Math.max(v.length - correction, 0);
  });
}
