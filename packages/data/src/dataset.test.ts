import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listDataset, openDataset } from './dataset.js';
import { type Batch, DataLoader, type LoaderOptions } from './loader.js';
import { writeNifti } from './nifti-write.js';
import { createRng } from './random.js';
import { temporaryFolder } from './test-support.js';

const folder = temporaryFolder();
const cases = ['case_a', 'case_b', 'case_c', 'case_d', 'case_e'];
const threshold = 40; // HU; labels mark voxels above it

beforeAll(() => {
  mkdirSync(join(folder, 'imagesTr'), { recursive: true });
  mkdirSync(join(folder, 'labelsTr'), { recursive: true });
  cases.forEach((name, index) => {
    const shape: [number, number, number] = [24 + index, 20, 18 + 2 * index];
    const rng = createRng(index + 10);
    const n = shape[0] * shape[1] * shape[2];
    const image = Int16Array.from({ length: n }, () => Math.round(-300 + rng.next() * 700));
    const label = Uint8Array.from(image, (v) => (v > threshold ? 1 : 0));
    const affine = [
      [-1.5, 0, 0, 10 * index],
      [0, -1.5, 0, 5],
      [0, 0, 1.5, -20],
      [0, 0, 0, 1],
    ];
    writeNifti(join(folder, 'imagesTr', `${name}_0000.nii.gz`), { data: image, shape, affine });
    writeNifti(join(folder, 'labelsTr', `${name}.nii.gz`), { data: label, shape, affine });
  });
  writeFileSync(
    join(folder, 'dataset.json'),
    JSON.stringify({
      name: 'synthetic',
      training: cases.map((name) => ({ image: `./imagesTr/${name}_0000.nii.gz`, label: `./labelsTr/${name}.nii.gz` })),
      validation: [{ image: `./imagesTr/${cases[0]}_0000.nii.gz` }],
    }),
  );
  mkdirSync(join(folder, 'v2'), { recursive: true });
  writeFileSync(join(folder, 'v2.json'), '{}');
});
afterAll(() => rmSync(folder, { recursive: true, force: true }));

async function collect(iterable: AsyncIterable<Batch>, limit = Number.POSITIVE_INFINITY): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const batch of iterable) {
    out.push(batch);
    if (out.length >= limit) break;
  }
  return out;
}

function loaderOptions(extra: LoaderOptions = {}): LoaderOptions {
  return {
    cropSize: 12,
    batchSize: 3,
    cropsPerVolume: 2,
    workers: 1,
    preprocess: { spacing: 1.5 },
    ...extra,
  };
}

describe('datasets', () => {
  it('reads a MONAI / nnU-Net dataset.json with labels and splits', () => {
    const dataset = openDataset(join(folder, 'dataset.json'));
    expect(dataset.items).toHaveLength(5);
    expect(dataset.items[0]).toEqual({
      image: join(folder, 'imagesTr', 'case_a_0000.nii.gz'),
      label: join(folder, 'labelsTr', 'case_a.nii.gz'),
    });
    expect(openDataset(join(folder, 'dataset.json'), { split: 'validation' }).items).toHaveLength(1);
    expect(openDataset(join(folder, 'dataset.json'), { labels: false }).items[0].label).toBeUndefined();
    expect(() => listDataset(join(folder, 'dataset.json'), { split: 'test' })).toThrow(
      /no "test" list; lists present: training, validation/,
    );
  });

  it('reads an nnU-Net v2 folder (imagesTr + file_ending) and a plain folder', () => {
    const json = join(folder, 'nnunet-v2.json');
    writeFileSync(
      json,
      JSON.stringify({ channel_names: { 0: 'CT' }, labels: { background: 0, x: 1 }, file_ending: '.nii.gz' }),
    );
    const items = listDataset(json);
    expect(items).toHaveLength(5);
    expect(items[4].label).toBe(join(folder, 'labelsTr', 'case_e.nii.gz'));
    const plain = openDataset(join(folder, 'imagesTr'));
    expect(plain.items.map((i) => i.image)).toEqual(cases.map((c) => join(folder, 'imagesTr', `${c}_0000.nii.gz`)));
  });
});

describe('DataLoader', () => {
  it('batches crops, preprocesses in a worker and reads the cache on the second epoch', async () => {
    const cacheDirectory = join(folder, 'cache-1');
    const loader = new DataLoader(openDataset(join(folder, 'dataset.json')), loaderOptions({ cacheDirectory }));
    try {
      const first = await collect(loader.epoch(0));
      expect(first.map((b) => b.shape[0])).toEqual([3, 3, 3, 1]);
      expect(first[0].shape).toEqual([3, 1, 12, 12, 12]);
      expect(first[0].image).toHaveLength(3 * 12 ** 3);
      expect(first[0].label).toBeInstanceOf(Int32Array);
      expect(loader.stats).toMatchObject({ tasks: 5, cacheMisses: 5, cacheHits: 0 });
      const entries = readdirSync(cacheDirectory);
      expect(entries.filter((f) => f.endsWith('.image.nii'))).toHaveLength(5);
      expect(entries.filter((f) => f.endsWith('.label.nii'))).toHaveLength(5);
      expect(entries.filter((f) => f.includes('.tmp-'))).toHaveLength(0);
      const second = await collect(loader.epoch(1));
      expect(second).toHaveLength(4);
      expect(loader.stats).toMatchObject({ tasks: 10, cacheMisses: 5, cacheHits: 5 });
      for (const batch of [...first, ...second]) {
        for (const v of batch.image) {
          expect(v).toBeGreaterThanOrEqual(-0.1);
          expect(v).toBeLessThanOrEqual(1.1);
        }
      }
    } finally {
      await loader.close();
    }
    // a different preprocessing setting is a different cache entry
    const other = new DataLoader(
      openDataset(join(folder, 'dataset.json')),
      loaderOptions({ cacheDirectory, preprocess: { spacing: 2 } }),
    );
    try {
      await collect(other.epoch(0));
      expect(other.stats.cacheMisses).toBe(5);
    } finally {
      await other.close();
    }
  });

  it('keeps labels aligned with images through crops, flips and rotations', async () => {
    const loader = new DataLoader(
      openDataset(join(folder, 'dataset.json')),
      loaderOptions({
        cacheDirectory: join(folder, 'cache-2'),
        augment: { flipProbability: 0.5, rotate90Probability: 0.7, intensityShiftProbability: 0 },
        cropsPerVolume: 3,
      }),
    );
    try {
      const windowed = (threshold + 175) / 425;
      let checked = 0;
      for (const batch of await collect(loader.epoch(0))) {
        for (let i = 0; i < batch.image.length; i++) {
          // padding (outside the scan) is 0 in both
          if (batch.label![i] === 1) expect(batch.image[i]).toBeGreaterThan(windowed - 1e-6);
          else expect(batch.image[i]).toBeLessThanOrEqual(windowed + 1e-6);
          checked++;
        }
      }
      expect(checked).toBe(15 * 12 ** 3);
    } finally {
      await loader.close();
    }
  });

  it('is deterministic for a seed, differs across seeds and epochs, and matches inline (workers: 0) loading', async () => {
    const dataset = openDataset(join(folder, 'dataset.json'));
    const run = async (options: LoaderOptions, epoch = 0) => {
      const loader = new DataLoader(dataset, loaderOptions({ cacheDirectory: join(folder, 'cache-3'), ...options }));
      try {
        return await collect(loader.epoch(epoch));
      } finally {
        await loader.close();
      }
    };
    const a = await run({ seed: 7 });
    const b = await run({ seed: 7, workers: 2, prefetch: 0 });
    const inline = await run({ seed: 7, workers: 0 });
    const c = await run({ seed: 8 });
    const nextEpoch = await run({ seed: 7 }, 1);
    const same = (x: Batch[], y: Batch[]) =>
      x.length === y.length &&
      x.every(
        (batch, i) => batch.files.join() === y[i].files.join() && batch.image.every((v, j) => v === y[i].image[j]),
      );
    expect(same(a, b)).toBe(true);
    expect(same(a, inline)).toBe(true);
    expect(same(a, c)).toBe(false);
    expect(same(a, nextEpoch)).toBe(false);
    const order = (batches: Batch[]) => [...new Set(batches.flatMap((x) => x.files))];
    expect(order(a)).toHaveLength(5);
    expect(new Set(order(a))).toEqual(new Set(order(c)));
  });

  it('the infinite sampler runs across epochs with full batches and visits every item once per epoch', async () => {
    const dataset = openDataset(join(folder, 'dataset.json'));
    const loader = new DataLoader(
      dataset,
      loaderOptions({ cacheDirectory: join(folder, 'cache-4'), batchSize: 2, cropsPerVolume: 1, prefetch: 3 }),
    );
    try {
      const batches = await collect(loader.steps(), 11);
      expect(batches).toHaveLength(11);
      expect(batches.every((b) => b.shape[0] === 2)).toBe(true);
      expect(batches.map((b) => b.step)).toEqual(Array.from({ length: 11 }, (_, i) => i));
      const files = batches.flatMap((b) => b.files);
      for (let epoch = 0; epoch < 4; epoch++) expect(new Set(files.slice(epoch * 5, epoch * 5 + 5)).size).toBe(5);
      expect(batches[10].epoch).toBe(4);
      expect(loader.order(0)).not.toEqual(loader.order(1));
      expect([...loader.order(3)].sort()).toEqual([0, 1, 2, 3, 4]);
    } finally {
      await loader.close();
    }
  });
});
