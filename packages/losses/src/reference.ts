/**
 * Float64 references of the losses, in plain TypeScript (tests only; never called by the library). Same
 * semantics as fixtures/README.md (`masked_mse_normpix`, `info_nce`).
 */

/** Patch q, element e of a (B, C, H, W, D) volume in the (B, L, C·p³) layout of `patchify`. */
function patchIndex(shape: readonly number[], p: number): Int32Array {
  const [B, C, H, W, D] = shape;
  const [h, w, d] = [H / p, W / p, D / p];
  const index = new Int32Array(B * C * H * W * D);
  let k = 0;
  for (let b = 0; b < B; b++)
    for (let i = 0; i < h; i++)
      for (let j = 0; j < w; j++)
        for (let l = 0; l < d; l++)
          for (let c = 0; c < C; c++)
            for (let a = 0; a < p; a++)
              for (let e = 0; e < p; e++)
                for (let f = 0; f < p; f++) {
                  index[k++] = (((b * C + c) * H + i * p + a) * W + j * p + e) * D + l * p + f;
                }
  return index;
}

export interface MaskedMseNormPixRef {
  loss: number;
  /** ∂loss/∂prediction in the volume layout. */
  gradPrediction: Float64Array;
}

/** Float64 `masked_mse_normpix`: loss and its gradient w.r.t. the prediction. */
export function maskedMseNormPixRef(
  prediction: ArrayLike<number>,
  target: ArrayLike<number>,
  visible: ArrayLike<number>,
  shape: readonly number[],
  patchSize: number,
): MaskedMseNormPixRef {
  const index = patchIndex(shape, patchSize);
  const n = shape[1] * patchSize ** 3;
  const patches = index.length / n;
  let count = 0;
  for (let q = 0; q < patches; q++) count += 1 - visible[q];
  const denominator = count + 1e-8;
  let loss = 0;
  const gradPrediction = new Float64Array(index.length);
  for (let q = 0; q < patches; q++) {
    let mu = 0;
    for (let e = 0; e < n; e++) mu += target[index[q * n + e]];
    mu /= n;
    let ss = 0;
    for (let e = 0; e < n; e++) ss += (target[index[q * n + e]] - mu) ** 2;
    const scale = 1 / Math.sqrt(ss / (n - 1) + 1e-6);
    const m = 1 - visible[q];
    let err = 0;
    for (let e = 0; e < n; e++) {
      const at = index[q * n + e];
      const diff = prediction[at] - (target[at] - mu) * scale;
      err += diff * diff;
      gradPrediction[at] = (m * 2 * diff) / (n * denominator);
    }
    loss += (m * err) / n;
  }
  return { loss: loss / denominator, gradPrediction };
}

export interface InfoNceRef {
  loss: number;
  gradC: Float64Array;
  gradP: Float64Array;
}

/** Float64 `info_nce` for c (M, D), p (N, D): loss and gradients (analytic). */
export function infoNceRef(
  c: ArrayLike<number>,
  p: ArrayLike<number>,
  pos: ArrayLike<number>,
  M: number,
  N: number,
  D: number,
  tau: number,
): InfoNceRef {
  const unit = (x: ArrayLike<number>, rows: number) => {
    const out = new Float64Array(rows * D);
    const norms = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      let s = 0;
      for (let k = 0; k < D; k++) s += x[r * D + k] ** 2;
      norms[r] = Math.sqrt(s);
      for (let k = 0; k < D; k++) out[r * D + k] = x[r * D + k] / norms[r];
    }
    return { out, norms };
  };
  const cu = unit(c, M);
  const pu = unit(p, N);
  const dS = new Float64Array(M * N); // ∂loss/∂s
  let loss = 0;
  for (let i = 0; i < M; i++) {
    const logits = new Float64Array(N);
    let top = Number.NEGATIVE_INFINITY;
    for (let k = 0; k < N; k++) {
      let s = 0;
      for (let e = 0; e < D; e++) s += cu.out[i * D + e] * pu.out[k * D + e];
      logits[k] = s / tau;
      top = Math.max(top, logits[k]);
    }
    let z = 0;
    for (let k = 0; k < N; k++) z += Math.exp(logits[k] - top);
    loss += top + Math.log(z) - logits[pos[i]];
    for (let k = 0; k < N; k++) dS[i * N + k] = Math.exp(logits[k] - top) / z / tau / M;
    dS[i * N + pos[i]] -= 1 / tau / M;
  }
  // ∂/∂ĉ = dS·p̂, ∂/∂p̂ = dSᵀ·ĉ; through x̂ = x/‖x‖: g_x = (g − x̂(x̂·g))/‖x‖.
  const back = (g: Float64Array, u: { out: Float64Array; norms: Float64Array }, rows: number) => {
    const out = new Float64Array(rows * D);
    for (let r = 0; r < rows; r++) {
      let dot = 0;
      for (let e = 0; e < D; e++) dot += u.out[r * D + e] * g[r * D + e];
      for (let e = 0; e < D; e++) out[r * D + e] = (g[r * D + e] - u.out[r * D + e] * dot) / u.norms[r];
    }
    return out;
  };
  const gcu = new Float64Array(M * D);
  const gpu = new Float64Array(N * D);
  for (let i = 0; i < M; i++)
    for (let k = 0; k < N; k++)
      for (let e = 0; e < D; e++) {
        gcu[i * D + e] += dS[i * N + k] * pu.out[k * D + e];
        gpu[k * D + e] += dS[i * N + k] * cu.out[i * D + e];
      }
  return { loss: loss / M, gradC: back(gcu, cu, M), gradP: back(gpu, pu, N) };
}
