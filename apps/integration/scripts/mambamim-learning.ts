/**
 * One configuration of the MambaMIM tiny48 learning check (src/mambamim-learning.test.ts), printing the training
 * curve and the held-out scores, for tuning the protocol. Not a test. Run from apps/integration (the config lowers
 * `using` for Node 20, as vitest does):
 *
 *   npx vite-node --config scripts/vite.config.ts scripts/mambamim-learning.ts -- --view geometry+intensity --lr 5e-3
 *
 * --lr, --weight-decay: AdamW; --steps: at most this many steps; --stop-at-half: stop when the mean of the last 5
 * losses is ≤ half the first 5 (the test's rule); --view none | geometry | intensity | geometry+intensity: the
 * random view of the one training crop each step (--scale A, --shift B: x·U(1 ± A) + U(±B)); --train,
 * --held-out: `draw:SEED:INDEX` (crop INDEX of ctCrops(…, SEED)) or `box:X,Y,Z` (the 48³ box starting there,
 * NIfTI order), several held-out crops joined by `+`; --eval-every N; --masks K fixed held-out masks
 * (--mask-seed); --seed: manualSeed, the config seed and the views. Results: scripts/mambamim-learning-log.md.
 */
import { parseArgs } from 'node:util';
import { MambaMIM } from '@mim/backbones';
import { type Box, createRng, cropToBox, toTensorLayout, type Volume } from '@mim/data';
import { maskedMseNormPix } from '@mim/losses';
import { AdamW, init, manualSeed, noGrad, reshape, scope, type Tensor, tensor, zeros } from '@mim/tensor';
import { ctCropBoxes, loadCtVolume, randomView } from '../src/ct-crops.js';
import { fixedMasks, meanIntensityPrediction } from '../src/held-out.js';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: {
    lr: { type: 'string', default: '1e-3' },
    'weight-decay': { type: 'string', default: '0.05' },
    steps: { type: 'string', default: '120' },
    'stop-at-half': { type: 'boolean', default: false },
    view: { type: 'string', default: 'none' },
    train: { type: 'string', default: 'draw:11:0' },
    'held-out': { type: 'string', default: 'draw:11:1' },
    'eval-every': { type: 'string', default: '20' },
    masks: { type: 'string', default: '4' },
    'mask-seed': { type: 'string', default: '100' },
    seed: { type: 'string', default: '7' },
    scale: { type: 'string', default: '0.1' },
    shift: { type: 'string', default: '0.1' },
  },
});
const S = 48;
const P = 16;
const WINDOW = 5;

function box(volume: Volume, spec: string): Box {
  const [kind, a, b] = spec.split(':');
  if (kind === 'draw') return ctCropBoxes(volume, S, Number(b) + 1, Number(a))[Number(b)];
  const start = a.split(',').map(Number) as [number, number, number];
  return { start, end: start.map((v) => v + S) as [number, number, number] };
}

await init();
const volume = loadCtVolume();
const trainBox = box(volume, values.train);
const heldOutBoxes = values['held-out'].split('+').map((spec) => box(volume, spec));
const trainCrop = cropToBox(volume, trainBox);
const trainData = Float32Array.from(toTensorLayout(trainCrop));
const heldOutData = heldOutBoxes.map((b) => Float32Array.from(toTensorLayout(cropToBox(volume, b))));
console.log(JSON.stringify({ ...values, trainBox: trainBox.start, heldOutBoxes: heldOutBoxes.map((b) => b.start) }));

const seed = Number(values.seed);
manualSeed(seed);
const model = new MambaMIM({ base: 'tiny48', seed });
const f = model.grid;
const masks = fixedMasks(
  f,
  Math.round(f ** 3 * (1 - model.config.maskRatio)),
  Number(values.masks),
  Number(values['mask-seed']),
);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const grid = (visible: Uint8Array) =>
  reshape(tensor(Uint32Array.from(visible), [1, f ** 3], { dtype: 'u32' }), [1, f, f, f]);

async function baselines(data: Float32Array) {
  const literal: number[] = [];
  const oracle: number[] = [];
  for (const visible of masks) {
    using _ = scope();
    const target = tensor(data, [1, 1, S, S, S]);
    const constant = tensor(meanIntensityPrediction(data, S, P, visible), [1, 1, S, S, S]);
    literal.push(await maskedMseNormPix(constant, target, grid(visible), P).item());
    oracle.push(await maskedMseNormPix(zeros([1, 1, S, S, S]), target, grid(visible), P).item());
  }
  return { literal, oracle };
}

async function score(data: Float32Array): Promise<number[]> {
  const out: number[] = [];
  for (const visible of masks) {
    using _ = scope();
    const { loss } = noGrad(() => model.forward(tensor(data, [1, 1, S, S, S]), { visible }));
    out.push(await loss.item());
  }
  return out;
}

const fmt = (xs: number[]) => `${mean(xs).toFixed(4)} [${xs.map((x) => x.toFixed(3)).join(' ')}]`;
for (const [k, data] of heldOutData.entries()) {
  const b = await baselines(data);
  console.log(`held-out ${k} literal baseline ${fmt(b.literal)}, oracle ${fmt(b.oracle)}`);
}
const trainBaselines = await baselines(trainData);
console.log(`train-crop literal baseline ${fmt(trainBaselines.literal)}, oracle ${fmt(trainBaselines.oracle)}`);

const t0 = performance.now();
const evaluate = async (step: number) => {
  const parts: string[] = [];
  for (const [k, data] of heldOutData.entries()) parts.push(`held-out ${k} model ${fmt(await score(data))}`);
  parts.push(`train-crop model ${fmt(await score(trainData))}`);
  console.log(`EVAL step ${step}: ${parts.join(' | ')} | ${((performance.now() - t0) / 1000).toFixed(0)} s`);
};
await evaluate(0);

const view = values.view;
const intensity = view.includes('intensity');
const viewOptions =
  view === 'none'
    ? null
    : {
        geometry: view.includes('geometry'),
        scale: intensity ? Number(values.scale) : 0,
        shift: intensity ? Number(values.shift) : 0,
      };
const rng = createRng(seed * 31 + 1);
const optimizer = new AdamW(model, { lr: Number(values.lr), weightDecay: Number(values['weight-decay']) });
const losses: number[] = [];
const evalEvery = Number(values['eval-every']);
let halved = 0;
for (let step = 1; step <= Number(values.steps); step++) {
  using _ = scope();
  const input: Tensor = tensor(viewOptions ? randomView(trainCrop, rng, viewOptions) : trainData, [1, 1, S, S, S]);
  const { loss } = model.forward(input);
  optimizer.zeroGrad();
  loss.backward();
  optimizer.step();
  losses.push(await loss.item());
  const last = mean(losses.slice(-WINDOW));
  const first = mean(losses.slice(0, WINDOW));
  console.log(`step ${step} loss ${losses.at(-1)?.toFixed(4)} last5 ${last.toFixed(4)} first5 ${first.toFixed(4)}`);
  const reached = !halved && step >= 2 * WINDOW && last <= 0.5 * first;
  if (reached) {
    halved = step;
    console.log(`HALVED at step ${step}: first5 ${first.toFixed(4)} last5 ${last.toFixed(4)}`);
  }
  if (reached || step % evalEvery === 0) await evaluate(step);
  if (reached && values['stop-at-half']) break;
}
console.log(
  `done: ${losses.length} steps, halved at ${halved || 'never'}, ${((performance.now() - t0) / 1000).toFixed(0)} s`,
);
model.dispose();
