/**
 * Tensor = pooled GPU storage + shape + strides + offset + dtype (+ autograd node). Views (reshape of a
 * contiguous tensor, permute, slice, expand …) share storage; kernels read strided inputs or make an explicit
 * contiguous copy.
 */

import { type BackwardOptions, backward } from './autograd/backward.js';
import { noGrad } from './autograd/grad-mode.js';
import type { Node } from './autograd/node.js';
import { type AnyTypedArray, BYTES_PER_ELEMENT, type DType, viewAs } from './dtype.js';
import { contiguous } from './ops/movement/copy.js';
import { getEngine } from './runtime/engine.js';
import { DisposedError, DTypeError, fmtShape, MimError } from './runtime/errors.js';
import { keep, trackTensor } from './scope.js';
import { contiguousStrides, isContiguous, numel, type Shape } from './shape.js';
import type { Storage } from './storage.js';

let nextTensorId = 1;

export class Tensor {
  readonly id = nextTensorId++;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  /** Offset of element [0, …, 0] in the storage, in elements. */
  readonly offset: number;
  readonly dtype: DType;
  /** Accumulated gradient (leaf tensors after `backward()`). Owned by this tensor. */
  grad: Tensor | null = null;
  /** The autograd node that produced this tensor (null for leaves and when grad was not recorded). */
  gradFn: Node | null = null;
  /** Which output of `gradFn` this tensor is. */
  outputIndex = 0;
  private _requiresGrad = false;
  private _storage: Storage | null;

  /** @internal Use the creation functions (`tensor`, `zeros`, `randn` …) instead. */
  constructor(storage: Storage, shape: Shape, dtype: DType, strides?: readonly number[], offset = 0) {
    this._storage = storage;
    this.shape = Object.freeze([...shape]);
    this.strides = Object.freeze(strides ? [...strides] : contiguousStrides(shape));
    this.offset = offset;
    this.dtype = dtype;
    trackTensor(this);
  }

  get size(): number {
    return numel(this.shape);
  }

  get rank(): number {
    return this.shape.length;
  }

  get isContiguous(): boolean {
    return isContiguous(this.shape, this.strides);
  }

  get isDisposed(): boolean {
    return this._storage === null;
  }

  /** The storage; throws a DisposedError naming `op` if this tensor was disposed. */
  storageFor(op: string): Storage {
    if (!this._storage) {
      throw new DisposedError(
        `${op}: a tensor of shape ${fmtShape(this.shape)} (${this.dtype}) was used after dispose(); keep it out of the scope or clone it`,
      );
    }
    return this._storage;
  }

  /** The GPU buffer (for kernels). */
  bufferFor(op: string): GPUBuffer {
    return this.storageFor(op).buffer;
  }

  get requiresGrad(): boolean {
    return this._requiresGrad || this.gradFn !== null;
  }

  set requiresGrad(value: boolean) {
    if (this.gradFn)
      throw new MimError('requiresGrad can only be set on leaf tensors (this one was computed by an op)');
    if (value && this.dtype !== 'f32') {
      throw new DTypeError(`requiresGrad: only f32 tensors can require gradients (this one is ${this.dtype})`);
    }
    this._requiresGrad = value;
  }

  /** Sets `requiresGrad` and returns this tensor (chainable). */
  requireGrad(value = true): this {
    this.requiresGrad = value;
    return this;
  }

  /** Frees this tensor's reference to its storage (and its gradient). Safe to call twice. */
  dispose(): void {
    const storage = this._storage;
    if (!storage) return;
    this._storage = null;
    storage.release();
    if (this.gradFn) {
      const node = this.gradFn;
      this.gradFn = null;
      node.release();
    }
    if (this.grad) {
      this.grad.dispose();
      this.grad = null;
    }
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  /** @internal A new tensor object over the same storage (no autograd), for views and saved tensors. */
  viewOf(shape: Shape, strides: readonly number[], offset: number, op = 'view'): Tensor {
    const storage = this.storageFor(op).retain();
    return new Tensor(storage, shape, this.dtype, strides, offset);
  }

  /** A tensor sharing storage with this one but cut from the autograd graph. */
  detach(): Tensor {
    return this.viewOf(this.shape, this.strides, this.offset, 'detach');
  }

  /** Copies the elements (row-major, contiguous) to the CPU. */
  async toArray(): Promise<AnyTypedArray> {
    const storage = this.storageFor('toArray');
    const engine = getEngine('toArray');
    const n = this.size;
    if (n === 0) return viewAs(this.dtype, new ArrayBuffer(0));
    if (this.isContiguous) {
      const bytes = await engine.read(storage.buffer, this.offset * BYTES_PER_ELEMENT, n * BYTES_PER_ELEMENT);
      return viewAs(this.dtype, bytes);
    }
    const copy = noGrad(() => contiguous(this));
    try {
      return await copy.toArray();
    } finally {
      copy.dispose();
    }
  }

  /** Reads a one-element tensor as a number. */
  async item(): Promise<number> {
    if (this.size !== 1)
      throw new MimError(`item: expected a tensor with one element, got shape ${fmtShape(this.shape)}`);
    return (await this.toArray())[0];
  }

  /** Back-propagates from this tensor (a scalar, or pass `gradOutput`); leaf gradients land in `.grad`. */
  backward(gradOutput?: Tensor, options?: BackwardOptions): void {
    backward(this, gradOutput, options);
  }

  /** Removes this tensor from open scopes (see `keep`). */
  keep(): this {
    return keep(this);
  }

  toString(): string {
    return `Tensor(${fmtShape(this.shape)}, ${this.dtype}${this.requiresGrad ? ', requiresGrad' : ''})`;
  }
}

/** True for tensors of this library (works across duplicated module instances). */
export function isTensor(value: unknown): value is Tensor {
  return value instanceof Tensor;
}
