/**
 * vec4 variants of the forward tile kernels (pass 1 and pass 2 of kernels.ts), for adapters with subgroups of
 * one fixed size S. Same work split, bindings, buffer layouts and results; two changes in how memory is read:
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
import { header, layout, perN, range, type ScanGeometry, tileEntry } from './kernels.js';

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
