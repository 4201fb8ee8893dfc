/**
 * vec4 variants of the tile kernels of kernels.ts (forward pass 1 and 2, the backward sweep) and of the dB/dC
 * pass, for adapters with subgroups of one fixed size S. Same work split, bindings, buffer layouts and results;
 * two changes in how the tile kernels read memory (the dB/dC pass is described at its kernel):
 *
 * - u, delta, z, out (and ypre) are bound as `array<vec4<f32>>`: each invocation moves four time steps of its
 *   row per access, and the loop body runs the four steps unrolled.
 * - B[b,g,n,l..l+3] and C[…] are the same for the whole workgroup. Instead of every invocation loading all
 *   2·N of them, lane k of a subgroup loads the vec4 rows n = k, k + S, … and `subgroupBroadcast` hands row n
 *   to every lane, so a subgroup issues 2·⌈N/S⌉ loads per four steps instead of 2·N per step.
 *
 * On a CPU adapter (llvmpipe) every invocation's load is a separate scalar load with its own bounds check, so
 * this cuts the forward time about threefold (`npm run bench`). It needs L, the chunk T and the checkpoint
 * stride TB to be multiples of 4 and a workgroup of whole subgroups; planScan falls back to the scalar kernels
 * otherwise.
 */
import { header, layout, perN, projectionWorkgroupSize, range, type ScanGeometry, tileEntry } from './kernels.js';

/** The vec4 helpers: Δ and the gate applied per component. */
function vectorHelpers(): string {
  return `fn step_delta4(raw: vec4<f32>, bias: f32) -> vec4<f32> {
  return vec4<f32>(step_delta(raw.x, bias), step_delta(raw.y, bias), step_delta(raw.z, bias), step_delta(raw.w, bias));
}
fn silu_gate4(z: vec4<f32>) -> vec4<f32> {
  return z * vec4<f32>(sigmoid1(z.x), sigmoid1(z.y), sigmoid1(z.z), sigmoid1(z.w));
}`;
}

/**
 * `let <name>#: vec4<f32>` = matrix[b, g, n, 4q..4q+3] for every n, through ⌈N/S⌉ loads per lane and one
 * broadcast per n. `matrix` is bound as array<vec4<f32>>; `bb4` is the vec4 index of [b, g, 0, 0].
 */
function sharedRows(g: ScanGeometry, matrix: string, name: string): string {
  const S = g.subgroup;
  const loads = range(Math.ceil(g.state / S)).map(
    (m) => `let ${name}_lane${m} = ${matrix}[bb4 + min(lane + ${m * S}u, NS - 1u) * LEN4 + q];`,
  );
  const rows = range(g.state).map(
    (n) => `let ${name}${n} = subgroupBroadcast(${name}_lane${Math.floor(n / S)}, ${n % S}u);`,
  );
  return [...loads, ...rows].join('\n    ');
}

/** Bindings of u, delta, params, B, C as the vec4 kernels see them. */
const INPUTS = `@group(0) @binding(0) var<storage, read> u: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> delta: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> params: array<f32>;
@group(0) @binding(3) var<storage, read> Bm: array<vec4<f32>>;`;

/** vec4 indices of the tile: row, the B/C block of (b, g), and the chunk as [q0, q1) in steps of four. */
const VEC4_INDICES = `let row4 = row / 4u;
  let bb4 = bb / 4u;
  let q0 = l0 / 4u;
  let q1 = l1 / 4u;`;

/** Pass 1 (see forwardChunkKernel), vec4. Bindings: u, delta, params, B, states. */
export function forwardChunkKernelVec4(g: ScanGeometry): string {
  const lay = layout(g, false);
  const steps = range(4)
    .map((j) => perN(g, `h# = exp(dt4[${j}] * a#) * h# + du4[${j}] * b#[${j}];`))
    .join('\n    ');
  return `${header(g, true)}
const LEN4 = ${g.len / 4}u;
${vectorHelpers()}
${INPUTS}
@group(0) @binding(4) var<storage, read_write> states: array<f32>;
${tileEntry(g, g.chunks - 1, 0, true)}
  ${VEC4_INDICES}
  ${perN(g, 'var h# = 0.0;')}
  var sum_dt = vec4<f32>(0.0);
  for (var q = q0; q < q1; q = q + 1u) {
    let dt4 = step_delta4(delta[row4 + q], dbias);
    sum_dt = sum_dt + dt4;
    let du4 = dt4 * u[row4 + q];
    ${sharedRows(g, 'Bm', 'b')}
    ${steps}
  }
  if (live) {
    let base = (i * NCHUNK + c) * NS;
    ${perN(g, 'states[base + #u] = h#;')}
    states[${lay.statesSum}u + i * NCHUNK + c] = (sum_dt.x + sum_dt.y) + (sum_dt.z + sum_dt.w);
  }
}`;
}

/** Pass 2 (see forwardOutputKernel), vec4. Bindings: u, delta, params, B, C, [z], states, out, [ypre]. */
export function forwardOutputKernelVec4(
  g: ScanGeometry,
  options: { hasStart: boolean; hasZ: boolean; save: boolean },
): string {
  const lay = layout(g, options.save);
  const { hasStart, hasZ, save } = options;
  let binding = 5;
  const zBinding = hasZ ? `@group(0) @binding(${binding++}) var<storage, read> z: array<vec4<f32>>;` : '';
  const statesBinding = `@group(0) @binding(${binding++}) var<storage, read_write> states: array<f32>;`;
  const outBinding = `@group(0) @binding(${binding++}) var<storage, read_write> out: array<vec4<f32>>;`;
  const ypreBinding =
    hasZ && save ? `@group(0) @binding(${binding++}) var<storage, read_write> ypre: array<vec4<f32>>;` : '';
  const steps = range(4)
    .map((j) => perN(g, `h# = exp(dt4[${j}] * a#) * h# + du4[${j}] * b#[${j}]; y[${j}] = y[${j}] + c#[${j}] * h#;`))
    .join('\n    ');
  // TB is a multiple of 4, so a checkpoint (the state before step l, l % TB = 0) falls on the first of four steps.
  const checkpoint = save
    ? `if (live && (q * 4u) % TB == 0u) {
      let kb = ${lay.statesCkpt}u + (i * NCKPT + q * 4u / TB) * NS;
      ${perN(g, 'states[kb + #u] = h#;')}
    }`
    : '';
  const gate = hasZ
    ? `${save ? 'if (live) { ypre[row4 + q] = y; }' : ''}
    y = y * silu_gate4(z[row4 + q]);`
    : '';
  return `${header(g, true)}
const LEN4 = ${g.len / 4}u;
${vectorHelpers()}
${INPUTS}
@group(0) @binding(4) var<storage, read> Cm: array<vec4<f32>>;
${zBinding}
${statesBinding}
${outBinding}
${ypreBinding}
${tileEntry(g, g.chunks, 0, true)}
  ${VEC4_INDICES}
  let dskip = params[D_OFF + d];
  let start = (i * NCHUNK + c) * NS;
  ${perN(g, hasStart ? 'var h# = states[start + #u];' : 'var h# = 0.0;')}
  for (var q = q0; q < q1; q = q + 1u) {
    ${checkpoint}
    let u4 = u[row4 + q];
    let dt4 = step_delta4(delta[row4 + q], dbias);
    let du4 = dt4 * u4;
    ${sharedRows(g, 'Bm', 'b')}
    ${sharedRows(g, 'Cm', 'c')}
    var y = dskip * u4;
    ${steps}
    ${gate}
    if (live) { out[row4 + q] = y; }
  }
  if (live && c == NCHUNK - 1u) {
    let lb = ${lay.statesLast}u + i * NS;
    ${perN(g, 'states[lb + #u] = h#;')}
  }
}`;
}

/**
 * Backward pass 2 (see backwardMainKernel), vec4: the same recompute-then-adjoint sweep over checkpoint blocks,
 * four steps per loop trip, with B and C shared through the subgroup like the forward. The recompute keeps only
 * the state before every fourth step (an invocation's private array is memory, one scalar access per element
 * on a CPU adapter); the adjoint sweep rebuilds the four states of a trip in registers from it, reusing the
 * decays exp(Δ·A) it needs anyway. Bindings: u, delta, params, B, C, dyp, states, work, du, dΔraw.
 */
export function backwardMainKernelVec4(g: ScanGeometry, hasCarry: boolean): string {
  const lay = layout(g, true);
  const advance = (j: number) => perN(g, `h# = exp(dt4[${j}] * a#) * h# + du4[${j}] * b#[${j}];`);
  // States before steps 0..3 of the trip (s${j}_#) and the decays (e${j}_#), rebuilt from the saved one.
  const rebuild = range(4)
    .map((j) =>
      perN(
        g,
        j === 0
          ? 'let s0_# = hist[jq * NS + #u]; let e0_# = exp(dt4[0] * a#);'
          : `let e${j}_# = exp(dt4[${j}] * a#); let s${j}_# = e${j - 1}_# * s${j - 1}_# + du4[${j - 1}] * b#[${j - 1}];`,
      ),
    )
    .join('\n      ');
  const adjoint = [3, 2, 1, 0]
    .map((j) =>
      perN(
        g,
        `{
        let ah = e${j}_# * s${j}_#;
        let lam = m# + c#[${j}] * gy4[${j}];
        sum_u[${j}] = sum_u[${j}] + lam * b#[${j}];
        sum_dt[${j}] = sum_dt[${j}] + lam * (b#[${j}] * u4[${j}] + a# * ah);
        ga# = ga# + lam * dt4[${j}] * ah;
        m# = e${j}_# * lam;
      }`,
      ),
    )
    .join('\n      ');
  const ddt = g.softplus
    ? `var ddt4 = sum_dt;
      for (var j = 0u; j < 4u; j = j + 1u) { ddt4[j] = select(sum_dt[j] * sigmoid1(v4[j]), sum_dt[j], v4[j] > 20.0); }`
    : 'let ddt4 = sum_dt;';
  return `${header(g, true)}
const LEN4 = ${g.len / 4}u;
${vectorHelpers()}
${INPUTS}
@group(0) @binding(4) var<storage, read> Cm: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> dyp: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read> states: array<f32>;
@group(0) @binding(7) var<storage, read_write> work: array<f32>;
@group(0) @binding(8) var<storage, read_write> grad_u: array<vec4<f32>>;
@group(0) @binding(9) var<storage, read_write> grad_delta: array<vec4<f32>>;
${tileEntry(g, g.chunks, 0, true)}
  ${VEC4_INDICES}
  let dskip = params[D_OFF + d];
  let gbase = (i * NCHUNK + c) * NS;
  ${perN(g, hasCarry ? 'var m# = work[gbase + #u];' : 'var m# = 0.0;')}
  ${perN(g, 'var ga# = 0.0;')}
  var acc_d = vec4<f32>(0.0);
  var acc_bias = vec4<f32>(0.0);
  var hist: array<f32, ${(g.checkpoint / 4) * g.state}>;
  let k0 = l0 / TB;
  for (var k = (l1 + TB - 1u) / TB; k > k0; ) {
    k = k - 1u;
    let s0 = k * TB / 4u;
    let s1 = min(k * TB + TB, LEN) / 4u;
    let kb = ${lay.statesCkpt}u + (i * NCKPT + k) * NS;
    if (live) {
      let mb = ${lay.workAdjoint}u + (i * NCKPT + k) * NS;
      ${perN(g, 'work[mb + #u] = m#;')}
    }
    ${perN(g, 'var h# = states[kb + #u];')}
    for (var q = s0; q < s1; q = q + 1u) {
      let jq = q - s0;
      ${perN(g, 'hist[jq * NS + #u] = h#;')}
      let dt4 = step_delta4(delta[row4 + q], dbias);
      let du4 = dt4 * u[row4 + q];
      ${sharedRows(g, 'Bm', 'b')}
      ${range(4).map(advance).join('\n      ')}
    }
    for (var q = s1; q > s0; ) {
      q = q - 1u;
      let jq = q - s0;
      let v4 = delta[row4 + q] + dbias;
      let dt4 = ${g.softplus ? 'vec4<f32>(softplus1(v4.x), softplus1(v4.y), softplus1(v4.z), softplus1(v4.w))' : 'v4'};
      let u4 = u[row4 + q];
      let du4 = dt4 * u4;
      let gy4 = dyp[row4 + q];
      ${sharedRows(g, 'Bm', 'b')}
      ${sharedRows(g, 'Cm', 'c')}
      ${rebuild}
      var sum_u = vec4<f32>(0.0);
      var sum_dt = vec4<f32>(0.0);
      ${adjoint}
      ${ddt}
      if (live) {
        grad_u[row4 + q] = dskip * gy4 + dt4 * sum_u;
        grad_delta[row4 + q] = ddt4;
      }
      acc_bias = acc_bias + ddt4;
      acc_d = acc_d + gy4 * u4;
    }
  }
  if (live) {
    let sb = ${lay.workSmall}u + (b * NCHUNK + c) * ${lay.smallWidth}u;
    ${perN(g, 'work[sb + d * NS + #u] = ga#;')}
    work[sb + D_OFF + d] = (acc_d.x + acc_d.y) + (acc_d.z + acc_d.w);
    work[sb + BIAS_OFF + d] = (acc_bias.x + acc_bias.y) + (acc_bias.z + acc_bias.w);
    if (c == 0u) {
      ${perN(g, `work[${lay.workInit}u + i * NS + #u] = m#;`)}
    }
  }
}`;
}

/**
 * dB/dC (see backwardInputProjectionKernel), vec4. Its invocations are the states n of one checkpoint block and
 * loop over channels d, so Δ[d, block], u and dy' are the same for the whole workgroup: lane k loads the four
 * steps 4k … 4k + 3 of each (one vec4 load covers the TB ≤ 4·S steps of a block) and `subgroupBroadcast` hands
 * them out. The block's TB steps are unrolled, so its B, C rows, decays and partial sums live in registers
 * instead of per-invocation arrays. Bindings: u, delta, params, B, C, dyp, states, work, part.
 */
export function backwardInputProjectionKernelVec4(g: ScanGeometry): string {
  const lay = layout(g, true);
  const per = Math.ceil(g.dimPerGroup / g.dSplit);
  const wg = projectionWorkgroupSize(g);
  const slices = Math.ceil(g.state / wg);
  const tiles = g.batch * g.groups * g.dSplit * g.checkpoints * slices;
  const half = g.batch * g.groups * g.state * g.len;
  const groups = range(g.checkpoint / 4);
  const each = (line: string) => groups.map((q) => line.replaceAll('@', String(q))).join('\n    ');
  const steps = (q: number, forward: boolean) =>
    (forward ? [0, 1, 2, 3] : [3, 2, 1, 0])
      .map((j) =>
        forward
          ? `h = e${q}[${j}] * h + du${q}[${j}] * b${q}[${j}]; acc_c${q}[${j}] = acc_c${q}[${j}] + g${q}[${j}] * h;`
          : `{ let lam = m + c${q}[${j}] * g${q}[${j}]; acc_b${q}[${j}] = acc_b${q}[${j}] + lam * du${q}[${j}]; m = e${q}[${j}] * lam; }`,
      )
      .join(' ');
  return `${header(g, true)}
${vectorHelpers()}
@group(0) @binding(0) var<storage, read> u: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> delta: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> params: array<f32>;
@group(0) @binding(3) var<storage, read> Bm: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> Cm: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> dyp: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read> states: array<f32>;
@group(0) @binding(7) var<storage, read> work: array<f32>;
@group(0) @binding(8) var<storage, read_write> part: array<vec4<f32>>;
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32, @builtin(subgroup_invocation_id) lane: u32) {
  let w = wid.x + wid.y * nwg.x;
  if (w >= ${tiles}u) { return; }
  let nslice = w % ${slices}u;
  let r1 = w / ${slices}u;
  let k = r1 % NCKPT;
  let r2 = r1 / NCKPT;
  let p = r2 % ${g.dSplit}u;
  let bg = r2 / ${g.dSplit}u;
  let b = bg / GROUPS;
  let g = bg % GROUPS;
  let n_live = nslice * ${wg}u + lid;
  let n = min(n_live, NS - 1u);
  let s0 = k * TB;
  let quads = min(TB, LEN - s0) / 4u; // L and TB are multiples of 4
  let bcrow4 = ((bg * NS + n) * LEN + s0) / 4u;
  ${each('let b@ = Bm[bcrow4 + min(@u, quads - 1u)]; let c@ = Cm[bcrow4 + min(@u, quads - 1u)];')}
  ${each('var acc_b@ = vec4<f32>(0.0); var acc_c@ = vec4<f32>(0.0);')}
  let d0 = g * DPG + p * ${per}u;
  let d1 = min(d0 + ${per}u, (g + 1u) * DPG);
  for (var d = d0; d < d1; d = d + 1u) {
    let i = b * DIM + d;
    let row4 = (i * LEN + s0) / 4u + min(lane, quads - 1u);
    let a = params[d * NS + n];
    let dbias = params[BIAS_OFF + d];
    let delta_lane = delta[row4];
    let u_lane = u[row4];
    let dyp_lane = dyp[row4];
    ${each('let dt@ = step_delta4(subgroupBroadcast(delta_lane, @u), dbias);')}
    ${each('let du@ = dt@ * subgroupBroadcast(u_lane, @u); let g@ = subgroupBroadcast(dyp_lane, @u);')}
    ${each('let e@ = vec4<f32>(exp(dt@.x * a), exp(dt@.y * a), exp(dt@.z * a), exp(dt@.w * a));')}
    var h = states[${lay.statesCkpt}u + (i * NCKPT + k) * NS + n];
    ${groups.map((q) => steps(q, true)).join('\n    ')}
    var m = work[${lay.workAdjoint}u + (i * NCKPT + k) * NS + n];
    ${[...groups]
      .reverse()
      .map((q) => `if (${q}u < quads) { ${steps(q, false)} }`)
      .join('\n    ')}
  }
  if (n_live >= NS) { return; }
  let ob4 = (p * ${half}u) / 4u + bcrow4;
  ${each(`if (@u < quads) { part[ob4 + @u] = acc_b@; part[${(g.dSplit * half) / 4}u + ob4 + @u] = acc_c@; }`)}
}`;
}
