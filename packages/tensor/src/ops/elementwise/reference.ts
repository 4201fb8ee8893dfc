/**
 * Float64 reference of the elementwise ops (binary with NumPy broadcasting, comparisons, where, clamp, unary)
 * and their analytic gradients. Test-only: the library never calls it. Arrays are row-major `RefArray`s.
 */

/** A float64 row-major array with its shape. */
export interface RefArray {
  shape: number[];
  data: Float64Array;
}

export function refArray(data: ArrayLike<number>, shape: readonly number[]): RefArray {
  const size = shape.reduce((p, d) => p * d, 1);
  if (data.length !== size) throw new Error(`refArray: ${data.length} values for shape [${shape.join(', ')}]`);
  return { shape: [...shape], data: Float64Array.from(data) };
}

export function refSize(shape: readonly number[]): number {
  return shape.reduce((p, d) => p * d, 1);
}

export function refStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

export function broadcastShapesRef(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  return Array.from({ length: rank }, (_, i) => {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error(`broadcastShapesRef: [${a}] vs [${b}]`);
    return da === 1 ? db : da;
  });
}

/** For each flat index of `out`, the flat index into an array of shape `shape` broadcast to `out`. */
function broadcastIndex(shape: readonly number[], out: readonly number[]): Int32Array {
  const n = refSize(out);
  const index = new Int32Array(n);
  const strides = refStrides(shape);
  const lead = out.length - shape.length;
  for (let i = 0; i < n; i++) {
    let rest = i;
    let k = 0;
    for (let d = out.length - 1; d >= 0; d--) {
      const c = rest % out[d];
      rest = Math.floor(rest / out[d]);
      if (d >= lead && shape[d - lead] !== 1) k += c * strides[d - lead];
    }
    index[i] = k;
  }
  return index;
}

/** Broadcasts `x` to `shape` (a copy). */
export function broadcastToRef(x: RefArray, shape: readonly number[]): RefArray {
  const out = [...shape];
  broadcastShapesRef(x.shape, out);
  const index = broadcastIndex(x.shape, out);
  return { shape: out, data: Float64Array.from(index, (k) => x.data[k]) };
}

/** Sums a broadcast array back to `shape` (the adjoint of broadcasting). */
export function sumToShapeRef(g: RefArray, shape: readonly number[]): RefArray {
  const index = broadcastIndex(shape, g.shape);
  const data = new Float64Array(refSize(shape));
  for (let i = 0; i < g.data.length; i++) data[index[i]] += g.data[i];
  return { shape: [...shape], data };
}

/** Applies `f` to the broadcast operands. */
export function mapRef(inputs: readonly RefArray[], f: (...values: number[]) => number): RefArray {
  const shape = inputs.map((x) => x.shape).reduce((a, b) => broadcastShapesRef(a, b), [] as number[]);
  const indices = inputs.map((x) => broadcastIndex(x.shape, shape));
  const data = new Float64Array(refSize(shape));
  const args = new Array<number>(inputs.length);
  for (let i = 0; i < data.length; i++) {
    for (let k = 0; k < inputs.length; k++) args[k] = inputs[k].data[indices[k][i]];
    data[i] = f(...args);
  }
  return { shape, data };
}

export type BinaryOpName = 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'minimum' | 'maximum';

/** PyTorch's pow for real inputs: negative bases only with integer exponents (NaN otherwise). */
export function powScalarRef(a: number, b: number): number {
  if (b === 0) return 1;
  if (a < 0 && !Number.isInteger(b)) return Number.NaN;
  return a ** b;
}

const BINARY: Record<BinaryOpName, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: powScalarRef,
  minimum: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? Number.NaN : Math.min(a, b)),
  maximum: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? Number.NaN : Math.max(a, b)),
};

/** ∂op/∂a and ∂op/∂b at (a, b). min/max ties split the gradient evenly; pow's ∂/∂b is 0 where a ≤ 0. */
const BINARY_PARTIALS: Record<BinaryOpName, (a: number, b: number) => [number, number]> = {
  add: () => [1, 1],
  sub: () => [1, -1],
  mul: (a, b) => [b, a],
  div: (a, b) => [1 / b, -a / (b * b)],
  pow: (a, b) => [b === 0 ? 0 : b * powScalarRef(a, b - 1), a > 0 ? a ** b * Math.log(a) : 0],
  minimum: (a, b) => (a === b ? [0.5, 0.5] : a < b ? [1, 0] : [0, 1]),
  maximum: (a, b) => (a === b ? [0.5, 0.5] : a > b ? [1, 0] : [0, 1]),
};

export function binaryRef(op: BinaryOpName, a: RefArray, b: RefArray): RefArray {
  return mapRef([a, b], BINARY[op]);
}

/** Analytic gradients of Σ op(a, b) ⊙ g with respect to a and b (reduced to their shapes). */
export function binaryGradRef(op: BinaryOpName, a: RefArray, b: RefArray, g: RefArray): [RefArray, RefArray] {
  const ga = mapRef([a, b, g], (x, y, u) => u * BINARY_PARTIALS[op](x, y)[0]);
  const gb = mapRef([a, b, g], (x, y, u) => u * BINARY_PARTIALS[op](x, y)[1]);
  return [sumToShapeRef(ga, a.shape), sumToShapeRef(gb, b.shape)];
}

export const addRef = (a: RefArray, b: RefArray): RefArray => binaryRef('add', a, b);
export const subRef = (a: RefArray, b: RefArray): RefArray => binaryRef('sub', a, b);
export const mulRef = (a: RefArray, b: RefArray): RefArray => binaryRef('mul', a, b);
export const divRef = (a: RefArray, b: RefArray): RefArray => binaryRef('div', a, b);
export const powRef = (a: RefArray, b: RefArray): RefArray => binaryRef('pow', a, b);
export const minimumRef = (a: RefArray, b: RefArray): RefArray => binaryRef('minimum', a, b);
export const maximumRef = (a: RefArray, b: RefArray): RefArray => binaryRef('maximum', a, b);

export type CompareOpName = 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge';

const COMPARE: Record<CompareOpName, (a: number, b: number) => boolean> = {
  eq: (a, b) => a === b,
  ne: (a, b) => a !== b,
  lt: (a, b) => a < b,
  le: (a, b) => a <= b,
  gt: (a, b) => a > b,
  ge: (a, b) => a >= b,
};

/** 1 where the comparison holds, else 0. */
export function compareRef(op: CompareOpName, a: RefArray, b: RefArray): RefArray {
  return mapRef([a, b], (x, y) => (COMPARE[op](x, y) ? 1 : 0));
}

/** cond ≠ 0 ? a : b, all three broadcast. */
export function whereRef(cond: RefArray, a: RefArray, b: RefArray): RefArray {
  return mapRef([cond, a, b], (c, x, y) => (c !== 0 ? x : y));
}

/** Gradients of where with respect to a and b (reduced to their shapes). */
export function whereGradRef(cond: RefArray, a: RefArray, b: RefArray, g: RefArray): [RefArray, RefArray] {
  const ga = mapRef([cond, g], (c, u) => (c !== 0 ? u : 0));
  const gb = mapRef([cond, g], (c, u) => (c !== 0 ? 0 : u));
  return [sumToShapeRef(ga, a.shape), sumToShapeRef(gb, b.shape)];
}

export function clampRef(x: RefArray, lo = Number.NEGATIVE_INFINITY, hi = Number.POSITIVE_INFINITY): RefArray {
  return mapRef([x], (v) => Math.min(Math.max(v, lo), hi));
}

/** The gradient passes where lo ≤ x ≤ hi (PyTorch). */
export function clampGradRef(
  x: RefArray,
  g: RefArray,
  lo = Number.NEGATIVE_INFINITY,
  hi = Number.POSITIVE_INFINITY,
): RefArray {
  return mapRef([x, g], (v, u) => (v >= lo && v <= hi ? u : 0));
}

/** erf to ~1e-16 relative: Taylor series for |x| < 2.5, continued fraction for erfc beyond. */
export function erfRef(x: number): number {
  const z = Math.abs(x);
  if (z < 2.5) {
    let term = z;
    let total = z;
    for (let n = 1; n < 200; n++) {
      term *= (-z * z) / n;
      const add = term / (2 * n + 1);
      total += add;
      if (Math.abs(add) < 1e-17 * Math.abs(total)) break;
    }
    return Math.sign(x) * ((2 / Math.sqrt(Math.PI)) * total);
  }
  return Math.sign(x) * (1 - erfcLarge(z));
}

/** erfc(z) for z ≥ 2.5 by Lentz's continued fraction. */
function erfcLarge(z: number): number {
  // erfc(z) = exp(-z²)/√π · 1/(z + 1/2/(z + 1/(z + 3/2/(z + …))))
  let f = z;
  let c = z;
  let d = 0;
  for (let n = 1; n < 300; n++) {
    const an = n / 2;
    d = z + an * d;
    d = d === 0 ? 1e-300 : 1 / d;
    c = z + an / c;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-z * z) / Math.sqrt(Math.PI) / f;
}

/** Standard normal CDF with relative accuracy in both tails. */
export function normalCdfRef(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const tail = 0.5 * (z < 2.5 ? 1 - erfRef(z) : erfcLarge(z));
  return x < 0 ? tail : 1 - tail;
}

const sigmoidScalar = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

export type UnaryOpName =
  | 'neg'
  | 'abs'
  | 'exp'
  | 'log'
  | 'sqrt'
  | 'rsqrt'
  | 'square'
  | 'reciprocal'
  | 'tanh'
  | 'sigmoid'
  | 'relu'
  | 'gelu'
  | 'silu'
  | 'softplus';

/** Forward and derivative of each unary op (derivative at kinks as PyTorch: abs'(0) = 0, relu'(0) = 0). */
export const UNARY_REFERENCE: Record<UnaryOpName, { f: (x: number) => number; df: (x: number) => number }> = {
  neg: { f: (x) => -x, df: () => -1 },
  abs: { f: Math.abs, df: (x) => Math.sign(x) },
  exp: { f: Math.exp, df: Math.exp },
  log: { f: Math.log, df: (x) => 1 / x },
  sqrt: { f: Math.sqrt, df: (x) => 0.5 / Math.sqrt(x) },
  rsqrt: { f: (x) => 1 / Math.sqrt(x), df: (x) => -0.5 * x ** -1.5 },
  square: { f: (x) => x * x, df: (x) => 2 * x },
  reciprocal: { f: (x) => 1 / x, df: (x) => -1 / (x * x) },
  tanh: { f: Math.tanh, df: (x) => 1 - Math.tanh(x) ** 2 },
  sigmoid: { f: sigmoidScalar, df: (x) => sigmoidScalar(x) * (1 - sigmoidScalar(x)) },
  relu: { f: (x) => Math.max(x, 0), df: (x) => (x > 0 ? 1 : 0) },
  gelu: {
    f: (x) => x * normalCdfRef(x),
    df: (x) => normalCdfRef(x) + (x * Math.exp(-0.5 * x * x)) / Math.sqrt(2 * Math.PI),
  },
  silu: {
    f: (x) => x * sigmoidScalar(x),
    df: (x) => sigmoidScalar(x) * (1 + x * (1 - sigmoidScalar(x))),
  },
  softplus: {
    f: (x) => (x > 20 ? x : Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)))),
    df: (x) => (x > 20 ? 1 : sigmoidScalar(x)),
  },
};

export function unaryRef(op: UnaryOpName, x: RefArray): RefArray {
  return mapRef([x], UNARY_REFERENCE[op].f);
}

/** Analytic gradient of Σ op(x) ⊙ g with respect to x. */
export function unaryGradRef(op: UnaryOpName, x: RefArray, g: RefArray): RefArray {
  return mapRef([x, g], (v, u) => u * UNARY_REFERENCE[op].df(v));
}
