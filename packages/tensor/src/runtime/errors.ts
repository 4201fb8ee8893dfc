/**
 * Typed errors of @mim/tensor. Every message names the op (or kernel), what was expected, what came,
 * and where possible how to fix it.
 */
export class MimError extends Error {
  override name = 'MimError';
}

/** Shapes that do not fit together (broadcasting, matmul inner dims, concat axes …). */
export class ShapeError extends MimError {
  override name = 'ShapeError';
}

/** A dtype the op does not accept. */
export class DTypeError extends MimError {
  override name = 'DTypeError';
}

/** Use of a tensor after `dispose()`. */
export class DisposedError extends MimError {
  override name = 'DisposedError';
}

/** No WebGPU adapter, a lost device, or a device that was never initialised. */
export class DeviceError extends MimError {
  override name = 'DeviceError';
}

/** A WGSL kernel failed to compile: the message names the kernel and shows the offending line. */
export class ShaderCompileError extends MimError {
  override name = 'ShaderCompileError';
}

/** WebGPU validation failed for a dispatch: the message names the kernel and the tensor shapes. */
export class GpuValidationError extends MimError {
  override name = 'GpuValidationError';
}

/** Formats a shape as `[2, 3, 4]` for error messages. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}
