/**
 * Depthwise causal 1-D convolution of Mamba blocks (mamba_ssm's `causal_conv1d_fn`):
 *
 *   out[b,d,t] = act( bias[d] + Σ_{k<K} weight[d,k] · x[b,d,t−(K−1)+k] ),   x[·,·,<0] = 0, act ∈ {identity, silu}
 *
 * i.e. `conv1d(x, weight[:, None, :], bias, padding=K−1, groups=dim)[..., :L]`. Forward and backward are WGSL
 * kernels; the weight and bias gradients are per-(batch, time-chunk) partial sums reduced in a second pass.
 */
import {
  copy,
  empty,
  fmtShape,
  grid1d,
  MATH_HELPERS,
  narrow,
  needsGrad,
  noGrad,
  recordOp,
  reshape,
  runKernel,
  ShapeError,
  type Tensor,
  zeros,
} from '@mim/tensor';
import { dense, sumMiddle } from '../scan/launch.js';

export interface CausalConv1dOptions {
  /** Applied after the bias (default none). */
  activation?: 'silu' | null;
}

const OP = 'causalConv1d';
/** Time steps per partial sum of the weight gradient. */
const TIME_CHUNK = 256;

interface ConvGeometry {
  batch: number;
  dim: number;
  len: number;
  K: number;
  silu: boolean;
  hasBias: boolean;
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/** WGSL statements adding Σ_k w[d,k]·x[row + t − (K−1) + k] to `acc` (the causal window, unrolled). */
function window(g: ConvGeometry): string {
  return range(g.K)
    .map((k) => {
      const back = g.K - 1 - k;
      const guard = back === 0 ? '' : `if (t >= ${back}u) `;
      return `${guard}{ acc = acc + w[d * ${g.K}u + ${k}u] * x[row + t - ${back}u]; }`;
    })
    .join('\n  ');
}

function forwardKernel(g: ConvGeometry, rowStride: number): string {
  const n = g.batch * g.dim * g.len;
  return `${MATH_HELPERS}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
${g.hasBias ? '@group(0) @binding(2) var<storage, read> bias: array<f32>;' : ''}
@group(0) @binding(${g.hasBias ? 3 : 2}) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * ${rowStride}u;
  if (i >= ${n}u) { return; }
  let t = i % ${g.len}u;
  let row = i - t;
  let d = (i / ${g.len}u) % ${g.dim}u;
  var acc = ${g.hasBias ? 'bias[d]' : '0.0'};
  ${window(g)}
  out[i] = ${g.silu ? 'acc * sigmoid1(acc)' : 'acc'};
}`;
}

/** dpre = dout · silu'(pre), recomputing pre. */
function activationBackwardKernel(g: ConvGeometry, rowStride: number): string {
  const n = g.batch * g.dim * g.len;
  return `${MATH_HELPERS}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
${g.hasBias ? '@group(0) @binding(2) var<storage, read> bias: array<f32>;' : ''}
@group(0) @binding(${g.hasBias ? 3 : 2}) var<storage, read> dout: array<f32>;
@group(0) @binding(${g.hasBias ? 4 : 3}) var<storage, read_write> dpre: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * ${rowStride}u;
  if (i >= ${n}u) { return; }
  let t = i % ${g.len}u;
  let row = i - t;
  let d = (i / ${g.len}u) % ${g.dim}u;
  var acc = ${g.hasBias ? 'bias[d]' : '0.0'};
  ${window(g)}
  let s = sigmoid1(acc);
  dpre[i] = dout[i] * s * (1.0 + acc * (1.0 - s));
}`;
}

/** dx[t] = Σ_k w[d,k] · dpre[t + (K−1) − k] (terms past L are zero). */
function inputBackwardKernel(g: ConvGeometry, rowStride: number): string {
  const n = g.batch * g.dim * g.len;
  const terms = range(g.K)
    .map((k) => {
      const ahead = g.K - 1 - k;
      const guard = ahead === 0 ? '' : `if (t + ${ahead}u < ${g.len}u) `;
      return `${guard}{ acc = acc + w[d * ${g.K}u + ${k}u] * dpre[i + ${ahead}u]; }`;
    })
    .join('\n  ');
  return `@group(0) @binding(0) var<storage, read> dpre: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * ${rowStride}u;
  if (i >= ${n}u) { return; }
  let t = i % ${g.len}u;
  let d = (i / ${g.len}u) % ${g.dim}u;
  var acc = 0.0;
  ${terms}
  dx[i] = acc;
}`;
}

/**
 * Partial weight/bias gradients per (batch, time chunk, d): part[(b·nT + c)·D·(K+1) + d·(K+1) + k] =
 * Σ_{t ∈ chunk c} dpre[b,d,t]·x[b,d,t−(K−1)+k], and index K holds Σ dpre.
 */
function weightBackwardKernel(g: ConvGeometry, chunks: number, rowStride: number): string {
  const n = g.batch * chunks * g.dim;
  const width = g.K + 1;
  const accumulate = range(g.K)
    .map((k) => {
      const back = g.K - 1 - k;
      const guard = back === 0 ? '' : `if (t >= ${back}u) `;
      return `${guard}{ a${k} = a${k} + gy * x[row + t - ${back}u]; }`;
    })
    .join('\n    ');
  return `@group(0) @binding(0) var<storage, read> dpre: array<f32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> part: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * ${rowStride}u;
  if (i >= ${n}u) { return; }
  let d = i % ${g.dim}u;
  let bc = i / ${g.dim}u;
  let c = bc % ${chunks}u;
  let b = bc / ${chunks}u;
  let row = (b * ${g.dim}u + d) * ${g.len}u;
  ${range(g.K)
    .map((k) => `var a${k} = 0.0;`)
    .join(' ')}
  var ab = 0.0;
  let t1 = min((c + 1u) * ${TIME_CHUNK}u, ${g.len}u);
  for (var t = c * ${TIME_CHUNK}u; t < t1; t = t + 1u) {
    let gy = dpre[row + t];
    ab = ab + gy;
    ${accumulate}
  }
  let base = (bc * ${g.dim}u + d) * ${width}u;
  ${range(g.K)
    .map((k) => `part[base + ${k}u] = a${k};`)
    .join(' ')}
  part[base + ${g.K}u] = ab;
}`;
}

/**
 * Causal depthwise conv1d. x: (batch, dim, L), weight: (dim, K) (or PyTorch's (dim, 1, K)), bias: (dim) or
 * null → (batch, dim, L). Handles L < K and L = 1 (missing past samples are zeros).
 */
export function causalConv1d(
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null = null,
  options: CausalConv1dOptions = {},
): Tensor {
  if (x.rank !== 3) throw new ShapeError(`${OP}: x has shape ${fmtShape(x.shape)}, expected (batch, dim, L)`);
  const [batch, dim, len] = x.shape;
  const w2 = weight.rank === 3 && weight.shape[1] === 1 ? reshape(weight, [weight.shape[0], weight.shape[2]]) : weight;
  if (w2.rank !== 2 || w2.shape[0] !== dim || w2.shape[1] < 1) {
    throw new ShapeError(
      `${OP}: weight has shape ${fmtShape(weight.shape)}, expected (dim, K) = (${dim}, K) for x ${fmtShape(x.shape)}`,
    );
  }
  if (bias && (bias.rank !== 1 || bias.shape[0] !== dim)) {
    throw new ShapeError(`${OP}: bias has shape ${fmtShape(bias.shape)}, expected (${dim})`);
  }
  for (const [name, t] of [
    ['x', x],
    ['weight', w2],
    ['bias', bias],
  ] as const) {
    if (t && t.dtype !== 'f32') throw new ShapeError(`${OP}: ${name} must be f32, got ${t.dtype}`);
  }
  const act = options.activation ?? null;
  if (act !== null && act !== 'silu') {
    throw new ShapeError(`${OP}: activation must be 'silu' or null, got ${JSON.stringify(act)}`);
  }
  const g: ConvGeometry = { batch, dim, len, K: w2.shape[1], silu: act === 'silu', hasBias: bias !== null };
  const n = batch * dim * len;
  const save = needsGrad(x, w2, bias);
  const { out, saved } = noGrad(() => {
    const xd = dense(x);
    const wd = dense(w2);
    const bd = bias ? dense(bias) : null;
    const out = empty([batch, dim, len], 'f32', OP);
    if (n > 0) {
      const { workgroups, rowStride } = grid1d(n, 64);
      runKernel(OP, forwardKernel(g, rowStride), bd ? [xd, wd, bd] : [xd, wd], [out], workgroups);
    }
    const saved = [xd, wd, ...(bd ? [bd] : [])];
    if (!save) for (const t of saved) t.dispose();
    return { out, saved };
  });
  if (save) {
    recordOp(OP, [x, w2, bias], [out], ([gradOut], kept, needs) => conv1dBackward(g, gradOut!, kept, needs), saved);
    for (const t of saved) t.dispose();
  }
  if (w2 !== weight) w2.dispose();
  return out;
}

function conv1dBackward(g: ConvGeometry, gradOut: Tensor, kept: Tensor[], needs: boolean[]): (Tensor | null)[] {
  const [xd, wd, bd] = kept;
  const n = g.batch * g.dim * g.len;
  return noGrad(() => {
    const dout = dense(gradOut);
    const { workgroups, rowStride } = grid1d(Math.max(n, 1), 64);
    let dpre = dout;
    if (g.silu && n > 0) {
      dpre = empty([g.batch, g.dim, g.len], 'f32', `${OP}_backward`);
      runKernel(
        `${OP}_activation_backward`,
        activationBackwardKernel(g, rowStride),
        bd ? [xd, wd, bd, dout] : [xd, wd, dout],
        [dpre],
        workgroups,
      );
      dout.dispose();
    }
    let dx: Tensor | null = null;
    if (needs[0]) {
      dx = empty([g.batch, g.dim, g.len], 'f32', `${OP}_backward`);
      if (n > 0) runKernel(`${OP}_input_backward`, inputBackwardKernel(g, rowStride), [dpre, wd], [dx], workgroups);
    }
    let dw: Tensor | null = null;
    let db: Tensor | null = null;
    if (needs[1] || needs[2]) {
      const chunks = Math.max(1, Math.ceil(g.len / TIME_CHUNK));
      const width = g.K + 1;
      const part = empty([g.batch * chunks * g.dim * width], 'f32', `${OP}_backward`);
      const rows = g.batch * chunks * g.dim;
      if (n > 0) {
        const grid = grid1d(rows, 64);
        runKernel(
          `${OP}_weight_backward`,
          weightBackwardKernel(g, chunks, grid.rowStride),
          [dpre, xd],
          [part],
          grid.workgroups,
        );
      } else {
        part.dispose();
      }
      const summed = n > 0 ? sumMiddle(`${OP}_weight_reduce`, part, 0, 1, g.batch * chunks, g.dim * width) : null;
      if (n > 0) part.dispose();
      const table = summed ? reshape(summed, [g.dim, width]) : null;
      if (needs[1]) {
        if (table) {
          const view = narrow(table, 1, 0, g.K);
          dw = copy(view);
          view.dispose();
        } else dw = zeros([g.dim, g.K]);
      }
      if (needs[2]) {
        if (table) {
          const view = narrow(table, 1, g.K, 1);
          const col = copy(view);
          view.dispose();
          db = reshape(col, [g.dim]);
          if (db !== col) col.dispose();
        } else db = zeros([g.dim]);
      }
      table?.dispose();
      summed?.dispose();
    }
    if (dpre !== dout) dpre.dispose();
    else dout.dispose();
    return [dx, dw, db];
  });
}
