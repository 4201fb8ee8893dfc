/**
 * 3-D resizing of NCDHW volumes: trilinear (align_corners = false, PyTorch's source-index rule with the
 * clamp at 0) and nearest (PyTorch's legacy `nearest`: src = floor(o · in/out)).
 *
 * Both are separable, so the op runs as one pass per resized axis, each a sparse (out × in) matrix with at
 * most two taps per row. The forward pass gathers its taps; the backward pass applies the transposed matrix,
 * also as a gather (each input index knows the contiguous range of outputs that read it), so no atomics.
 */
import { recordOp } from '../../autograd/record.js';
import { DTypeError, fmtShape, ShapeError } from '../../runtime/errors.js';
import { empty, grid1d, runKernel } from '../../runtime/kernel.js';
import { numel } from '../../shape.js';
import type { Tensor } from '../../tensor.js';
import { tensor } from '../creation.js';
import { contiguous } from '../movement/copy.js';

export type InterpolateMode = 'trilinear' | 'nearest';

export interface InterpolateOptions {
  size: readonly [number, number, number];
  mode?: InterpolateMode;
}

interface AxisTaps {
  /** For each output index: two source indices and weights. */
  i0: Int32Array;
  i1: Int32Array;
  w1: Float32Array;
}

/** The per-axis taps, computed on the CPU in float64 exactly like PyTorch (then rounded to f32). */
export function axisTaps(n: number, m: number, mode: InterpolateMode): AxisTaps {
  const i0 = new Int32Array(m);
  const i1 = new Int32Array(m);
  const w1 = new Float32Array(m);
  const scale = n / m;
  for (let o = 0; o < m; o++) {
    if (mode === 'nearest') {
      i0[o] = i1[o] = Math.min(Math.floor(o * scale), n - 1);
      w1[o] = 0;
      continue;
    }
    const src = Math.max((o + 0.5) * scale - 0.5, 0);
    const lo = Math.min(Math.floor(src), n - 1);
    i0[o] = lo;
    i1[o] = Math.min(lo + 1, n - 1);
    w1[o] = src - lo;
  }
  return { i0, i1, w1 };
}

/** Resizes one axis (`axis` ∈ {2, 3, 4}) of a contiguous tensor with the given taps. */
function resizeAxis(x: Tensor, axis: number, m: number, taps: AxisTaps, op: string): Tensor {
  const outShape = [...x.shape];
  const n = x.shape[axis];
  outShape[axis] = m;
  const inner = numel(x.shape.slice(axis + 1));
  const total = numel(outShape);
  const out = empty(outShape, 'f32', op);
  if (total === 0) return out;
  const table = tensor(interleave(taps), [m, 3], { dtype: 'f32' });
  const { workgroups, rowStride } = grid1d(total);
  const wgsl = `@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> taps: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * ${rowStride}u;
  if (i >= ${total}u) { return; }
  let r = i % ${inner}u; let o = (i / ${inner}u) % ${m}u; let outer = i / ${inner * m}u;
  let i0 = u32(taps[o * 3u]); let i1 = u32(taps[o * 3u + 1u]); let w1 = taps[o * 3u + 2u];
  let base = ${x.offset}u + outer * ${n * inner}u + r;
  out[i] = (1.0 - w1) * x[base + i0 * ${inner}u] + w1 * x[base + i1 * ${inner}u];
}`;
  runKernel(op, wgsl, [x, table], [out], workgroups);
  table.dispose();
  return out;
}

/** Transposed resize along one axis: out has n entries on `axis`, gathering from the outputs that read each. */
function resizeAxisTransposed(g: Tensor, axis: number, n: number, taps: AxisTaps, op: string): Tensor {
  const m = g.shape[axis];
  const outShape = [...g.shape];
  outShape[axis] = n;
  const inner = numel(g.shape.slice(axis + 1));
  const total = numel(outShape);
  const out = empty(outShape, 'f32', op);
  if (total === 0) return out;
  // Outputs reading input i form a contiguous range (taps are monotone in o): [first[i], last[i]].
  const first = new Float32Array(n).fill(m);
  const last = new Float32Array(n).fill(-1);
  for (let o = 0; o < m; o++) {
    for (const i of [taps.i0[o], taps.i1[o]]) {
      first[i] = Math.min(first[i], o);
      last[i] = Math.max(last[i], o);
    }
  }
  const ranges = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) {
    ranges[2 * i] = first[i];
    ranges[2 * i + 1] = last[i];
  }
  const table = tensor(interleave(taps), [m, 3], { dtype: 'f32' });
  const rangeTable = tensor(ranges, [n, 2], { dtype: 'f32' });
  const { workgroups, rowStride } = grid1d(total);
  const wgsl = `@group(0) @binding(0) var<storage, read> g: array<f32>;
@group(0) @binding(1) var<storage, read> taps: array<f32>;
@group(0) @binding(2) var<storage, read> ranges: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * ${rowStride}u;
  if (i >= ${total}u) { return; }
  let r = i % ${inner}u; let src = (i / ${inner}u) % ${n}u; let outer = i / ${inner * n}u;
  let base = ${g.offset}u + outer * ${m * inner}u + r;
  var acc = 0.0;
  let lo = i32(ranges[src * 2u]); let hi = i32(ranges[src * 2u + 1u]);
  for (var o = lo; o <= hi; o = o + 1) {
    let uo = u32(o);
    let i0 = u32(taps[uo * 3u]); let i1 = u32(taps[uo * 3u + 1u]); let w1 = taps[uo * 3u + 2u];
    var w = 0.0;
    if (i0 == src) { w = w + (1.0 - w1); }
    if (i1 == src) { w = w + w1; }
    acc = acc + w * g[base + uo * ${inner}u];
  }
  out[i] = acc;
}`;
  runKernel(op, wgsl, [g, table, rangeTable], [out], workgroups);
  table.dispose();
  rangeTable.dispose();
  return out;
}

function interleave(taps: AxisTaps): Float32Array {
  const m = taps.i0.length;
  const out = new Float32Array(m * 3);
  for (let o = 0; o < m; o++) {
    out[3 * o] = taps.i0[o];
    out[3 * o + 1] = taps.i1[o];
    out[3 * o + 2] = taps.w1[o];
  }
  return out;
}

/** Resizes x: (N, C, D, H, W) to (N, C, ...size). Differentiable. */
export function interpolate3d(x: Tensor, options: InterpolateOptions): Tensor {
  const mode = options.mode ?? 'trilinear';
  if (x.dtype !== 'f32') throw new DTypeError(`interpolate3d: expects f32, got ${x.dtype}`);
  if (x.rank !== 5)
    throw new ShapeError(`interpolate3d: input ${fmtShape(x.shape)} has ${x.rank} dims; expected 5 (N, C, D, H, W)`);
  const size = options.size;
  if (size.length !== 3 || size.some((s) => !Number.isInteger(s) || s <= 0)) {
    throw new ShapeError(`interpolate3d: size ${fmtShape(size)} must be three positive integers`);
  }
  const inSize = x.shape.slice(2);
  if (inSize.some((s) => s === 0))
    throw new ShapeError(`interpolate3d: input ${fmtShape(x.shape)} has an empty spatial axis`);
  if (inSize.every((n, a) => n === size[a])) return contiguous(x);
  const taps = inSize.map((n, a) => axisTaps(n, size[a], mode));
  let current = contiguous(x);
  for (let a = 0; a < 3; a++) {
    if (inSize[a] === size[a]) continue; // identity on this axis (the taps would be exact too)
    const next = resizeAxis(current, a + 2, size[a], taps[a], 'interpolate3d');
    current.dispose();
    current = next;
  }
  recordOp('interpolate3d', [x], [current], ([grad]) => {
    let g = contiguous(grad!);
    for (let a = 2; a >= 0; a--) {
      if (inSize[a] === size[a]) continue;
      const next = resizeAxisTransposed(g, a + 2, inSize[a], taps[a], 'interpolate3d_backward');
      g.dispose();
      g = next;
    }
    return [g];
  });
  return current;
}
