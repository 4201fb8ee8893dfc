/**
 * Issue-6 "Must show" (learning): MambaMIM tiny48 pre-trains on one real CT crop (the sample abdomen scan,
 * preprocessed with @mim/data's default pipeline) with AdamW and fixed seeds, and reconstructs a held-out crop
 * better than the mean-intensity baseline. Measured numbers: packages/backbones/README.md, "Learning on a real CT
 * crop"; the experiments behind this protocol: apps/integration/scripts/mambamim-learning-log.md.
 *
 * Crops: A = crop 0 of `ctCrops(volume, 48, 2, 11)` trains; B = crop 1 (another region of the scan, never trained
 * on) is held out. Held-out score = `maskedMseNormPix` (the model's own loss, patch 16) on B, averaged over 4 fixed
 * masks (`fixedMasks(3, 7, 4, 100)`: 7 of 27 tokens visible, drawn independently of the model's mask generator),
 * for three predictions of the masked patches:
 * - the model's reconstruction;
 * - the mean-intensity baseline (the issue's): every masked voxel predicted by one intensity, the mean of B's
 *   visible voxels (it never reads a masked voxel), scored in the same per-patch-normalised units, so it pays for
 *   each masked patch's mean being different from it (`meanIntensityPrediction`);
 * - the per-patch-mean oracle: each masked patch predicted by its own mean (0 in these units, ≈ 1 by
 *   construction); it knows every masked patch's mean, so only within-patch structure can beat it.
 *
 * 1. Plain run: A itself, AdamW lr 1e-3 (the 1e-4 is too slow for CI, see README), weight decay 0.05, a
 *    fresh seeded 75 % mask every step. Asserted: the mean of the last 5 losses ≤ 50 % of the mean of the first 5
 *    within 300 steps (the loop stops there), and at that step the held-out score beats the mean-intensity
 *    baseline (by ≥ 10 %). Printed, not asserted: it is worse than the oracle — the model has memorised A.
 *    Measured: halved at step 65 (0.9987 → 0.4954); held-out model 1.1842, baseline 1.5496, oracle 0.9997.
 * 2. Views run: a fresh model with the same initial weights, 60 steps on random views of the same single crop A
 *    (one of the 48 axis permutations × flips of the cube, intensity × U(0.9, 1.1) + U(−0.1, 0.1); the target is
 *    normalised per patch, so the intensity change only alters the input), AdamW lr 5e-3. Asserted: the held-out
 *    score beats the oracle by more than 0.005 (measured 0.9832 against 0.9997; the same run with seeds 8 and 9
 *    gives 0.985 and 0.993, so the margin depends on the trajectory) and the mean-intensity baseline (by ≥ 10 %).
 *    This run's loss does not halve (it falls only to ≈ 0.98: under 48 orientations it cannot memorise A), which
 *    is why the halving is asserted on run 1.
 */
import { MambaMIM } from '@mim/backbones';
import { createRng, cropToBox, toTensorLayout } from '@mim/data';
import { maskedMseNormPix } from '@mim/losses';
import { AdamW, manualSeed, noGrad, reshape, scope, tensor, zeros } from '@mim/tensor';
import { describe, expect, it } from 'vitest';
import { ctCropBoxes, loadCtVolume, randomView } from './ct-crops.js';
import { fixedMasks, meanIntensityPrediction } from './held-out.js';

const CONFIG = 'tiny48';
const S = 48; // tiny48's input size
const PATCH = 16;
const SEED = 7;
const WINDOW = 5;
const MAX_STEPS = 300;
const LR = 1e-3; // 1e-4 (the start) falls too slowly for a CI budget: see README
const WEIGHT_DECAY = 0.05;
const VIEW_STEPS = 60;
const VIEW_LR = 5e-3;
const VIEW = { geometry: true, scale: 0.1, shift: 0.1 };

const volume = loadCtVolume();
const [trainBox, heldOutBox] = ctCropBoxes(volume, S, 2, 11);
const trainCrop = cropToBox(volume, trainBox);
const trainData = Float32Array.from(toTensorLayout(trainCrop));
const heldOutData = Float32Array.from(toTensorLayout(cropToBox(volume, heldOutBox)));
const masks = fixedMasks(S / PATCH, 7, 4, 100);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const volumeTensor = (data: Float32Array) => tensor(data, [1, 1, S, S, S]);

function freshModel(): MambaMIM {
  manualSeed(SEED);
  const model = new MambaMIM({ base: CONFIG, seed: SEED });
  expect(model.config.inputSize).toBe(S);
  return model;
}

/** The two constant predictions on the held-out crop, each averaged over the fixed masks. */
async function heldOutBaselines(): Promise<{ baseline: number; oracle: number }> {
  const baseline: number[] = [];
  const oracle: number[] = [];
  for (const visible of masks) {
    using _ = scope();
    const f = S / PATCH;
    const visibleGrid = reshape(tensor(Uint32Array.from(visible), [1, f ** 3], { dtype: 'u32' }), [1, f, f, f]);
    const constant = volumeTensor(meanIntensityPrediction(heldOutData, S, PATCH, visible));
    baseline.push(await maskedMseNormPix(constant, volumeTensor(heldOutData), visibleGrid, PATCH).item());
    oracle.push(await maskedMseNormPix(zeros([1, 1, S, S, S]), volumeTensor(heldOutData), visibleGrid, PATCH).item());
  }
  return { baseline: mean(baseline), oracle: mean(oracle) };
}

/** The model's masked-patch loss on the held-out crop, averaged over the fixed masks. */
async function heldOutModel(model: MambaMIM): Promise<number> {
  const losses: number[] = [];
  for (const visible of masks) {
    using _ = scope();
    const { loss } = noGrad(() => model.forward(volumeTensor(heldOutData), { visible }));
    losses.push(await loss.item());
  }
  return mean(losses);
}

describe('MambaMIM learns on a real CT crop', () => {
  it('tiny48: the loss halves within 300 AdamW steps; the held-out crop beats the mean-intensity baseline', async () => {
    const model = freshModel();
    const optimizer = new AdamW(model, { lr: LR, weightDecay: WEIGHT_DECAY });
    const losses: number[] = [];
    let reached = 0;
    for (let step = 1; step <= MAX_STEPS; step++) {
      using _ = scope();
      const { loss } = model.forward(volumeTensor(trainData)); // a fresh mask from the seeded generator each step
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

    const { baseline, oracle } = await heldOutBaselines();
    const score = await heldOutModel(model);
    const heldOut = `model ${score.toFixed(4)}, mean-intensity baseline ${baseline.toFixed(4)}, per-patch-mean oracle ${oracle.toFixed(4)}`;
    console.log(`held-out crop after the plain run (step ${reached}): ${heldOut}`);
    expect(score, heldOut).toBeLessThan(0.9 * baseline);
    optimizer.zeroGrad();
    model.dispose();
  });

  it('tiny48 on random views of the same crop: the held-out crop beats the per-patch-mean oracle', async () => {
    const model = freshModel();
    const optimizer = new AdamW(model, { lr: VIEW_LR, weightDecay: WEIGHT_DECAY });
    const rng = createRng(SEED * 31 + 1);
    const losses: number[] = [];
    for (let step = 1; step <= VIEW_STEPS; step++) {
      using _ = scope();
      const { loss } = model.forward(volumeTensor(randomView(trainCrop, rng, VIEW)));
      optimizer.zeroGrad();
      loss.backward();
      optimizer.step();
      losses.push(await loss.item());
    }
    const training = `first ${mean(losses.slice(0, WINDOW)).toFixed(4)}, last ${mean(losses.slice(-WINDOW)).toFixed(4)}`;
    const { baseline, oracle } = await heldOutBaselines();
    const score = await heldOutModel(model);
    const heldOut = `model ${score.toFixed(4)}, mean-intensity baseline ${baseline.toFixed(4)}, per-patch-mean oracle ${oracle.toFixed(4)}`;
    console.log(`views run (lr ${VIEW_LR}, ${VIEW_STEPS} steps; loss ${training}); held-out crop: ${heldOut}`);
    expect(Number.isFinite(score), heldOut).toBe(true);
    expect(score, heldOut).toBeLessThan(oracle - 0.005); // measured 0.0165 below; seeds 8 and 9: 0.015, 0.007
    expect(score, heldOut).toBeLessThan(0.9 * baseline);
    optimizer.zeroGrad();
    model.dispose();
  });
});
