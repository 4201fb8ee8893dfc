/**
 * Float64 CPU reference of the selective scan (fixtures/README.md, op `selective_scan`), for tests only:
 * a direct loop over (b, d, n, l). Never called by the library.
 */
export interface ScanReferenceInput {
  batch: number;
  dim: number;
  len: number;
  state: number;
  /** Groups of B/C (1 for (batch, N, L)). */
  groups: number;
  u: ArrayLike<number>;
  delta: ArrayLike<number>;
  A: ArrayLike<number>;
  /** (batch, G, N, L) row-major (G = 1 for the ungrouped layout). */
  B: ArrayLike<number>;
  C: ArrayLike<number>;
  D?: ArrayLike<number> | null;
  z?: ArrayLike<number> | null;
  deltaBias?: ArrayLike<number> | null;
  initialState?: ArrayLike<number> | null;
  deltaSoftplus?: boolean;
}

export function softplusReference(v: number): number {
  return v > 20 ? v : Math.log1p(Math.exp(v));
}

/** out (batch, dim, L) and lastState (batch, dim, N) in float64. */
export function selectiveScanReference(p: ScanReferenceInput): { out: Float64Array; lastState: Float64Array } {
  const { batch, dim, len, state: N, groups } = p;
  const out = new Float64Array(batch * dim * len);
  const lastState = new Float64Array(batch * dim * N);
  const perGroup = dim / groups;
  for (let b = 0; b < batch; b++) {
    for (let d = 0; d < dim; d++) {
      const g = Math.floor(d / perGroup);
      const row = (b * dim + d) * len;
      const h = new Float64Array(N);
      if (p.initialState) for (let n = 0; n < N; n++) h[n] = p.initialState[(b * dim + d) * N + n];
      for (let l = 0; l < len; l++) {
        let dt = p.delta[row + l] + (p.deltaBias ? p.deltaBias[d] : 0);
        if (p.deltaSoftplus) dt = softplusReference(dt);
        const uu = p.u[row + l];
        let y = p.D ? p.D[d] * uu : 0;
        for (let n = 0; n < N; n++) {
          const bc = ((b * groups + g) * N + n) * len + l;
          h[n] = Math.exp(dt * p.A[d * N + n]) * h[n] + dt * p.B[bc] * uu;
          y += p.C[bc] * h[n];
        }
        if (p.z) {
          const zz = p.z[row + l];
          y *= zz / (1 + Math.exp(-zz));
        }
        out[row + l] = y;
      }
      for (let n = 0; n < N; n++) lastState[(b * dim + d) * N + n] = h[n];
    }
  }
  return { out, lastState };
}
