/**
 * Benchmark harness shared by every @mim package (`@mim/tensor/bench`): median timing after warm-up, the
 * result schema of `bench-results/<package>.json`, a printed table, and an atomic JSON writer.
 *
 * ```ts
 * import { adapterRecord, measure, printTable, result, writeResults } from '@mim/tensor/bench';
 * const ours = await measure(() => matmul(a, b).dispose(), sync);
 * const row = result({ name: 'matmul', shape: '1024x1024x1024', oursMs: ours.medianMs, flops: 2 * 1024 ** 3 });
 * printTable([row]);
 * await writeResults('tensor', [row]);
 * ```
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { gpuContext } from '../runtime/device.js';

/** The adapter block of a results file. */
export interface AdapterRecord {
  vendor: string;
  architecture: string;
  description: string;
  backend: string;
}

/** One row of a results file. `ratio` = peer_ms / ours_ms (> 1: we are faster). */
export interface BenchResult {
  name: string;
  shape: string;
  ours_ms: number;
  peer: string | null;
  peer_ms: number | null;
  ratio: number | null;
  gflops?: number;
  gbps?: number;
  peak_bytes?: number;
}

export interface BenchFile {
  adapter: AdapterRecord;
  date: string;
  results: BenchResult[];
}

/** The current device's adapter, as recorded in results files. Call after `init()`. */
export function adapterRecord(): AdapterRecord {
  const info = gpuContext('bench').info;
  return {
    vendor: info.vendor,
    architecture: info.architecture,
    description: info.description,
    backend: info.backend,
  };
}

export interface MeasureOptions {
  /** Untimed runs first (pipeline compilation, pool warm-up). Default 2. */
  warmup?: number;
  /** Timed samples; the median is reported. Default 7. */
  reps?: number;
  /** Calls of `run` per sample (amortises the per-sample sync for short ops); the sample is divided by it. */
  inner?: number;
}

export interface Measurement {
  medianMs: number;
  minMs: number;
  samplesMs: number[];
}

/**
 * Times `run` (which only records/submits work) followed by `wait` (which resolves when the device is idle):
 * `warmup` untimed rounds, then `reps` samples of `inner` runs plus one wait each. Returns the median per run.
 */
export async function measure(
  run: () => unknown,
  wait: () => Promise<unknown>,
  options: MeasureOptions = {},
): Promise<Measurement> {
  const warmup = options.warmup ?? 2;
  const reps = Math.max(1, options.reps ?? 7);
  const inner = Math.max(1, options.inner ?? 1);
  for (let i = 0; i < warmup; i++) {
    for (let j = 0; j < inner; j++) await run();
    await wait();
  }
  const samples: number[] = [];
  for (let i = 0; i < reps; i++) {
    const start = performance.now();
    for (let j = 0; j < inner; j++) await run();
    await wait();
    samples.push((performance.now() - start) / inner);
  }
  const sorted = [...samples].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  const medianMs = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { medianMs, minMs: sorted[0], samplesMs: samples };
}

export interface ResultInput {
  name: string;
  shape: string;
  oursMs: number;
  peer?: string | null;
  peerMs?: number | null;
  /** Floating-point operations of one run: gives `gflops`. */
  flops?: number;
  /** Bytes moved by one run: gives `gbps`. */
  bytes?: number;
  peakBytes?: number;
}

const round = (value: number, digits = 4) => Number(value.toPrecision(digits));

/** Builds a schema row (ratio = peer / ours, throughput from our time). */
export function result(input: ResultInput): BenchResult {
  const peerMs = input.peerMs ?? null;
  const row: BenchResult = {
    name: input.name,
    shape: input.shape,
    ours_ms: round(input.oursMs),
    peer: peerMs === null ? null : (input.peer ?? null),
    peer_ms: peerMs === null ? null : round(peerMs),
    ratio: peerMs === null ? null : round(peerMs / input.oursMs, 3),
  };
  if (input.flops !== undefined) row.gflops = round(input.flops / (input.oursMs * 1e6), 3);
  if (input.bytes !== undefined) row.gbps = round(input.bytes / (input.oursMs * 1e6), 3);
  if (input.peakBytes !== undefined) row.peak_bytes = input.peakBytes;
  return row;
}

/** The results as an aligned text table. */
export function formatTable(results: readonly BenchResult[]): string {
  const header = ['name', 'shape', 'ours ms', 'peer', 'peer ms', 'ratio', 'GFLOP/s', 'GB/s'];
  const fmt = (v: number | null | undefined, digits = 3) => (v === null || v === undefined ? '-' : v.toFixed(digits));
  const rows = results.map((r) => [
    r.name,
    r.shape,
    fmt(r.ours_ms),
    r.peer ?? '-',
    fmt(r.peer_ms),
    r.ratio === null ? '-' : `${r.ratio.toFixed(2)}x`,
    fmt(r.gflops, 2),
    fmt(r.gbps, 2),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function printTable(results: readonly BenchResult[], title?: string): void {
  if (title) console.log(`\n${title}`);
  console.log(formatTable(results));
}

/** The monorepo root: the nearest folder above `start` whose package.json declares workspaces. */
export function findRepoRoot(start = process.cwd()): string {
  let dir = resolve(start);
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if (JSON.parse(readFileSync(manifest, 'utf8')).workspaces) return dir;
      } catch {
        // not JSON: keep walking
      }
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`findRepoRoot: no package.json with "workspaces" above ${start}`);
    dir = parent;
  }
}

/**
 * Writes `<repo root>/bench-results/<packageName>.json` (or into `dir`) atomically: a temp file in the same
 * folder, then a rename, so readers never see a half-written file. Returns the path.
 */
export async function writeResults(
  packageName: string,
  results: readonly BenchResult[],
  options: { dir?: string; adapter?: AdapterRecord; date?: Date } = {},
): Promise<string> {
  const dir = options.dir ?? join(findRepoRoot(), 'bench-results');
  await mkdir(dir, { recursive: true });
  const file: BenchFile = {
    adapter: options.adapter ?? adapterRecord(),
    date: (options.date ?? new Date()).toISOString(),
    results: [...results],
  };
  const path = join(dir, `${packageName}.json`);
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(file, null, 2)}\n`);
  await rename(temp, path);
  return path;
}
