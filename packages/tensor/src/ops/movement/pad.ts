/**
 * pad: constant padding with torch.nn.functional.pad semantics. One invocation per output element reads the
 * (strided) input or writes the fill value. Negative pads crop. Backward: g cropped back (a slice view when no
 * pad is negative, else pad(g, −pads) which also zero-fills the cropped border).
 */
import { recordOp } from '../../autograd/record.js';
import { fmtShape, ShapeError } from '../../runtime/errors.js';
import { empty, grid1d, runKernel, WG } from '../../runtime/kernel.js';
import { numel } from '../../shape.js';
import type { Tensor } from '../../tensor.js';
import { type SliceRange, slice } from './views.js';

/**
 * Pads the last `pads.length / 2` axes of `x` with `value`. `pads` lists (before, after) pairs from the last
 * axis backwards: `[left_last, right_last, left_prev, right_prev, …]`; negative entries remove elements.
 * Shape: (…, n_d, …) → (…, n_d + before_d + after_d, …).
 */
export function pad(x: Tensor, pads: readonly number[], value = 0): Tensor {
  if (pads.length % 2 !== 0 || pads.length / 2 > x.rank || pads.some((p) => !Number.isInteger(p))) {
    throw new ShapeError(
      `pad: pads [${pads.join(', ')}] must be integer (before, after) pairs for at most ${x.rank} axes of ${fmtShape(x.shape)}`,
    );
  }
  const rank = x.rank;
  const before = new Array<number>(rank).fill(0);
  const after = new Array<number>(rank).fill(0);
  for (let k = 0; k < pads.length / 2; k++) {
    before[rank - 1 - k] = pads[2 * k];
    after[rank - 1 - k] = pads[2 * k + 1];
  }
  const shape = x.shape.map((d, i) => d + before[i] + after[i]);
  if (shape.some((d) => d < 0)) {
    throw new ShapeError(
      `pad: pads [${pads.join(', ')}] crop more than ${fmtShape(x.shape)} holds (result ${fmtShape(shape)}); use smaller negative pads`,
    );
  }
  if (x.dtype !== 'f32' && !Number.isInteger(value)) {
    throw new ShapeError(`pad: fill value ${value} is not an integer but x is ${x.dtype}`);
  }
  const out = empty(shape, x.dtype, 'pad');
  const n = numel(shape);
  if (n > 0) {
    const lines = ['  var rest = i;', '  var inside = true;', `  var at = ${x.offset}u;`];
    for (let d = rank - 1; d >= 0; d--) {
      lines.push(`  { let c = i32(rest % ${shape[d]}u) - ${before[d]}; rest = rest / ${shape[d]}u;
    inside = inside && c >= 0 && c < ${x.shape[d]}; at = at + u32(max(c, 0)) * ${x.strides[d]}u; }`);
    }
    const { workgroups, rowStride } = grid1d(n);
    const uniform = new ArrayBuffer(16);
    if (x.dtype === 'f32') new Float32Array(uniform)[0] = value;
    else if (x.dtype === 'i32') new Int32Array(uniform)[0] = value;
    else new Uint32Array(uniform)[0] = value >>> 0;
    const wgsl = `@group(0) @binding(0) var<storage, read> x: array<${x.dtype}>;
@group(0) @binding(1) var<storage, read_write> out: array<${x.dtype}>;
struct Fill { value: ${x.dtype}, pad0: u32, pad1: u32, pad2: u32 }
@group(0) @binding(2) var<uniform> fill: Fill;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * ${rowStride}u;
  if (i >= ${n}u) { return; }
${lines.join('\n')}
  if (inside) { out[i] = x[at]; } else { out[i] = fill.value; }
}`;
    runKernel('pad', wgsl, [x], [out], workgroups, { uniform: new Uint32Array(uniform) });
  }
  const cropOnly = pads.every((p) => p >= 0);
  recordOp('pad', [x], [out], ([g]) => {
    if (!cropOnly)
      return [
        pad(
          g!,
          pads.map((p) => -p),
        ),
      ];
    const ranges: SliceRange[] = shape.map((_, d) => ({ start: before[d], end: before[d] + x.shape[d] }));
    return [slice(g!, ranges)];
  });
  return out;
}
