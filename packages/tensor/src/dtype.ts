/** Element types a tensor can hold. Masks and indices use `u32` / `i32`. */
export type DType = 'f32' | 'i32' | 'u32';

export type TypedArrayFor<D extends DType> = D extends 'f32'
  ? Float32Array
  : D extends 'i32'
    ? Int32Array
    : Uint32Array;
export type AnyTypedArray = Float32Array | Int32Array | Uint32Array;

export const BYTES_PER_ELEMENT = 4;

/** The WGSL scalar type of a dtype. */
export function wgslType(dtype: DType): string {
  return dtype;
}

export function typedArrayFor(dtype: DType, length: number): AnyTypedArray {
  if (dtype === 'f32') return new Float32Array(length);
  if (dtype === 'i32') return new Int32Array(length);
  return new Uint32Array(length);
}

export function viewAs(dtype: DType, buffer: ArrayBuffer, byteOffset = 0, length?: number): AnyTypedArray {
  if (dtype === 'f32') return new Float32Array(buffer, byteOffset, length);
  if (dtype === 'i32') return new Int32Array(buffer, byteOffset, length);
  return new Uint32Array(buffer, byteOffset, length);
}

export function dtypeOfArray(array: ArrayLike<number>): DType {
  if (array instanceof Int32Array) return 'i32';
  if (array instanceof Uint32Array || array instanceof Uint8Array) return 'u32';
  return 'f32';
}
