/**
 * `npm run bench` for @mim/data: writes <repo>/bench-results/data.json and prints a table.
 * random-crop: 96³ crops per second on one worker from cached volumes (each crop re-reads its cached volume);
 * preprocess: ct/thorax-aorta-1.5mm.nii.gz end to end (read, RAS, 1.5 mm, window, foreground crop, pad, cache write);
 * memory: RSS and heap after each of several epochs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { arch, cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { VolumeCache } from './cache.js';
import { openDataset } from './dataset.js';
import { DataLoader } from './loader.js';
import { readNifti } from './nifti-read.js';
import { writeFileAtomic } from './nifti-write.js';
import { preprocessFile, resolvePreprocess } from './preprocess.js';
import { findRepoRoot } from './repo-root.js';
import { resample } from './resample.js';

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

interface Result {
  name: string;
  shape: string;
  ours_ms: number;
  peer: null;
  peer_ms: null;
  ratio: null;
  [extra: string]: unknown;
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

async function cropThroughput(ctFolder: string, cacheDirectory: string, cropsPerVolume: number, epochs: number) {
  const dataset = openDataset(ctFolder);
  const loader = new DataLoader(dataset, {
    workers: 1,
    batchSize: 1,
    cropsPerVolume,
    cacheDirectory,
    prefetch: 4,
    seed: 1,
  });
  try {
    for await (const _ of loader.epoch(0)) {
      // warm the cache
    }
    let crops = 0;
    const cpu = process.cpuUsage();
    const started = performance.now();
    for (let epoch = 1; epoch <= epochs; epoch++) {
      for await (const batch of loader.epoch(epoch)) crops += batch.shape[0];
    }
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    const cpuSeconds = (used.user + used.system) / 1e6;
    return { crops, seconds, cpuSeconds, hits: loader.stats.cacheHits, misses: loader.stats.cacheMisses };
  } finally {
    await loader.close();
  }
}

async function memoryAcrossEpochs(ctFolder: string, cacheDirectory: string, epochs: number) {
  const dataset = openDataset(ctFolder);
  const loader = new DataLoader(dataset, { workers: 1, batchSize: 2, cropsPerVolume: 2, cacheDirectory, seed: 3 });
  const rss: number[] = [];
  const heap: number[] = [];
  try {
    for (let epoch = 0; epoch < epochs; epoch++) {
      for await (const _ of loader.epoch(epoch)) {
        // consume
      }
      gc();
      const usage = process.memoryUsage();
      rss.push(Math.round(usage.rss / 2 ** 20));
      heap.push(Math.round((usage.heapUsed + usage.arrayBuffers) / 2 ** 20));
    }
  } finally {
    await loader.close();
  }
  return { rss, heap };
}

async function main(): Promise<void> {
  const root = findRepoRoot();
  const data = join(root, 'data');
  const thorax = join(data, 'ct', 'thorax-aorta-1.5mm.nii.gz');
  const scratch = mkdtempSync(join(tmpdir(), 'mim-data-bench-'));
  const results: Result[] = [];
  try {
    // preprocess, end to end, in this thread: read + pipeline + cache write (what a worker does on a miss)
    const options = resolvePreprocess();
    const times: number[] = [];
    const cpuTimes: number[] = [];
    let shape = '';
    for (let run = 0; run < 5; run++) {
      const cache = new VolumeCache(join(scratch, `pre-${run}`));
      const cpu = process.cpuUsage();
      const started = performance.now();
      const sample = preprocessFile(thorax, undefined, options);
      cache.write(cache.key(thorax, undefined, options), sample);
      times.push(performance.now() - started);
      const used = process.cpuUsage(cpu);
      cpuTimes.push((used.user + used.system) / 1000);
      shape = sample.image.shape.join('x');
    }
    results.push({
      name: 'preprocess',
      shape,
      file: 'ct/thorax-aorta-1.5mm.nii.gz',
      ours_ms: median(times),
      first_ms: times[0],
      cpu_ms: median(cpuTimes),
      target_ms: 1000,
      peer: null,
      peer_ms: null,
      ratio: null,
    });

    // resampling alone: abdomen 3 mm → 1.5 mm (trilinear)
    const abdomen = readNifti(join(data, 'ct', 'abdomen-3mm.nii.gz'));
    const resampleTimes: number[] = [];
    let resampledShape = '';
    for (let run = 0; run < 3; run++) {
      const started = performance.now();
      resampledShape = resample(abdomen, 1.5).shape.join('x');
      resampleTimes.push(performance.now() - started);
    }
    results.push({
      name: 'resample-trilinear',
      shape: resampledShape,
      file: 'ct/abdomen-3mm.nii.gz (3 mm → 1.5 mm)',
      ours_ms: median(resampleTimes),
      peer: null,
      peer_ms: null,
      ratio: null,
    });

    // random crops from cached volumes, one worker
    const ctFolder = join(data, 'ct');
    for (const perVolume of [1, 4]) {
      const run = await cropThroughput(ctFolder, join(scratch, 'cache'), perVolume, perVolume === 1 ? 24 : 6);
      results.push({
        name: perVolume === 1 ? 'random-crop' : 'random-crop-4-per-volume',
        shape: '96x96x96',
        crops_per_s: run.crops / run.seconds,
        ours_ms: (run.seconds * 1000) / run.crops,
        crops: run.crops,
        cpu_ms_per_crop: (run.cpuSeconds * 1000) / run.crops,
        crops_per_cpu_s: run.crops / run.cpuSeconds,
        crops_per_volume: perVolume,
        workers: 1,
        cache_hits: run.hits,
        cache_misses: run.misses,
        target_crops_per_s: 50,
        peer: null,
        peer_ms: null,
        ratio: null,
      });
    }

    // memory across epochs
    const epochs = 10;
    const memory = await memoryAcrossEpochs(ctFolder, join(scratch, 'cache'), epochs);
    const half = Math.floor(epochs / 2);
    results.push({
      name: 'memory-across-epochs',
      shape: '96x96x96',
      epochs,
      rss_mib: memory.rss,
      heap_and_buffers_mib: memory.heap,
      rss_growth_second_half_mib: memory.rss[epochs - 1] - memory.rss[half],
      ours_ms: 0,
      peer: null,
      peer_ms: null,
      ratio: null,
    });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }

  const cpu = cpus();
  const report = {
    adapter: {
      vendor: 'cpu',
      architecture: arch(),
      description: `${cpu[0]?.model ?? 'unknown CPU'} (${cpu.length} logical cores)`,
      backend: `node ${process.version} worker_threads`,
    },
    date: new Date().toISOString(),
    load_average_1min: loadavg()[0],
    results,
  };
  const out = resolve(root, 'bench-results', 'data.json');
  writeFileAtomic(out, new TextEncoder().encode(`${JSON.stringify(report, null, 2)}\n`));
  console.log(`@mim/data bench (${report.adapter.description}) → ${out}`);
  console.table(
    results.map((r) => ({
      name: r.name,
      shape: r.shape,
      ours_ms: +r.ours_ms.toFixed(2),
      crops_per_s: r.crops_per_s === undefined ? '' : (r.crops_per_s as number).toFixed(1),
      note: r.name === 'memory-across-epochs' ? `rss MiB ${(r.rss_mib as number[]).join(' ')}` : '',
    })),
  );
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
