/**
 * 3-D max and average pooling (NCDHW). Forward: one invocation per output voxel. Backward is gather-style
 * (one invocation per input voxel summing the windows that contain it), so overlapping windows need no
 * atomics and the same code is race-free on every GPU. Max pooling saves the flat argmax per output.
 */
import { recordOp } from '../../autograd/record.js';
import { DTypeError, fmtShape, ShapeError } from '../../runtime/errors.js';
import { empty, f32Literal, grid1d, runKernel } from '../../runtime/kernel.js';
import type { Tensor } from '../../tensor.js';
import { contiguous } from '../movement/copy.js';

export type Triple = number | readonly [number, number, number];

export interface PoolOptions {
  /** Defaults to the kernel size. */
  stride?: Triple;
  padding?: Triple;
  /** avgPool3d only: count padded zeros in the divisor (PyTorch default true). */
  countIncludePad?: boolean;
}

interface PoolGeometry {
  N: number;
  C: number;
  inSize: [number, number, number];
  outSize: [number, number, number];
  k: [number, number, number];
  s: [number, number, number];
  p: [number, number, number];
}

const triple = (v: Triple): [number, number, number] => (typeof v === 'number' ? [v, v, v] : [v[0], v[1], v[2]]);

function geometry(op: string, x: Tensor, kernel: Triple, options: PoolOptions): PoolGeometry {
  if (x.dtype !== 'f32') throw new DTypeError(`${op}: expects f32, got ${x.dtype}`);
  if (x.rank !== 5) {
    throw new ShapeError(`${op}: input ${fmtShape(x.shape)} has ${x.rank} dims; expected 5 (N, C, D, H, W)`);
  }
  const k = triple(kernel);
  const s = triple(options.stride ?? kernel);
  const p = triple(options.padding ?? 0);
  const inSize = [x.shape[2], x.shape[3], x.shape[4]] as [number, number, number];
  const outSize = inSize.map((n, a) => {
    if (p[a] * 2 > k[a]) throw new ShapeError(`${op}: padding ${p[a]} must be at most half the kernel size ${k[a]}`);
    const o = Math.floor((n + 2 * p[a] - k[a]) / s[a]) + 1;
    if (o <= 0) {
      throw new ShapeError(
        `${op}: kernel ${k[a]} is larger than the padded input (${n} + 2·${p[a]}) on axis ${a + 2} of ${fmtShape(x.shape)}`,
      );
    }
    return o;
  }) as [number, number, number];
  return { N: x.shape[0], C: x.shape[1], inSize, outSize, k, s, p };
}

/** Shared WGSL: flat output index → (nc, od, oh, ow) and window origin. */
function outputCoords(g: PoolGeometry): string {
  const [OD, OH, OW] = g.outSize;
  return `let ow = i % ${OW}u; let oh = (i / ${OW}u) % ${OH}u; let od = (i / ${OW * OH}u) % ${OD}u; let nc = i / ${OD * OH * OW}u;
  let d0 = i32(od * ${g.s[0]}u) - ${g.p[0]}; let h0 = i32(oh * ${g.s[1]}u) - ${g.p[1]}; let w0 = i32(ow * ${g.s[2]}u) - ${g.p[2]};`;
}

function windowLoop(g: PoolGeometry, body: string): string {
  const [D, H, W] = g.inSize;
  return `for (var a = 0; a < ${g.k[0]}; a = a + 1) { let z = d0 + a; if (z < 0 || z >= ${D}) { continue; }
    for (var b = 0; b < ${g.k[1]}; b = b + 1) { let y = h0 + b; if (y < 0 || y >= ${H}) { continue; }
      for (var c = 0; c < ${g.k[2]}; c = c + 1) { let w = w0 + c; if (w < 0 || w >= ${W}) { continue; }
        let flat = (u32(z) * ${H}u + u32(y)) * ${W}u + u32(w);
        ${body}
      } } }`;
}

/** For an input voxel: the range of outputs along each axis whose window contains it. */
function inputToOutputRange(g: PoolGeometry): string {
  const [D, H, W] = g.inSize;
  const axes = ['z', 'y', 'w'];
  const lines = [
    `let w = i32(i % ${W}u); let y = i32((i / ${W}u) % ${H}u); let z = i32((i / ${W * H}u) % ${D}u); let nc = i / ${D * H * W}u;`,
  ];
  axes.forEach((v, a) => {
    // o·s − p ≤ v ≤ o·s − p + k − 1  ⇔  (v + p − k + 1)/s ≤ o ≤ (v + p)/s
    lines.push(
      `let lo${a} = max(0, (${v} + ${g.p[a] - g.k[a] + 1} + ${g.s[a]} - 1) / ${g.s[a]}); let hi${a} = min(${g.outSize[a] - 1}, (${v} + ${g.p[a]}) / ${g.s[a]});`,
    );
  });
  return lines.join('\n  ');
}

/** Max pooling; the gradient goes to the first maximal element of each window (PyTorch). */
export function maxPool3d(x: Tensor, kernel: Triple, options: PoolOptions = {}): Tensor {
  const g = geometry('maxPool3d', x, kernel, options);
  const xc = contiguous(x);
  const [OD, OH, OW] = g.outSize;
  const total = g.N * g.C * OD * OH * OW;
  const out = empty([g.N, g.C, OD, OH, OW], 'f32', 'maxPool3d');
  const argmax = empty([total], 'i32', 'maxPool3d');
  const inVol = g.inSize[0] * g.inSize[1] * g.inSize[2];
  if (total > 0) {
    const { workgroups, rowStride } = grid1d(total);
    const wgsl = `@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read_write> arg: array<i32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * ${rowStride}u;
  if (i >= ${total}u) { return; }
  ${outputCoords(g)}
  let base = ${xc.offset}u + nc * ${inVol}u;
  var best = -3.4e38; var best_index = -1; var seen_nan = false;
  ${windowLoop(g, 'let v = x[base + flat]; if (!seen_nan && (v > best || best_index < 0 || v != v)) { best = v; best_index = i32(flat); seen_nan = v != v; }')}
  out[i] = best; arg[i] = best_index;
}`;
    runKernel('maxPool3d', wgsl, [xc], [out, argmax], workgroups);
  }
  recordOp(
    'maxPool3d',
    [x],
    [out],
    ([grad], [sarg]) => {
      const gc = contiguous(grad!);
      const dx = empty(x.shape, 'f32', 'maxPool3d_backward');
      const inTotal = g.N * g.C * inVol;
      const { workgroups, rowStride } = grid1d(inTotal);
      const wgsl = `@group(0) @binding(0) var<storage, read> g: array<f32>;
@group(0) @binding(1) var<storage, read> arg: array<i32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * ${rowStride}u;
  if (i >= ${inTotal}u) { return; }
  ${inputToOutputRange(g)}
  let me = i32(i % ${inVol}u);
  var acc = 0.0;
  for (var a = lo0; a <= hi0; a = a + 1) { for (var b = lo1; b <= hi1; b = b + 1) { for (var c = lo2; c <= hi2; c = c + 1) {
    let o = nc * ${OD * OH * OW}u + (u32(a) * ${OH}u + u32(b)) * ${OW}u + u32(c);
    if (arg[o] == me) { acc = acc + g[${gc.offset}u + o]; }
  } } }
  dx[i] = acc;
}`;
      if (inTotal > 0) runKernel('maxPool3d_backward', wgsl, [gc, sarg], [dx], workgroups);
      gc.dispose();
      return [dx];
    },
    [argmax],
  );
  xc.dispose();
  argmax.dispose();
  return out;
}

/** Average pooling (zero padding; `countIncludePad` as in PyTorch, default true). */
export function avgPool3d(x: Tensor, kernel: Triple, options: PoolOptions = {}): Tensor {
  const g = geometry('avgPool3d', x, kernel, options);
  const includePad = options.countIncludePad ?? true;
  const xc = contiguous(x);
  const [OD, OH, OW] = g.outSize;
  const [D, H, W] = g.inSize;
  const total = g.N * g.C * OD * OH * OW;
  const inVol = D * H * W;
  const out = empty([g.N, g.C, OD, OH, OW], 'f32', 'avgPool3d');
  // Divisor of window (od, oh, ow): the full kernel volume, or only its in-bounds part.
  const divisor = (origin: string[]) =>
    includePad
      ? f32Literal(g.k[0] * g.k[1] * g.k[2])
      : `f32(${origin.map((o, a) => `(min(${o} + ${g.k[a]}, ${g.inSize[a]}) - max(${o}, 0))`).join(' * ')})`;
  if (total > 0) {
    const { workgroups, rowStride } = grid1d(total);
    const wgsl = `@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * ${rowStride}u;
  if (i >= ${total}u) { return; }
  ${outputCoords(g)}
  let base = ${xc.offset}u + nc * ${inVol}u;
  var acc = 0.0;
  ${windowLoop(g, 'acc = acc + x[base + flat];')}
  out[i] = acc / ${divisor(['d0', 'h0', 'w0'])};
}`;
    runKernel('avgPool3d', wgsl, [xc], [out], workgroups);
  }
  recordOp('avgPool3d', [x], [out], ([grad]) => {
    const gc = contiguous(grad!);
    const dx = empty(x.shape, 'f32', 'avgPool3d_backward');
    const inTotal = g.N * g.C * inVol;
    const { workgroups, rowStride } = grid1d(inTotal);
    const wgsl = `@group(0) @binding(0) var<storage, read> g: array<f32>;
@group(0) @binding(1) var<storage, read_write> dx: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * ${rowStride}u;
  if (i >= ${inTotal}u) { return; }
  ${inputToOutputRange(g)}
  var acc = 0.0;
  for (var a = lo0; a <= hi0; a = a + 1) { for (var b = lo1; b <= hi1; b = b + 1) { for (var c = lo2; c <= hi2; c = c + 1) {
    let o = nc * ${OD * OH * OW}u + (u32(a) * ${OH}u + u32(b)) * ${OW}u + u32(c);
    let d0 = a * ${g.s[0]} - ${g.p[0]}; let h0 = b * ${g.s[1]} - ${g.p[1]}; let w0 = c * ${g.s[2]} - ${g.p[2]};
    acc = acc + g[${gc.offset}u + o] / ${divisor(['d0', 'h0', 'w0'])};
  } } }
  dx[i] = acc;
}`;
    if (inTotal > 0) runKernel('avgPool3d_backward', wgsl, [gc], [dx], workgroups);
    gc.dispose();
    return [dx];
  });
  xc.dispose();
  return out;
}
