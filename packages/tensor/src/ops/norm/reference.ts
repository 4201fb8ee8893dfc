/**
 * Float64 references of the norms (test-only). Same argument order as the GPU ops, on plain arrays.
 *
 * The dense references normalise a plane (N, C, S) with explicit two-pass statistics and the textbook
 * backward dx = rstd·(g·w − mean(g·w) − x̂·mean(g·w·x̂)). The masked ("sparse") references gather the visible
 * positions into a dense problem, run the dense reference on it and scatter back, with 0 at masked
 * positions — the definition of the SparK / MambaMIM sparse norms (METHODS.md §3.2).
 */

export interface NormRefTensor {
  data: ArrayLike<number>;
  shape: readonly number[];
}

export interface NormGradRef {
  x: Float64Array;
  weight: Float64Array | null;
  bias: Float64Array | null;
}

type Affine = ArrayLike<number> | null;
/** 'voxel': one group per (n, s) over C; 'block': per (n, block of C/G channels); 'batch': per channel. */
type RefGrouping = { kind: 'voxel' } | { kind: 'block'; groups: number } | { kind: 'batch' };

interface Dense {
  N: number;
  C: number;
  S: number;
  x: ArrayLike<number>;
}

function groupIndex(g: RefGrouping, C: number, S: number): (n: number, c: number, s: number) => number {
  if (g.kind === 'voxel') return (n, _c, s) => n * S + s;
  if (g.kind === 'batch') return (_n, c) => c;
  const Cg = C / g.groups;
  return (n, c) => n * g.groups + Math.floor(c / Cg);
}

function groupTotal(g: RefGrouping, N: number, C: number, S: number): number {
  return g.kind === 'voxel' ? N * S : g.kind === 'batch' ? C : N * g.groups;
}

/** Per-group count, mean and biased variance (two passes). */
function denseStats(
  d: Dense,
  grouping: RefGrouping,
): { count: Float64Array; mean: Float64Array; variance: Float64Array } {
  const { N, C, S, x } = d;
  const G = groupTotal(grouping, N, C, S);
  const of = groupIndex(grouping, C, S);
  const count = new Float64Array(G);
  const mean = new Float64Array(G);
  const variance = new Float64Array(G);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let s = 0; s < S; s++) {
        const k = of(n, c, s);
        count[k]++;
        mean[k] += x[(n * C + c) * S + s];
      }
  for (let k = 0; k < G; k++) mean[k] /= Math.max(count[k], 1);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let s = 0; s < S; s++) {
        const k = of(n, c, s);
        variance[k] += (x[(n * C + c) * S + s] - mean[k]) ** 2;
      }
  for (let k = 0; k < G; k++) variance[k] /= Math.max(count[k], 1);
  return { count, mean, variance };
}

interface FixedStats {
  mean: ArrayLike<number>;
  variance: ArrayLike<number>;
}

function denseForward(
  d: Dense,
  grouping: RefGrouping,
  weight: Affine,
  bias: Affine,
  eps: number,
  fixed: FixedStats | null,
): Float64Array {
  const { N, C, S, x } = d;
  const stats = fixed ?? denseStats(d, grouping);
  const of = groupIndex(grouping, C, S);
  const out = new Float64Array(N * C * S);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let s = 0; s < S; s++) {
        const k = of(n, c, s);
        const i = (n * C + c) * S + s;
        const xh = (x[i] - stats.mean[k]) / Math.sqrt(stats.variance[k] + eps);
        out[i] = xh * (weight ? weight[c] : 1) + (bias ? bias[c] : 0);
      }
  return out;
}

function denseBackward(
  d: Dense,
  grouping: RefGrouping,
  weight: Affine,
  dout: ArrayLike<number>,
  eps: number,
  fixed: FixedStats | null,
): { dx: Float64Array; dw: Float64Array; db: Float64Array } {
  const { N, C, S, x } = d;
  const stats = fixed ?? denseStats(d, grouping);
  const of = groupIndex(grouping, C, S);
  const G = groupTotal(grouping, N, C, S);
  const A = new Float64Array(G);
  const B = new Float64Array(G);
  const count = new Float64Array(G);
  const dw = new Float64Array(C);
  const db = new Float64Array(C);
  const xhat = (i: number, k: number) => (x[i] - stats.mean[k]) / Math.sqrt(stats.variance[k] + eps);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let s = 0; s < S; s++) {
        const k = of(n, c, s);
        const i = (n * C + c) * S + s;
        const gw = dout[i] * (weight ? weight[c] : 1);
        A[k] += gw * xhat(i, k);
        B[k] += gw;
        count[k]++;
        dw[c] += dout[i] * xhat(i, k);
        db[c] += dout[i];
      }
  const dx = new Float64Array(N * C * S);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let s = 0; s < S; s++) {
        const k = of(n, c, s);
        const i = (n * C + c) * S + s;
        const r = 1 / Math.sqrt(stats.variance[k] + eps);
        const gw = dout[i] * (weight ? weight[c] : 1);
        dx[i] = fixed ? r * gw : r * (gw - B[k] / count[k] - xhat(i, k) * (A[k] / count[k]));
      }
  return { dx, dw, db };
}

/** Visibility per (n, s) of a mask broadcast to `target` (its last axes are the positions). */
function visibility(mask: NormRefTensor, target: readonly number[], N: number, S: number): Uint8Array {
  const lead = target.length - mask.shape.length;
  const strides = new Array<number>(target.length).fill(0);
  let stride = 1;
  for (let i = mask.shape.length - 1; i >= 0; i--) {
    strides[lead + i] = mask.shape[i] === 1 ? 0 : stride;
    stride *= mask.shape[i];
  }
  const out = new Uint8Array(N * S);
  const coord = new Array<number>(target.length).fill(0);
  for (let flat = 0; flat < N * S; flat++) {
    let rest = flat;
    for (let a = target.length - 1; a >= 0; a--) {
      coord[a] = rest % target[a];
      rest = Math.floor(rest / target[a]);
    }
    let offset = 0;
    for (let a = 0; a < target.length; a++) offset += coord[a] * strides[a];
    out[flat] = mask.data[offset] !== 0 ? 1 : 0;
  }
  return out;
}

/** Dense sub-problems over visible positions: each lists, in (N', C, S') order, the full-tensor indices. */
function subProblems(
  N: number,
  C: number,
  S: number,
  visible: Uint8Array,
  kind: 'voxel' | 'sample' | 'batch',
): { N: number; S: number; index: number[] }[] {
  const positions = (n: number) => Array.from({ length: S }, (_, s) => s).filter((s) => visible[n * S + s]);
  const build = (samples: number[], perSample: number[][]): { N: number; S: number; index: number[] } => {
    const index: number[] = [];
    if (kind === 'voxel') {
      samples.forEach((n, k) => {
        for (const s of perSample[k]) for (let c = 0; c < C; c++) index.push((n * C + c) * S + s);
      });
      return { N: index.length / Math.max(C, 1), S: 1, index };
    }
    for (let c = 0; c < C; c++) {
      samples.forEach((n, k) => {
        for (const s of perSample[k]) index.push((n * C + c) * S + s);
      });
    }
    return { N: 1, S: index.length / Math.max(C, 1), index };
  };
  const all = Array.from({ length: N }, (_, n) => n);
  if (kind === 'sample') return all.map((n) => build([n], [positions(n)])).filter((p) => p.index.length > 0);
  const p = build(all, all.map(positions));
  return p.index.length > 0 ? [p] : [];
}

interface Problem {
  N: number;
  C: number;
  S: number;
  grouping: RefGrouping;
  /** How the masked version regroups the visible positions. */
  sparse: 'voxel' | 'sample' | 'batch';
  target: readonly number[];
}

function solve(
  x: NormRefTensor,
  p: Problem,
  mask: NormRefTensor | null | undefined,
  run: (d: Dense, indices: number[] | null) => void,
): void {
  if (!mask) {
    run({ N: p.N, C: p.C, S: p.S, x: x.data }, null);
    return;
  }
  const visible = visibility(mask, p.target, p.N, p.S);
  for (const sub of subProblems(p.N, p.C, p.S, visible, p.sparse)) {
    const gathered = Float64Array.from(sub.index, (i) => x.data[i]);
    run({ N: sub.N, C: p.C, S: sub.S, x: gathered }, sub.index);
  }
}

function forwardRef(
  x: NormRefTensor,
  p: Problem,
  weight: Affine,
  bias: Affine,
  eps: number,
  mask: NormRefTensor | null | undefined,
  fixed: FixedStats | null = null,
): Float64Array {
  const out = new Float64Array(x.data.length);
  solve(x, p, mask, (d, index) => {
    const y = denseForward(d, p.grouping, weight, bias, eps, fixed);
    if (!index) out.set(y);
    else for (let k = 0; k < index.length; k++) out[index[k]] = y[k];
  });
  return out;
}

function backwardRef(
  x: NormRefTensor,
  p: Problem,
  weight: Affine,
  bias: Affine,
  dout: ArrayLike<number>,
  eps: number,
  mask: NormRefTensor | null | undefined,
  fixed: FixedStats | null = null,
): NormGradRef {
  const dx = new Float64Array(x.data.length);
  const dw = new Float64Array(p.C);
  const db = new Float64Array(p.C);
  solve(x, p, mask, (d, index) => {
    const g = index ? Float64Array.from(index, (i) => dout[i]) : dout;
    const r = denseBackward(d, p.grouping, weight, g, eps, fixed);
    if (!index) dx.set(r.dx);
    else for (let k = 0; k < index.length; k++) dx[index[k]] = r.dx[k];
    for (let c = 0; c < p.C; c++) {
      dw[c] += r.dw[c];
      db[c] += r.db[c];
    }
  });
  return { x: dx, weight: weight ? dw : null, bias: bias ? db : null };
}

export interface LayerNormRefOptions {
  eps?: number;
  axis?: 'last' | 'channels';
  mask?: NormRefTensor | null;
}

function layerProblem(shape: readonly number[], axis: 'last' | 'channels'): Problem {
  const prod = (a: readonly number[]) => a.reduce((x, y) => x * y, 1);
  if (axis === 'last') {
    const N = prod(shape.slice(0, -1));
    return { N, C: shape[shape.length - 1], S: 1, grouping: { kind: 'voxel' }, sparse: 'voxel', target: [N, 1] };
  }
  const S = prod(shape.slice(2));
  return {
    N: shape[0],
    C: shape[1],
    S,
    grouping: { kind: 'voxel' },
    sparse: 'voxel',
    target: [shape[0], 1, ...shape.slice(2)],
  };
}

/** Masks for 'last' are broadcastable to (…, 1): reshaped to the (rows, 1) target. */
function lastMask(x: NormRefTensor, mask: NormRefTensor | null | undefined): NormRefTensor | null {
  if (!mask) return null;
  const rows = x.shape.slice(0, -1);
  const lead = rows.length + 1 - mask.shape.length;
  const full = [...new Array<number>(Math.max(lead, 0)).fill(1), ...mask.shape];
  const data = visibility(
    { data: mask.data, shape: full },
    [...rows, 1],
    1,
    rows.reduce((a, b) => a * b, 1),
  );
  return { data, shape: [data.length, 1] };
}

export function layerNormRef(
  x: NormRefTensor,
  weight: Affine,
  bias: Affine,
  options: LayerNormRefOptions = {},
): Float64Array {
  const axis = options.axis ?? 'last';
  const mask = axis === 'last' ? lastMask(x, options.mask) : options.mask;
  return forwardRef(x, layerProblem(x.shape, axis), weight, bias, options.eps ?? 1e-5, mask);
}

export function layerNormGradRef(
  x: NormRefTensor,
  weight: Affine,
  bias: Affine,
  dout: ArrayLike<number>,
  options: LayerNormRefOptions = {},
): NormGradRef {
  const axis = options.axis ?? 'last';
  const mask = axis === 'last' ? lastMask(x, options.mask) : options.mask;
  return backwardRef(x, layerProblem(x.shape, axis), weight, bias, dout, options.eps ?? 1e-5, mask);
}

export interface NormRefOptions {
  eps?: number;
  mask?: NormRefTensor | null;
}

function channelsProblem(shape: readonly number[], grouping: RefGrouping, sparse: Problem['sparse']): Problem {
  const S = shape.slice(2).reduce((a, b) => a * b, 1);
  return { N: shape[0], C: shape[1], S, grouping, sparse, target: [shape[0], 1, ...shape.slice(2)] };
}

export function groupNormRef(
  x: NormRefTensor,
  groups: number,
  weight: Affine,
  bias: Affine,
  options: NormRefOptions = {},
): Float64Array {
  const p = channelsProblem(x.shape, { kind: 'block', groups }, 'sample');
  return forwardRef(x, p, weight, bias, options.eps ?? 1e-5, options.mask);
}

export function groupNormGradRef(
  x: NormRefTensor,
  groups: number,
  weight: Affine,
  bias: Affine,
  dout: ArrayLike<number>,
  options: NormRefOptions = {},
): NormGradRef {
  const p = channelsProblem(x.shape, { kind: 'block', groups }, 'sample');
  return backwardRef(x, p, weight, bias, dout, options.eps ?? 1e-5, options.mask);
}

export function instanceNorm3dRef(
  x: NormRefTensor,
  weight: Affine,
  bias: Affine,
  options: NormRefOptions = {},
): Float64Array {
  return groupNormRef(x, x.shape[1], weight, bias, options);
}

export function instanceNorm3dGradRef(
  x: NormRefTensor,
  weight: Affine,
  bias: Affine,
  dout: ArrayLike<number>,
  options: NormRefOptions = {},
): NormGradRef {
  return groupNormGradRef(x, x.shape[1], weight, bias, dout, options);
}

export interface BatchNormRefOptions extends NormRefOptions {
  training?: boolean;
  momentum?: number;
}

export interface BatchNormRefResult {
  out: Float64Array;
  /** Updated running statistics (training with running stats), else the inputs unchanged. */
  runningMean: Float64Array | null;
  runningVar: Float64Array | null;
}

export function batchNorm3dRef(
  x: NormRefTensor,
  runningMean: Affine,
  runningVar: Affine,
  weight: Affine,
  bias: Affine,
  options: BatchNormRefOptions = {},
): BatchNormRefResult {
  const training = options.training ?? true;
  const eps = options.eps ?? 1e-5;
  const p = channelsProblem(x.shape, { kind: 'batch' }, 'batch');
  const rm = runningMean ? Float64Array.from(runningMean) : null;
  const rv = runningVar ? Float64Array.from(runningVar) : null;
  if (!training) {
    const fixed = { mean: rm ?? [], variance: rv ?? [] };
    return { out: forwardRef(x, p, weight, bias, eps, options.mask, fixed), runningMean: rm, runningVar: rv };
  }
  const out = forwardRef(x, p, weight, bias, eps, options.mask);
  if (rm && rv) {
    const m = options.momentum ?? 0.1;
    solve(x, p, options.mask, (d) => {
      const st = denseStats(d, p.grouping);
      for (let c = 0; c < p.C; c++) {
        const n = st.count[c];
        rm[c] = (1 - m) * rm[c] + m * st.mean[c];
        rv[c] = (1 - m) * rv[c] + (m * st.variance[c] * n) / Math.max(n - 1, 1);
      }
    });
  }
  return { out, runningMean: rm, runningVar: rv };
}

export function batchNorm3dGradRef(
  x: NormRefTensor,
  runningMean: Affine,
  runningVar: Affine,
  weight: Affine,
  bias: Affine,
  dout: ArrayLike<number>,
  options: BatchNormRefOptions = {},
): NormGradRef {
  const training = options.training ?? true;
  const p = channelsProblem(x.shape, { kind: 'batch' }, 'batch');
  const fixed = training ? null : { mean: runningMean ?? [], variance: runningVar ?? [] };
  return backwardRef(x, p, weight, bias, dout, options.eps ?? 1e-5, options.mask, fixed);
}
