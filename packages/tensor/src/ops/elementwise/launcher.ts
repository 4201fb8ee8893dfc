/**
 * The generic elementwise launcher: every unary, binary and ternary op (and the fused backward kernels of
 * those ops) supplies only a WGSL function `op(...)` and this file emits the kernel around it.
 *
 * Two code paths, chosen per call:
 * - vec4: every tensor input is contiguous, shaped like the output (or has a single element) and 4-aligned;
 *   each invocation loads and stores one vec4, no index arithmetic.
 * - strided: any broadcasting or non-contiguous input; the flat output index is unravelled once and each
 *   input's offset is computed from its (broadcast) strides, all baked in as constants.
 */
import type { DType } from '../../dtype.js';
import { DTypeError, fmtShape } from '../../runtime/errors.js';
import { empty, grid1d, runKernel, usableStorage, WG } from '../../runtime/kernel.js';
import { broadcastShapes, numel, type Shape, sameShape } from '../../shape.js';
import type { Tensor } from '../../tensor.js';

/** WGSL type names for the chosen path: `ty('f32')` is `f32` or `vec4<f32>`. */
export interface TypeNamer {
  vec: boolean;
  ty(dtype: DType): string;
}

/** Emits `fn op(...) -> ...` for the given path. */
export type OpSource = (t: TypeNamer) => string;

export type Operand = Tensor | number;

export interface MapSpec {
  name: string;
  /** Tensors or scalars; scalars reach the kernel through a uniform (no recompilation when they change). */
  inputs: readonly Operand[];
  /** dtype each operand is read as (scalars are converted to it); defaults to the first tensor's dtype. */
  inputDtypes?: readonly DType[];
  outDtype?: DType;
  source: OpSource;
  /** WGSL helper functions (e.g. erf) emitted before `op`. */
  helpers?: string;
}

function broadcastStrides(t: Tensor, outShape: Shape): number[] {
  const rank = outShape.length;
  const strides = new Array<number>(rank).fill(0);
  for (let i = 0; i < t.rank; i++) {
    const axis = rank - t.rank + i;
    strides[axis] = t.shape[i] === 1 ? 0 : t.strides[i];
  }
  return strides;
}

function scalarUniform(values: number[], dtypes: DType[]): ArrayBufferView {
  const words = new ArrayBuffer(Math.max(16, Math.ceil(values.length / 4) * 16));
  const f = new Float32Array(words);
  const i = new Int32Array(words);
  const u = new Uint32Array(words);
  values.forEach((v, k) => {
    if (dtypes[k] === 'f32') f[k] = v;
    else if (dtypes[k] === 'i32') i[k] = v;
    else u[k] = v >>> 0;
  });
  return f;
}

/**
 * True when the vec4 path applies: every tensor operand is a single element or a contiguous tensor shaped like
 * the output whose first element sits on a vec4 boundary (offset % 4 == 0).
 */
export function usesVec4(tensors: readonly Tensor[], outShape: Shape): boolean {
  return tensors.every((t) => t.size === 1 || (sameShape(t.shape, outShape) && t.isContiguous && t.offset % 4 === 0));
}

/** Runs an elementwise op with NumPy broadcasting; returns a new contiguous tensor. */
export function mapElementwise(spec: MapSpec): Tensor {
  const tensors = spec.inputs.filter((x): x is Tensor => typeof x !== 'number');
  if (tensors.length === 0) throw new DTypeError(`${spec.name}: needs at least one tensor operand`);
  // A disposed input fails here, before the output is allocated (and leaked).
  for (const t of tensors) usableStorage(t, spec.name);
  const firstDtype = tensors[0].dtype;
  const inDtypes = spec.inputDtypes ?? spec.inputs.map(() => firstDtype);
  spec.inputs.forEach((x, k) => {
    if (typeof x !== 'number' && x.dtype !== inDtypes[k]) {
      throw new DTypeError(
        `${spec.name}: operand ${k} has dtype ${x.dtype}, expected ${inDtypes[k]} (shape ${fmtShape(x.shape)}); convert with cast()`,
      );
    }
  });
  let outShape: number[] = [...tensors[0].shape];
  for (const t of tensors.slice(1)) outShape = broadcastShapes(outShape, t.shape, spec.name);
  const outDtype = spec.outDtype ?? firstDtype;
  const out = empty(outShape, outDtype, spec.name);
  const n = numel(outShape);
  if (n === 0) return out;

  const scalars: number[] = [];
  const scalarDtypes: DType[] = [];
  const useVec4 = usesVec4(tensors, outShape);
  const namer: TypeNamer = { vec: useVec4, ty: (d) => (useVec4 ? `vec4<${d}>` : d) };
  const decls: string[] = [];
  const args: string[] = [];
  let binding = 0;
  spec.inputs.forEach((x, k) => {
    const d = inDtypes[k];
    const T = namer.ty(d);
    if (typeof x === 'number') {
      args.push(`${T}(u.s${scalars.length})`);
      scalars.push(x);
      scalarDtypes.push(d);
      return;
    }
    const b = binding++;
    if (useVec4 && x.size !== 1) {
      decls.push(`@group(0) @binding(${b}) var<storage, read> in${k}: array<vec4<${d}>>;`);
      args.push(`in${k}[i + ${x.offset / 4}u]`);
    } else if (x.size === 1) {
      decls.push(`@group(0) @binding(${b}) var<storage, read> in${k}: array<${d}>;`);
      args.push(`${T}(in${k}[${x.offset}u])`);
    } else {
      decls.push(`@group(0) @binding(${b}) var<storage, read> in${k}: array<${d}>;`);
      args.push(`in${k}[${offsetExpr(x, outShape)}]`);
    }
  });
  const outBinding = binding++;
  const outType = useVec4 ? `vec4<${outDtype}>` : outDtype;
  decls.push(`@group(0) @binding(${outBinding}) var<storage, read_write> out: array<${outType}>;`);
  if (scalars.length > 0) {
    const fields = scalarDtypes.map((d, k) => `s${k}: ${d},`).join(' ');
    const pad = (4 - (scalars.length % 4)) % 4;
    const padding = Array.from({ length: pad }, (_, k) => `pad${k}: u32,`).join(' ');
    decls.push(`struct Scalars { ${fields} ${padding} }`);
    decls.push(`@group(0) @binding(${binding}) var<uniform> u: Scalars;`);
  }
  const count = useVec4 ? Math.ceil(n / 4) : n;
  const { workgroups, rowStride } = grid1d(count);
  const unravel = useVec4 ? '' : unravelCode(outShape);
  const wgsl = `${decls.join('\n')}
${spec.helpers ?? ''}
${spec.source(namer)}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * ${rowStride}u;
  if (i >= ${count}u) { return; }
${unravel}
  out[i] = op(${args.join(', ')});
}`;
  runKernel(spec.name, wgsl, tensors, [out], workgroups, {
    uniform: scalars.length > 0 ? scalarUniform(scalars, scalarDtypes) : undefined,
  });
  return out;
}

/** Declares `c0 … c{r-1}`, the output coordinates of flat index i (only the axes some input needs). */
function unravelCode(shape: Shape): string {
  if (shape.length <= 1) return shape.length === 1 ? '  let c0 = i;' : '';
  const lines = ['  var rest = i;'];
  for (let d = shape.length - 1; d >= 1; d--) {
    lines.push(`  let c${d} = rest % ${shape[d]}u; rest = rest / ${shape[d]}u;`);
  }
  lines.push('  let c0 = rest;');
  return lines.join('\n');
}

function offsetExpr(t: Tensor, outShape: Shape): string {
  if (t.isContiguous && sameShape(t.shape, outShape)) return t.offset === 0 ? 'i' : `i + ${t.offset}u`;
  const strides = broadcastStrides(t, outShape);
  const terms = strides.map((s, d) => (s === 0 ? '' : s === 1 ? `c${d}` : `c${d} * ${s}u`)).filter(Boolean);
  if (t.offset !== 0) terms.push(`${t.offset}u`);
  return terms.length > 0 ? terms.join(' + ') : '0u';
}
