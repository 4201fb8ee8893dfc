import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mul, noGrad, randn, sub, tensor } from '@mim/tensor';
import { fixturesDir, randomArray } from '@mim/tensor/test';
import { describe, expect, it } from 'vitest';
import { OFFICIAL_FLAGS } from './config.js';
import { MambaMIM } from './mambamim.js';
import { configFromFixture, fixtureStateDict, readModelFixture, runMambaMimFixture } from './model-fixture.js';
import { SparseMasks } from './sparse.js';

const fixtureFile = join(fixturesDir(), 'models', 'mambamim_model__tiny32.safetensors');
const fixtureBytes = () => new Uint8Array(readFileSync(fixtureFile));

describe('MambaMIM against the official pre-training step (fixtures/models)', () => {
  it('official flags: loss within 1e-4 and every gradient within 1e-3 of its max', async () => {
    const report = await runMambaMimFixture(fixtureBytes(), { file: fixtureFile });
    const failed = report.tensors.filter((t) => !t.passed).map((t) => `${t.name} ${t.kind} ${t.error}`);
    expect(failed, failed.join('\n')).toEqual([]);
    expect(Math.abs(report.loss - report.expectedLoss) / report.expectedLoss).toBeLessThanOrEqual(1e-4);
    const kinds = report.tensors.map((t) => t.kind);
    expect(kinds.filter((k) => k === 'grad_none').length).toBe(35);
    expect(kinds.filter((k) => k === 'grad_structural_zero').length).toBe(14);
    expect(kinds.filter((k) => k === 'grad').length).toBe(214 - 35 - 14); // 214 parameter tensors (262 state-dict entries less 48 BatchNorm buffers)
  });

  it('intended flags on the same weights give a finite loss that differs from the official one', async () => {
    const report = await runMambaMimFixture(fixtureBytes(), {
      file: fixtureFile,
      flags: { bimamba: 'none', tokiLayout: 'intended', mambaSeq: 'visibleOnly' },
    });
    expect(Number.isFinite(report.loss)).toBe(true);
    // Only the TOKI layout differs here (B = 1 makes both sequence modes equal): a different loss.
    expect(report.loss).not.toBe(report.expectedLoss);
  });
});

describe('MambaMIM invariance and API', () => {
  it('visible encoder features do not change when masked input voxels are replaced by noise (METHODS §7.4)', async () => {
    const fixture = readModelFixture(fixtureBytes(), fixtureFile);
    const model = new MambaMIM(configFromFixture(fixture.params, OFFICIAL_FLAGS));
    model.loadStateDict(fixtureStateDict(fixture));
    const S = 32;
    const visible = Uint8Array.from([0, 1, 0, 0, 1, 0, 0, 1]);
    const masks = new SparseMasks(visible, 1, 2);
    const clean = tensor(randomArray(S ** 3, 1, 0, 1), [1, 1, S, S, S]);
    const noise = randn([1, 1, S, S, S], { seed: 5, std: 10 });
    // Replace only the masked voxels: x + noise·(1 − mask).
    const noisy = noGrad(() => sub(clean, mul(noise, sub(masks.at(S), 1))));
    const run = async (x: typeof clean) =>
      noGrad(() => model.sparse_encoder.forward(mul(x, masks.at(S)), masks, { withFullResolution: true })).features;
    const a = await run(clean);
    const b = await run(noisy);
    for (let level = 0; level < a.length; level++) {
      const [fa, fb] = [await a[level]!.toArray(), await b[level]!.toArray()];
      const size = a[level]!.shape[2];
      const m = await masks.at(size).toArray();
      const C = a[level]!.shape[1];
      let compared = 0;
      for (let c = 0; c < C; c++)
        for (let v = 0; v < m.length; v++) {
          if (!m[v]) continue;
          expect(fa[c * m.length + v]).toBe(fb[c * m.length + v]);
          compared++;
        }
      expect(compared).toBeGreaterThan(0);
    }
    // The inputs really differ on masked voxels.
    const [xa, xb] = [await clean.toArray(), await noisy.toArray()];
    expect(xa.some((v, i) => v !== xb[i])).toBe(true);
    masks.dispose();
    model.dispose();
  });

  it('draws a seeded mask with the configured ratio when none is given, and the loss is finite', async () => {
    const model = new MambaMIM({ base: 'tiny32', seed: 3 });
    const volume = tensor(randomArray(32 ** 3, 2, 0, 1), [1, 1, 32, 32, 32]);
    const first = model.forward(volume);
    expect(first.visible.reduce((a, v) => a + v, 0)).toBe(2); // round(8 · 0.25)
    expect(first.reconstruction.shape).toEqual([1, 1, 32, 32, 32]);
    expect(Number.isFinite((await first.loss.toArray())[0])).toBe(true);
    const again = new MambaMIM({ base: 'tiny32', seed: 3 });
    expect(again.forward(volume).visible).toEqual(first.visible);
    model.dispose();
    again.dispose();
  });
});
