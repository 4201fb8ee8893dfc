/**
 * Float64 reference of the Mamba block (METHODS.md §1.1, §1.4) on plain arrays, straight from the equations.
 * Weights by their PyTorch names; h: (B, L, d) row-major.
 */
export type MambaWeights = Record<string, Float64Array>;

export interface MambaRefDims {
  B: number;
  L: number;
  d: number;
  E: number;
  N: number;
  R: number;
  K: number;
}

const silu = (v: number) => v / (1 + Math.exp(-v));
const softplus = (v: number) => (v > 20 ? v : Math.log1p(Math.exp(v)));

/** y[b, l, o] = Σ_i W[o, i] x[b, l, i] for x (B, L, I) and W (O, I). */
function linear(x: Float64Array, W: Float64Array, rows: number, I: number, O: number): Float64Array {
  const out = new Float64Array(rows * O);
  for (let r = 0; r < rows; r++)
    for (let o = 0; o < O; o++) {
      let s = 0;
      for (let i = 0; i < I; i++) s += W[o * I + i] * x[r * I + i];
      out[r * O + o] = s;
    }
  return out;
}

/** SiLU(causal depthwise conv1d) over channel-last x (B, L, E). */
function convSilu(x: Float64Array, dims: MambaRefDims, conv: Float64Array, convBias: Float64Array): Float64Array {
  const { B, L, E, K } = dims;
  const u = new Float64Array(B * L * E);
  for (let b = 0; b < B; b++)
    for (let l = 0; l < L; l++)
      for (let e = 0; e < E; e++) {
        let s = convBias[e];
        for (let k = 0; k < K; k++) {
          const t = l - (K - 1) + k;
          if (t >= 0) s += conv[e * K + k] * x[(b * L + t) * E + e];
        }
        u[(b * L + l) * E + e] = silu(s);
      }
  return u;
}

/** One direction on channel-last sequences: x, z (B, L, E) → y (B, L, E) (gated, D skip included). */
function direction(
  x: Float64Array,
  z: Float64Array,
  dims: MambaRefDims,
  w: {
    conv: Float64Array;
    convBias: Float64Array;
    xProj: Float64Array;
    dtW: Float64Array;
    dtB: Float64Array;
    ALog: Float64Array;
    D: Float64Array;
  },
): Float64Array {
  return scanOnly(convSilu(x, dims, w.conv, w.convBias), z, dims, w);
}

function flipSeq(x: Float64Array, B: number, L: number, F: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let b = 0; b < B; b++)
    for (let l = 0; l < L; l++) for (let f = 0; f < F; f++) out[(b * L + l) * F + f] = x[(b * L + (L - 1 - l)) * F + f];
  return out;
}

export function mambaRef(
  h: Float64Array,
  w: MambaWeights,
  dims: MambaRefDims,
  mode: 'none' | 'v1' | 'v2' = 'none',
): Float64Array {
  const { B, L, d, E } = dims;
  const xz = linear(h, w['in_proj.weight'], B * L, d, 2 * E);
  const x = new Float64Array(B * L * E);
  const z = new Float64Array(B * L * E);
  for (let r = 0; r < B * L; r++)
    for (let e = 0; e < E; e++) {
      x[r * E + e] = xz[r * 2 * E + e];
      z[r * E + e] = xz[r * 2 * E + E + e];
    }
  const forward = {
    conv: w['conv1d.weight'],
    convBias: w['conv1d.bias'],
    xProj: w['x_proj.weight'],
    dtW: w['dt_proj.weight'],
    dtB: w['dt_proj.bias'],
    ALog: w.A_log,
    D: w.D,
  };
  let y = direction(x, z, dims, forward);
  if (mode === 'v1') {
    // Shared conv (computed in forward order), projections and D; A_b; the scan runs on the flipped sequence.
    const reversed = directionOnConv(x, z, dims, { ...forward, ALog: w.A_b_log });
    y = y.map((v, i) => v + reversed[i]);
  } else if (mode === 'v2') {
    const yb = direction(flipSeq(x, B, L, E), flipSeq(z, B, L, E), dims, {
      conv: w['conv1d_b.weight'],
      convBias: w['conv1d_b.bias'],
      xProj: w['x_proj_b.weight'],
      dtW: w['dt_proj_b.weight'],
      dtB: w['dt_proj_b.bias'],
      ALog: w.A_b_log,
      D: w.D_b,
    });
    const back = flipSeq(yb, B, L, E);
    y = y.map((v, i) => (v + back[i]) / 2);
  }
  return linear(y, w['out_proj.weight'], B * L, E, d);
}

/** v1's backward term: conv in forward order, then the scan over the flipped (u, Δ, B, C, z), flipped back. */
function directionOnConv(
  x: Float64Array,
  z: Float64Array,
  dims: MambaRefDims,
  w: {
    conv: Float64Array;
    convBias: Float64Array;
    xProj: Float64Array;
    dtW: Float64Array;
    dtB: Float64Array;
    ALog: Float64Array;
    D: Float64Array;
  },
): Float64Array {
  const { B, L, E } = dims;
  const u = convSilu(x, dims, w.conv, w.convBias);
  const uf = flipSeq(u, B, L, E);
  const zf = flipSeq(z, B, L, E);
  const y = scanOnly(uf, zf, dims, w);
  return flipSeq(y, B, L, E);
}

function scanOnly(
  u: Float64Array,
  z: Float64Array,
  dims: MambaRefDims,
  w: { xProj: Float64Array; dtW: Float64Array; dtB: Float64Array; ALog: Float64Array; D: Float64Array },
): Float64Array {
  const { B, L, E, N, R } = dims;
  const xdbl = linear(u, w.xProj, B * L, E, R + 2 * N);
  const y = new Float64Array(B * L * E);
  for (let b = 0; b < B; b++)
    for (let e = 0; e < E; e++) {
      const h = new Float64Array(N);
      for (let l = 0; l < L; l++) {
        const row = (b * L + l) * (R + 2 * N);
        let dt = w.dtB[e];
        for (let r = 0; r < R; r++) dt += w.dtW[e * R + r] * xdbl[row + r];
        dt = softplus(dt);
        const ue = u[(b * L + l) * E + e];
        let out = 0;
        for (let n = 0; n < N; n++) {
          h[n] = Math.exp(dt * -Math.exp(w.ALog[e * N + n])) * h[n] + dt * xdbl[row + R + n] * ue;
          out += xdbl[row + R + N + n] * h[n];
        }
        y[(b * L + l) * E + e] = (out + w.D[e] * ue) * silu(z[(b * L + l) * E + e]);
      }
    }
  return y;
}
