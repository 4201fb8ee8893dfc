import { getEngine } from './runtime/engine.js';

/** A pooled GPU buffer shared by a tensor and its views; returned to the pool when the last user releases it. */
export class Storage {
  private refs = 1;

  constructor(
    readonly buffer: GPUBuffer,
    /** Bytes the tensor data occupies (the buffer may be larger: size classes). */
    readonly byteLength: number,
  ) {}

  static allocate(byteLength: number, label: string): Storage {
    const engine = getEngine(label);
    return new Storage(engine.pool.acquire(byteLength, label), byteLength);
  }

  retain(): this {
    this.refs++;
    return this;
  }

  release(): void {
    if (--this.refs === 0) getEngine().pool.release(this.buffer);
  }

  get alive(): boolean {
    return this.refs > 0;
  }
}
