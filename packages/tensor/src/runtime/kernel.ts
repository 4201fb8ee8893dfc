/**
 * Helpers every op uses to allocate outputs and launch a WGSL kernel over tensors.
 */
import { BYTES_PER_ELEMENT, type DType } from '../dtype.js';
import { numel, type Shape } from '../shape.js';
import { Storage } from '../storage.js';
import { Tensor } from '../tensor.js';
import { getEngine } from './engine.js';
import { DeviceError, fmtShape } from './errors.js';

/** Workgroup size of the generic 1-D kernels. */
export const WG = 256;

/** A new, uninitialised tensor. */
export function empty(shape: Shape, dtype: DType = 'f32', op = 'empty'): Tensor {
  return new Tensor(Storage.allocate(numel(shape) * BYTES_PER_ELEMENT, op), shape, dtype);
}

/**
 * Workgroup counts for `invocations` threads in groups of `wgSize`, split over x and y so no dimension exceeds
 * the 65535 limit. Kernels compute the flat index as `gid.x + gid.y * rowStride` with `rowStride = x · wgSize`.
 */
export function grid1d(invocations: number, wgSize = WG): { workgroups: [number, number]; rowStride: number } {
  const groups = Math.max(1, Math.ceil(invocations / wgSize));
  const x = Math.min(groups, 32768);
  const y = Math.ceil(groups / x);
  return { workgroups: [x, y], rowStride: x * wgSize };
}

export interface LaunchOptions {
  uniform?: ArrayBufferView;
  /** Extra description for error messages (defaults to the tensor shapes). */
  describe?: string;
}

/**
 * The storage of `t` for use by `op` on the current device: throws a DisposedError for a disposed tensor and a
 * DeviceError for one whose device was destroyed. Ops call it before allocating outputs, so a failure leaks nothing.
 */
export function usableStorage(t: Tensor, op: string): Storage {
  const storage = t.storageFor(op);
  if (storage.pool !== getEngine(op).pool) {
    throw new DeviceError(
      `${op}: a tensor of shape ${fmtShape(t.shape)} belongs to a WebGPU device that was destroyed; tensors do not survive init() of a new device, create them again`,
    );
  }
  return storage;
}

/** Dispatches `wgsl` with the tensors bound in order (inputs, then outputs), then the optional uniform. */
export function runKernel(
  name: string,
  wgsl: string,
  inputs: readonly Tensor[],
  outputs: readonly Tensor[],
  workgroups: readonly [number, number?, number?],
  options: LaunchOptions = {},
): void {
  const engine = getEngine(name);
  const buffers = [...inputs, ...outputs].map((t) => usableStorage(t, name).buffer);
  const describe =
    options.describe ??
    `(${inputs.map((t) => fmtShape(t.shape)).join(', ')}) -> (${outputs.map((t) => fmtShape(t.shape)).join(', ')})`;
  engine.dispatch({ name, wgsl, buffers, workgroups, uniform: options.uniform, describe });
}

/** Formats a finite number as a WGSL f32 literal (WGSL has no constant inf/NaN: pass those through uniforms). */
export function f32Literal(value: number): string {
  if (!Number.isFinite(value))
    throw new RangeError(`f32Literal: ${value} cannot be a WGSL constant; pass it as a uniform`);
  const s = Math.fround(value).toPrecision(9);
  return s.includes('.') || s.includes('e') ? `f32(${s})` : `f32(${s}.0)`;
}
