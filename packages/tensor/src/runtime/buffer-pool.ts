/**
 * GPU buffer pool with size classes, so a training loop reuses buffers instead of creating and destroying
 * them every step. A released buffer may still be read by commands that are recorded but not yet submitted,
 * so it only becomes reusable after the engine's next submit (`recycle()`).
 */
export const STORAGE_USAGE = 0x0080 | 0x0004 | 0x0008; // STORAGE | COPY_SRC | COPY_DST

export interface PoolStats {
  /** Bytes of buffers handed out to live tensors (by size class). */
  bytesInUse: number;
  /** Highest `bytesInUse` since the last `resetPeak()`. */
  peakBytes: number;
  /** Bytes of all buffers the pool owns, in use or free. */
  bytesAllocated: number;
  buffersCreated: number;
}

/** Rounds a byte size up to its class: powers of two up to 4 KiB, then quarter-octave steps (≤ 25 % waste). */
export function sizeClass(bytes: number): number {
  const min = 256;
  if (bytes <= min) return min;
  if (bytes <= 4096) return 2 ** Math.ceil(Math.log2(bytes));
  const octave = 2 ** Math.floor(Math.log2(bytes));
  const step = octave / 4;
  return Math.ceil(bytes / step) * step;
}

export class BufferPool {
  private readonly free = new Map<number, GPUBuffer[]>();
  private pendingRelease: GPUBuffer[] = [];
  private readonly classOf = new WeakMap<GPUBuffer, number>();
  readonly stats: PoolStats = { bytesInUse: 0, peakBytes: 0, bytesAllocated: 0, buffersCreated: 0 };
  /** Tests set this: every acquired buffer is filled with NaN first, so unwritten outputs show up. */
  poison = false;

  constructor(
    private readonly device: GPUDevice,
    private readonly maxBufferSize: number,
  ) {}

  acquire(bytes: number, label: string): GPUBuffer {
    const size = sizeClass(Math.max(bytes, 4));
    if (size > this.maxBufferSize) {
      throw new RangeError(
        `${label}: needs a buffer of ${bytes} bytes; the adapter allows at most ${this.maxBufferSize} bytes per buffer`,
      );
    }
    const list = this.free.get(size);
    let buffer = list?.pop();
    if (!buffer) {
      buffer = this.device.createBuffer({ size, usage: STORAGE_USAGE, label: `pool-${size}` });
      this.classOf.set(buffer, size);
      this.stats.bytesAllocated += size;
      this.stats.buffersCreated++;
    }
    if (this.poison) this.device.queue.writeBuffer(buffer, 0, new Uint32Array(size / 4).fill(0x7fc00000));
    this.stats.bytesInUse += size;
    if (this.stats.bytesInUse > this.stats.peakBytes) this.stats.peakBytes = this.stats.bytesInUse;
    return buffer;
  }

  /** Returns a buffer; it is reused only after the commands recorded so far have been submitted. */
  release(buffer: GPUBuffer): void {
    const size = this.classOf.get(buffer) ?? buffer.size;
    this.stats.bytesInUse -= size;
    this.pendingRelease.push(buffer);
  }

  /** Called by the engine right after a submit: released buffers become reusable. */
  recycle(): void {
    for (const buffer of this.pendingRelease) {
      const size = this.classOf.get(buffer) ?? buffer.size;
      let list = this.free.get(size);
      if (!list) this.free.set(size, (list = []));
      list.push(buffer);
    }
    this.pendingRelease = [];
  }

  /** Destroys every free buffer (the pool keeps no memory it does not use). */
  trim(): void {
    for (const list of this.free.values()) {
      for (const buffer of list) {
        this.stats.bytesAllocated -= this.classOf.get(buffer) ?? buffer.size;
        buffer.destroy();
      }
    }
    this.free.clear();
  }

  resetPeak(): void {
    this.stats.peakBytes = this.stats.bytesInUse;
  }
}
