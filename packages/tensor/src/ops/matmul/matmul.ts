/**
 * matmul with torch.matmul semantics: 1-D operands are promoted (a: (K) → (1, K), b: (K) → (K, 1)) and the
 * added axis is removed from the result; leading (batch) dims broadcast. Operands are read through their
 * strides, so transposed or sliced views cost no copy; `transposeA` / `transposeB` swap the last two axes.
 *
 * Backward: dA = dC · op(B)ᵀ and dB = op(A)ᵀ · dC, expressed with the transpose flags (no copies), then summed
 * over broadcast batch dims (`sumToShape`).
 */

import { needsGrad, recordOp } from '../../autograd/record.js';
import { gpuContext } from '../../runtime/device.js';
import { DTypeError, fmtShape, ShapeError } from '../../runtime/errors.js';
import { empty, runKernel } from '../../runtime/kernel.js';
import { fixedSubgroupSize } from '../../runtime/subgroups.js';
import { numel, type Shape, sameShape } from '../../shape.js';
import type { Tensor } from '../../tensor.js';
import { zeros } from '../creation.js';
import { reshape } from '../movement/views.js';
import { sumToShape } from '../reduce/sum-to.js';
import { defaultVariant, type MatmulProblem, type MatmulVariant, matmulLaunch, type OperandLayout } from './kernel.js';

export interface MatmulOptions {
  /** Use Aᵀ (the last two axes of `a` swapped). Ignored for 1-D `a`. */
  transposeA?: boolean;
  /** Use Bᵀ (the last two axes of `b` swapped). Ignored for 1-D `b`. */
  transposeB?: boolean;
}

let forcedVariant: MatmulVariant | 'auto' = 'auto';

/**
 * Forces the kernel variant (`register` or `shared`) for every later matmul, or `auto` (per adapter).
 * Returns the previous setting. Meant for tests and benchmarks: every variant is correct on every adapter.
 */
export function setMatmulVariant(variant: MatmulVariant | 'auto'): MatmulVariant | 'auto' {
  const previous = forcedVariant;
  forcedVariant = variant;
  return previous;
}

/** The subgroup size register tiles may share A over (see `fixedSubgroupSize`). */
export function matmulSubgroupSize(): number {
  return fixedSubgroupSize('matmul');
}

/** The variant the next matmul will use on the current device. */
export function matmulVariant(): MatmulVariant {
  return forcedVariant === 'auto' ? defaultVariant(gpuContext('matmul').info) : forcedVariant;
}

/**
 * Matrix product. a: (…, M, K) (or (…, K, M) with transposeA), b: (…, K, N) (or (…, N, K) with transposeB)
 * → (broadcast(…), M, N); 1-D operands as in torch.matmul (two 1-D operands give a scalar).
 */
export function matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
  for (const [name, t] of [
    ['a', a],
    ['b', b],
  ] as const) {
    if (t.dtype !== 'f32') {
      throw new DTypeError(
        `matmul: ${name} has dtype ${t.dtype} (shape ${fmtShape(t.shape)}); expected f32, use cast()`,
      );
    }
    if (t.rank === 0) {
      throw new ShapeError(`matmul: ${name} is a scalar (shape []); matmul needs at least 1-D operands, use mul()`);
    }
  }
  const a2 = a.rank === 1 ? reshape(a, [1, a.shape[0]]) : a;
  const b2 = b.rank === 1 ? reshape(b, [b.shape[0], 1]) : b;
  const out = matmulCore(a2, b2, a.rank > 1 && !!options.transposeA, b.rank > 1 && !!options.transposeB, {
    a: a.shape,
    b: b.shape,
  });
  if (a.rank > 1 && b.rank > 1) return out;
  const shape = [...out.shape];
  if (b.rank === 1) shape.pop();
  if (a.rank === 1) shape.splice(shape.length - (b.rank === 1 ? 1 : 2), 1);
  const squeezed = reshape(out, shape);
  if (a2 !== a) a2.dispose();
  if (b2 !== b) b2.dispose();
  out.dispose();
  return squeezed;
}

interface Matrix {
  rows: number;
  cols: number;
  rowStride: number;
  colStride: number;
  batchShape: number[];
  batchStrides: number[];
}

function asMatrix(t: Tensor, transpose: boolean): Matrix {
  const r = t.rank;
  const [rowAxis, colAxis] = transpose ? [r - 1, r - 2] : [r - 2, r - 1];
  return {
    rows: t.shape[rowAxis],
    cols: t.shape[colAxis],
    rowStride: t.strides[rowAxis],
    colStride: t.strides[colAxis],
    batchShape: t.shape.slice(0, r - 2),
    batchStrides: t.strides.slice(0, r - 2),
  };
}

function broadcastBatch(a: Matrix, b: Matrix, shapes: { a: Shape; b: Shape }): number[] {
  const rank = Math.max(a.batchShape.length, b.batchShape.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a.batchShape[a.batchShape.length - rank + i] ?? 1;
    const db = b.batchShape[b.batchShape.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(
        `matmul: batch dims of a ${fmtShape(shapes.a)} and b ${fmtShape(shapes.b)} do not broadcast (${da} vs ${db}); make them equal or 1`,
      );
    }
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** Strides of `m`'s batch dims aligned to the broadcast batch shape (0 where broadcast). */
function alignedBatchStrides(m: Matrix, batch: number[]): number[] {
  const lead = batch.length - m.batchShape.length;
  return batch.map((_, i) => (i < lead || m.batchShape[i - lead] === 1 ? 0 : m.batchStrides[i - lead]));
}

/**
 * The kernel problem: size-1 batch dims dropped, mergeable neighbours merged, and — when B is shared by the
 * whole batch and A's batch dims continue its rows — the batch folded into M (one big GEMM).
 */
function planProblem(a: Matrix, b: Matrix, batch: number[], offsets: [number, number]): MatmulProblem {
  const M = a.rows;
  const N = b.cols;
  const K = a.cols;
  let shape: number[] = [];
  let sa: number[] = [];
  let sb: number[] = [];
  const alignedA = alignedBatchStrides(a, batch);
  const alignedB = alignedBatchStrides(b, batch);
  batch.forEach((d, i) => {
    if (d === 1) return;
    const last = shape.length - 1;
    if (last >= 0 && sa[last] === d * alignedA[i] && sb[last] === d * alignedB[i]) {
      shape[last] *= d;
      sa[last] = alignedA[i];
      sb[last] = alignedB[i];
      return;
    }
    shape.push(d);
    sa.push(alignedA[i]);
    sb.push(alignedB[i]);
  });
  let rows = M;
  if (shape.length === 1 && sb[0] === 0 && sa[0] === M * a.rowStride) {
    rows = shape[0] * M;
    shape = [];
    sa = [];
    sb = [];
  }
  const layout = (m: Matrix, rowsOf: number, colsOf: number, strides: number[], offset: number): OperandLayout => ({
    rowStride: rowsOf === 1 ? 0 : m.rowStride,
    colStride: colsOf === 1 ? 0 : m.colStride,
    offset,
    batchStrides: strides,
  });
  return {
    M: rows,
    N,
    K,
    batchShape: shape,
    a: layout(a, rows, K, sa, offsets[0]),
    b: layout(b, K, N, sb, offsets[1]),
  };
}

const MAX_GROUPS = 65535;

function launch(problem: MatmulProblem, a: Tensor, b: Tensor, out: Tensor): void {
  const variant = matmulVariant();
  const { wgsl, workgroups, chunked } = matmulLaunch(problem, variant, gpuContext('matmul').info, matmulSubgroupSize());
  const [x, y, z] = workgroups;
  const name = `matmul_${variant}`;
  const describe = `${fmtShape(a.shape)} @ ${fmtShape(b.shape)} -> ${fmtShape(out.shape)}`;
  if (x > MAX_GROUPS) {
    throw new ShapeError(`matmul: N = ${problem.N} needs ${x} workgroups along x (limit ${MAX_GROUPS}); split b`);
  }
  if (!chunked) {
    runKernel(name, wgsl, [a, b], [out], workgroups, { describe });
    return;
  }
  for (let batchBase = 0; batchBase < z; batchBase += MAX_GROUPS) {
    for (let rowBase = 0; rowBase < y; rowBase += MAX_GROUPS) {
      const uniform = new Uint32Array([batchBase, rowBase, 0, 0]);
      const grid: [number, number, number] = [
        x,
        Math.min(MAX_GROUPS, y - rowBase),
        Math.min(MAX_GROUPS, z - batchBase),
      ];
      runKernel(name, wgsl, [a, b], [out], grid, { describe, uniform });
    }
  }
}

/** Rows of a contiguous (…, R, C) tensor as one (…·R, C) matrix (a view), or null when that needs a copy. */
function foldRows(t: Tensor): Tensor | null {
  if (!t.isContiguous || t.rank < 3) return null;
  return reshape(t, [numel(t.shape.slice(0, -1)), t.shape[t.rank - 1]]);
}

/** op(a) @ op(b) for operands of rank ≥ 2, with its backward rule. */
function matmulCore(a: Tensor, b: Tensor, transA: boolean, transB: boolean, shapes: { a: Shape; b: Shape }): Tensor {
  const ma = asMatrix(a, transA);
  const mb = asMatrix(b, transB);
  if (ma.cols !== mb.rows) {
    const flags = [transA ? 'transposeA' : '', transB ? 'transposeB' : ''].filter(Boolean).join(', ');
    throw new ShapeError(
      `matmul: inner dimensions differ: a ${fmtShape(shapes.a)} gives K = ${ma.cols} but b ${fmtShape(shapes.b)} gives K = ${mb.rows}${flags ? ` (with ${flags})` : ''}; the last dim of a must equal the second-to-last dim of b — transpose an operand (transposeA / transposeB) or reshape it`,
    );
  }
  const batch = broadcastBatch(ma, mb, shapes);
  const outShape = [...batch, ma.rows, mb.cols];
  let out: Tensor;
  if (ma.cols === 0) out = zeros(outShape);
  else {
    out = empty(outShape, 'f32', 'matmul');
    if (out.size > 0) launch(planProblem(ma, mb, batch, [a.offset, b.offset]), a, b, out);
  }
  const gradA = needsGrad(a);
  const gradB = needsGrad(b);
  const saved = [...(gradB ? [a] : []), ...(gradA ? [b] : [])];
  const aShape = a.shape;
  const bShape = b.shape;
  recordOp(
    'matmul',
    [a, b],
    [out],
    ([g], savedTensors) => {
      const sa = gradB ? savedTensors[0] : null;
      const sb = gradA ? savedTensors[gradB ? 1 : 0] : null;
      const none = { a: [], b: [] };
      let ga: Tensor | null = null;
      let gb: Tensor | null = null;
      if (sb) {
        // dA = dC · op(B)ᵀ, or (dC · op(B)ᵀ)ᵀ = op(B) · dCᵀ when A was transposed.
        const full = transA ? matmulCore(sb, g!, transB, true, none) : matmulCore(g!, sb, false, !transB, none);
        ga = sumToShape(full, aShape);
        if (ga !== full) full.dispose();
      }
      if (sa) {
        // dB = op(A)ᵀ · dC, or dCᵀ · op(A) when B was transposed. A weight shared by the batch gets one GEMM
        // over the folded batch instead of a batched product and a sum.
        const foldable = bShape.length === 2 && !transA && sameShape(aShape.slice(0, -2), g!.shape.slice(0, -2));
        const foldA = foldable ? foldRows(sa) : null;
        const foldG = foldA ? foldRows(g!) : null;
        if (foldA && foldG) {
          gb = transB ? matmulCore(foldG, foldA, true, false, none) : matmulCore(foldA, foldG, true, false, none);
        } else {
          const full = transB ? matmulCore(g!, sa, true, transA, none) : matmulCore(sa, g!, !transA, false, none);
          gb = sumToShape(full, bShape);
          if (gb !== full) full.dispose();
        }
        foldA?.dispose();
        foldG?.dispose();
      }
      return [ga, gb];
    },
    saved,
  );
  return out;
}
