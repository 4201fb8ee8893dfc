/**
 * Reductions over any set of axes with keepdim: sum, mean, max, min, argmax, argmin, var.
 *
 * The reduced axes are moved last (a view; a contiguous copy only when the layout needs one), so every
 * reduction is "rows × R". Short rows get one invocation each; long rows get a 64-wide workgroup with a
 * shared-memory tree; very long rows with few of them are split into chunks and reduced in two passes so
 * more than a handful of workgroups stay busy.
 */
import { recordOp } from '../../autograd/record.js';
import type { DType } from '../../dtype.js';
import { DTypeError, fmtShape, ShapeError } from '../../runtime/errors.js';
import { empty, grid1d, runKernel } from '../../runtime/kernel.js';
import { normAxes, numel } from '../../shape.js';
import type { Tensor } from '../../tensor.js';
import { cast, div, eq, mul, sub } from '../elementwise/binary.js';
import { square } from '../elementwise/unary.js';
import { contiguous } from '../movement/copy.js';
import { expand, permute, reshape } from '../movement/views.js';

type ReduceKind = 'sum' | 'max' | 'min' | 'argmax' | 'argmin';

const THREADS = 64;
/** ±inf built at run time: WGSL rejects infinite constant expressions. */
export const INF_HELPER = `fn inf_f32(negative: bool) -> f32 { var bits = 0x7f800000u; if (negative) { bits = 0xff800000u; } return bitcast<f32>(bits); }`;
const SMALL_ROW = 32;

function identity(kind: ReduceKind, dtype: DType): string {
  if (kind === 'sum') return `${dtype}(0)`;
  const wantsLow = kind === 'max' || kind === 'argmax';
  if (dtype === 'f32') return wantsLow ? 'inf_f32(true)' : 'inf_f32(false)';
  if (dtype === 'i32') return wantsLow ? 'i32(-2147483647 - 1)' : 'i32(2147483647)';
  return wantsLow ? '0u' : '4294967295u';
}

/** WGSL test for NaN that fast-math drivers cannot fold away (`v != v` may be simplified to false). */
const NAN_HELPER = 'fn is_nan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }';

function nanTest(dtype: DType, x: string): string {
  return dtype === 'f32' ? `is_nan(${x})` : 'false';
}

/**
 * WGSL that folds element (v, j) into (acc, idx); `idx == end` means "nothing seen yet". NaN wins max/min
 * (the first NaN for the arg kinds), like torch.
 */
function combine(kind: ReduceKind, dtype: DType): string {
  if (kind === 'sum') return 'acc = acc + v;';
  const better = kind === 'max' || kind === 'argmax' ? 'v > acc' : 'v < acc';
  const vNan = nanTest(dtype, 'v');
  const accNan = nanTest(dtype, 'acc');
  return `if (idx == end || (${vNan} && !${accNan}) || (!${accNan} && ${better})) { acc = v; idx = j; }`;
}

/**
 * Merges a partner (acc2, idx2) into (acc, idx) during the tree; ties keep the lower index (first occurrence),
 * a NaN beats any number and the first NaN beats later ones. Partners that saw nothing (idx2 == end) never win.
 */
function merge(kind: ReduceKind, dtype: DType): string {
  if (kind === 'sum') return 'acc = acc + acc2;';
  const better = kind === 'max' || kind === 'argmax' ? 'acc2 > acc' : 'acc2 < acc';
  const nan2 = nanTest(dtype, 'acc2');
  const nan1 = nanTest(dtype, 'acc');
  return `if (idx2 != end && (idx == end || (${nan2} && (!${nan1} || idx2 < idx)) || (!${nan1} && !${nan2} && (${better} || (acc2 == acc && idx2 < idx))))) { acc = acc2; idx = idx2; }`;
}

/**
 * out[r·chunks + c] = reduce(x[r·R + c·S … min(r·R + (c+1)·S, r·R + R))). `x` contiguous.
 * Returns the values and (for arg kinds) the indices relative to the start of the row.
 */
function reduceRows(kind: ReduceKind, x: Tensor, rows: number, R: number, chunks: number): Tensor[] {
  const S = Math.ceil(R / chunks);
  const dtype = x.dtype;
  const isArg = kind === 'argmax' || kind === 'argmin';
  const values = empty([rows * chunks], dtype, kind);
  const index = isArg ? empty([rows * chunks], 'i32', kind) : null;
  const segments = rows * chunks;
  const head = `${INF_HELPER}
${NAN_HELPER}
@group(0) @binding(0) var<storage, read> x: array<${dtype}>;
@group(0) @binding(1) var<storage, read_write> out: array<${dtype}>;
${isArg ? '@group(0) @binding(2) var<storage, read_write> out_index: array<i32>;' : ''}`;
  const store = `out[seg] = acc;${isArg ? ' out_index[seg] = i32(idx);' : ''}`;
  const segStart = `let row = seg / ${chunks}u; let chunk = seg % ${chunks}u;
  let begin = chunk * ${S}u; let end = min(begin + ${S}u, ${R}u); let base = ${x.offset}u + row * ${R}u;`;
  let wgsl: string;
  let workgroups: [number, number];
  if (S <= SMALL_ROW) {
    const g = grid1d(segments);
    workgroups = g.workgroups;
    wgsl = `${head}
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let seg = gid.x + gid.y * ${g.rowStride}u;
  if (seg >= ${segments}u) { return; }
  ${segStart}
  var acc = ${identity(kind, dtype)}; var idx = end;
  for (var j = begin; j < end; j = j + 1u) { let v = x[base + j]; ${combine(kind, dtype)} }
  ${store}
}`;
  } else {
    const g = grid1d(segments, 1);
    workgroups = g.workgroups;
    wgsl = `${head}
var<workgroup> s_acc: array<${dtype}, ${THREADS}>;
var<workgroup> s_idx: array<u32, ${THREADS}>;
@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let seg = wid.x + wid.y * ${g.rowStride}u;
  if (seg >= ${segments}u) { return; }
  ${segStart}
  var acc = ${identity(kind, dtype)}; var idx = end;
  for (var j = begin + lid; j < end; j = j + ${THREADS}u) { let v = x[base + j]; ${combine(kind, dtype)} }
  s_acc[lid] = acc; s_idx[lid] = idx;
  workgroupBarrier();
  for (var width = ${THREADS / 2}u; width > 0u; width = width / 2u) {
    if (lid < width) {
      let acc2 = s_acc[lid + width]; let idx2 = s_idx[lid + width];
      ${merge(kind, dtype)}
      s_acc[lid] = acc; s_idx[lid] = idx;
    }
    workgroupBarrier();
  }
  if (lid == 0u) { ${store} }
}`;
  }
  runKernel(kind, wgsl, [x], index ? [values, index] : [values], workgroups);
  return index ? [values, index] : [values];
}

interface Plan {
  axes: number[];
  keptShape: number[];
  /** Output shape with keepdim (reduced axes as 1). */
  keepShape: number[];
  rows: number;
  R: number;
}

function plan(x: Tensor, axes: number | readonly number[] | undefined, op: string): Plan {
  const list = normAxes(axes, x.rank, op);
  const kept = x.shape.map((_, i) => i).filter((i) => !list.includes(i));
  return {
    axes: list,
    keptShape: kept.map((i) => x.shape[i]),
    keepShape: x.shape.map((d, i) => (list.includes(i) ? 1 : d)),
    rows: numel(kept.map((i) => x.shape[i])),
    R: numel(list.map((i) => x.shape[i])),
  };
}

/** The reduced axes moved last, as a contiguous tensor (no copy when already so). */
function rowsView(x: Tensor, p: Plan): Tensor {
  const kept = x.shape.map((_, i) => i).filter((i) => !p.axes.includes(i));
  const moved = permute(x, [...kept, ...p.axes]);
  const c = contiguous(moved);
  moved.dispose();
  return c;
}

function runReduction(kind: ReduceKind, x: Tensor, p: Plan): Tensor[] {
  const isArg = kind === 'argmax' || kind === 'argmin';
  const rowsTensor = rowsView(x, p);
  let result: Tensor[];
  if (p.R === 0) {
    if (kind !== 'sum') {
      throw new ShapeError(
        `${kind}: cannot reduce a tensor of shape ${fmtShape(x.shape)} over an empty axis (axes [${p.axes.join(', ')}])`,
      );
    }
    result = reduceRows(kind, rowsTensor, p.rows, 0, 1);
  } else if (!isArg && p.rows < 64 && p.R > 16384) {
    // Two passes so ~64+ workgroups share a long row.
    const chunks = Math.min(Math.ceil(p.R / 4096), Math.ceil(256 / p.rows));
    const [partial] = reduceRows(kind, rowsTensor, p.rows, p.R, chunks);
    result = reduceRows(kind, partial, p.rows, chunks, 1);
    partial.dispose();
  } else {
    result = reduceRows(kind, rowsTensor, p.rows, p.R, 1);
  }
  rowsTensor.dispose();
  return result;
}

function finish(t: Tensor, p: Plan, keepdim: boolean): Tensor {
  const out = reshape(t, keepdim ? p.keepShape : p.keptShape);
  t.dispose();
  return out;
}

/** Broadcasts a reduced gradient (keepdim layout) back over the input shape, as a contiguous tensor. */
function spread(g: Tensor, p: Plan, shape: readonly number[]): Tensor {
  const kept = reshape(g, p.keepShape);
  const wide = expand(kept, shape);
  const c = contiguous(wide);
  return c;
}

/** Sum over `axes` (all when omitted). */
export function sum(x: Tensor, axes?: number | readonly number[], keepdim = false): Tensor {
  const p = plan(x, axes, 'sum');
  const [values] = runReduction('sum', x, p);
  const out = finish(values, p, keepdim);
  const shape = x.shape;
  recordOp('sum', [x], [out], ([g]) => [spread(g!, p, shape)]);
  return out;
}

/** Mean over `axes` (all when omitted). */
export function mean(x: Tensor, axes?: number | readonly number[], keepdim = false): Tensor {
  requireFloat('mean', x);
  const p = plan(x, axes, 'mean');
  const total = sum(x, axes, keepdim);
  const out = mul(total, 1 / p.R);
  total.dispose();
  return out;
}

function extreme(
  kind: 'max' | 'min',
  x: Tensor,
  axes: number | readonly number[] | undefined,
  keepdim: boolean,
): Tensor {
  const p = plan(x, axes, kind);
  const [values] = runReduction(kind, x, p);
  const out = finish(values, p, keepdim);
  const shape = x.shape;
  recordOp(
    kind,
    [x],
    [out],
    ([g], [sx, sout]) => {
      // Gradient shared evenly among tied extremes (torch.amax semantics).
      const wide = spread(sout, p, shape);
      const mask = cast(eq(sx, wide), 'f32');
      const count = sum(mask, p.axes, true);
      const share = div(mask, count);
      const gw = spread(g!, p, shape);
      return [mul(gw, share)];
    },
    [x, out],
  );
  return out;
}

/** Maximum over `axes` (all when omitted). */
export const max = (x: Tensor, axes?: number | readonly number[], keepdim = false): Tensor =>
  extreme('max', x, axes, keepdim);
/** Minimum over `axes` (all when omitted). */
export const min = (x: Tensor, axes?: number | readonly number[], keepdim = false): Tensor =>
  extreme('min', x, axes, keepdim);

function argExtreme(kind: 'argmax' | 'argmin', x: Tensor, axis: number | undefined, keepdim: boolean): Tensor {
  const p = plan(x, axis === undefined ? undefined : [axis], kind);
  const [values, index] = runReduction(kind, x, p);
  values.dispose();
  return finish(index, p, keepdim && axis !== undefined);
}

/** Index (i32) of the first maximum along `axis` (over the flattened tensor when omitted). */
export const argmax = (x: Tensor, axis?: number, keepdim = false): Tensor => argExtreme('argmax', x, axis, keepdim);
/** Index (i32) of the first minimum along `axis` (over the flattened tensor when omitted). */
export const argmin = (x: Tensor, axis?: number, keepdim = false): Tensor => argExtreme('argmin', x, axis, keepdim);

export interface VarOptions {
  /** Subtracted from the count in the denominator: 1 = unbiased (torch default), 0 = biased. */
  correction?: number;
  keepdim?: boolean;
}

/** Variance over `axes` (composed from mean/sub/square/sum, so its gradient comes for free). */
export function variance(x: Tensor, axes?: number | readonly number[], options: VarOptions = {}): Tensor {
  requireFloat('var', x);
  const p = plan(x, axes, 'var');
  const correction = options.correction ?? 1;
  const m = mean(x, p.axes, true);
  const d = sub(x, m);
  const d2 = square(d);
  const s = sum(d2, p.axes, options.keepdim ?? false);
  const out = mul(s, 1 / Math.max(p.R - correction, 0));
  for (const t of [m, d, d2, s]) t.dispose();
  return out;
}

function requireFloat(op: string, x: Tensor): void {
  if (x.dtype !== 'f32') {
    throw new DTypeError(`${op}: expects f32, got ${x.dtype} ${fmtShape(x.shape)}; convert with cast(x, 'f32')`);
  }
}
