/**
 * WGSL for batched matmul C[b] = A[b] · B[b] over strided operands: A is read as (M, K), B as (K, N) through
 * baked strides (a transposed view is just swapped strides), C is a fresh row-major (batch…, M, N) tensor.
 *
 * Two variants, both correct on every adapter (tests force each one with `setMatmulVariant`):
 * - `register` (default on software adapters such as lavapipe): no shared memory and no barriers; each
 *   invocation accumulates a TM×TN tile in registers with fma(), loads vec4s where the layout allows (A along K
 *   or M, B along N or K) and unrolls K by 4. Edge tiles clamp their reads and mask their writes. Where the
 *   device has subgroups of one fixed size, the lanes of a subgroup share the rows of A: each value of A is
 *   loaded by one lane and broadcast (`RegisterTile.subgroup`).
 * - `shared` (default on hardware GPUs): a 64×64 output tile per 16×16 workgroup, K staged through
 *   workgroup memory in slices of 16, 4×4 outputs per invocation.
 */
import type { AdapterSummary } from '../../runtime/device.js';
import { MimError } from '../../runtime/errors.js';

export type MatmulVariant = 'register' | 'shared';

/** One operand read as a logical (rows, cols) matrix per batch entry. Strides and offsets in elements. */
export interface OperandLayout {
  rowStride: number;
  colStride: number;
  offset: number;
  /** One stride per (merged) batch dim of the problem; 0 where the operand is broadcast. */
  batchStrides: number[];
}

export interface MatmulProblem {
  M: number;
  N: number;
  K: number;
  /** Batch dims after dropping size-1 dims and merging (the kernel unravels workgroup z over them). */
  batchShape: number[];
  a: OperandLayout;
  b: OperandLayout;
}

export interface MatmulLaunch {
  wgsl: string;
  /** Workgroup counts; z is the batch count and y the row tiles, either may exceed 65535 (see `chunks`). */
  workgroups: [number, number, number];
  /** Set when the kernel reads `params.batchBase` / `params.rowBase` so the launcher can split the grid. */
  chunked: boolean;
}

/** Register-tile configuration: each invocation computes TM×TN outputs, a workgroup WGX×WGY invocations. */
export interface RegisterTile {
  TM: number;
  TN: number;
  WGX: number;
  WGY: number;
  /**
   * Subgroup size S to share A through, or 0/absent. With S, the lanes of a subgroup (which all work on the same TM
   * rows) load the TM×4 block of A that a K step needs once between them, each lane a vec4, and hand every row to
   * all lanes with `subgroupBroadcast` — instead of each lane loading all TM rows itself. Needs WGY = 1, WGX a
   * multiple of S and an adapter whose subgroups are all of size S.
   */
  subgroup?: number;
}

let tileOverride: RegisterTile | null = null;

/** Forces the register tile shape (tests and tuning); null restores the per-adapter choice. */
export function setRegisterTile(tile: RegisterTile | null): void {
  tileOverride = tile;
}

/**
 * Tile shapes per adapter class. `subgroup` is the size every subgroup of the device has (0: no subgroups, or
 * sizes that vary), from `matmulSubgroupSize`.
 *
 * On lavapipe (llvmpipe) a workgroup runs on one CPU thread, 8 invocations per AVX2 vector. Its SSBO loads are
 * per lane — a scalar load, a bounds check and an insert for every lane and component — unless the address is a
 * compile-time uniform (constants only: llvmpipe does not treat workgroup_id or loop counters as uniform), so
 * loads, not FMAs, set the speed: the kernel must load each value as few times as it can. A subgroup that works on
 * the same TM rows loads each value of A once between its lanes and broadcasts it (`RegisterTile.subgroup`), so
 * A costs little and a tall tile — many rows of A per column of B a lane loads — wins.
 */
export function registerTileFor(info: AdapterSummary | null, problem: MatmulProblem, subgroup = 0): RegisterTile {
  if (tileOverride) return tileOverride;
  const software = info?.software ?? true;
  if (software && subgroup > 0) {
    // Sweep on lavapipe, 1024³, shared 2-core machine (`MIM_BENCH_TILES`; GFLOP per CPU-second, which moves far
    // less with the other jobs' load than GFLOP/s; medians of 5–9 rounds, three runs where there are three):
    //   TM×TN on WGX×WGY        GFLOP/CPU-s          TM×TN on WGX×WGY         GFLOP/CPU-s
    //   8×8 on 8×8 (previous)   4.6 / 4.9 / 5.2      32×4 on 8×1, shared A    11.2 / 11.8 / 12.3
    //   8×8 on 64×1             4.2                  32×4 on 16×1, shared A   8.3 / 8.4 / 14.0
    //   16×16 on 16×1           4.9                  32×4 on 32×1, shared A   10.1 / 13.3 / 13.7
    //   16×4 on 16×1, shared A  8.1 / 11.4 / 12.1    32×8 on 16×1, shared A   8.4 / 13.1 / 13.4
    //   24×4 on 16×1, shared A  9.8 / 12.9           64×4 on 16×1, shared A   9.4 / 10.3 / 11.7
    //   (TF.js's WebGPU matmul in the same runs: 2.1–2.2.) At 2048³ 32×4 on 8×1 led too (15.4 against
    // 10.1–13.8). Taller tiles load B less often per FMA but spill more; WGX = S keeps one subgroup per
    // workgroup. Short matrices take a shorter tile: fewer rows computed for nothing.
    const TM = problem.M <= 4 ? 4 : problem.M <= 8 ? 8 : problem.M <= 16 ? 16 : 32;
    return { TM, TN: 4, WGX: subgroup, WGY: 1, subgroup };
  }
  // Without subgroups (measured on lavapipe, 1024³): 8×8 tiles on 8×8 workgroups beat 4×8 by ~12% and 16×8 /
  // 8×16 (spills).
  const TM = problem.M <= 4 ? 4 : 8;
  const TN = problem.N <= 4 ? 4 : 8;
  if (software) return { TM, TN, WGX: 8, WGY: 8 };
  return { TM, TN, WGX: 16, WGY: 8 };
}

const MAX_GROUPS = 65535;

const isMultiple = (value: number, of: number) => value % of === 0;

function batchPrelude(problem: MatmulProblem, vecA: boolean, vecB: boolean, chunked: boolean): string {
  const { batchShape, a, b, M, N } = problem;
  const lines = [`  let z = wid.z${chunked ? ' + params.batchBase' : ''};`];
  const termsA = [`${vecA ? a.offset / 4 : a.offset}u`];
  const termsB = [`${vecB ? b.offset / 4 : b.offset}u`];
  if (batchShape.length > 0) {
    lines.push('  var rest = z;');
    for (let d = batchShape.length - 1; d >= 0; d--) {
      lines.push(
        d > 0 ? `  let c${d} = rest % ${batchShape[d]}u; rest = rest / ${batchShape[d]}u;` : `  let c0 = rest;`,
      );
      const sa = a.batchStrides[d];
      const sb = b.batchStrides[d];
      if (sa !== 0) termsA.push(`c${d} * ${vecA ? sa / 4 : sa}u`);
      if (sb !== 0) termsB.push(`c${d} * ${vecB ? sb / 4 : sb}u`);
    }
  }
  lines.push(`  let baseA = ${termsA.join(' + ')};`);
  lines.push(`  let baseB = ${termsB.join(' + ')};`);
  lines.push(`  let baseC = z * ${M * N}u;`);
  return lines.join('\n');
}

function paramsDecl(chunked: boolean, binding: number): string {
  return chunked
    ? `struct Params { batchBase: u32, rowBase: u32, pad0: u32, pad1: u32 }\n@group(0) @binding(${binding}) var<uniform> params: Params;`
    : '';
}

const mulIndex = (expr: string, stride: number) => (stride === 1 ? expr : `${expr} * ${stride}u`);

/** How each operand is loaded by the register variant. */
type LoadA = 'vecK' | 'vecM' | 'scalar';
type LoadB = 'vecN' | 'vecK' | 'scalar';

function vecAligned(layout: OperandLayout, stride: number): boolean {
  return isMultiple(layout.offset, 4) && isMultiple(stride, 4) && layout.batchStrides.every((s) => isMultiple(s, 4));
}

/** Strides of size-1 dims are normalised to 0 by the planner, so they never block a vec4 path. */
function chooseLoads(problem: MatmulProblem, tile: RegisterTile): { loadA: LoadA; loadB: LoadB } {
  const { a, b, M, N, K } = problem;
  let loadA: LoadA = 'scalar';
  if (a.colStride === 1 && isMultiple(K, 4) && vecAligned(a, a.rowStride)) loadA = 'vecK';
  else if (a.rowStride === 1 && isMultiple(M, 4) && isMultiple(tile.TM, 4) && vecAligned(a, a.colStride))
    loadA = 'vecM';
  let loadB: LoadB = 'scalar';
  if (b.colStride === 1 && isMultiple(N, 4) && vecAligned(b, b.rowStride)) loadB = 'vecN';
  else if (b.rowStride === 1 && isMultiple(K, 4) && vecAligned(b, b.colStride)) loadB = 'vecK';
  return { loadA, loadB };
}

/**
 * A loads shared by the lanes of a subgroup (see `RegisterTile.subgroup`). The TM×4 block of A one K step needs is
 * cut into TM chunks of 4 values — vecK / scalar: row r at k..k+3; vecM: rows 4i..4i+3 at k+q — and lane l loads
 * chunks l, l + S, … into `av0`, `av1`, …; every row's 4 values are then gathered with `subgroupBroadcast` from the
 * lane holding them, so each value of A is loaded once per subgroup instead of once per lane. Returns the pointer
 * prelude and the loop-body lines defining `a0…a{TM-1}` (vec4 over k..k+3), or null when the tile shares nothing.
 */
function sharedChunksA(
  problem: MatmulProblem,
  tile: RegisterTile,
  loadA: LoadA,
): { pointers: string[]; loads: string[]; rows: string[] } | null {
  const S = tile.subgroup ?? 0;
  if (!S) return null;
  const { M, a } = problem;
  const { TM, WGX, WGY } = tile;
  if (WGY !== 1 || WGX % S !== 0) {
    throw new MimError(`matmul: a tile sharing A over subgroups of ${S} needs WGY = 1 and WGX a multiple of ${S}`);
  }
  const registers = Math.ceil(TM / S);
  const pointers: string[] = [];
  const loads: string[] = [];
  const G = TM / 4; // vecM chunks per k
  for (let i = 0; i < registers; i++) {
    pointers.push(`  let ch${i} = min(${i * S}u + lane, ${TM - 1}u);`);
    if (loadA === 'vecM') {
      const rowVec = `min(m0 + 4u * (ch${i} % ${G}u), ${M - 4}u) / 4u`;
      pointers.push(`  let pla${i} = baseA + ${rowVec} + ${mulIndex(`(ch${i} / ${G}u)`, a.colStride / 4)};`);
      loads.push(`    let av${i} = A[pla${i} + ${mulIndex('k', a.colStride / 4)}];`);
    } else {
      const row = `min(m0 + ch${i}, ${M - 1}u)`;
      const vec = loadA === 'vecK';
      pointers.push(`  let pla${i} = baseA + ${mulIndex(row, vec ? a.rowStride / 4 : a.rowStride)};`);
      if (vec) loads.push(`    let av${i} = A[pla${i} + k / 4u];`);
      else {
        const e = [0, 1, 2, 3].map((q) => `A[pla${i} + ${mulIndex(`(k + ${q}u)`, a.colStride)}]`);
        loads.push(`    let av${i} = vec4<f32>(${e.join(', ')});`);
      }
    }
  }
  const comp = ['x', 'y', 'z', 'w'];
  const rows: string[] = [];
  for (let r = 0; r < TM; r++) {
    if (loadA === 'vecM') {
      const parts = [0, 1, 2, 3].map((q) => {
        const c = q * G + Math.floor(r / 4);
        return `subgroupBroadcast(av${Math.floor(c / S)}.${comp[r % 4]}, ${c % S}u)`;
      });
      rows.push(`    let a${r} = vec4<f32>(${parts.join(', ')});`);
    } else rows.push(`    let a${r} = subgroupBroadcast(av${Math.floor(r / S)}, ${r % S}u);`);
  }
  return { pointers, loads, rows };
}

/** The register-tiled kernel (see the file comment). */
export function registerKernel(problem: MatmulProblem, tile: RegisterTile, chunked: boolean): string {
  const { M, N, K, a, b } = problem;
  const { TM, TN, WGX, WGY } = tile;
  const { loadA, loadB } = chooseLoads(problem, tile);
  const vecA = loadA !== 'scalar';
  const vecB = loadB !== 'scalar';
  const vecC = isMultiple(N, 4);
  const J = TN / 4;
  const rows = [...Array(TM).keys()];
  const cols = [...Array(TN).keys()];
  const groups = [...Array(J).keys()];
  const K4 = K - (K % 4);
  const lines: string[] = [];
  const emit = (s: string) => lines.push(s);

  // Row / column pointers, hoisted out of the K loop. Reads clamp to the last row/column (edge tiles).
  const S = tile.subgroup ?? 0;
  const shared = sharedChunksA(problem, tile, loadA);
  if (shared) lines.push(...shared.pointers);
  if (shared && K4 === K) {
    // Only the tail (K % 4 values) reads A row by row.
  } else if (loadA === 'vecM') {
    for (let i = 0; i < TM / 4; i++) emit(`  let pam${i} = baseA + min(m0 + ${4 * i}u, ${M - 4}u) / 4u;`);
  } else {
    for (const r of rows) {
      const row = `min(m0 + ${r}u, ${M - 1}u)`;
      emit(`  let pa${r} = baseA + ${vecA ? `${mulIndex(row, a.rowStride / 4)}` : mulIndex(row, a.rowStride)};`);
    }
  }
  if (loadB === 'vecN') {
    for (const j of groups) emit(`  let pb${j} = baseB + min(n0 + ${4 * j}u, ${N - 4}u) / 4u;`);
  } else {
    for (const c of cols) {
      const col = `min(n0 + ${c}u, ${N - 1}u)`;
      emit(`  let pb${c} = baseB + ${vecB ? mulIndex(col, b.colStride / 4) : mulIndex(col, b.colStride)};`);
    }
  }
  for (const r of rows) for (const j of groups) emit(`  var acc${r}_${j} = vec4<f32>(0.0);`);

  // Main loop: 4 values of K per iteration.
  const body: string[] = [];
  const b4 = (s: string) => body.push(`    ${s}`);
  if (shared) body.push(...shared.loads);
  else if (loadA === 'vecK') for (const r of rows) b4(`let a${r} = A[pa${r} + k / 4u];`);
  else if (loadA === 'vecM') {
    for (let i = 0; i < TM / 4; i++)
      for (let q = 0; q < 4; q++) b4(`let at${q}_${i} = A[pam${i} + ${mulIndex(`(k + ${q}u)`, a.colStride / 4)}];`);
    for (const r of rows) {
      const [i, c] = [Math.floor(r / 4), r % 4];
      b4(`let a${r} = vec4<f32>(at0_${i}[${c}], at1_${i}[${c}], at2_${i}[${c}], at3_${i}[${c}]);`);
    }
  } else {
    for (const r of rows) {
      const e = [0, 1, 2, 3].map((q) => `A[pa${r} + ${mulIndex(`(k + ${q}u)`, a.colStride)}]`);
      b4(`let a${r} = vec4<f32>(${e.join(', ')});`);
    }
  }
  for (let q = 0; q < 4; q++) {
    if (loadB === 'vecN')
      for (const j of groups) b4(`let b${q}_${j} = B[pb${j} + ${mulIndex(`(k + ${q}u)`, b.rowStride / 4)}];`);
  }
  if (loadB === 'vecK') {
    for (const c of cols) b4(`let bt${c} = B[pb${c} + k / 4u];`);
    for (let q = 0; q < 4; q++)
      for (const j of groups)
        b4(`let b${q}_${j} = vec4<f32>(${[0, 1, 2, 3].map((c) => `bt${4 * j + c}[${q}]`).join(', ')});`);
  } else if (loadB === 'scalar') {
    for (let q = 0; q < 4; q++)
      for (const j of groups) {
        const e = [0, 1, 2, 3].map((c) => `B[pb${4 * j + c} + ${mulIndex(`(k + ${q}u)`, b.rowStride)}]`);
        b4(`let b${q}_${j} = vec4<f32>(${e.join(', ')});`);
      }
  }
  const comp = ['x', 'y', 'z', 'w'];
  for (const r of rows) {
    // Each broadcast row right before its FMAs: only the lanes' A chunks and B stay live across the body.
    if (shared) body.push(shared.rows[r]);
    for (const j of groups) {
      let expr = `acc${r}_${j}`;
      for (let q = 0; q < 4; q++) expr = `fma(vec4<f32>(a${r}.${comp[q]}), b${q}_${j}, ${expr})`;
      b4(`acc${r}_${j} = ${expr};`);
    }
  }
  if (K4 > 0) {
    emit(`  for (var k = 0u; k < ${K4}u; k = k + 4u) {`);
    lines.push(...body);
    emit('  }');
  }

  // Tail: the last K % 4 values, one at a time (only scalar/vecM A and scalar/vecN B reach here).
  if (K4 < K) {
    emit(`  for (var k = ${K4}u; k < ${K}u; k = k + 1u) {`);
    if (loadA === 'vecM') {
      for (let i = 0; i < TM / 4; i++) emit(`    let at${i} = A[pam${i} + ${mulIndex('k', a.colStride / 4)}];`);
      for (const r of rows) emit(`    let a${r} = at${Math.floor(r / 4)}[${r % 4}];`);
    } else for (const r of rows) emit(`    let a${r} = A[pa${r} + ${mulIndex('k', a.colStride)}];`);
    for (const j of groups) {
      if (loadB === 'vecN') emit(`    let b${j} = B[pb${j} + ${mulIndex('k', b.rowStride / 4)}];`);
      else {
        const e = [0, 1, 2, 3].map((c) => `B[pb${4 * j + c} + ${mulIndex('k', b.rowStride)}]`);
        emit(`    let b${j} = vec4<f32>(${e.join(', ')});`);
      }
    }
    for (const r of rows) for (const j of groups) emit(`    acc${r}_${j} = acc${r}_${j} + a${r} * b${j};`);
    emit('  }');
  }

  // Masked writes.
  for (const r of rows) {
    emit(`  if (m0 + ${r}u < ${M}u) {`);
    emit(`    let pc = baseC + (m0 + ${r}u) * ${N}u + n0;`);
    for (const j of groups) {
      if (vecC) emit(`    if (n0 + ${4 * j}u < ${N}u) { C[(pc + ${4 * j}u) / 4u] = acc${r}_${j}; }`);
      else
        for (let c = 0; c < 4; c++)
          emit(`    if (n0 + ${4 * j + c}u < ${N}u) { C[pc + ${4 * j + c}u] = acc${r}_${j}[${c}]; }`);
    }
    emit('  }');
  }

  const arr = (vec: boolean) => (vec ? 'array<vec4<f32>>' : 'array<f32>');
  return `${S ? 'enable subgroups;\n' : ''}// matmul register ${TM}x${TN}${S ? ` A shared by ${S} lanes` : ''} A:${loadA} B:${loadB}
@group(0) @binding(0) var<storage, read> A: ${arr(vecA)};
@group(0) @binding(1) var<storage, read> B: ${arr(vecB)};
@group(0) @binding(2) var<storage, read_write> C: ${arr(vecC)};
${paramsDecl(chunked, 3)}
@compute @workgroup_size(${WGX}, ${WGY})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>${S ? ', @builtin(subgroup_invocation_id) lane: u32' : ''}) {
  let n0 = (wid.x * ${WGX}u + lid.x) * ${TN}u;
  let m0 = ((wid.y${chunked ? ' + params.rowBase' : ''})${WGY > 1 ? ` * ${WGY}u + lid.y` : ''}) * ${TM}u;
  // No early return: out-of-range invocations clamp their reads and skip their writes, which keeps the
  // control flow uniform (lavapipe then turns workgroup-uniform loads into one scalar load).
${batchPrelude(problem, vecA, vecB, chunked)}
${lines.join('\n')}
}`;
}

const BM = 64;
const BN = 64;
const BK = 16;

/** The shared-memory tiled kernel (see the file comment). Every read is bounds-checked and zero-padded. */
export function sharedKernel(problem: MatmulProblem, chunked: boolean): string {
  const { M, N, K, a, b } = problem;
  const loadA = `A[baseA + ${mulIndex('m', a.rowStride)} + ${mulIndex('k', a.colStride)}]`;
  const loadB = `B[baseB + ${mulIndex('k', b.rowStride)} + ${mulIndex('n', b.colStride)}]`;
  const vecC = isMultiple(N, 4);
  const writes = [0, 1, 2, 3]
    .map((r) => {
      const row = `let row${r} = m0 + ty * 4u + ${r}u;`;
      const body = vecC
        ? `if (n < ${N}u) { C[(baseC + row${r} * ${N}u + n) / 4u] = acc[${r}]; }`
        : [0, 1, 2, 3]
            .map((c) => `if (n + ${c}u < ${N}u) { C[baseC + row${r} * ${N}u + n + ${c}u] = acc[${r}][${c}]; }`)
            .join(' ');
      return `  ${row}\n  if (row${r} < ${M}u) { ${body} }`;
    })
    .join('\n');
  return `// matmul shared ${BM}x${BN}x${BK}
@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<storage, read_write> C: ${vecC ? 'array<vec4<f32>>' : 'array<f32>'};
${paramsDecl(chunked, 3)}
var<workgroup> As: array<array<f32, ${BM}>, ${BK}>;
var<workgroup> Bs: array<array<f32, ${BN}>, ${BK}>;
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let tx = lid.x;
  let ty = lid.y;
  let tid = ty * 16u + tx;
  let n0 = wid.x * ${BN}u;
  let m0 = (wid.y${chunked ? ' + params.rowBase' : ''}) * ${BM}u;
${batchPrelude(problem, false, false, chunked)}
  var acc: array<vec4<f32>, 4>;
  for (var r = 0u; r < 4u; r = r + 1u) { acc[r] = vec4<f32>(0.0); }
  for (var k0 = 0u; k0 < ${K}u; k0 = k0 + ${BK}u) {
    for (var e = tid; e < ${BM * BK}u; e = e + 256u) {
      let mm = e % ${BM}u; let kk = e / ${BM}u;
      let m = m0 + mm; let k = k0 + kk;
      var v = 0.0;
      if (m < ${M}u && k < ${K}u) { v = ${loadA}; }
      As[kk][mm] = v;
    }
    for (var e = tid; e < ${BK * BN}u; e = e + 256u) {
      let nn = e % ${BN}u; let kk = e / ${BN}u;
      let n = n0 + nn; let k = k0 + kk;
      var v = 0.0;
      if (n < ${N}u && k < ${K}u) { v = ${loadB}; }
      Bs[kk][nn] = v;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < ${BK}u; kk = kk + 1u) {
      let av = vec4<f32>(As[kk][ty * 4u], As[kk][ty * 4u + 1u], As[kk][ty * 4u + 2u], As[kk][ty * 4u + 3u]);
      let bv = vec4<f32>(Bs[kk][tx * 4u], Bs[kk][tx * 4u + 1u], Bs[kk][tx * 4u + 2u], Bs[kk][tx * 4u + 3u]);
      acc[0] = acc[0] + av.x * bv;
      acc[1] = acc[1] + av.y * bv;
      acc[2] = acc[2] + av.z * bv;
      acc[3] = acc[3] + av.w * bv;
    }
    workgroupBarrier();
  }
  let n = n0 + tx * 4u;
${writes}
}`;
}

/** Builds the kernel of `variant` for `problem` and its (unsplit) grid. */
export function matmulLaunch(
  problem: MatmulProblem,
  variant: MatmulVariant,
  info: AdapterSummary | null,
  subgroup = 0,
): MatmulLaunch {
  const batch = problem.batchShape.reduce((x, y) => x * y, 1);
  if (variant === 'shared') {
    const y = Math.ceil(problem.M / BM);
    const chunked = y > MAX_GROUPS || batch > MAX_GROUPS;
    return { wgsl: sharedKernel(problem, chunked), workgroups: [Math.ceil(problem.N / BN), y, batch], chunked };
  }
  const tile = registerTileFor(info, problem, subgroup);
  if (tile.subgroup && tile.subgroup !== subgroup) {
    throw new MimError(
      `matmul: register tile shares A over subgroups of ${tile.subgroup} but the device's subgroup size is ${subgroup || 'not fixed'}; drop 'subgroup' from the tile`,
    );
  }
  const x = Math.ceil(problem.N / tile.TN / tile.WGX);
  const y = Math.ceil(problem.M / tile.TM / tile.WGY);
  const chunked = y > MAX_GROUPS || batch > MAX_GROUPS;
  return { wgsl: registerKernel(problem, tile, chunked), workgroups: [x, y, batch], chunked };
}

/** The variant `auto` picks: register tiles on CPU adapters, shared-memory tiles on hardware GPUs. */
export function defaultVariant(info: AdapterSummary | null): MatmulVariant {
  return info && !info.software ? 'shared' : 'register';
}
