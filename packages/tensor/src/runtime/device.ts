/**
 * The one place that acquires a WebGPU adapter and device. In Node it loads Dawn through the `webgpu`
 * package; in a browser it uses `navigator.gpu`. Limits are negotiated up to what the adapter offers, and
 * every failure becomes a `DeviceError` that says how to fix it.
 */
import { DeviceError } from './errors.js';

export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** The WebGPU backend Dawn runs on (vulkan, metal, d3d12) or `browser`. */
  backend: string;
  /** True for CPU implementations such as Mesa lavapipe (llvmpipe) or SwiftShader. */
  software: boolean;
  features: string[];
}

export interface GpuContext {
  device: GPUDevice;
  adapter: GPUAdapter;
  info: AdapterSummary;
  limits: GPUSupportedLimits;
  hasF16: boolean;
  hasSubgroups: boolean;
}

export interface InitOptions {
  /** Dawn toggles passed to `create()`, e.g. `['backend=vulkan']`. Ignored in browsers. */
  dawnFlags?: string[];
  powerPreference?: GPUPowerPreference;
}

export const NO_ADAPTER_HELP = [
  'No WebGPU adapter was found.',
  "On a machine without a GPU driver, install Mesa's software Vulkan driver (lavapipe, Mesa >= 24):",
  '  Debian 12:  sudo bash scripts/setup-webgpu.sh   (adds bookworm-backports and installs mesa-vulkan-drivers libvulkan1)',
  '  Ubuntu 24.04+ / Debian 13+:  sudo apt-get install -y mesa-vulkan-drivers libvulkan1',
  'Debian 12\'s own Mesa 22.3 is refused by Dawn ("shaderUniform*ArrayDynamicIndexing required").',
  'With a GPU, install its Vulkan driver (NVIDIA: the proprietary driver; AMD/Intel: mesa-vulkan-drivers).',
].join('\n');

const WANTED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
  'maxBindGroups',
] as const;

let context: GpuContext | null = null;
/** Dawn's GPU instance must stay referenced for the life of the device: if it is garbage-collected, Dawn
 * tears down the instance and the process crashes on the next queue callback. */
let gpuInstance: GPU | null = null;
let pending: Promise<GpuContext> | null = null;
let lostReason: string | null = null;
const uncaptured: string[] = [];

/** Dawn warns when XDG_RUNTIME_DIR is unset or not writable; give it a private temp folder. */
async function ensureRuntimeDir(): Promise<void> {
  if (typeof process === 'undefined' || !process.versions?.node) return;
  const fs = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const current = process.env.XDG_RUNTIME_DIR;
  if (current) {
    try {
      fs.accessSync(current, fs.constants.W_OK);
      return;
    } catch {
      // fall through and make one
    }
  }
  const dir = path.join(os.tmpdir(), `mim-xdg-${process.getuid?.() ?? 'user'}`);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  process.env.XDG_RUNTIME_DIR = dir;
}

async function getGpu(flags: string[]): Promise<GPU> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return nav.gpu;
  await ensureRuntimeDir();
  let dawn: { create: (flags: string[]) => GPU; globals: Record<string, unknown> };
  try {
    dawn = (await import('webgpu')) as unknown as typeof dawn;
  } catch (error) {
    throw new DeviceError(`Could not load Dawn (npm package "webgpu"): ${(error as Error).message}`);
  }
  // GPUBufferUsage, GPUMapMode … are globals in browsers; Dawn hands them out separately.
  for (const [key, value] of Object.entries(dawn.globals)) {
    if (!(key in globalThis)) (globalThis as Record<string, unknown>)[key] = value;
  }
  return dawn.create(flags);
}

function summarise(adapter: GPUAdapter, backend: string): AdapterSummary {
  const info = adapter.info;
  const description = info.description ?? '';
  const device = info.device ?? '';
  const software =
    (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter === true ||
    (info as { isFallbackAdapter?: boolean }).isFallbackAdapter === true ||
    /llvmpipe|lavapipe|swiftshader|software/i.test(`${description} ${device} ${info.architecture}`);
  return {
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    device,
    description,
    backend,
    software,
    features: [...adapter.features].sort(),
  };
}

function defaultBackend(): string {
  if (typeof process === 'undefined' || !process.platform) return 'browser';
  if (process.platform === 'darwin') return 'metal';
  if (process.platform === 'win32') return 'd3d12';
  return 'vulkan';
}

async function acquire(options: InitOptions): Promise<GpuContext> {
  const backend = defaultBackend();
  const flags = options.dawnFlags ?? (backend === 'vulkan' ? ['backend=vulkan'] : []);
  gpuInstance ??= await getGpu(flags);
  const gpu = gpuInstance;
  const adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance' });
  if (!adapter) throw new DeviceError(NO_ADAPTER_HELP);

  const requiredLimits: Record<string, number> = {};
  for (const key of WANTED_LIMITS) {
    const value = (adapter.limits as unknown as Record<string, number>)[key];
    if (typeof value === 'number') requiredLimits[key] = value;
  }
  const requiredFeatures: GPUFeatureName[] = [];
  if (adapter.features.has('shader-f16')) requiredFeatures.push('shader-f16');
  if (adapter.features.has('subgroups')) requiredFeatures.push('subgroups' as GPUFeatureName);
  // Only read by profileKernels (per-dispatch timestamps); requesting it changes nothing else.
  if (adapter.features.has('timestamp-query')) requiredFeatures.push('timestamp-query');

  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ requiredLimits, requiredFeatures, label: '@mim/tensor' });
  } catch (error) {
    throw new DeviceError(`requestDevice failed on ${adapter.info.description}: ${(error as Error).message}`);
  }
  lostReason = null;
  device.lost.then((lost) => {
    lostReason = `${lost.reason}: ${lost.message}`;
    if (context?.device === device) context = null;
  });
  device.onuncapturederror = (event) => {
    uncaptured.push((event as GPUUncapturedErrorEvent).error.message);
  };
  return {
    device,
    adapter,
    info: summarise(adapter, backend),
    limits: device.limits,
    hasF16: device.features.has('shader-f16'),
    hasSubgroups: device.features.has('subgroups'),
  };
}

/**
 * Acquires the WebGPU device. Call once (awaited) before creating tensors; later calls return the same context.
 */
export async function init(options: InitOptions = {}): Promise<GpuContext> {
  if (context) return context;
  if (!pending) {
    pending = acquire(options).then(
      (ctx) => {
        context = ctx;
        pending = null;
        return ctx;
      },
      (error) => {
        pending = null;
        throw error;
      },
    );
  }
  return pending;
}

/** The current context; throws a DeviceError naming the op when `init()` has not completed or the device is lost. */
export function gpuContext(op = 'tensor op'): GpuContext {
  if (context) return context;
  if (lostReason) throw new DeviceError(`${op}: the WebGPU device was lost (${lostReason}); call init() again`);
  throw new DeviceError(`${op}: WebGPU is not initialised; call \`await init()\` from @mim/tensor first`);
}

export function isInitialised(): boolean {
  return context !== null;
}

/** Errors the device reported asynchronously since the last call; the engine turns them into exceptions. */
export function takeUncapturedErrors(): string[] {
  return uncaptured.splice(0, uncaptured.length);
}

/** Destroys the device (tests use this to check lost-device errors). */
export function destroyDevice(): void {
  if (!context) return;
  const { device } = context;
  context = null;
  lostReason = 'destroyed: destroyDevice() was called';
  device.destroy();
}
