/**
 * Float64 references of concat, stack, pad, gather, indexSelect, scatterAdd, oneHot and cumsum (test-only; the
 * library never calls them). Arrays are row-major `{ shape, data }` (the same layout as `RefArray`).
 */

export interface IndexingRefArray {
  shape: number[];
  data: Float64Array;
}

type RefInput = { shape: readonly number[]; data: ArrayLike<number> };

const size = (shape: readonly number[]): number => shape.reduce((p, d) => p * d, 1);
const normalise = (axis: number, rank: number): number => (axis < 0 ? axis + rank : axis);

function strides(shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    out[i] = s;
    s *= shape[i];
  }
  return out;
}

function unravel(i: number, shape: readonly number[]): number[] {
  const coords = new Array<number>(shape.length);
  let rest = i;
  for (let d = shape.length - 1; d >= 0; d--) {
    coords[d] = rest % shape[d];
    rest = Math.floor(rest / shape[d]);
  }
  return coords;
}

const ravel = (coords: readonly number[], st: readonly number[]): number =>
  coords.reduce((p, c, d) => p + c * st[d], 0);

/** Concatenation along `axis`: out shape = inputs' shape with axis = Σ sizes. */
export function concatRef(inputs: readonly RefInput[], axis: number): IndexingRefArray {
  const a = normalise(axis, inputs[0].shape.length);
  const shape = [...inputs[0].shape];
  shape[a] = inputs.reduce((p, x) => p + x.shape[a], 0);
  const data = new Float64Array(size(shape));
  const outStrides = strides(shape);
  let start = 0;
  for (const x of inputs) {
    for (let i = 0; i < x.data.length; i++) {
      const c = unravel(i, x.shape);
      c[a] += start;
      data[ravel(c, outStrides)] = x.data[i];
    }
    start += x.shape[a];
  }
  return { shape, data };
}

/** Stacking along a new axis `axis`. */
export function stackRef(inputs: readonly RefInput[], axis: number): IndexingRefArray {
  const rank = inputs[0].shape.length + 1;
  const a = normalise(axis, rank);
  const expanded = inputs.map((x) => ({ shape: [...x.shape.slice(0, a), 1, ...x.shape.slice(a)], data: x.data }));
  return concatRef(expanded, a);
}

/** Constant padding, torch.nn.functional.pad order ([left_last, right_last, left_prev, …]); negative crops. */
export function padRef(x: RefInput, pads: readonly number[], value = 0): IndexingRefArray {
  const rank = x.shape.length;
  const left = new Array<number>(rank).fill(0);
  const shape = [...x.shape];
  for (let k = 0; k < pads.length / 2; k++) {
    const d = rank - 1 - k;
    left[d] = pads[2 * k];
    shape[d] += pads[2 * k] + pads[2 * k + 1];
  }
  const data = new Float64Array(size(shape));
  const inStrides = strides(x.shape);
  for (let i = 0; i < data.length; i++) {
    const c = unravel(i, shape).map((v, d) => v - left[d]);
    const inside = c.every((v, d) => v >= 0 && v < x.shape[d]);
    data[i] = inside ? x.data[ravel(c, inStrides)] : value;
  }
  return { shape, data };
}

/** torch.gather: out[c] = x[c with c[axis] = index[c]]; out shape = index shape. */
export function gatherRef(x: RefInput, axis: number, index: RefInput): IndexingRefArray {
  const a = normalise(axis, x.shape.length);
  const shape = [...index.shape];
  const data = new Float64Array(size(shape));
  const xStrides = strides(x.shape);
  for (let i = 0; i < data.length; i++) {
    const c = unravel(i, shape);
    c[a] = index.data[i];
    data[i] = x.data[ravel(c, xStrides)];
  }
  return { shape, data };
}

/** torch.index_select: out[…, j, …] = x[…, indices[j], …] along `axis`. */
export function indexSelectRef(x: RefInput, axis: number, indices: ArrayLike<number>): IndexingRefArray {
  const a = normalise(axis, x.shape.length);
  const shape = [...x.shape];
  shape[a] = indices.length;
  const data = new Float64Array(size(shape));
  const xStrides = strides(x.shape);
  for (let i = 0; i < data.length; i++) {
    const c = unravel(i, shape);
    c[a] = indices[c[a]];
    data[i] = x.data[ravel(c, xStrides)];
  }
  return { shape, data };
}

/** torch.scatter_add: out = target; out[c with c[axis] = index[c]] += src[c] for every c in index's shape. */
export function scatterAddRef(target: RefInput, axis: number, index: RefInput, src: RefInput): IndexingRefArray {
  const a = normalise(axis, target.shape.length);
  const data = Float64Array.from(target.data);
  const outStrides = strides(target.shape);
  const srcStrides = strides(src.shape);
  for (let i = 0; i < index.data.length; i++) {
    const c = unravel(i, index.shape);
    const from = ravel(c, srcStrides);
    c[a] = index.data[i];
    data[ravel(c, outStrides)] += src.data[from];
  }
  return { shape: [...target.shape], data };
}

/** out[…, k] = (indices[…] == k), shape [...indices.shape, numClasses]. */
export function oneHotRef(indices: RefInput, numClasses: number): IndexingRefArray {
  const data = new Float64Array(indices.data.length * numClasses);
  for (let i = 0; i < indices.data.length; i++) {
    const k = indices.data[i];
    if (k >= 0 && k < numClasses) data[i * numClasses + k] = 1;
  }
  return { shape: [...indices.shape, numClasses], data };
}

/** Inclusive prefix sum along `axis` (from the end when `reverse`). */
export function cumsumRef(x: RefInput, axis: number, reverse = false): IndexingRefArray {
  const a = normalise(axis, x.shape.length);
  const L = x.shape[a];
  const inner = size(x.shape.slice(a + 1));
  const outer = size(x.shape.slice(0, a));
  const data = new Float64Array(x.data.length);
  for (let o = 0; o < outer; o++) {
    for (let k = 0; k < inner; k++) {
      let acc = 0;
      for (let j = 0; j < L; j++) {
        const t = reverse ? L - 1 - j : j;
        const at = (o * L + t) * inner + k;
        acc += x.data[at];
        data[at] = acc;
      }
    }
  }
  return { shape: [...x.shape], data };
}
