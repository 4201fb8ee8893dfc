/**
 * Float64 CPU reference of the causal depthwise conv1d (fixtures/README.md, op `causal_conv1d`), for tests.
 */
export function causalConv1dReference(
  x: ArrayLike<number>,
  weight: ArrayLike<number>,
  bias: ArrayLike<number> | null,
  sizes: { batch: number; dim: number; len: number; K: number },
  activation: 'silu' | null,
): Float64Array {
  const { batch, dim, len, K } = sizes;
  const out = new Float64Array(batch * dim * len);
  for (let b = 0; b < batch; b++) {
    for (let d = 0; d < dim; d++) {
      const row = (b * dim + d) * len;
      for (let t = 0; t < len; t++) {
        let acc = bias ? bias[d] : 0;
        for (let k = 0; k < K; k++) {
          const s = t - (K - 1) + k;
          if (s >= 0) acc += weight[d * K + k] * x[row + s];
        }
        out[row + t] = activation === 'silu' ? acc / (1 + Math.exp(-acc)) : acc;
      }
    }
  }
  return out;
}
