import { getEngine } from './runtime/engine.js';

/** Memory and dispatch counters of the current device. */
export function memory(): {
  bytesInUse: number;
  peakBytes: number;
  bytesAllocated: number;
  buffersCreated: number;
  dispatchCount: number;
  submitCount: number;
} {
  const engine = getEngine('memory');
  return { ...engine.pool.stats, dispatchCount: engine.dispatchCount, submitCount: engine.submitCount };
}

/** Starts a new peak-bytes measurement from the current usage. */
export function resetPeakBytes(): void {
  getEngine('resetPeakBytes').pool.resetPeak();
}

/** Submits recorded work and waits for the GPU to finish it (for timing); surfaces device errors. */
export async function sync(): Promise<void> {
  await getEngine('sync').sync();
}
