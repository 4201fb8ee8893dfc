import { readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { VolumeCache } from './cache.js';
import { cropToBox, randomCropBox } from './crop.js';
import { openDataset } from './dataset.js';
import { DataError } from './errors.js';
import { DataLoader } from './loader.js';
import { readNifti } from './nifti-read.js';
import { NiftiRegionReader } from './nifti-region.js';
import { writeNifti } from './nifti-write.js';
import { resolvePreprocess } from './preprocess.js';
import { createRng } from './random.js';
import { buildRawNifti, temporaryFolder } from './test-support.js';
import { WorkerPool } from './worker-pool.js';

const folder = temporaryFolder();
afterAll(() => rmSync(folder, { recursive: true, force: true }));

const affine = [
  [-1.25, 0, 0, 3],
  [0, 1.5, 0, -4],
  [0, 0, 2, 5],
  [0, 0, 0, 1],
];

describe('NiftiRegionReader', () => {
  it('reads boxes equal to cropping the whole volume, for several types and with scaling', () => {
    const rng = createRng(2);
    const shape: [number, number, number] = [17, 13, 11];
    const n = 17 * 13 * 11;
    const cases = [
      { name: 'f32.nii', data: Float32Array.from({ length: n }, () => rng.next() * 100 - 50) },
      { name: 'u8.nii', data: Uint8Array.from({ length: n }, () => rng.int(256)) },
      { name: 'i16.nii', data: Int16Array.from({ length: n }, () => rng.int(60000) - 30000) },
    ];
    for (const { name, data } of cases) {
      const file = join(folder, name);
      writeNifti(file, { data, shape, affine });
      const whole = readNifti(file);
      const reader = new NiftiRegionReader(file);
      try {
        for (let i = 0; i < 10; i++) {
          const box = randomCropBox(shape, [1 + rng.int(17), 1 + rng.int(13), 1 + rng.int(11)], rng);
          const expected = cropToBox(whole, box);
          const region = reader.read(box);
          expect(region.shape).toEqual(expected.shape);
          expect(region.affine).toEqual(expected.affine);
          expect(Array.from(region.data)).toEqual(Array.from(expected.data));
        }
      } finally {
        reader.close();
      }
    }
    const scaled = join(folder, 'scaled.nii');
    writeFileSync(
      scaled,
      buildRawNifti({
        datatype: 'int16',
        dims: [4, 3, 2],
        values: Array.from({ length: 24 }, (_, i) => i),
        slope: 2,
        inter: 1,
      }),
    );
    const reader = new NiftiRegionReader(scaled);
    const region = reader.read({ start: [1, 1, 1], end: [3, 3, 2] });
    reader.close();
    // index x + 4·(y + 3·z) for x ∈ {1, 2}, y ∈ {1, 2}, z = 1
    expect(Array.from(region.data)).toEqual([17, 18, 21, 22].map((v) => v * 2 + 1));
  });

  it('refuses compressed files with a DataError naming the file', () => {
    const file = join(folder, 'compressed.nii.gz');
    writeFileSync(
      file,
      gzipSync(buildRawNifti({ datatype: 'uint8', dims: [2, 2, 2], values: [1, 2, 3, 4, 5, 6, 7, 8] })),
    );
    expect(() => new NiftiRegionReader(file)).toThrow(DataError);
    expect(() => new NiftiRegionReader(file)).toThrow(file);
  });
});

describe('cache', () => {
  it('keys change with the file modification time and the preprocessing settings', () => {
    const image = join(folder, 'keyed.nii.gz');
    writeNifti(image, { data: new Int16Array(8), shape: [2, 2, 2], affine });
    const cache = new VolumeCache(join(folder, 'cache-keys'));
    const options = resolvePreprocess();
    const key = cache.key(image, undefined, options);
    expect(cache.key(image, undefined, resolvePreprocess())).toBe(key);
    expect(cache.key(image, undefined, resolvePreprocess({ spacing: 2 }))).not.toBe(key);
    const later = new Date(Date.now() + 60_000);
    utimesSync(image, later, later);
    expect(cache.key(image, undefined, options)).not.toBe(key);
  });
});

describe('worker pool', () => {
  it('a worker that dies rejects its task with a DataError naming the file', async () => {
    const script = join(folder, 'dying-worker.mjs');
    writeFileSync(
      script,
      "import { parentPort } from 'node:worker_threads';\nparentPort.on('message', () => process.exit(3));\n",
    );
    const pool = new WorkerPool(1, pathToFileURL(script));
    try {
      const task = { image: '/some/scan.nii.gz', preprocess: resolvePreprocess(), crop: null, augment: null, seed: 0 };
      const error = await pool.run(task).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DataError);
      expect((error as DataError).code).toBe('worker-crashed');
      expect((error as DataError).message).toMatch(
        /^\/some\/scan\.nii\.gz: the worker processing this file died: exit code 3/,
      );
    } finally {
      await pool.close();
    }
  });
});

describe('memory', () => {
  it('does not grow across epochs', async () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    expect(gc, 'run vitest with --expose-gc (see vitest.config.ts)').toBeTypeOf('function');
    const data = join(folder, 'memory');
    for (let i = 0; i < 3; i++) {
      const rng = createRng(i);
      writeNifti(join(data, `scan-${i}.nii.gz`), {
        data: Int16Array.from({ length: 40 * 36 * 30 }, () => rng.int(1200) - 400),
        shape: [40, 36, 30],
        affine,
      });
    }
    const loader = new DataLoader(openDataset(data), {
      cropSize: 24,
      batchSize: 2,
      cropsPerVolume: 2,
      workers: 1,
      cacheDirectory: join(folder, 'memory-cache'),
    });
    const used: number[] = [];
    try {
      for (let epoch = 0; epoch < 12; epoch++) {
        for await (const batch of loader.epoch(epoch)) expect(batch.image.length).toBeGreaterThan(0);
        gc!();
        const usage = process.memoryUsage();
        used.push(usage.heapUsed + usage.arrayBuffers);
      }
    } finally {
      await loader.close();
    }
    expect(readdirSync(join(folder, 'memory-cache'))).toHaveLength(3);
    const growth = used[11] - used[3];
    expect(growth, `heap + array buffers per epoch (bytes): ${used.join(', ')}`).toBeLessThan(2 ** 20);
  });
});
