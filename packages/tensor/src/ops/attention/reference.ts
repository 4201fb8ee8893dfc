/** Float64 reference of scaled dot-product attention on row-major (batch, L, d) / (batch, S, d) / (batch, S, dv). */
export function attentionRef(
  q: ArrayLike<number>,
  k: ArrayLike<number>,
  v: ArrayLike<number>,
  dims: { batch: number; L: number; S: number; d: number; dv: number; scale?: number; causal?: boolean },
  keep?: (b: number, i: number, j: number) => boolean,
): Float64Array {
  const { batch, L, S, d, dv } = dims;
  const scale = dims.scale ?? 1 / Math.sqrt(d);
  const out = new Float64Array(batch * L * dv);
  const scores = new Float64Array(S);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < L; i++) {
      let m = Number.NEGATIVE_INFINITY;
      for (let j = 0; j < S; j++) {
        let s = 0;
        for (let c = 0; c < d; c++) s += q[(b * L + i) * d + c] * k[(b * S + j) * d + c];
        const allowed = (!dims.causal || j <= i) && (!keep || keep(b, i, j));
        scores[j] = allowed ? s * scale : Number.NEGATIVE_INFINITY;
        m = Math.max(m, scores[j]);
      }
      if (m === Number.NEGATIVE_INFINITY) continue; // fully masked row: zeros
      let z = 0;
      for (let j = 0; j < S; j++) z += Math.exp(scores[j] - m);
      for (let j = 0; j < S; j++) {
        const p = Math.exp(scores[j] - m) / z;
        for (let c = 0; c < dv; c++) out[(b * L + i) * dv + c] += p * v[(b * S + j) * dv + c];
      }
    }
  }
  return out;
}
