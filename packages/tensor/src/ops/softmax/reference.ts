/** Float64 references for softmax, logSoftmax and cross-entropy (rows along the last axis). */

/** softmax over the last axis of a row-major (rows, n) array. */
export function softmaxRef(x: ArrayLike<number>, n: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let base = 0; base < x.length; base += n) {
    let m = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < n; j++) m = Math.max(m, x[base + j]);
    let s = 0;
    for (let j = 0; j < n; j++) s += Math.exp(x[base + j] - m);
    for (let j = 0; j < n; j++) out[base + j] = Math.exp(x[base + j] - m) / s;
  }
  return out;
}

export function logSoftmaxRef(x: ArrayLike<number>, n: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let base = 0; base < x.length; base += n) {
    let m = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < n; j++) m = Math.max(m, x[base + j]);
    let s = 0;
    for (let j = 0; j < n; j++) s += Math.exp(x[base + j] - m);
    for (let j = 0; j < n; j++) out[base + j] = x[base + j] - m - Math.log(s);
  }
  return out;
}

/** Gradient of Σ softmax(x) ⊙ g: y ⊙ (g − Σ g ⊙ y) per row. */
export function softmaxBackwardRef(x: ArrayLike<number>, g: ArrayLike<number>, n: number): Float64Array {
  const y = softmaxRef(x, n);
  const out = new Float64Array(x.length);
  for (let base = 0; base < x.length; base += n) {
    let dot = 0;
    for (let j = 0; j < n; j++) dot += g[base + j] * y[base + j];
    for (let j = 0; j < n; j++) out[base + j] = y[base + j] * (g[base + j] - dot);
  }
  return out;
}

/**
 * Cross-entropy of logits (N, C, S) (S = product of spatial dims, 1 if none) with integer targets (N, S),
 * class weights and ignore index; `mean` divides by the summed weights of non-ignored targets.
 */
export function crossEntropyRef(
  logits: ArrayLike<number>,
  target: ArrayLike<number>,
  N: number,
  C: number,
  S: number,
  options: { weight?: ArrayLike<number>; ignoreIndex?: number; reduction?: 'mean' | 'sum' } = {},
): number {
  const ignore = options.ignoreIndex ?? -100;
  let total = 0;
  let weights = 0;
  for (let n = 0; n < N; n++) {
    for (let s = 0; s < S; s++) {
      const t = target[n * S + s];
      if (t === ignore) continue;
      let m = Number.NEGATIVE_INFINITY;
      for (let c = 0; c < C; c++) m = Math.max(m, logits[(n * C + c) * S + s]);
      let z = 0;
      for (let c = 0; c < C; c++) z += Math.exp(logits[(n * C + c) * S + s] - m);
      const logp = logits[(n * C + t) * S + s] - m - Math.log(z);
      const w = options.weight ? options.weight[t] : 1;
      total += -w * logp;
      weights += w;
    }
  }
  return (options.reduction ?? 'mean') === 'mean' ? total / weights : total;
}
