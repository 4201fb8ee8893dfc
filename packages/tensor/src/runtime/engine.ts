/**
 * Execution engine: one open command encoder (and compute pass) that kernels record into, flushed on
 * readback, after `MAX_BATCH` dispatches, or when timing. Pipelines are cached by WGSL text, bind groups by
 * (pipeline, buffers, uniform), uniform buffers by content, storage buffers come from the size-class pool.
 */
import { BufferPool } from './buffer-pool.js';
import { type GpuContext, gpuContext, takeUncapturedErrors } from './device.js';
import { GpuValidationError, ShaderCompileError } from './errors.js';
import type { KernelProfiler } from './profile.js';

export interface KernelLaunch {
  /** Kernel name, used in labels and error messages. */
  name: string;
  /** Complete WGSL; the entry point is `main`, bindings are group 0 in the order of `buffers` then the uniform. */
  wgsl: string;
  buffers: GPUBuffer[];
  /** Small parameters that change between calls (learning rate, seed); bound last as `var<uniform>`. */
  uniform?: ArrayBufferView;
  workgroups: readonly [number, number?, number?];
  /** Describes the tensors (shapes) for validation error messages. */
  describe?: string;
}

const MAX_BATCH = 512;
const UNIFORM_CACHE_LIMIT = 8192;
const BIND_GROUP_CACHE_LIMIT = 16384;

interface CachedPipeline {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
  id: number;
  name: string;
}

export class Engine {
  readonly pool: BufferPool;
  readonly device: GPUDevice;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private batched = 0;
  private readonly pipelines = new Map<string, CachedPipeline>();
  private readonly bindGroups = new Map<string, GPUBindGroup>();
  private readonly uniforms = new Map<string, GPUBuffer>();
  private readonly bufferIds = new WeakMap<GPUBuffer, number>();
  private nextBufferId = 1;
  private readonly compileChecks: Promise<string | null>[] = [];
  /** Labels of the dispatches in the current batch, for asynchronous error messages. */
  private batchLabels: string[] = [];
  dispatchCount = 0;
  submitCount = 0;
  /** Set by `profileKernels`: every dispatch then gets its own timestamped pass. */
  private profiler: KernelProfiler | null = null;

  constructor(readonly ctx: GpuContext) {
    this.device = ctx.device;
    this.pool = new BufferPool(ctx.device, Math.min(ctx.limits.maxBufferSize, ctx.limits.maxStorageBufferBindingSize));
  }

  private bufferId(buffer: GPUBuffer): number {
    let id = this.bufferIds.get(buffer);
    if (id === undefined) {
      id = this.nextBufferId++;
      this.bufferIds.set(buffer, id);
    }
    return id;
  }

  pipeline(name: string, wgsl: string): CachedPipeline {
    const cached = this.pipelines.get(wgsl);
    if (cached) return cached;
    const module = this.device.createShaderModule({ code: wgsl, label: name });
    this.compileChecks.push(
      module.getCompilationInfo().then((info) => {
        const errors = info.messages.filter((m) => m.type === 'error');
        if (errors.length === 0) return null;
        const lines = wgsl.split('\n');
        return errors
          .map((m) => `kernel "${name}": ${m.message} at WGSL line ${m.lineNum}:\n  ${lines[m.lineNum - 1] ?? ''}`)
          .join('\n');
      }),
    );
    // An explicit layout from the declarations (not 'auto'): a binding that one variant of a kernel does not
    // read stays valid, so callers can bind the same buffers to every variant.
    const layout = this.device.createBindGroupLayout({ label: name, entries: bindingsOf(wgsl) });
    const pipeline = this.device.createComputePipeline({
      label: name,
      layout: this.device.createPipelineLayout({ label: name, bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: 'main' },
    });
    const entry = { pipeline, layout, id: this.pipelines.size + 1, name };
    this.pipelines.set(wgsl, entry);
    return entry;
  }

  private uniformBuffer(data: ArrayBufferView): GPUBuffer {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const words = new Uint32Array(Math.ceil(bytes.byteLength / 4));
    new Uint8Array(words.buffer).set(bytes);
    const key = words.join(',');
    let buffer = this.uniforms.get(key);
    if (!buffer) {
      if (this.uniforms.size >= UNIFORM_CACHE_LIMIT) this.dropUniformCache();
      const size = Math.max(16, Math.ceil(bytes.byteLength / 16) * 16);
      buffer = this.device.createBuffer({ size, usage: 0x0040 | 0x0008, label: 'uniform' }); // UNIFORM | COPY_DST
      const padded = new Uint8Array(size);
      padded.set(bytes);
      this.device.queue.writeBuffer(buffer, 0, padded);
      this.uniforms.set(key, buffer);
    }
    return buffer;
  }

  private dropUniformCache(): void {
    // Destroying is safe for submitted work; flush first so nothing recorded still needs them.
    this.flush();
    for (const buffer of this.uniforms.values()) buffer.destroy();
    this.uniforms.clear();
    this.bindGroups.clear();
  }

  dispatch(launch: KernelLaunch): void {
    const { pipeline, layout, id } = this.pipeline(launch.name, launch.wgsl);
    const buffers = launch.uniform ? [...launch.buffers, this.uniformBuffer(launch.uniform)] : launch.buffers;
    let key = `${id}`;
    for (const buffer of buffers) key += `,${this.bufferId(buffer)}`;
    let bindGroup = this.bindGroups.get(key);
    if (!bindGroup) {
      if (this.bindGroups.size >= BIND_GROUP_CACHE_LIMIT) this.bindGroups.clear();
      bindGroup = this.device.createBindGroup({
        label: launch.describe ? `${launch.name} ${launch.describe}` : launch.name,
        layout,
        entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
      });
      this.bindGroups.set(key, bindGroup);
    }
    const [x, y = 1, z = 1] = launch.workgroups;
    if (x === 0 || y === 0 || z === 0) return;
    if (this.profiler) this.endPass();
    if (!this.pass) {
      this.encoder ??= this.device.createCommandEncoder({ label: 'mim-batch' });
      const label = this.profiler?.byShape && launch.describe ? `${launch.name} ${launch.describe}` : launch.name;
      const timestampWrites = this.profiler?.passTimestamps(label, this.encoder);
      this.pass = this.encoder.beginComputePass({ label: 'mim-pass', timestampWrites });
    }
    this.pass.setPipeline(pipeline);
    this.pass.setBindGroup(0, bindGroup);
    this.pass.dispatchWorkgroups(x, y, z);
    this.batchLabels.push(launch.describe ? `${launch.name} ${launch.describe}` : launch.name);
    this.dispatchCount++;
    if (++this.batched >= MAX_BATCH) this.flush();
  }

  /** Records a buffer-to-buffer copy (ends the open compute pass). */
  copyBuffer(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    this.endPass();
    this.encoder ??= this.device.createCommandEncoder({ label: 'mim-batch' });
    this.encoder.copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
  }

  private endPass(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
  }

  startProfile(profiler: KernelProfiler): void {
    if (this.profiler) throw new Error('profileKernels: a profile is already open (profiles do not nest)');
    this.flush();
    this.profiler = profiler;
  }

  endProfile(): void {
    this.flush();
    this.profiler = null;
  }

  /** Submits everything recorded so far; buffers released meanwhile become reusable. */
  flush(): void {
    this.endPass();
    if (this.profiler) {
      this.encoder ??= this.device.createCommandEncoder({ label: 'mim-batch' });
      this.profiler.resolve(this.encoder);
    }
    if (this.encoder) {
      this.device.queue.submit([this.encoder.finish()]);
      this.encoder = null;
      this.submitCount++;
    }
    this.batched = 0;
    this.pool.recycle();
    this.throwPendingErrors();
    this.batchLabels = [];
  }

  /** Throws the first device error reported since the last check, naming the kernels of the batch. */
  throwPendingErrors(): void {
    const errors = takeUncapturedErrors();
    if (errors.length === 0) return;
    const message = errors.join('\n');
    const recent = this.batchLabels.slice(-8).join('; ');
    if (/parsing WGSL|ShaderModule|shader/i.test(message)) throw new ShaderCompileError(message);
    throw new GpuValidationError(`WebGPU validation failed: ${message}\nrecent kernels: ${recent}`);
  }

  /** Waits for submitted work (and shader compile checks) to finish; surfaces device errors. */
  async sync(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    await this.checkCompiles();
    this.throwPendingErrors();
  }

  async checkCompiles(): Promise<void> {
    if (this.compileChecks.length === 0) return;
    const results = await Promise.all(this.compileChecks.splice(0, this.compileChecks.length));
    const failures = results.filter((r): r is string => r !== null);
    if (failures.length > 0) {
      takeUncapturedErrors();
      throw new ShaderCompileError(failures.join('\n'));
    }
  }

  /** Copies `bytes` bytes of `buffer` from `offset` to the CPU. */
  async read(buffer: GPUBuffer, offset: number, bytes: number): Promise<ArrayBuffer> {
    const size = Math.max(4, Math.ceil(bytes / 4) * 4);
    const staging = this.device.createBuffer({ size, usage: 0x0001 | 0x0008, label: 'readback' }); // MAP_READ|COPY_DST
    try {
      if (bytes > 0) this.copyBuffer(buffer, offset, staging, 0, size);
      this.flush();
      await this.checkCompiles();
      await staging.mapAsync(0x0001);
      this.throwPendingErrors();
      return staging.getMappedRange(0, size).slice(0, bytes);
    } finally {
      staging.destroy();
    }
  }

  /** Writes CPU data into a buffer. Flushes first so recorded commands see the old contents. */
  write(buffer: GPUBuffer, offset: number, data: ArrayBufferView, fresh: boolean): void {
    if (!fresh) this.flush();
    const byteLength = data.byteLength;
    if (byteLength === 0) return;
    if (byteLength % 4 === 0) {
      this.device.queue.writeBuffer(buffer, offset, data.buffer, data.byteOffset, byteLength);
    } else {
      const padded = new Uint8Array(Math.ceil(byteLength / 4) * 4);
      padded.set(new Uint8Array(data.buffer, data.byteOffset, byteLength));
      this.device.queue.writeBuffer(buffer, offset, padded);
    }
  }
}

/** Group-0 binding declarations of a WGSL module → bind group layout entries. */
export function bindingsOf(wgsl: string): GPUBindGroupLayoutEntry[] {
  const entries: GPUBindGroupLayoutEntry[] = [];
  const pattern = /@group\(0\)\s*@binding\((\d+)\)\s*var<\s*(storage|uniform)\s*(?:,\s*(read_write|read))?\s*>/g;
  for (const match of wgsl.matchAll(pattern)) {
    const binding = Number(match[1]);
    const buffer: GPUBufferBindingLayout =
      match[2] === 'uniform'
        ? { type: 'uniform' }
        : { type: match[3] === 'read_write' ? 'storage' : 'read-only-storage' };
    entries.push({ binding, visibility: 4 /* GPUShaderStage.COMPUTE */, buffer });
  }
  return entries;
}

let engine: Engine | null = null;

/** The engine of the current device (created on first use after `init()`). */
export function getEngine(op?: string): Engine {
  const ctx = gpuContext(op);
  if (!engine || engine.ctx !== ctx) engine = new Engine(ctx);
  return engine;
}
