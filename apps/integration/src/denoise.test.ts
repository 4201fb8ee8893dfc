/**
 * Issue-3 acceptance: a 3-layer conv net (Conv3d → GroupNorm → GELU → …) learns to denoise real CT crops,
 * and a checkpoint saved at step 100 and resumed reproduces the uninterrupted losses of steps 101–110.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AdamW,
  add,
  Conv3d,
  GELU,
  GroupNorm,
  loadCheckpoint,
  Module,
  manualSeed,
  mean,
  randn,
  saveCheckpoint,
  scope,
  square,
  sub,
  type Tensor,
  tensor,
} from '@mim/tensor';
import { describe, expect, it } from 'vitest';
import { ctCrops, loadCtVolume } from './ct-crops.js';

class Denoiser extends Module {
  readonly conv1 = this.registerModule('conv1', new Conv3d(1, 8, 3, { padding: 1 }));
  readonly norm1 = this.registerModule('norm1', new GroupNorm(4, 8));
  readonly conv2 = this.registerModule('conv2', new Conv3d(8, 8, 3, { padding: 1 }));
  readonly norm2 = this.registerModule('norm2', new GroupNorm(4, 8));
  readonly conv3 = this.registerModule('conv3', new Conv3d(8, 1, 3, { padding: 1 }));
  readonly act = new GELU();

  forward(x: Tensor): Tensor {
    const h1 = this.act.forward(this.norm1.forward(this.conv1.forward(x)));
    const h2 = this.act.forward(this.norm2.forward(this.conv2.forward(h1)));
    // Predict the clean volume as input + correction (a residual denoiser).
    return add(x, this.conv3.forward(h2));
  }
}

const SIZE = 20;
const BATCH = 2;
const volume = loadCtVolume();

/** One optimisation step on crops and noise that depend only on the step number. */
function trainStep(model: Denoiser, optimizer: AdamW, step: number): Tensor {
  using s = scope();
  const clean = tensor(ctCrops(volume, SIZE, BATCH, 1000 + step), [BATCH, 1, SIZE, SIZE, SIZE]);
  const noisy = add(clean, randn(clean.shape, { seed: 5000 + step, std: 0.1 }));
  const loss = mean(square(sub(model.forward(noisy), clean)));
  optimizer.zeroGrad();
  loss.backward();
  optimizer.step();
  return s.keep(loss);
}

describe('training a conv net on real CT crops', () => {
  it('halves the denoising loss within 200 steps and resumes exactly from a checkpoint', async () => {
    manualSeed(1);
    const model = new Denoiser();
    const optimizer = new AdamW(model, { lr: 3e-3, weightDecay: 0 });
    const losses: number[] = [];
    const dir = mkdtempSync(join(tmpdir(), 'mim-denoise-'));
    const checkpoint = join(dir, 'step100.safetensors');
    for (let step = 1; step <= 110; step++) {
      const loss = trainStep(model, optimizer, step);
      losses.push(await loss.item());
      loss.dispose();
      if (step === 100) await saveCheckpoint(checkpoint, model, { optimizer, extra: { step } });
    }
    const firstFive = losses.slice(0, 5).reduce((a, b) => a + b) / 5;
    // Keep training to 200 steps only if the target was not reached yet.
    let best = Math.min(...losses.slice(-5));
    for (let step = 111; step <= 200 && best > firstFive / 2; step++) {
      const loss = trainStep(model, optimizer, step);
      best = Math.min(best, await loss.item());
      loss.dispose();
    }
    expect(best, `first losses ${losses.slice(0, 5)}, best ${best}`).toBeLessThanOrEqual(firstFive / 2);

    // Resume in a fresh model and optimizer; steps 101–110 must match the uninterrupted run.
    manualSeed(999); // a different initialisation, fully overwritten by the checkpoint
    const resumed = new Denoiser();
    const resumedOptimizer = new AdamW(resumed, { lr: 1, weightDecay: 0.5 });
    const { extra } = await loadCheckpoint(checkpoint, resumed, { optimizer: resumedOptimizer });
    expect(extra).toEqual({ step: 100 });
    for (let step = 101; step <= 110; step++) {
      const loss = trainStep(resumed, resumedOptimizer, step);
      const value = await loss.item();
      loss.dispose();
      expect(Math.abs(value - losses[step - 1]) / losses[step - 1], `step ${step}`).toBeLessThanOrEqual(1e-6);
    }
  });
});
