/**
 * Launch helpers shared by the scan and conv1d kernels: dense (row-major, offset 0) inputs, views into packed
 * buffers, a deterministic "sum over the middle axis" reduction, a check of the storage-binding limit and the
 * subgroup size kernels may rely on.
 */
import {
  copy,
  empty,
  fixedSubgroupSize,
  gpuContext,
  grid1d,
  MimError,
  narrow,
  noGrad,
  reshape,
  runKernel,
  type Shape,
  type Tensor,
} from '@mim/tensor';

/** `t` as a row-major tensor starting at element 0 of its buffer (kernels index buffers from 0). */
export function dense(t: Tensor): Tensor {
  return noGrad(() => (t.isContiguous && t.offset === 0 ? t.detach() : copy(t)));
}

/** A view of `count` elements of the flat tensor `packed` starting at `offset`, shaped `shape` (no copy). */
export function viewOf(packed: Tensor, offset: number, shape: Shape): Tensor {
  return noGrad(() => {
    const flat = packed.rank === 1 ? packed.detach() : reshape(packed, [packed.size]);
    const part = narrow(
      flat,
      0,
      offset,
      shape.reduce((p, s) => p * s, 1),
    );
    const out = reshape(part, shape);
    if (out !== part) part.dispose();
    flat.dispose();
    return out;
  });
}

/**
 * The subgroup size the vec4 scan kernels share loads over (@mim/tensor's `fixedSubgroupSize`), or 0. `use`
 * undefined: only on software adapters, where each invocation's load is a separate scalar load and sharing was
 * measured to pay off (a GPU already serves a load that every lane of a warp makes with one transaction).
 */
export function scanSubgroupSize(op: string, use?: boolean): number {
  if (use === false) return 0;
  if (use === undefined && !gpuContext(op).info.software) return 0;
  return fixedSubgroupSize(op);
}

/** Throws a readable error when a kernel binds more storage buffers than the device allows. */
export function checkBindings(op: string, count: number): void {
  const limit = gpuContext().limits.maxStorageBuffersPerShaderStage;
  if (count > limit) {
    throw new MimError(
      `${op}: the kernel binds ${count} storage buffers but this device allows ${limit} per shader stage; ` +
        'init() requests the adapter maximum, so this adapter cannot run the fused kernel (use the *Ref composite)',
    );
  }
}

/**
 * out[p, m] = Σ_r src[offset + (p·R + r)·M + m] (fixed order, race-free). `src` is a flat f32 buffer.
 * Returns a new (P·M) tensor.
 */
export function sumMiddle(name: string, src: Tensor, offset: number, P: number, R: number, M: number): Tensor {
  const out = empty([P * M], 'f32', name);
  const n = P * M;
  if (n === 0) return out;
  const { workgroups, rowStride } = grid1d(n, 64);
  const wgsl = `@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * ${rowStride}u;
  if (i >= ${n}u) { return; }
  let p = i / ${M}u;
  let m = i % ${M}u;
  var s = 0.0;
  var at = ${offset}u + p * ${R * M}u + m;
  for (var r = 0u; r < ${R}u; r = r + 1u) {
    s = s + src[at];
    at = at + ${M}u;
  }
  dst[i] = s;
}`;
  runKernel(name, wgsl, [src], [out], workgroups);
  return out;
}
