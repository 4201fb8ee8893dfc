/**
 * TensorFlow.js's WebGPU backend as a benchmark peer on the same Dawn device as @mim/tensor: TF.js asks
 * `navigator.gpu` for an adapter, so we expose one whose `requestDevice` hands back our device (a Dawn adapter
 * can create only one device). Both libraries then share one queue; `wait` submits TF.js's pending commands
 * and waits for the queue to drain. Call after `init()`. Returns null when the TF.js packages are missing.
 */
import { gpuContext } from '../runtime/device.js';

export type Tfjs = typeof import('@tensorflow/tfjs-core');

export interface TfjsPeer {
  name: 'tfjs-webgpu';
  tf: Tfjs;
  /** Submits TF.js's recorded work and resolves when the shared queue is idle. */
  wait(): Promise<void>;
}

export async function tfjsPeer(): Promise<TfjsPeer | null> {
  const { adapter, device } = gpuContext('tfjsPeer');
  const globals = globalThis as { navigator?: { gpu?: unknown } };
  const sharedAdapter = {
    features: adapter.features,
    limits: adapter.limits,
    info: adapter.info,
    requestDevice: async () => device,
  };
  const previous = globals.navigator;
  const gpu = { requestAdapter: async () => sharedAdapter, getPreferredCanvasFormat: () => 'rgba8unorm' };
  Object.defineProperty(globalThis, 'navigator', {
    value: { ...(previous ?? {}), gpu },
    configurable: true,
    writable: true,
  });
  let tf: Tfjs;
  try {
    tf = await import('@tensorflow/tfjs-core');
    // The backend registers itself on import, only if navigator.gpu exists at that moment.
    await import('@tensorflow/tfjs-backend-webgpu');
  } catch (error) {
    console.warn(`tfjs peer unavailable: ${(error as Error).message}`);
    return null;
  }
  if (!(await tf.setBackend('webgpu'))) return null;
  await tf.ready();
  const backend = tf.backend() as {
    commandEncoder?: unknown;
    endComputePassEncoder?: () => void;
    submitQueue?: () => void;
  };
  return {
    name: 'tfjs-webgpu',
    tf,
    wait: async () => {
      if (backend.commandEncoder) {
        backend.endComputePassEncoder?.();
        backend.submitQueue?.();
      }
      await device.queue.onSubmittedWorkDone();
    },
  };
}
