/**
 * WGSL for TOKI. One workgroup per (position t, sample b); it works only when t starts a segment
 * (an anchor other than L − 1) or is the last position, so no CPU readback of the mask is needed.
 * The C-vectors of the recurrence live in workgroup memory; each of the 64 threads owns channels
 * lid, lid + 64, … and computes those rows of every mat-vec.
 *
 * Official variant, segment [a, e), g = e − a (METHODS.md §2.4):
 *   p_{g−1} = F[a], q_{g−1} = F[e] − F[a];  p_k = A p_{k+1}, q_k = A q_{k+1}
 *   V_k = p_k + α_k q_k (α_k = k/(g−1), 0 if g = 1);  T[a+j] = Σ_{k≤j} V_k;  T[L−1] = A F[L−1]
 * Paper variant (Eq. 8, B̄′ absorbed into A): s_j = (1 − β_j) F[a] + β_j F[e], β_j = j/(g+1);
 *   h_0 = s_0, h_j = A h_{j−1} + s_j;  T[a+j] = h_j;  T[L−1] = F[L−1]
 */

export const THREADS = 64;

export interface TokiGeometry {
  Bt: number;
  C: number;
  L: number;
  variant: 'official' | 'paper';
}

function channelsPerThread(C: number): number {
  return Math.ceil(C / THREADS);
}

/** Shared preamble: which segment this workgroup owns (uniform values via workgroupUniformLoad). */
function segmentPreamble(g: TokiGeometry): string {
  return `
var<workgroup> s_flag: u32;
var<workgroup> s_end: u32;
fn visible(b: u32, t: u32) -> bool { return vis[b * ${g.L}u + t] != 0u; }
fn at(b: u32, c: u32, t: u32) -> u32 { return (b * ${g.C}u + c) * ${g.L}u + t; }
`;
}

/** Code that sets `kind` (0 = idle, 1 = segment start, 2 = last position) and `e` uniformly. */
function classify(g: TokiGeometry): string {
  return `if (lid == 0u) {
    var kind = 0u;
    var end = t + 1u;
    if (t == ${g.L - 1}u) { kind = 2u; }
    else if (t == 0u || visible(b, t)) {
      kind = 1u;
      while (end < ${g.L - 1}u && !visible(b, end)) { end = end + 1u; }
    }
    s_flag = kind; s_end = end;
  }
  let kind = workgroupUniformLoad(&s_flag);
  let e = workgroupUniformLoad(&s_end);`;
}

/** Σ_r A[c, r] v[r] (or Σ_r A[r, c] v[r] when transposed) for a workgroup vector `v`. */
function matvec(C: number, vector: string, transposed: boolean): string {
  return transposed
    ? `fn mv_${vector}(c: u32) -> f32 { var s = 0.0; for (var r = 0u; r < ${C}u; r = r + 1u) { s = s + A[r * ${C}u + c] * ${vector}[r]; } return s; }`
    : `fn mv_${vector}(c: u32) -> f32 { var s = 0.0; for (var r = 0u; r < ${C}u; r = r + 1u) { s = s + A[c * ${C}u + r] * ${vector}[r]; } return s; }`;
}

const forEachChannel = (C: number, body: string) =>
  `for (var i = 0u; i < ${channelsPerThread(C)}u; i = i + 1u) { let c = lid + i * ${THREADS}u; if (c < ${C}u) { ${body} } }`;

/** Forward: writes T (Bt, C, L) for every position (also visible ones: the official layout reads them). */
export function forwardWgsl(g: TokiGeometry): string {
  const { C } = g;
  const cpt = channelsPerThread(C);
  const official = g.variant === 'official';
  const segment = official
    ? `
    forEachChannel_init
    workgroupBarrier();
    for (var step = 0u; step < len; step = step + 1u) {
      let k = len - 1u - step;
      let alpha = select(0.0, f32(k) / f32(len - 1u), len > 1u);
      ${forEachChannel(C, 'T[at(b, c, t + k)] = sp[c] + alpha * sq[c];')}
      if (k > 0u) {
        var np: array<f32, ${cpt}>; var nq: array<f32, ${cpt}>;
        ${forEachChannel(C, 'np[i] = mv_sp(c); nq[i] = mv_sq(c);')}
        workgroupBarrier();
        ${forEachChannel(C, 'sp[c] = np[i]; sq[c] = nq[i];')}
        workgroupBarrier();
      }
    }
    ${forEachChannel(C, `var acc = 0.0; for (var j = 0u; j < len; j = j + 1u) { acc = acc + T[at(b, c, t + j)]; T[at(b, c, t + j)] = acc; }`)}`.replace(
        'forEachChannel_init',
        forEachChannel(C, 'sp[c] = F[at(b, c, t)]; sq[c] = F[at(b, c, e)] - F[at(b, c, t)];'),
      )
    : `
    ${forEachChannel(C, 'sp[c] = F[at(b, c, t)]; T[at(b, c, t)] = sp[c];')}
    workgroupBarrier();
    for (var j = 1u; j < len; j = j + 1u) {
      let beta = f32(j) / f32(len + 1u);
      var np: array<f32, ${cpt}>;
      ${forEachChannel(C, 'np[i] = mv_sp(c) + (1.0 - beta) * F[at(b, c, t)] + beta * F[at(b, c, e)];')}
      workgroupBarrier();
      ${forEachChannel(C, 'sp[c] = np[i]; T[at(b, c, t + j)] = np[i];')}
      workgroupBarrier();
    }`;
  const last = official
    ? `${forEachChannel(C, 'sp[c] = F[at(b, c, t)];')}
    workgroupBarrier();
    ${forEachChannel(C, 'T[at(b, c, t)] = mv_sp(c);')}`
    : forEachChannel(C, 'T[at(b, c, t)] = F[at(b, c, t)];');
  return `@group(0) @binding(0) var<storage, read> F: array<f32>;
@group(0) @binding(1) var<storage, read> vis: array<u32>;
@group(0) @binding(2) var<storage, read> A: array<f32>;
@group(0) @binding(3) var<storage, read_write> T: array<f32>;
var<workgroup> sp: array<f32, ${C}>;
var<workgroup> sq: array<f32, ${C}>;
${segmentPreamble(g)}
${matvec(C, 'sp', false)}
${matvec(C, 'sq', false)}
@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = wid.x; let b = wid.y;
  ${classify(g)}
  if (kind == 0u) { return; }
  if (kind == 2u) {
    ${last}
    return;
  }
  let len = e - t;
  ${segment}
}`;
}

/**
 * Backward over segments. Inputs: dT (Bt, C, L) — the gradient reaching T (masked positions only, already
 * un-scrambled), T, A, F. Outputs (all (Bt, C, L)): LAM, MU (adjoints λ, μ per position), PS, QS (the matching
 * p_{k+1}, q_{k+1} columns, zero where there is none), GL (gradient into F at segment starts and L − 1),
 * GR (gradient into F at segment ends). dA = Σ LAM·PSᵀ + MU·QSᵀ is formed afterwards by a matmul.
 * GL and GR must be zero-initialised: only anchor positions are written.
 */
export function backwardWgsl(g: TokiGeometry): string {
  const { C } = g;
  const cpt = channelsPerThread(C);
  const official = g.variant === 'official';
  const segment = official
    ? `
    // Rebuild p_k, q_k (k = g−1 … 0) and store p_{k+1}, q_{k+1} at position a + k (zero for k = g − 1).
    ${forEachChannel(C, 'sp[c] = F[at(b, c, t)]; sq[c] = F[at(b, c, e)] - F[at(b, c, t)]; PS[at(b, c, t + len - 1u)] = 0.0; QS[at(b, c, t + len - 1u)] = 0.0;')}
    workgroupBarrier();
    for (var step = 0u; step + 1u < len; step = step + 1u) {
      let k = len - 1u - step;
      ${forEachChannel(C, 'PS[at(b, c, t + k - 1u)] = sp[c]; QS[at(b, c, t + k - 1u)] = sq[c];')}
      var np: array<f32, ${cpt}>; var nq: array<f32, ${cpt}>;
      ${forEachChannel(C, 'np[i] = mv_sp(c); nq[i] = mv_sq(c);')}
      workgroupBarrier();
      ${forEachChannel(C, 'sp[c] = np[i]; sq[c] = nq[i];')}
      workgroupBarrier();
    }
    // dV_k = Σ_{j≥k} dT[a + j], kept in LAM until the adjoint overwrites it.
    ${forEachChannel(C, 'var acc = 0.0; for (var step = 0u; step < len; step = step + 1u) { let j = len - 1u - step; acc = acc + dT[at(b, c, t + j)]; LAM[at(b, c, t + j)] = acc; } sl[c] = 0.0; sm[c] = 0.0;')}
    workgroupBarrier();
    // Adjoints forward in k: λ_k = dV_k + Aᵀ λ_{k−1}, μ_k = α_k dV_k + Aᵀ μ_{k−1}.
    for (var k = 0u; k < len; k = k + 1u) {
      let alpha = select(0.0, f32(k) / f32(len - 1u), len > 1u);
      var nl: array<f32, ${cpt}>; var nm: array<f32, ${cpt}>;
      ${forEachChannel(C, 'let dv = LAM[at(b, c, t + k)]; nl[i] = dv + mv_sl(c); nm[i] = alpha * dv + mv_sm(c);')}
      workgroupBarrier();
      ${forEachChannel(C, 'sl[c] = nl[i]; sm[c] = nm[i]; LAM[at(b, c, t + k)] = nl[i]; MU[at(b, c, t + k)] = nm[i];')}
      workgroupBarrier();
    }
    ${forEachChannel(C, 'GL[at(b, c, t)] = sl[c] - sm[c]; GR[at(b, c, e)] = sm[c];')}`
    : `
    var gl: array<f32, ${cpt}>; var gr: array<f32, ${cpt}>;
    ${forEachChannel(C, 'sl[c] = 0.0; gl[i] = 0.0; gr[i] = 0.0;')}
    workgroupBarrier();
    for (var step = 0u; step < len; step = step + 1u) {
      let j = len - 1u - step;
      let beta = f32(j) / f32(len + 1u);
      var nl: array<f32, ${cpt}>;
      ${forEachChannel(C, 'nl[i] = dT[at(b, c, t + j)] + mv_sl(c);')}
      workgroupBarrier();
      ${forEachChannel(
        C,
        `sl[c] = nl[i]; LAM[at(b, c, t + j)] = nl[i]; MU[at(b, c, t + j)] = 0.0; QS[at(b, c, t + j)] = 0.0;
        PS[at(b, c, t + j)] = select(0.0, T[at(b, c, t + max(j, 1u) - 1u)], j > 0u);
        gl[i] = gl[i] + (1.0 - beta) * nl[i]; gr[i] = gr[i] + beta * nl[i];`,
      )}
      workgroupBarrier();
    }
    ${forEachChannel(C, 'GL[at(b, c, t)] = gl[i]; GR[at(b, c, e)] = gr[i];')}`;
  const last = official
    ? `${forEachChannel(C, 'sl[c] = dT[at(b, c, t)];')}
    workgroupBarrier();
    ${forEachChannel(C, 'GL[at(b, c, t)] = mv_sl(c); LAM[at(b, c, t)] = dT[at(b, c, t)]; PS[at(b, c, t)] = F[at(b, c, t)]; MU[at(b, c, t)] = 0.0; QS[at(b, c, t)] = 0.0;')}`
    : forEachChannel(
        C,
        'GL[at(b, c, t)] = dT[at(b, c, t)]; LAM[at(b, c, t)] = 0.0; PS[at(b, c, t)] = 0.0; MU[at(b, c, t)] = 0.0; QS[at(b, c, t)] = 0.0;',
      );
  return `@group(0) @binding(0) var<storage, read> dT: array<f32>;
@group(0) @binding(1) var<storage, read> T: array<f32>;
@group(0) @binding(2) var<storage, read> A: array<f32>;
@group(0) @binding(3) var<storage, read> F: array<f32>;
@group(0) @binding(4) var<storage, read> vis: array<u32>;
@group(0) @binding(5) var<storage, read_write> LAM: array<f32>;
@group(0) @binding(6) var<storage, read_write> MU: array<f32>;
@group(0) @binding(7) var<storage, read_write> PS: array<f32>;
@group(0) @binding(8) var<storage, read_write> QS: array<f32>;
@group(0) @binding(9) var<storage, read_write> GL: array<f32>;
@group(0) @binding(10) var<storage, read_write> GR: array<f32>;
var<workgroup> sl: array<f32, ${C}>;
var<workgroup> sm: array<f32, ${C}>;
${official ? `var<workgroup> sp: array<f32, ${C}>;\nvar<workgroup> sq: array<f32, ${C}>;` : ''}
${segmentPreamble(g)}
${matvec(C, 'sl', true)}
${matvec(C, 'sm', true)}
${official ? `${matvec(C, 'sp', false)}\n${matvec(C, 'sq', false)}` : ''}
@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let t = wid.x; let b = wid.y;
  ${classify(g)}
  if (kind == 0u) { return; }
  if (kind == 2u) {
    ${last}
    return;
  }
  let len = e - t;
  ${segment}
}`;
}
