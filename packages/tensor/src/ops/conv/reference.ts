/**
 * Float64 references of conv3d and convTranspose3d (forward and every gradient), plain loops over the
 * definition. Test-only: the library never calls them.
 *
 * Both ops enumerate the same taps: for a conv X (N, CX, D, H, W) → Y (N, CY, D', H', W') with weight
 * (CY, CX/G, kD, kH, kW), tap (n, o, y-voxel, c', a, b, e) links y[n, o, ·] with
 * x[n, g·CX/G + c', od·s − P + a·dil, …] (skipped when outside x). conv3d is Y = Σ w·x; convTranspose3d is the
 * adjoint X = Σ w·y with the weight read as (Cin, Cout/G, …) = (CY, CX/G, …).
 */
export interface RefTensor {
  data: ArrayLike<number>;
  shape: readonly number[];
}

export interface ConvRefOptions {
  stride?: number | readonly number[];
  padding?: number | readonly number[];
  dilation?: number | readonly number[];
  groups?: number;
  outputPadding?: number | readonly number[];
}

const t3 = (v: number | readonly number[] | undefined, d: number): number[] =>
  v === undefined ? [d, d, d] : typeof v === 'number' ? [v, v, v] : [...v];

interface RefGeometry {
  n: number;
  cx: number;
  cy: number;
  g: number;
  x: number[];
  y: number[];
  k: number[];
  s: number[];
  p: number[];
  dil: number[];
}

/** Calls `tap(yIndex, xIndex, wIndex)` for every product term of the convolution. */
function forEachTap(geo: RefGeometry, tap: (yi: number, xi: number, wi: number) => void): void {
  const { n: N, cx, cy, g: G, x, y, k, s, p, dil } = geo;
  const px = cx / G;
  const py = cy / G;
  for (let n = 0; n < N; n++)
    for (let o = 0; o < cy; o++) {
      const group = Math.floor(o / py);
      for (let z = 0; z < y[0]; z++)
        for (let u = 0; u < y[1]; u++)
          for (let v = 0; v < y[2]; v++) {
            const yi = (((n * cy + o) * y[0] + z) * y[1] + u) * y[2] + v;
            for (let c = 0; c < px; c++)
              for (let a = 0; a < k[0]; a++) {
                const iz = z * s[0] - p[0] + a * dil[0];
                if (iz < 0 || iz >= x[0]) continue;
                for (let b = 0; b < k[1]; b++) {
                  const iu = u * s[1] - p[1] + b * dil[1];
                  if (iu < 0 || iu >= x[1]) continue;
                  for (let e = 0; e < k[2]; e++) {
                    const iv = v * s[2] - p[2] + e * dil[2];
                    if (iv < 0 || iv >= x[2]) continue;
                    const xi = (((n * cx + group * px + c) * x[0] + iz) * x[1] + iu) * x[2] + iv;
                    const wi = (((o * px + c) * k[0] + a) * k[1] + b) * k[2] + e;
                    tap(yi, xi, wi);
                  }
                }
              }
          }
    }
}

function convGeometry(x: RefTensor, weight: RefTensor, options: ConvRefOptions): RefGeometry {
  const k = weight.shape.slice(2);
  const s = t3(options.stride, 1);
  const p = t3(options.padding, 0);
  const dil = t3(options.dilation, 1);
  const xs = x.shape.slice(2);
  const y = xs.map((size, i) => Math.floor((size + 2 * p[i] - dil[i] * (k[i] - 1) - 1) / s[i]) + 1);
  return { n: x.shape[0], cx: x.shape[1], cy: weight.shape[0], g: options.groups ?? 1, x: xs, y, k, s, p, dil };
}

function transposedGeometry(x: RefTensor, weight: RefTensor, options: ConvRefOptions): RefGeometry {
  const G = options.groups ?? 1;
  const k = weight.shape.slice(2);
  const s = t3(options.stride, 1);
  const p = t3(options.padding, 0);
  const dil = t3(options.dilation, 1);
  const op = t3(options.outputPadding, 0);
  const ys = x.shape.slice(2);
  const xs = ys.map((size, i) => (size - 1) * s[i] - 2 * p[i] + dil[i] * (k[i] - 1) + op[i] + 1);
  return { n: x.shape[0], cx: weight.shape[1] * G, cy: x.shape[1], g: G, x: xs, y: ys, k, s, p, dil };
}

function addBias(out: Float64Array, bias: RefTensor | null, n: number, c: number, volume: number): void {
  if (!bias) return;
  for (let i = 0; i < n * c; i++) for (let v = 0; v < volume; v++) out[i * volume + v] += bias.data[i % c];
}

function biasGrad(g: ArrayLike<number>, n: number, c: number, volume: number): Float64Array {
  const out = new Float64Array(c);
  for (let i = 0; i < n * c; i++) for (let v = 0; v < volume; v++) out[i % c] += g[i * volume + v];
  return out;
}

const prod = (a: readonly number[]): number => a.reduce((x, y) => x * y, 1);

/** conv3d in float64: x (N, Cin, D, H, W), weight (Cout, Cin/G, kD, kH, kW), bias (Cout) → (N, Cout, D', H', W'). */
export function conv3dRef(
  x: RefTensor,
  weight: RefTensor,
  bias: RefTensor | null,
  options: ConvRefOptions = {},
): { data: Float64Array; shape: number[] } {
  const geo = convGeometry(x, weight, options);
  const out = new Float64Array(geo.n * geo.cy * prod(geo.y));
  forEachTap(geo, (yi, xi, wi) => {
    out[yi] += weight.data[wi] * x.data[xi];
  });
  addBias(out, bias, geo.n, geo.cy, prod(geo.y));
  return { data: out, shape: [geo.n, geo.cy, ...geo.y] };
}

/** Gradients of Σ conv3d(x, weight, bias) ⊙ upstream with respect to x, weight and bias. */
export function conv3dGradRef(
  x: RefTensor,
  weight: RefTensor,
  upstream: ArrayLike<number>,
  options: ConvRefOptions = {},
): { x: Float64Array; weight: Float64Array; bias: Float64Array } {
  const geo = convGeometry(x, weight, options);
  const gx = new Float64Array(x.data.length);
  const gw = new Float64Array(weight.data.length);
  forEachTap(geo, (yi, xi, wi) => {
    gx[xi] += weight.data[wi] * upstream[yi];
    gw[wi] += x.data[xi] * upstream[yi];
  });
  return { x: gx, weight: gw, bias: biasGrad(upstream, geo.n, geo.cy, prod(geo.y)) };
}

/**
 * convTranspose3d in float64: x (N, Cin, D, H, W), weight (Cin, Cout/G, kD, kH, kW), bias (Cout) →
 * (N, Cout, (D−1)·s − 2P + dil·(k−1) + outputPadding + 1, …).
 */
export function convTranspose3dRef(
  x: RefTensor,
  weight: RefTensor,
  bias: RefTensor | null,
  options: ConvRefOptions = {},
): { data: Float64Array; shape: number[] } {
  const geo = transposedGeometry(x, weight, options);
  const out = new Float64Array(geo.n * geo.cx * prod(geo.x));
  forEachTap(geo, (yi, xi, wi) => {
    out[xi] += weight.data[wi] * x.data[yi];
  });
  addBias(out, bias, geo.n, geo.cx, prod(geo.x));
  return { data: out, shape: [geo.n, geo.cx, ...geo.x] };
}

/** Gradients of Σ convTranspose3d(x, weight, bias) ⊙ upstream with respect to x, weight and bias. */
export function convTranspose3dGradRef(
  x: RefTensor,
  weight: RefTensor,
  upstream: ArrayLike<number>,
  options: ConvRefOptions = {},
): { x: Float64Array; weight: Float64Array; bias: Float64Array } {
  const geo = transposedGeometry(x, weight, options);
  const gx = new Float64Array(x.data.length);
  const gw = new Float64Array(weight.data.length);
  forEachTap(geo, (yi, xi, wi) => {
    gx[yi] += weight.data[wi] * upstream[xi];
    gw[wi] += x.data[yi] * upstream[xi];
  });
  return { x: gx, weight: gw, bias: biasGrad(upstream, geo.n, geo.cx, prod(geo.x)) };
}
