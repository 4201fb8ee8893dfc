/**
 * cumsum: inclusive prefix sum along one axis, seen as rows of length L (x contiguous as (outer, L, inner),
 * row r = (o, k) strided by `inner`). Two plans:
 * - one invocation per row scanning it sequentially (many rows, or short rows);
 * - chunked (few long rows): pass 1 scans chunks of S elements in parallel and stores each chunk's total;
 *   pass 2 adds to each chunk the sum of the totals before it (O(L/S + S) per invocation).
 * Backward: the reverse cumsum of g.
 */
import { noGrad } from '../../autograd/grad-mode.js';
import { recordOp } from '../../autograd/record.js';
import { DTypeError } from '../../runtime/errors.js';
import { empty, grid1d, runKernel, WG } from '../../runtime/kernel.js';
import { normAxis, numel } from '../../shape.js';
import type { Tensor } from '../../tensor.js';
import { contiguous } from './copy.js';

export interface CumsumOptions {
  /** Sum from the end of the axis: out[t] = Σ_{s ≥ t} x[s]. */
  reverse?: boolean;
  /** Force the chunk length of the chunked plan (0: one invocation per row). Default: chosen from the shape. */
  chunk?: number;
}

/** Inclusive cumulative sum along `axis` (f32, i32 or u32). Shape: unchanged. */
export function cumsum(x: Tensor, axis: number, options: CumsumOptions = {}): Tensor {
  const a = normAxis(axis, x.rank, 'cumsum');
  const reverse = options.reverse ?? false;
  const shape = x.shape;
  const L = x.rank === 0 ? 1 : shape[a];
  const inner = numel(shape.slice(a + 1));
  const rows = numel(shape) / Math.max(L, 1);
  const chunk = options.chunk ?? (L >= 512 && rows < 8192 ? Math.max(32, Math.ceil(Math.sqrt(L))) : 0);
  if (!Number.isInteger(chunk) || chunk < 0) throw new DTypeError(`cumsum: chunk must be a non-negative integer`);
  const out = empty(shape, x.dtype, 'cumsum');
  if (out.size > 0) {
    const source = x.isContiguous ? x : noGrad(() => contiguous(x));
    if (chunk === 0 || chunk >= L) scanRows(source, out, rows, L, inner, reverse);
    else scanChunked(source, out, rows, L, inner, chunk, reverse);
    if (source !== x) source.dispose();
  }
  recordOp('cumsum', [x], [out], ([g]) => [cumsum(g!, a, { reverse: !reverse })]);
  return out;
}

/** WGSL: `base` (storage index of element 0 of row r) and `pos(t)` (element t of the scan order). */
function rowAddressing(L: number, inner: number, reverse: boolean): string {
  return `fn base_of(r: u32) -> u32 { return (r / ${inner}u) * ${L * inner}u + r % ${inner}u; }
fn pos(t: u32) -> u32 { return ${reverse ? `(${L - 1}u - t)` : 't'} * ${inner}u; }`;
}

function scanRows(x: Tensor, out: Tensor, rows: number, L: number, inner: number, reverse: boolean): void {
  const { workgroups, rowStride } = grid1d(rows);
  const wgsl = `@group(0) @binding(0) var<storage, read> x: array<${x.dtype}>;
@group(0) @binding(1) var<storage, read_write> out: array<${x.dtype}>;
${rowAddressing(L, inner, reverse)}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let r = gid.x + gid.y * ${rowStride}u;
  if (r >= ${rows}u) { return; }
  let base = base_of(r);
  var acc = ${x.dtype}(0);
  for (var t = 0u; t < ${L}u; t = t + 1u) {
    let at = base + pos(t);
    acc = acc + x[at + ${x.offset}u];
    out[at] = acc;
  }
}`;
  runKernel('cumsum', wgsl, [x], [out], workgroups);
}

function scanChunked(
  x: Tensor,
  out: Tensor,
  rows: number,
  L: number,
  inner: number,
  S: number,
  reverse: boolean,
): void {
  const C = Math.ceil(L / S);
  const totals = empty([rows * C], x.dtype, 'cumsum_totals');
  const segments = rows * C;
  const { workgroups, rowStride } = grid1d(segments);
  const head = `${rowAddressing(L, inner, reverse)}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let s = gid.x + gid.y * ${rowStride}u;
  if (s >= ${segments}u) { return; }
  let r = s / ${C}u; let chunk = s % ${C}u;
  let base = base_of(r);
  let begin = chunk * ${S}u; let end = min(begin + ${S}u, ${L}u);`;
  const local = `@group(0) @binding(0) var<storage, read> x: array<${x.dtype}>;
@group(0) @binding(1) var<storage, read_write> out: array<${x.dtype}>;
@group(0) @binding(2) var<storage, read_write> totals: array<${x.dtype}>;
${head}
  var acc = ${x.dtype}(0);
  for (var t = begin; t < end; t = t + 1u) {
    let at = base + pos(t);
    acc = acc + x[at + ${x.offset}u];
    out[at] = acc;
  }
  totals[s] = acc;
}`;
  runKernel('cumsum_chunks', local, [x], [out, totals], workgroups);
  const carry = `@group(0) @binding(0) var<storage, read> totals: array<${x.dtype}>;
@group(0) @binding(1) var<storage, read_write> out: array<${x.dtype}>;
${head}
  if (chunk == 0u) { return; }
  var carry = ${x.dtype}(0);
  for (var c = 0u; c < chunk; c = c + 1u) { carry = carry + totals[r * ${C}u + c]; }
  for (var t = begin; t < end; t = t + 1u) {
    let at = base + pos(t);
    out[at] = out[at] + carry;
  }
}`;
  runKernel('cumsum_carry', carry, [totals], [out], workgroups);
  totals.dispose();
}
