/**
 * Per-kernel GPU timing through WebGPU timestamp queries: while a profile is open, the engine gives every
 * dispatch its own compute pass with begin/end timestamps, so the device itself measures each kernel (no
 * CPU-side guessing, no change to what runs). Costs a pass per dispatch, so only use it to find hot spots.
 *
 * ```ts
 * const { kernels } = await profileKernels(() => model.forward(x).loss.backward());
 * console.table(kernels.slice(0, 10));
 * ```
 */
import { gpuContext } from './device.js';
import { getEngine } from './engine.js';

/** Timestamps per query set (two per dispatch); a full set is resolved and a new one started. */
const QUERIES_PER_SET = 4096;

export interface KernelTiming {
  /** Kernel name as launched (e.g. `conv3d.direct`, `matmul`), followed by the shapes with `byShape`. */
  name: string;
  /** Dispatches of this kernel inside the profiled function. */
  count: number;
  /** Total device time of those dispatches in milliseconds. */
  totalMs: number;
  /** Share of the profiled device time, 0..1. */
  share: number;
}

export interface KernelProfile<T> {
  result: T;
  /** One row per kernel name, slowest total first. */
  kernels: KernelTiming[];
  /** Sum of every dispatch's device time (excludes gaps between dispatches and buffer copies). */
  totalMs: number;
  dispatches: number;
}

interface ResolvedSet {
  staging: GPUBuffer;
  names: string[];
}

/** Collects timestamp pairs for the engine; created by `profileKernels`. */
export class KernelProfiler {
  private querySet: GPUQuerySet | null = null;
  private names: string[] = [];
  private readonly resolved: ResolvedSet[] = [];

  constructor(
    private readonly device: GPUDevice,
    /** Group by kernel name and tensor shapes instead of by name only. */
    readonly byShape: boolean,
  ) {}

  /** Timestamp writes for the pass of the next dispatch labelled `name`. */
  passTimestamps(name: string, encoder: GPUCommandEncoder): GPUComputePassTimestampWrites {
    if (this.names.length * 2 >= QUERIES_PER_SET) this.resolve(encoder);
    this.querySet ??= this.device.createQuerySet({ type: 'timestamp', count: QUERIES_PER_SET, label: 'mim-profile' });
    const index = this.names.length * 2;
    this.names.push(name);
    return { querySet: this.querySet, beginningOfPassWriteIndex: index, endOfPassWriteIndex: index + 1 };
  }

  /** Records the resolve of the open query set into a readable buffer (call with no pass open). */
  resolve(encoder: GPUCommandEncoder): void {
    if (!this.querySet || this.names.length === 0) return;
    const bytes = this.names.length * 2 * 8;
    const target = this.device.createBuffer({ size: bytes, usage: 0x0200 | 0x0004, label: 'mim-profile-resolve' }); // QUERY_RESOLVE | COPY_SRC
    const staging = this.device.createBuffer({ size: bytes, usage: 0x0001 | 0x0008, label: 'mim-profile-read' }); // MAP_READ | COPY_DST
    encoder.resolveQuerySet(this.querySet, 0, this.names.length * 2, target, 0);
    encoder.copyBufferToBuffer(target, 0, staging, 0, bytes);
    this.resolved.push({ staging, names: this.names });
    this.names = [];
    this.querySet = null;
  }

  /** Reads every resolved set (after the engine flushed) and aggregates per kernel name. */
  async collect(): Promise<Omit<KernelProfile<never>, 'result'>> {
    const byName = new Map<string, { count: number; totalNs: number }>();
    let totalNs = 0;
    let dispatches = 0;
    for (const { staging, names } of this.resolved) {
      await staging.mapAsync(0x0001);
      const stamps = new BigUint64Array(staging.getMappedRange().slice(0));
      staging.destroy();
      names.forEach((name, i) => {
        const ns = Math.max(0, Number(stamps[2 * i + 1] - stamps[2 * i]));
        const entry = byName.get(name) ?? { count: 0, totalNs: 0 };
        entry.count++;
        entry.totalNs += ns;
        byName.set(name, entry);
        totalNs += ns;
        dispatches++;
      });
    }
    const kernels = [...byName.entries()]
      .map(([name, { count, totalNs: ns }]) => ({
        name,
        count,
        totalMs: ns / 1e6,
        share: totalNs > 0 ? ns / totalNs : 0,
      }))
      .sort((a, b) => b.totalMs - a.totalMs);
    return { kernels, totalMs: totalNs / 1e6, dispatches };
  }
}

/**
 * Runs `fn` (which records GPU work; it may be async) with per-dispatch timestamps and returns its result plus
 * the device time per kernel name. Needs the adapter feature `timestamp-query`; throws a clear error without it.
 * Profiles do not nest. `byShape` keeps one row per (kernel, tensor shapes) instead of one per kernel name.
 */
export async function profileKernels<T>(
  fn: () => T | Promise<T>,
  options: { byShape?: boolean } = {},
): Promise<KernelProfile<T>> {
  const ctx = gpuContext('profileKernels');
  if (!ctx.device.features.has('timestamp-query')) {
    throw new Error(
      `profileKernels: the adapter "${ctx.info.description}" does not offer the WebGPU feature "timestamp-query"`,
    );
  }
  const engine = getEngine('profileKernels');
  const profiler = new KernelProfiler(ctx.device, options.byShape ?? false);
  engine.startProfile(profiler);
  let result: T;
  try {
    result = await fn();
  } finally {
    engine.endProfile();
  }
  await engine.sync();
  return { result, ...(await profiler.collect()) };
}

/** Formats a profile as an aligned text table (top `limit` kernels). */
export function formatProfile(profile: Omit<KernelProfile<unknown>, 'result'>, limit = 20): string {
  const rows = profile.kernels.slice(0, limit);
  const width = Math.max(6, ...rows.map((r) => r.name.length));
  const lines = [`${'kernel'.padEnd(width)}  ${'count'.padStart(6)}  ${'ms'.padStart(9)}  share`];
  for (const r of rows) {
    lines.push(
      `${r.name.padEnd(width)}  ${String(r.count).padStart(6)}  ${r.totalMs.toFixed(2).padStart(9)}  ${(100 * r.share).toFixed(1).padStart(5)}%`,
    );
  }
  lines.push(
    `${'total'.padEnd(width)}  ${String(profile.dispatches).padStart(6)}  ${profile.totalMs.toFixed(2).padStart(9)}`,
  );
  return lines.join('\n');
}
