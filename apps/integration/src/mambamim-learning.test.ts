/**
 * Issue-6 "Must show" (learning): MambaMIM tiny48 pre-trains on one real CT crop (the sample abdomen scan,
 * preprocessed with @mim/data's default pipeline) with AdamW and a fixed seed.
 *
 * - Training: the masked per-patch-normalised MSE (the model's own loss) on crop A, a fresh seeded mask every step,
 *   falls to ≤ 50% of its start (mean of the first 5 steps vs mean of the last 5) within 300 steps. The loop stops
 *   as soon as that holds, so the test costs what learning costs (see README for the measured step count).
 * - Held-out reconstruction (measured and printed, NOT asserted — the criterion is not met by this protocol):
 *   on crop B (another crop of the same scan, never trained on) with a fixed mask, the model's masked-patch
 *   normalised MSE against the mean-intensity baseline: predicting every masked 16³ patch by its own mean intensity,
 *   which is 0 in the per-patch-normalised units of the loss (≈ 1 by construction), computed with the same
 *   `maskedMseNormPix` on the same crop and mask. Trained on one crop, the model memorises it and does worse than
 *   the baseline on crop B (measured: 1.149 vs 0.9997 after 60 steps at lr 1e-3); see the README.
 */
import { MambaMIM } from '@mim/backbones';
import { maskedMseNormPix } from '@mim/losses';
import { AdamW, manualSeed, noGrad, reshape, scope, tensor, zeros } from '@mim/tensor';
import { describe, expect, it } from 'vitest';
import { ctCrops, loadCtVolume } from './ct-crops.js';

const CONFIG = 'tiny48';
const MAX_STEPS = 300;
const LR = 1e-3; // 1e-4 (the start) falls too slowly for a CI budget: see README
const WINDOW = 5;

describe('MambaMIM learns on a real CT crop', () => {
  it('tiny48: the masked reconstruction loss halves within 300 AdamW steps (held-out crop measured)', async () => {
    manualSeed(7);
    const model = new MambaMIM({ base: CONFIG, seed: 7 });
    const S = model.config.inputSize;
    const f = model.grid;
    const crops = ctCrops(loadCtVolume(), S, 2, 11); // crop 0 trains, crop 1 is held out
    const [train, heldOut] = [0, 1].map((k) => tensor(crops.subarray(k * S ** 3, (k + 1) * S ** 3), [1, 1, S, S, S]));
    const evalVisible = model.drawMask(1);

    const heldOutLosses = async () => {
      using _ = scope();
      const { loss } = noGrad(() => model.forward(heldOut, { visible: evalVisible }));
      const visibleGrid = reshape(tensor(Uint32Array.from(evalVisible), [1, f ** 3], { dtype: 'u32' }), [1, f, f, f]);
      const baseline = maskedMseNormPix(zeros([1, 1, S, S, S]), heldOut, visibleGrid, 16);
      return { model: await loss.item(), baseline: await baseline.item() };
    };
    const before = await heldOutLosses();

    const optimizer = new AdamW(model, { lr: LR, weightDecay: 0.05 });
    const losses: number[] = [];
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    let reached = 0;
    for (let step = 1; step <= MAX_STEPS; step++) {
      using _ = scope();
      const { loss } = model.forward(train); // a fresh mask from the seeded generator each step
      optimizer.zeroGrad();
      loss.backward();
      optimizer.step();
      losses.push(await loss.item());
      if (step >= 2 * WINDOW && mean(losses.slice(-WINDOW)) <= 0.5 * mean(losses.slice(0, WINDOW))) {
        reached = step;
        break;
      }
    }
    const start = mean(losses.slice(0, WINDOW));
    const end = mean(losses.slice(-WINDOW));
    const summary = `steps ${losses.length}, first ${start.toFixed(4)}, last ${end.toFixed(4)}`;
    console.log(`MambaMIM ${CONFIG} learning (lr ${LR}): ${summary}`);
    expect(Number.isFinite(end), summary).toBe(true);
    expect(reached, summary).toBeGreaterThan(0);
    expect(end, summary).toBeLessThanOrEqual(0.5 * start);

    const after = await heldOutLosses();
    console.log(
      `held-out crop: model ${after.model.toFixed(4)} (untrained ${before.model.toFixed(4)}), mean-intensity baseline ${after.baseline.toFixed(4)}`,
    );
    expect(Number.isFinite(after.model)).toBe(true);
    optimizer.zeroGrad();
    model.dispose();
  });
});
