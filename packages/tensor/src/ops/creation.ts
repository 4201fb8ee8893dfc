/**
 * Tensor creation: from CPU data, constants, ranges. Random tensors live in ../random/.
 */
import { type AnyTypedArray, type DType, dtypeOfArray } from '../dtype.js';
import { getEngine } from '../runtime/engine.js';
import { DTypeError, fmtShape, ShapeError } from '../runtime/errors.js';
import { empty, f32Literal, grid1d, runKernel, WG } from '../runtime/kernel.js';
import { assertShape, numel, type Shape } from '../shape.js';
import type { Tensor } from '../tensor.js';

export interface CreateOptions {
  dtype?: DType;
  requiresGrad?: boolean;
}

type NestedArray = number | boolean | NestedArray[];

function inferShape(data: NestedArray): number[] {
  const shape: number[] = [];
  let level: NestedArray = data;
  while (Array.isArray(level)) {
    shape.push(level.length);
    level = level[0] as NestedArray;
  }
  return shape;
}

function flatten(data: NestedArray, shape: number[], out: number[], depth = 0): void {
  if (!Array.isArray(data)) {
    out.push(Number(data));
    return;
  }
  if (data.length !== shape[depth]) {
    throw new ShapeError(
      `tensor: ragged nested array (expected ${shape[depth]} items at depth ${depth}, got ${data.length})`,
    );
  }
  for (const item of data) flatten(item, shape, out, depth + 1);
}

/**
 * Creates a tensor from CPU data: a typed array or flat array with an explicit shape, or a nested array.
 * `tensor([[1, 2], [3, 4]])`, `tensor(new Float32Array(6), [2, 3])`.
 */
export function tensor(data: ArrayLike<number> | NestedArray, shape?: Shape, options: CreateOptions = {}): Tensor {
  let flat: ArrayLike<number>;
  let finalShape: number[];
  if (ArrayBuffer.isView(data)) {
    flat = data as unknown as ArrayLike<number>;
    finalShape = shape ? [...shape] : [flat.length];
  } else if (Array.isArray(data) && shape) {
    flat = (data as unknown[]).flat(Number.POSITIVE_INFINITY as 1).map(Number);
    finalShape = [...shape];
  } else if (Array.isArray(data)) {
    finalShape = inferShape(data as NestedArray);
    const values: number[] = [];
    flatten(data as NestedArray, finalShape, values);
    flat = values;
  } else {
    flat = [Number(data)];
    finalShape = shape ? [...shape] : [];
  }
  assertShape(finalShape, 'tensor');
  if (numel(finalShape) !== flat.length) {
    throw new ShapeError(
      `tensor: ${flat.length} values do not fill shape ${fmtShape(finalShape)} (${numel(finalShape)} elements)`,
    );
  }
  const dtype = options.dtype ?? (ArrayBuffer.isView(data) ? dtypeOfArray(flat) : 'f32');
  const typed = toTyped(flat, dtype);
  const out = empty(finalShape, dtype, 'tensor');
  getEngine('tensor').write(out.bufferFor('tensor'), 0, typed, true);
  if (options.requiresGrad) out.requiresGrad = true;
  return out;
}

/** Creates a tensor from a typed array (copied to the GPU). Alias of `tensor(data, shape)`. */
export function fromTypedArray(data: AnyTypedArray | Uint8Array, shape: Shape, options: CreateOptions = {}): Tensor {
  return tensor(data, shape, options);
}

/** Creates a tensor from a flat or nested JS array. */
export function fromArray(data: NestedArray | number[], shape?: Shape, options: CreateOptions = {}): Tensor {
  return tensor(data, shape, options);
}

function toTyped(values: ArrayLike<number>, dtype: DType): AnyTypedArray {
  if (dtype === 'f32') return values instanceof Float32Array ? values : Float32Array.from(values);
  if (dtype === 'i32') return values instanceof Int32Array ? values : Int32Array.from(values);
  return values instanceof Uint32Array ? values : Uint32Array.from(values);
}

function literal(value: number, dtype: DType): string {
  if (dtype === 'f32') return f32Literal(value);
  if (!Number.isInteger(value)) throw new DTypeError(`full: ${value} is not an integer but the dtype is ${dtype}`);
  return dtype === 'i32' ? `i32(${value})` : `${value >>> 0}u`;
}

/** A tensor filled with `value`. */
export function full(shape: Shape, value: number, options: CreateOptions = {}): Tensor {
  assertShape(shape, 'full');
  const dtype = options.dtype ?? 'f32';
  const out = empty(shape, dtype, 'full');
  const n = numel(shape);
  if (n > 0) {
    const { workgroups, rowStride } = grid1d(Math.ceil(n / 4));
    const wgsl = `@group(0) @binding(0) var<storage, read_write> out: array<vec4<${dtype}>>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * ${rowStride}u;
  if (i >= ${Math.ceil(n / 4)}u) { return; }
  out[i] = vec4<${dtype}>(${literal(value, dtype)});
}`;
    runKernel('full', wgsl, [], [out], workgroups);
  }
  if (options.requiresGrad) out.requiresGrad = true;
  return out;
}

export function zeros(shape: Shape, options: CreateOptions = {}): Tensor {
  return full(shape, 0, options);
}

export function ones(shape: Shape, options: CreateOptions = {}): Tensor {
  return full(shape, 1, options);
}

export function zerosLike(t: Tensor, options: CreateOptions = {}): Tensor {
  return full(t.shape, 0, { dtype: t.dtype, ...options });
}

export function onesLike(t: Tensor, options: CreateOptions = {}): Tensor {
  return full(t.shape, 1, { dtype: t.dtype, ...options });
}

export function fullLike(t: Tensor, value: number, options: CreateOptions = {}): Tensor {
  return full(t.shape, value, { dtype: t.dtype, ...options });
}

/** `[start, start + step, …)` up to (excluding) `stop`, like numpy.arange. `arange(5)` = [0 … 4]. */
export function arange(start: number, stop?: number, step = 1, options: CreateOptions = {}): Tensor {
  if (stop === undefined) {
    stop = start;
    start = 0;
  }
  if (step === 0) throw new ShapeError('arange: step must not be 0');
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const dtype = options.dtype ?? 'f32';
  const out = empty([n], dtype, 'arange');
  if (n > 0) {
    const { workgroups, rowStride } = grid1d(n);
    const wgsl = `@group(0) @binding(0) var<storage, read_write> out: array<${dtype}>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * ${rowStride}u;
  if (i >= ${n}u) { return; }
  out[i] = ${dtype === 'f32' ? `${f32Literal(start)} + f32(i) * ${f32Literal(step)}` : `${dtype}(${start} + i32(i) * ${step})`};
}`;
    runKernel('arange', wgsl, [], [out], workgroups);
  }
  return out;
}
