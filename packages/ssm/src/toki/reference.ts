/**
 * Float64 references of TOKI written straight from the definitions (matrix powers and explicit sums, not
 * the recurrence the GPU kernels use), on row-major arrays: F (Bt, C, L), visible (Bt, L), A (C, C).
 */

function matPow(A: Float64Array, C: number, k: number): Float64Array {
  let result = new Float64Array(C * C);
  for (let i = 0; i < C; i++) result[i * C + i] = 1;
  for (let step = 0; step < k; step++) {
    const next = new Float64Array(C * C);
    for (let i = 0; i < C; i++)
      for (let r = 0; r < C; r++) {
        const a = result[i * C + r];
        if (a !== 0) for (let j = 0; j < C; j++) next[i * C + j] += a * A[r * C + j];
      }
    result = next;
  }
  return result;
}

function matVec(M: Float64Array, v: Float64Array, C: number): Float64Array {
  const out = new Float64Array(C);
  for (let i = 0; i < C; i++) {
    let s = 0;
    for (let j = 0; j < C; j++) s += M[i * C + j] * v[j];
    out[i] = s;
  }
  return out;
}

/** The interpolated tokens T (Bt, C, L) before the visible/masked select, intended layout. */
export function tokiTokensRef(
  F: ArrayLike<number>,
  visible: ArrayLike<number>,
  A: ArrayLike<number>,
  Bt: number,
  C: number,
  L: number,
  variant: 'official' | 'paper' = 'official',
): Float64Array {
  const A64 = Float64Array.from(A);
  const T = new Float64Array(Bt * C * L);
  const column = (b: number, t: number) => Float64Array.from({ length: C }, (_, c) => F[(b * C + c) * L + t]);
  const put = (b: number, t: number, v: Float64Array) => {
    for (let c = 0; c < C; c++) T[(b * C + c) * L + t] = v[c];
  };
  for (let b = 0; b < Bt; b++) {
    const anchors = [
      ...new Set([0, L - 1, ...Array.from({ length: L }, (_, t) => t).filter((t) => visible[b * L + t])]),
    ].sort((x, y) => x - y);
    for (let s = 0; s + 1 < anchors.length; s++) {
      const a = anchors[s];
      const e = anchors[s + 1];
      const g = e - a;
      const Fa = column(b, a);
      const Fe = column(b, e);
      if (variant === 'official') {
        const running = new Float64Array(C);
        for (let k = 0; k < g; k++) {
          const alpha = g > 1 ? k / (g - 1) : 0;
          const X = Float64Array.from({ length: C }, (_, c) => (1 - alpha) * Fa[c] + alpha * Fe[c]);
          const P = matVec(matPow(A64, C, g - 1 - k), X, C);
          for (let c = 0; c < C; c++) running[c] += P[c];
          put(b, a + k, running);
        }
      } else {
        // z_j = Σ_{n=0}^{j} A^{j−n} s_n, s_n = (1 − n/(g+1)) F[a] + n/(g+1) F[e]
        for (let j = 0; j < g; j++) {
          const z = new Float64Array(C);
          for (let n = 0; n <= j; n++) {
            const beta = n / (g + 1);
            const sn = Float64Array.from({ length: C }, (_, c) => (1 - beta) * Fa[c] + beta * Fe[c]);
            const term = matVec(matPow(A64, C, j - n), sn, C);
            for (let c = 0; c < C; c++) z[c] += term[c];
          }
          put(b, a + j, z);
        }
      }
    }
    const last = column(b, L - 1);
    put(b, L - 1, variant === 'official' ? matVec(A64, last, C) : last);
  }
  return T;
}

/** The full op: visible tokens keep F, masked tokens take T (optionally through the official layout scramble). */
export function tokiRefCpu(
  F: ArrayLike<number>,
  visible: ArrayLike<number>,
  A: ArrayLike<number>,
  Bt: number,
  C: number,
  L: number,
  options: { variant?: 'official' | 'paper'; layout?: 'intended' | 'official' } = {},
): Float64Array {
  const T = tokiTokensRef(F, visible, A, Bt, C, L, options.variant);
  const out = new Float64Array(Bt * C * L);
  for (let b = 0; b < Bt; b++)
    for (let c = 0; c < C; c++)
      for (let q = 0; q < L; q++) {
        const i = (b * C + c) * L + q;
        if (visible[b * L + q]) {
          out[i] = F[i];
        } else if (options.layout === 'official') {
          const flat = c * L + q; // position-major (L, C) buffer read back as (C, L)
          out[i] = T[(b * C + (flat % C)) * L + Math.floor(flat / C)];
        } else {
          out[i] = T[i];
        }
      }
  return out;
}
