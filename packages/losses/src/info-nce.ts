/**
 * InfoNCE over cosine similarities (fixture op `info_nce`, MiM's cross-level alignment): rows of `c` and `p` are
 * L2-normalised, s = ĉ·p̂ᵀ/τ, and ℓ_i = logsumexp_k s[i,k] − s[i, pos_i]; the loss is the mean of ℓ.
 */
import {
  DTypeError,
  div,
  fmtShape,
  gather,
  logSoftmax,
  matmul,
  mean,
  mul,
  neg,
  reshape,
  ShapeError,
  sqrt,
  square,
  sum,
  type Tensor,
  tidy,
} from '@mim/tensor';

/** Rows of x (M, D) divided by their Euclidean norm. Differentiable. */
export function normalizeRows(x: Tensor): Tensor {
  return tidy(() => div(x, sqrt(sum(square(x), -1, true))));
}

/**
 * c: (M, D) queries; p: (N, D) candidates; pos: (M) i32 index of each query's positive in [0, N); tau > 0.
 * Returns the scalar loss (shape []), differentiable w.r.t. c and p.
 */
export function infoNce(c: Tensor, p: Tensor, pos: Tensor, tau: number): Tensor {
  const op = 'infoNce';
  if (c.rank !== 2 || p.rank !== 2 || c.shape[1] !== p.shape[1]) {
    throw new ShapeError(
      `${op}: expected c (M, D) and p (N, D) with the same D, got ${fmtShape(c.shape)} and ${fmtShape(p.shape)}`,
    );
  }
  if (pos.rank !== 1 || pos.shape[0] !== c.shape[0]) {
    throw new ShapeError(`${op}: pos ${fmtShape(pos.shape)} must hold one index per row of c (${c.shape[0]})`);
  }
  if (pos.dtype !== 'i32' && pos.dtype !== 'u32') {
    throw new DTypeError(`${op}: pos must be i32 (or u32) indices, got ${pos.dtype}`);
  }
  if (!(tau > 0)) throw new ShapeError(`${op}: the temperature tau must be positive, got ${tau}`);
  const M = c.shape[0];
  return tidy(() => {
    const logits = mul(matmul(normalizeRows(c), normalizeRows(p), { transposeB: true }), 1 / tau);
    const logProbabilities = logSoftmax(logits, -1);
    const picked = gather(logProbabilities, 1, reshape(pos, [M, 1]));
    return neg(mean(picked));
  });
}
