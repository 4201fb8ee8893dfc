/**
 * TOKI — MambaMIM's selective structured state-space token interpolation: fills masked tokens of a raster
 * sequence from the visible ones with a learnable C×C state matrix A. See kernels.ts for the equations of
 * both variants and README.md for how they differ from the paper.
 */
import {
  contiguous,
  DTypeError,
  empty,
  fmtShape,
  grid1d,
  matmul,
  recordOp,
  runKernel,
  ShapeError,
  type Tensor,
  zeros,
} from '@mim/tensor';
import { backwardWgsl, forwardWgsl, padMatrixKernel, type TokiGeometry, tiling, tokiDims } from './kernels.js';

export interface TokiOptions {
  /**
   * `official` (default): what the official MambaMIM code computes (anchors = visible ∪ {0, L−1},
   * linear interpolation times A^{g−1−k}, cumulative sum). `paper`: the paper's Eq. 8 / Algorithm 3 as a
   * linear recurrence h_j = A h_{j−1} + s_j with weights j/(Q+2).
   */
  variant?: 'official' | 'paper';
  /**
   * `intended` (default): token q of the result is T[:, q]. `official`: reproduce the official code's
   * reshape of the position-major (L, C) buffer to (C, L) — channel c′ at position q receives
   * T[(c′·L + q) mod C, ⌊(c′·L + q)/C⌋] — for parity with models trained by the official code.
   */
  layout?: 'intended' | 'official';
}

const MAX_CHANNELS = 1024;

function geometry(features: Tensor, visible: Tensor, A: Tensor, options: TokiOptions): TokiGeometry {
  if (features.dtype !== 'f32' || A.dtype !== 'f32') throw new DTypeError('toki: features and A must be f32');
  if (visible.dtype === 'f32')
    throw new DTypeError(`toki: visible must be a u32/i32 mask (1 = visible), got f32 ${fmtShape(visible.shape)}`);
  if (features.rank !== 3) throw new ShapeError(`toki: features ${fmtShape(features.shape)} must be (batch, C, L)`);
  const [Bt, C, L] = features.shape;
  if (visible.rank !== 2 || visible.shape[0] !== Bt || visible.shape[1] !== L) {
    throw new ShapeError(
      `toki: visible ${fmtShape(visible.shape)} must be (batch, L) = [${Bt}, ${L}] for features ${fmtShape(features.shape)}`,
    );
  }
  if (A.rank !== 2 || A.shape[0] !== C || A.shape[1] !== C)
    throw new ShapeError(`toki: A ${fmtShape(A.shape)} must be (C, C) = [${C}, ${C}]`);
  if (C > MAX_CHANNELS)
    throw new ShapeError(`toki: C = ${C} exceeds ${MAX_CHANNELS} (the recurrence keeps C-vectors in workgroup memory)`);
  if (L === 0 || C === 0 || Bt === 0) throw new ShapeError(`toki: empty input ${fmtShape(features.shape)}`);
  return { Bt, C, L, variant: options.variant ?? 'official' };
}

/** A (C, C) as the zero-padded (CP, CP) rows the kernels read, transposed for the adjoint. */
function padMatrix(A: Tensor, g: TokiGeometry, transposed: boolean): Tensor {
  const { padded } = tiling(g.C);
  const out = empty([padded, padded], 'f32', 'toki');
  runKernel('toki_pad_matrix', padMatrixKernel(g.C, padded, transposed), [A], [out], [Math.ceil(padded / 64), padded]);
  return out;
}

/** out = visible ? F : T (with T read through the official layout scramble when asked). */
function selectKernel(g: TokiGeometry, scrambled: boolean): string {
  const n = g.Bt * g.C * g.L;
  const { rowStride } = grid1d(n);
  const source = scrambled
    ? `let flat = c * ${g.L}u + q; let pos = flat / ${g.C}u; let ch = flat % ${g.C}u; let tv = T[(b * ${g.C}u + ch) * ${g.L}u + pos];`
    : 'let tv = T[i];';
  return `@group(0) @binding(0) var<storage, read> F: array<f32>;
@group(0) @binding(1) var<storage, read> vis: array<u32>;
@group(0) @binding(2) var<storage, read> T: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * ${rowStride}u;
  if (i >= ${n}u) { return; }
  let q = i % ${g.L}u; let c = (i / ${g.L}u) % ${g.C}u; let b = i / ${g.C * g.L}u;
  ${source}
  out[i] = select(tv, F[i], vis[b * ${g.L}u + q] != 0u);
}`;
}

/** dT (intended layout) from the upstream gradient: masked positions only, un-scrambled when needed. */
function gradTKernel(g: TokiGeometry, scrambled: boolean): string {
  const n = g.Bt * g.C * g.L;
  const { rowStride } = grid1d(n);
  // Thread i owns T[b, ch, pos]; in the scrambled layout it fed output (c′, q) with c′·L + q = pos·C + ch.
  const source = scrambled
    ? `let flat = pos * ${g.C}u + ch; let c2 = flat / ${g.L}u; let q = flat % ${g.L}u;`
    : 'let c2 = ch; let q = pos;';
  return `@group(0) @binding(0) var<storage, read> dout: array<f32>;
@group(0) @binding(1) var<storage, read> vis: array<u32>;
@group(0) @binding(2) var<storage, read_write> dT: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * ${rowStride}u;
  if (i >= ${n}u) { return; }
  let pos = i % ${g.L}u; let ch = (i / ${g.L}u) % ${g.C}u; let b = i / ${g.C * g.L}u;
  ${source}
  dT[i] = select(dout[(b * ${g.C}u + c2) * ${g.L}u + q], 0.0, vis[b * ${g.L}u + q] != 0u);
}`;
}

/** dF = (visible ? dout : 0) + GL + GR. */
function gradFKernel(g: TokiGeometry): string {
  const n = g.Bt * g.C * g.L;
  const { rowStride } = grid1d(n);
  return `@group(0) @binding(0) var<storage, read> dout: array<f32>;
@group(0) @binding(1) var<storage, read> vis: array<u32>;
@group(0) @binding(2) var<storage, read> GL: array<f32>;
@group(0) @binding(3) var<storage, read> GR: array<f32>;
@group(0) @binding(4) var<storage, read_write> dF: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * ${rowStride}u;
  if (i >= ${n}u) { return; }
  let q = i % ${g.L}u; let b = i / ${g.C * g.L}u;
  dF[i] = select(0.0, dout[i], vis[b * ${g.L}u + q] != 0u) + GL[i] + GR[i];
}`;
}

/**
 * features: (batch, C, L) in raster order; visible: (batch, L) u32/i32 (1 = visible); A: (C, C).
 * Returns (batch, C, L): visible tokens unchanged, masked tokens interpolated. Differentiable in features and A.
 * Cost is linear in L: one C×C mat-vec pair per position (no matrix powers).
 */
export function toki(features: Tensor, visible: Tensor, A: Tensor, options: TokiOptions = {}): Tensor {
  const scrambled = (options.layout ?? 'intended') === 'official';
  const g = geometry(features, visible, A, options);
  const F = contiguous(features);
  const V = contiguous(visible);
  const Ac = contiguous(A);
  const Ap = padMatrix(Ac, g, false);
  const T = empty([g.Bt, g.C, g.L], 'f32', 'toki');
  runKernel(`toki_${g.variant}`, forwardWgsl(g), [F, V, Ap], [T], [g.L, g.Bt], { uniform: tokiDims(g) });
  const out = empty([g.Bt, g.C, g.L], 'f32', 'toki');
  runKernel('toki_select', selectKernel(g, scrambled), [F, V, T], [out], grid1d(g.Bt * g.C * g.L).workgroups);
  recordOp(
    'toki',
    [features, null, A],
    [out],
    ([dout], [sF, sV, sA, sAp, sT]) => {
      const d = contiguous(dout!);
      const n = g.Bt * g.C * g.L;
      const dT = empty([g.Bt, g.C, g.L], 'f32', 'toki_backward');
      runKernel('toki_grad_t', gradTKernel(g, scrambled), [d, sV], [dT], grid1d(n).workgroups);
      const shape = [g.Bt, g.C, g.L];
      // λ, μ and p_{k+1}, q_{k+1} per position, written as (C, 2·Bt·L) so that dA = left·rightᵀ.
      const left = empty([g.C, 2 * g.Bt * g.L], 'f32', 'toki_backward');
      const right = empty([g.C, 2 * g.Bt * g.L], 'f32', 'toki_backward');
      const GL = zeros(shape);
      const GR = zeros(shape);
      const At = padMatrix(sA, g, true);
      runKernel(
        `toki_${g.variant}_backward`,
        backwardWgsl(g),
        [dT, sT, sAp, At, sF, sV],
        [left, right, GL, GR],
        [g.L, g.Bt],
        { uniform: tokiDims(g) },
      );
      const dF = empty(shape, 'f32', 'toki_backward');
      runKernel('toki_grad_f', gradFKernel(g), [d, sV, GL, GR], [dF], grid1d(n).workgroups);
      const dA = matmul(left, right, { transposeB: true });
      for (const t of [d, dT, left, right, GL, GR, At]) t.dispose();
      return [dF, null, dA];
    },
    [F, V, Ac, Ap, T],
  );
  for (const t of [F, V, Ac, Ap, T]) t.dispose();
  return out;
}
