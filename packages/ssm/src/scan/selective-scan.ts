/**
 * The fused selective scan (Mamba S6, real-valued) with mamba_ssm's `selective_scan_fn` shapes and semantics:
 *
 *   Δ = softplus(delta + deltaBias)            (softplus(v) = v above 20; only with deltaSoftplus)
 *   h[l] = exp(Δ[l]·A)·h[l−1] + Δ[l]·B[l]·u[l]  (h[−1] = initialState or 0)
 *   out[l] = (Σ_n C[l,n]·h[l,n] + D·u[l]) · silu(z[l])
 *
 * Forward and backward are the chunked WGSL kernels of kernels.ts; the backward recomputes h from states saved
 * every TB steps (never the whole (batch, dim, L, N) state) and starts the adjoint from the gradient of the
 * returned last state.
 */
import {
  concat,
  copy,
  empty,
  fmtShape,
  gpuContext,
  grid1d,
  needsGrad,
  noGrad,
  recordOp,
  reshape,
  runKernel,
  ShapeError,
  type Tensor,
  zeros,
} from '@mim/tensor';
import {
  backwardCarryKernel,
  backwardChunkKernel,
  backwardInputProjectionKernel,
  backwardMainKernel,
  forwardCarryKernel,
  forwardChunkKernel,
  forwardOutputKernel,
  gateBackwardKernel,
  layout,
  projectionWorkgroups,
  type ScanGeometry,
  tileWorkgroups,
} from './kernels.js';
import { checkBindings, dense, scanSubgroupSize, sumMiddle, viewOf } from './launch.js';
import {
  backwardInputProjectionKernelVec4,
  backwardMainKernelVec4,
  forwardChunkKernelVec4,
  forwardOutputKernelVec4,
} from './vector-kernels.js';

export interface SelectiveScanOptions {
  /** Skip weight, (dim). */
  D?: Tensor | null;
  /** Gate, (batch, dim, L): the output is multiplied by silu(z). */
  z?: Tensor | null;
  /** Added to delta before the softplus, (dim). */
  deltaBias?: Tensor | null;
  /** Δ = softplus(delta + deltaBias) (default false, as in mamba_ssm). */
  deltaSoftplus?: boolean;
  /** Also return the state after the last step, (batch, dim, N). */
  returnLastState?: boolean;
  /** State before the first step, (batch, dim, N) (default zeros). Differentiable. */
  initialState?: Tensor | null;
  /**
   * Chunk length T of the two-pass scan (rounded up to a multiple of the checkpoint stride). Default: chosen
   * from the adapter so that batch·dim·chunks keeps it busy (a software adapter with batch·dim ≥ 1024 gets
   * one chunk: the chunk pass would only add work there).
   */
  chunkSize?: number;
  /**
   * Use the vec4 kernels (forward, backward sweep, dB/dC), whose subgroups share the loads of B and C (tuning and
   * testing). Default: on software adapters with subgroups of one fixed size, where they are two to three times
   * faster. Only taken when L is a multiple of 4 (and so are the chunk and checkpoint lengths); otherwise the
   * scalar kernels run.
   */
  vectorize?: boolean;
}

export interface SelectiveScanResult {
  /** (batch, dim, L) */
  out: Tensor;
  /** (batch, dim, N) */
  lastState: Tensor;
}

export interface ScanShapes {
  batch: number;
  dim: number;
  len: number;
  state: number;
  groups: number;
  /** B and C arrived as (batch, N, L) (not grouped). */
  ungrouped: boolean;
}

const OP = 'selectiveScan';

/** Validates the inputs of selectiveScan / selectiveScanRef and returns the sizes. */
export function scanShapes(
  op: string,
  u: Tensor,
  delta: Tensor,
  A: Tensor,
  B: Tensor,
  C: Tensor,
  options: SelectiveScanOptions,
): ScanShapes {
  const want = (name: string, t: Tensor, shape: number[], hint: string) => {
    if (t.dtype !== 'f32') throw new ShapeError(`${op}: ${name} must be f32, got ${t.dtype}; cast(${name}, 'f32')`);
    if (t.rank !== shape.length || t.shape.some((s, i) => s !== shape[i])) {
      throw new ShapeError(`${op}: ${name} has shape ${fmtShape(t.shape)}, expected ${fmtShape(shape)} ${hint}`);
    }
  };
  if (u.rank !== 3) throw new ShapeError(`${op}: u has shape ${fmtShape(u.shape)}, expected (batch, dim, L)`);
  const [batch, dim, len] = u.shape;
  want('u', u, [batch, dim, len], '(batch, dim, L)');
  want('delta', delta, [batch, dim, len], '(batch, dim, L) like u');
  if (A.rank !== 2) throw new ShapeError(`${op}: A has shape ${fmtShape(A.shape)}, expected (dim, N)`);
  const state = A.shape[1];
  want('A', A, [dim, state], '(dim, N)');
  const ungrouped = B.rank === 3;
  if (B.rank !== 3 && B.rank !== 4) {
    throw new ShapeError(
      `${op}: B has shape ${fmtShape(B.shape)}, expected (batch, N, L) or grouped (batch, G, N, L); a constant (dim, N) B is not supported — expand it over L`,
    );
  }
  const groups = ungrouped ? 1 : B.shape[1];
  const bcShape = ungrouped ? [batch, state, len] : [batch, groups, state, len];
  want('B', B, bcShape, ungrouped ? '(batch, N, L)' : '(batch, G, N, L)');
  want('C', C, bcShape, `like B ${fmtShape(B.shape)}`);
  if (groups < 1 || dim % groups !== 0) {
    throw new ShapeError(`${op}: dim ${dim} is not divisible by the ${groups} groups of B ${fmtShape(B.shape)}`);
  }
  if (options.D) want('D', options.D, [dim], '(dim)');
  if (options.deltaBias) want('deltaBias', options.deltaBias, [dim], '(dim)');
  if (options.z) want('z', options.z, [batch, dim, len], '(batch, dim, L) like u');
  if (options.initialState) want('initialState', options.initialState, [batch, dim, state], '(batch, dim, N)');
  return { batch, dim, len, state, groups, ungrouped };
}

const pow2Floor = (x: number): number => 2 ** Math.floor(Math.log2(Math.max(1, x)));

/** Chunking and workgroup shape for one call. */
export function planScan(s: ScanShapes, softplus: boolean, chunkSize?: number, vectorize?: boolean): ScanGeometry {
  const dimPerGroup = s.dim / s.groups;
  // Checkpoint stride: the backward keeps TB·N recomputed states per invocation (512 floats at N = 16).
  const defaultStride = Math.min(32, Math.max(16, pow2Floor(512 / s.state)));
  const target = gpuContext(OP).info.software ? 1024 : 65536;
  let chunk: number;
  if (chunkSize !== undefined) {
    if (!(chunkSize >= 1)) throw new ShapeError(`${OP}: chunkSize must be ≥ 1, got ${chunkSize}`);
    chunk = Math.floor(chunkSize);
  } else {
    const wanted = Math.ceil(target / Math.max(1, s.batch * s.dim));
    const chunks = Math.max(1, Math.min(wanted, Math.ceil(s.len / 128)));
    chunk = Math.ceil(s.len / chunks);
  }
  const checkpoint = Math.min(defaultStride, chunk);
  chunk = Math.ceil(chunk / checkpoint) * checkpoint;
  // The vec4 kernels need L and TB in whole vec4s, and the dB/dC pass loads a block of TB steps in one vec4 per lane.
  const size = s.len % 4 === 0 && checkpoint % 4 === 0 ? scanSubgroupSize(OP, vectorize) : 0;
  const subgroup = checkpoint <= 4 * size ? size : 0;
  const wgDim = Math.max(subgroup, 1, Math.min(64, 2 ** Math.ceil(Math.log2(dimPerGroup))));
  const checkpoints = Math.max(1, Math.ceil(s.len / checkpoint));
  // The dB/dC pass runs one invocation per (batch, group, block, n); split its sum over d when that is too few.
  const projectionRows = s.batch * s.groups * checkpoints * s.state;
  const dSplit = Math.max(1, Math.min(dimPerGroup, 64, Math.ceil(target / projectionRows)));
  return {
    batch: s.batch,
    dim: s.dim,
    len: s.len,
    state: s.state,
    groups: s.groups,
    dimPerGroup,
    chunk,
    chunks: Math.max(1, Math.ceil(s.len / chunk)),
    checkpoint,
    checkpoints,
    wgDim,
    blocks: Math.ceil(dimPerGroup / wgDim),
    dSplit,
    softplus,
    subgroup,
  };
}

/** [A (dim·N) | D (dim) | deltaBias (dim)] in one buffer (missing ones are zeros). */
function packParams(A: Tensor, D: Tensor | null, bias: Tensor | null, dim: number): Tensor {
  return noGrad(() => {
    const parts = [reshape(A, [A.size]), D ? D.detach() : zeros([dim]), bias ? bias.detach() : zeros([dim])];
    const packed = concat(parts, 0);
    for (const p of parts) p.dispose();
    return packed;
  });
}

/** A row-major copy of `count` elements of `packed` from `offset`, shaped `shape`. */
function copyRegion(packed: Tensor, offset: number, shape: number[]): Tensor {
  const view = viewOf(packed, offset, shape);
  const out = noGrad(() => copy(view));
  view.dispose();
  return out;
}

function rowWorkgroups(rows: number): [number, number] {
  return grid1d(rows, 64).workgroups;
}

/**
 * Selective scan. u, delta: (batch, dim, L); A: (dim, N); B, C: (batch, N, L) or grouped (batch, G, N, L)
 * (channel d uses group ⌊d·G/dim⌋); D, deltaBias: (dim); z: (batch, dim, L). Returns out (batch, dim, L), or
 * `{ out, lastState }` with lastState (batch, dim, N) when `returnLastState` is set.
 */
export function selectiveScan(
  u: Tensor,
  delta: Tensor,
  A: Tensor,
  B: Tensor,
  C: Tensor,
  options: SelectiveScanOptions & { returnLastState: true },
): SelectiveScanResult;
export function selectiveScan(
  u: Tensor,
  delta: Tensor,
  A: Tensor,
  B: Tensor,
  C: Tensor,
  options?: SelectiveScanOptions,
): Tensor;
export function selectiveScan(
  u: Tensor,
  delta: Tensor,
  A: Tensor,
  B: Tensor,
  C: Tensor,
  options: SelectiveScanOptions = {},
): Tensor | SelectiveScanResult {
  const s = scanShapes(OP, u, delta, A, B, C, options);
  const D = options.D ?? null;
  const z = options.z ?? null;
  const bias = options.deltaBias ?? null;
  const init = options.initialState ?? null;
  const wantLast = options.returnLastState === true;
  if (s.batch * s.dim * s.len * s.state === 0) {
    // Nothing to scan: zeros out, and the last state is the initial one.
    const out = zeros([s.batch, s.dim, s.len]);
    if (!wantLast) return out;
    return { out, lastState: init ? init.detach() : zeros([s.batch, s.dim, s.state]) };
  }
  const g = planScan(s, options.deltaSoftplus === true, options.chunkSize, options.vectorize);
  const inputs = [u, delta, A, B, C, D, z, bias, init];
  const save = needsGrad(...inputs);
  const lay = layout(g, save);
  const hasStart = g.chunks > 1 || init !== null;

  const { out, lastState, saved } = noGrad(() => {
    const ud = dense(u);
    const dd = dense(delta);
    const bd = dense(B);
    const cd = dense(C);
    const zd = z ? dense(z) : null;
    const params = packParams(A, D, bias, s.dim);
    const states = empty([lay.statesSize], 'f32', OP);
    const out = empty([s.batch, s.dim, s.len], 'f32', OP);
    const ypre = zd && save ? empty([s.batch, s.dim, s.len], 'f32', OP) : null;
    if (g.chunks > 1) {
      runKernel(
        'selective_scan_chunks',
        g.subgroup > 0 ? forwardChunkKernelVec4(g) : forwardChunkKernel(g),
        [ud, dd, params, bd, states],
        [],
        tileWorkgroups(g, g.chunks - 1),
      );
    }
    if (hasStart) {
      const h0 = init ? dense(init) : null;
      runKernel(
        'selective_scan_carry',
        forwardCarryKernel(g, h0 !== null),
        h0 ? [params, states, h0] : [params, states],
        [],
        rowWorkgroups(s.batch * s.dim),
      );
      h0?.dispose();
    }
    const flags = { hasStart, hasZ: zd !== null, save };
    const kernel = g.subgroup > 0 ? forwardOutputKernelVec4(g, flags) : forwardOutputKernel(g, flags);
    checkBindings(OP, 7 + (zd ? 1 : 0) + (ypre ? 1 : 0));
    runKernel(
      'selective_scan_forward',
      kernel,
      [ud, dd, params, bd, cd, ...(zd ? [zd] : []), states],
      [out, ...(ypre ? [ypre] : [])],
      tileWorkgroups(g, g.chunks),
    );
    const lastState = wantLast ? copyRegion(states, lay.statesLast, [s.batch, s.dim, s.state]) : null;
    const saved = save ? [ud, dd, params, bd, cd, states, ...(zd && ypre ? [zd, ypre] : [])] : [];
    if (!save) for (const t of [ud, dd, params, bd, cd, states, zd]) t?.dispose();
    return { out, lastState, saved };
  });

  if (save) {
    recordOp(
      OP,
      inputs,
      lastState ? [out, lastState] : [out],
      (grads, kept, needs) => scanBackward(g, s, grads[0], grads[1] ?? null, kept, needs),
      saved,
    );
    for (const t of saved) t.dispose();
  }
  return lastState ? { out, lastState } : out;
}

/** The backward rule: gradients for [u, delta, A, B, C, D, z, deltaBias, initialState]. */
function scanBackward(
  g: ScanGeometry,
  s: ScanShapes,
  gradOut: Tensor | null,
  gradLast: Tensor | null,
  kept: Tensor[],
  needs: boolean[],
): (Tensor | null)[] {
  const [ud, dd, params, bd, cd, states, zd, ypre] = kept;
  const lay = layout(g, true);
  const bdl = s.batch * s.dim * s.len;
  return noGrad(() => {
    const dout = gradOut ? dense(gradOut) : zeros([s.batch, s.dim, s.len]);
    let dyp = dout;
    let dz: Tensor | null = null;
    if (zd) {
      dyp = empty([s.batch, s.dim, s.len], 'f32', `${OP}_backward`);
      dz = empty([s.batch, s.dim, s.len], 'f32', `${OP}_backward`);
      const { workgroups, rowStride } = grid1d(bdl, 64);
      runKernel(
        'selective_scan_gate_backward',
        gateBackwardKernel(bdl, rowStride),
        [dout, zd, ypre],
        [dyp, dz],
        workgroups,
      );
      dout.dispose();
    }
    const work = empty([lay.workSize], 'f32', `${OP}_backward`);
    if (g.chunks > 1) {
      runKernel(
        'selective_scan_backward_chunks',
        backwardChunkKernel(g),
        [dd, params, cd, dyp, work],
        [],
        tileWorkgroups(g, g.chunks - 1),
      );
    }
    const hasCarry = g.chunks > 1 || gradLast !== null;
    if (hasCarry) {
      const dlast = gradLast ? dense(gradLast) : null;
      runKernel(
        'selective_scan_backward_carry',
        backwardCarryKernel(g, dlast !== null),
        dlast ? [params, work, dlast] : [params, work],
        [],
        rowWorkgroups(s.batch * s.dim),
      );
      dlast?.dispose();
    }
    const du = empty([s.batch, s.dim, s.len], 'f32', `${OP}_backward`);
    const ddelta = empty([s.batch, s.dim, s.len], 'f32', `${OP}_backward`);
    checkBindings(`${OP} backward`, 10);
    runKernel(
      'selective_scan_backward',
      g.subgroup > 0 ? backwardMainKernelVec4(g, hasCarry) : backwardMainKernel(g, hasCarry),
      [ud, dd, params, bd, cd, dyp, states, work],
      [du, ddelta],
      tileWorkgroups(g, g.chunks),
    );
    // dB, dC: per-(d-part) sums over the channels of each group, then a reduce over the parts.
    const bcShape = s.ungrouped ? [s.batch, s.state, s.len] : [s.batch, s.groups, s.state, s.len];
    let dB: Tensor | null = null;
    let dC: Tensor | null = null;
    if (needs[3] || needs[4]) {
      const half = lay.bcHalf;
      const part = empty([2 * g.dSplit * half], 'f32', `${OP}_backward`);
      runKernel(
        'selective_scan_backward_bc',
        g.subgroup > 0 ? backwardInputProjectionKernelVec4(g) : backwardInputProjectionKernel(g),
        [ud, dd, params, bd, cd, dyp, states, work],
        [part],
        projectionWorkgroups(g),
      );
      const bc = g.dSplit === 1 ? part : sumMiddle(`${OP}_reduce_bc`, part, 0, 2, g.dSplit, half);
      if (needs[3]) dB = viewOf(bc, 0, bcShape);
      if (needs[4]) dC = viewOf(bc, half, bcShape);
      if (bc !== part) part.dispose();
      bc.dispose();
    }
    dyp.dispose();
    if (!needs[0]) du.dispose();
    if (!needs[1]) ddelta.dispose();
    // dA, dD, ddeltaBias: sum the per-(batch, chunk) partials.
    const small = sumMiddle(`${OP}_reduce_params`, work, lay.workSmall, 1, lay.smallRows, lay.smallWidth);
    const dA = needs[2] ? viewOf(small, 0, [s.dim, s.state]) : null;
    const dD = needs[5] ? viewOf(small, s.dim * s.state, [s.dim]) : null;
    const dBias = needs[7] ? viewOf(small, s.dim * s.state + s.dim, [s.dim]) : null;
    small.dispose();
    const dInit = needs[8] ? copyRegion(work, lay.workInit, [s.batch, s.dim, s.state]) : null;
    work.dispose();
    if (!needs[6]) dz?.dispose();
    return [needs[0] ? du : null, needs[1] ? ddelta : null, dA, dB, dC, dD, needs[6] ? dz : null, dBias, dInit];
  });
}
