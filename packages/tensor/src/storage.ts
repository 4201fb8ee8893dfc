import type { BufferPool } from './runtime/buffer-pool.js';
import { getEngine } from './runtime/engine.js';

/**
 * A pooled GPU buffer shared by a tensor and its views; returned to the pool it came from when the last user
 * releases it. Keeping the pool (not the current engine) matters after `destroyDevice()` + `init()`: a buffer
 * of the old device must never enter the new device's pool.
 */
export class Storage {
  private refs = 1;

  constructor(
    readonly buffer: GPUBuffer,
    /** Bytes the tensor data occupies (the buffer may be larger: size classes). */
    readonly byteLength: number,
    /** The pool that owns `buffer`. */
    readonly pool: BufferPool,
  ) {}

  static allocate(byteLength: number, label: string): Storage {
    const engine = getEngine(label);
    return new Storage(engine.pool.acquire(byteLength, label), byteLength, engine.pool);
  }

  retain(): this {
    this.refs++;
    return this;
  }

  release(): void {
    if (--this.refs === 0) this.pool.release(this.buffer);
  }

  get alive(): boolean {
    return this.refs > 0;
  }
}
