/**
 * WGSL for TOKI. One workgroup per (position t, sample b); it works only when t starts a segment
 * (an anchor other than L − 1) or is the last position, so no CPU readback of the mask is needed.
 *
 * Official variant, segment [a, e), g = e − a (METHODS.md §2.4):
 *   p_{g−1} = F[a], q_{g−1} = F[e] − F[a];  p_k = A p_{k+1}, q_k = A q_{k+1}
 *   V_k = p_k + α_k q_k (α_k = k/(g−1), 0 if g = 1);  T[a+j] = Σ_{k≤j} V_k;  T[L−1] = A F[L−1]
 * Paper variant (Eq. 8, B̄′ absorbed into A): s_j = (1 − β_j) F[a] + β_j F[e], β_j = j/(g+1);
 *   h_0 = s_0, h_j = A h_{j−1} + s_j;  T[a+j] = h_j;  T[L−1] = F[L−1]
 *
 * The mat-vecs are the whole cost. The C-vectors of the recurrence live in workgroup memory as vec4s, zero-padded
 * to CP = 4·⌈C/4⌉ channels, and A (or Aᵀ for the adjoint) comes zero-padded to CP × CP from `padMatrixKernel`,
 * computed once per call: every invocation reads contiguous vec4 rows and no loop needs a scalar tail.
 * Invocation `lid` owns the channel quads lid, lid + THREADS, …; for each it keeps the four rows' sums in
 * registers, and both vectors of a pair (p and q, λ and μ) are multiplied in the same pass over A, so each vec4
 * of A feeds eight multiply-adds. L and the batch size arrive in a uniform, so one pipeline serves every length.
 */

export interface TokiGeometry {
  Bt: number;
  C: number;
  L: number;
  variant: 'official' | 'paper';
}

/** How channels map to invocations. */
export interface TokiTiling {
  /** C rounded up to a multiple of 4: the padded width of A and of the workgroup vectors. */
  padded: number;
  /** padded / 4: vec4s per vector. */
  quads: number;
  /** Invocations per workgroup. */
  threads: number;
  /** Channel quads per invocation. */
  perThread: number;
}

export function tiling(C: number): TokiTiling {
  const padded = Math.ceil(C / 4) * 4;
  const quads = padded / 4;
  // Fewest (threads × quads per thread) slots, at most 64 threads: a workgroup runs on one CPU thread of a
  // software adapter, so idle slots are pure waste there.
  let best = { threads: 64, perThread: Math.ceil(quads / 64) };
  for (const threads of [32, 16, 8, 4]) {
    const perThread = Math.ceil(quads / threads);
    if (threads * perThread < best.threads * best.perThread) best = { threads, perThread };
  }
  return { padded, quads, ...best };
}

/** The uniform of both kernels: (L, batch). */
export function tokiDims(g: TokiGeometry): Uint32Array {
  return new Uint32Array([g.L, g.Bt, 0, 0]);
}

/** Loop over the quads this invocation owns: `q` is the quad, `i` its slot in the private arrays. */
const eachQuad = (body: string) =>
  `for (var i = 0u; i < PT; i = i + 1u) { let q = lid + i * THREADS; if (q < Q) { ${body} } }`;
/** Loop over this invocation's channels c < `limit` (C, or CP to also clear the padding). */
const eachChannel = (body: string, limit = 'C') => `for (var c = lid; c < ${limit}; c = c + THREADS) { ${body} }`;

/**
 * For each (vector, out) pair: `var <out>: array<vec4<f32>, PT>` = rows of the owned quads of matrix·vector, in
 * one pass over the matrix (bound as `matrix: array<vec4<f32>>`, CP × CP row-major); then, after a barrier,
 * the vectors are overwritten by the products (`update`), so the caller sees vector ← matrix·vector.
 */
function multiply(matrix: string, vectors: string[]): string {
  const outs = vectors.map((v) => `${v}_next`);
  const sums = outs.flatMap((o) => [0, 1, 2, 3].map((m) => `var ${o}${m} = 0.0;`)).join(' ');
  const reads = vectors.map((v) => `let ${v}4 = ${v}[r];`).join(' ');
  const rows = [0, 1, 2, 3]
    .map(
      (m) =>
        `{ let a = ${matrix}[row + ${m}u * Q + r]; ${vectors.map((v, j) => `${outs[j]}${m} = ${outs[j]}${m} + dot(a, ${v}4);`).join(' ')} }`,
    )
    .join('\n        ');
  return `{
    ${outs.map((o) => `var ${o}: array<vec4<f32>, PT>;`).join(' ')}
    for (var i = 0u; i < PT; i = i + 1u) {
      let row = 4u * min(lid + i * THREADS, Q - 1u) * Q;
      ${sums}
      for (var r = 0u; r < Q; r = r + 1u) {
        ${reads}
        ${rows}
      }
      ${outs.map((o) => `${o}[i] = vec4<f32>(${o}0, ${o}1, ${o}2, ${o}3);`).join(' ')}
    }
    workgroupBarrier();
    ${eachQuad(vectors.map((v, j) => `${v}[q] = ${outs[j]}[i];`).join(' '))}
    workgroupBarrier();
  }`;
}

/** Element c of a workgroup vector of vec4s. */
const el = (vector: string) => `${vector}[c / 4u][c % 4u]`;

/** Constants, index helpers and the entry point up to `kind` (0 idle, 1 segment start, 2 last position) and `e`. */
function entry(g: TokiGeometry, t: TokiTiling, helpers = ''): string {
  return `const C = ${g.C}u;
const CP = ${t.padded}u;
const Q = ${t.quads}u;
const THREADS = ${t.threads}u;
const PT = ${t.perThread}u;
var<workgroup> s_flag: u32;
var<workgroup> s_end: u32;
fn visible(b: u32, pos: u32) -> bool { return vis[b * dims.x + pos] != 0u; }
fn at(b: u32, c: u32, pos: u32) -> u32 { return (b * C + c) * dims.x + pos; }
/** F[b, c, pos], 0 in the padding c ≥ C. */
fn feature(b: u32, c: u32, pos: u32) -> f32 { return select(0.0, F[at(b, min(c, C - 1u), pos)], c < C); }
${helpers}
@compute @workgroup_size(${t.threads})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let L = dims.x;
  let t = wid.x; let b = wid.y;
  if (lid == 0u) {
    var kind = 0u;
    var end = t + 1u;
    if (t == L - 1u) { kind = 2u; }
    else if (t == 0u || visible(b, t)) {
      kind = 1u;
      while (end < L - 1u && !visible(b, end)) { end = end + 1u; }
    }
    s_flag = kind; s_end = end;
  }
  let kind = workgroupUniformLoad(&s_flag);
  let e = workgroupUniformLoad(&s_end);
  if (kind == 0u) { return; }`;
}

/** out (CP × CP) = A, or Aᵀ when `transposed`, zero-padded. Bindings: A (C × C), out. Grid: (⌈CP/64⌉, CP). */
export function padMatrixKernel(C: number, padded: number, transposed: boolean): string {
  const [row, col] = transposed ? ['col', 'row'] : ['row', 'col'];
  return `@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let col = gid.x; let row = gid.y;
  if (col >= ${padded}u) { return; }
  let inside = row < ${C}u && col < ${C}u;
  out[row * ${padded}u + col] = select(0.0, A[min(${row}, ${C - 1}u) * ${C}u + min(${col}, ${C - 1}u)], inside);
}`;
}

/** Forward: writes T (Bt, C, L) for every position (also visible ones: the official layout reads them). */
export function forwardWgsl(g: TokiGeometry): string {
  const t = tiling(g.C);
  const official = g.variant === 'official';
  const segment = official
    ? `${eachChannel(`let fa = feature(b, c, t); ${el('sp')} = fa; ${el('sq')} = feature(b, c, e) - fa;`, 'CP')}
  workgroupBarrier();
  for (var step = 0u; step < len; step = step + 1u) {
    let k = len - 1u - step;
    let alpha = select(0.0, f32(k) / f32(len - 1u), len > 1u);
    ${eachChannel(`T[at(b, c, t + k)] = ${el('sp')} + alpha * ${el('sq')};`)}
    if (k > 0u) ${multiply('A', ['sp', 'sq'])}
  }
  ${eachChannel('var acc = 0.0; for (var j = 0u; j < len; j = j + 1u) { acc = acc + T[at(b, c, t + j)]; T[at(b, c, t + j)] = acc; }')}`
    : `${eachChannel(`${el('sp')} = feature(b, c, t);`, 'CP')}
  ${eachChannel('T[at(b, c, t)] = F[at(b, c, t)];')}
  workgroupBarrier();
  for (var j = 1u; j < len; j = j + 1u) {
    let beta = f32(j) / f32(len + 1u);
    ${multiply('A', ['sp'])}
    ${eachChannel(`let h = ${el('sp')} + (1.0 - beta) * F[at(b, c, t)] + beta * F[at(b, c, e)];
      ${el('sp')} = h; T[at(b, c, t + j)] = h;`)}
    workgroupBarrier();
  }`;
  const last = official
    ? `${eachChannel(`${el('sp')} = feature(b, c, t);`, 'CP')}
    workgroupBarrier();
    ${multiply('A', ['sp'])}
    ${eachChannel(`T[at(b, c, t)] = ${el('sp')};`)}`
    : eachChannel('T[at(b, c, t)] = F[at(b, c, t)];');
  return `@group(0) @binding(0) var<storage, read> F: array<f32>;
@group(0) @binding(1) var<storage, read> vis: array<u32>;
@group(0) @binding(2) var<storage, read> A: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> T: array<f32>;
@group(0) @binding(4) var<uniform> dims: vec4<u32>;
var<workgroup> sp: array<vec4<f32>, ${t.quads}>;
${official ? `var<workgroup> sq: array<vec4<f32>, ${t.quads}>;` : ''}
${entry(g, t)}
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
 * un-scrambled), T, A and Aᵀ (padded by padMatrixKernel), F. Outputs: LEFT and RIGHT, each (C, 2, Bt, L): LEFT
 * holds the adjoints λ (slot 0) and μ (slot 1) per position, RIGHT the matching p_{k+1}, q_{k+1} (zero where
 * there is none), so dA = LEFT·RIGHTᵀ is one matmul; GL (gradient into F at segment starts and L − 1) and GR
 * (gradient into F at segment ends), both (Bt, C, L) and zero-initialised: only anchor positions are written.
 */
export function backwardWgsl(g: TokiGeometry): string {
  const t = tiling(g.C);
  const official = g.variant === 'official';
  const segment = official
    ? `
  // Rebuild p_k, q_k (k = g−1 … 0) and store p_{k+1}, q_{k+1} at position a + k (zero for k = g − 1).
  ${eachChannel(`let fa = feature(b, c, t); ${el('sp')} = fa; ${el('sq')} = feature(b, c, e) - fa;`, 'CP')}
  ${eachChannel('RIGHT[slot(b, c, t + len - 1u, 0u)] = 0.0; RIGHT[slot(b, c, t + len - 1u, 1u)] = 0.0;')}
  workgroupBarrier();
  for (var step = 0u; step + 1u < len; step = step + 1u) {
    let k = len - 1u - step;
    ${eachChannel(`RIGHT[slot(b, c, t + k - 1u, 0u)] = ${el('sp')}; RIGHT[slot(b, c, t + k - 1u, 1u)] = ${el('sq')};`)}
    ${multiply('A', ['sp', 'sq'])}
  }
  // dV_k = Σ_{j≥k} dT[a + j], kept in the λ slot until the adjoint overwrites it.
  ${eachChannel(`var acc = 0.0;
    for (var step = 0u; step < len; step = step + 1u) {
      let j = len - 1u - step;
      acc = acc + dT[at(b, c, t + j)];
      LEFT[slot(b, c, t + j, 0u)] = acc;
    }`)}
  ${eachChannel(`${el('sl')} = 0.0; ${el('sm')} = 0.0;`, 'CP')}
  workgroupBarrier();
  // Adjoints forward in k: λ_k = dV_k + Aᵀ λ_{k−1}, μ_k = α_k dV_k + Aᵀ μ_{k−1}.
  for (var k = 0u; k < len; k = k + 1u) {
    let alpha = select(0.0, f32(k) / f32(len - 1u), len > 1u);
    ${multiply('At', ['sl', 'sm'])}
    ${eachChannel(`let dv = LEFT[slot(b, c, t + k, 0u)];
      let lam = ${el('sl')} + dv; let mu = ${el('sm')} + alpha * dv;
      ${el('sl')} = lam; ${el('sm')} = mu; LEFT[slot(b, c, t + k, 0u)] = lam; LEFT[slot(b, c, t + k, 1u)] = mu;`)}
    workgroupBarrier();
  }
  ${eachChannel(`GL[at(b, c, t)] = ${el('sl')} - ${el('sm')}; GR[at(b, c, e)] = ${el('sm')};`)}`
    : `
  ${eachChannel(`${el('sl')} = 0.0;`, 'CP')}
  workgroupBarrier();
  for (var step = 0u; step < len; step = step + 1u) {
    let j = len - 1u - step;
    let beta = f32(j) / f32(len + 1u);
    ${multiply('At', ['sl'])}
    ${eachChannel(`let lam = ${el('sl')} + dT[at(b, c, t + j)];
      ${el('sl')} = lam; LEFT[slot(b, c, t + j, 0u)] = lam; LEFT[slot(b, c, t + j, 1u)] = 0.0;
      RIGHT[slot(b, c, t + j, 0u)] = select(0.0, T[at(b, c, t + max(j, 1u) - 1u)], j > 0u);
      RIGHT[slot(b, c, t + j, 1u)] = 0.0;
      GL[at(b, c, t)] = GL[at(b, c, t)] + (1.0 - beta) * lam; GR[at(b, c, e)] = GR[at(b, c, e)] + beta * lam;`)}
    workgroupBarrier();
  }`;
  const last = official
    ? `${eachChannel(`${el('sl')} = select(0.0, dT[at(b, min(c, C - 1u), t)], c < C);`, 'CP')}
    workgroupBarrier();
    ${multiply('At', ['sl'])}
    ${eachChannel(`GL[at(b, c, t)] = ${el('sl')}; LEFT[slot(b, c, t, 0u)] = dT[at(b, c, t)]; LEFT[slot(b, c, t, 1u)] = 0.0;
      RIGHT[slot(b, c, t, 0u)] = F[at(b, c, t)]; RIGHT[slot(b, c, t, 1u)] = 0.0;`)}`
    : eachChannel(`GL[at(b, c, t)] = dT[at(b, c, t)]; LEFT[slot(b, c, t, 0u)] = 0.0; LEFT[slot(b, c, t, 1u)] = 0.0;
      RIGHT[slot(b, c, t, 0u)] = 0.0; RIGHT[slot(b, c, t, 1u)] = 0.0;`);
  return `@group(0) @binding(0) var<storage, read> dT: array<f32>;
@group(0) @binding(1) var<storage, read> T: array<f32>;
@group(0) @binding(2) var<storage, read> A: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> At: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> F: array<f32>;
@group(0) @binding(5) var<storage, read> vis: array<u32>;
@group(0) @binding(6) var<storage, read_write> LEFT: array<f32>;
@group(0) @binding(7) var<storage, read_write> RIGHT: array<f32>;
@group(0) @binding(8) var<storage, read_write> GL: array<f32>;
@group(0) @binding(9) var<storage, read_write> GR: array<f32>;
@group(0) @binding(10) var<uniform> dims: vec4<u32>;
var<workgroup> sl: array<vec4<f32>, ${t.quads}>;
${official ? ['sm', 'sp', 'sq'].map((v) => `var<workgroup> ${v}: array<vec4<f32>, ${t.quads}>;`).join('\n') : ''}
${entry(g, t, '/** Index of LEFT/RIGHT[c, w, b, pos]. */\nfn slot(b: u32, c: u32, pos: u32, w: u32) -> u32 { return ((c * 2u + w) * dims.y + b) * dims.x + pos; }')}
  if (kind == 2u) {
    ${last}
    return;
  }
  let len = e - t;
  ${segment}
}`;
}
