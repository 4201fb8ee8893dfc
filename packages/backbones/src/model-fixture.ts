/**
 * Whole-model fixtures (fixtures/models/README.md, op `mambamim_model`): reads the official weights, input and
 * mask, builds the model with the compatibility flags of the file, runs one pre-training step and compares the
 * loss and every stored parameter gradient with the file's tolerances:
 * - loss: relative error ≤ 1e-4 (the bound; the README suggests 1e-5);
 * - `grad.<key>`: max|Δ| ≤ 1e-3·max|ref| (‖Δ‖ ≤ 1e-4·‖ref‖ is reported);
 * - `grad_none` keys: our gradient must be absent or exactly zero;
 * - `grad_structural_zero` keys: absolute bound max(1e-6 · max|grad of that block's conv weight|, max|official
 *   stored value|) — never looser than the official float32 noise itself.
 */
import { entryToTypedArray, parseSafetensors, type StateEntry, tensor } from '@mim/tensor';
import { type MambaMimConfig, OFFICIAL_FLAGS, resolveMambaMimConfig } from './config.js';
import { MambaMIM } from './mambamim.js';

export interface ModelFixtureTensor {
  name: string;
  shape: number[];
  kind: 'loss' | 'grad' | 'grad_none' | 'grad_structural_zero';
  /** loss: relative error; grad: max|Δ|/max|ref|; grad_none / structural: max|got|. */
  error: number;
  /** ‖Δ‖/‖ref‖ for gradients. */
  normError?: number;
  tolerance: number;
  passed: boolean;
}

export interface ModelFixtureReport {
  file: string;
  config: string;
  status: 'pass' | 'fail';
  loss: number;
  expectedLoss: number;
  tensors: ModelFixtureTensor[];
}

/** The `params` metadata of a `mambamim_model` fixture (the fields used here). */
export interface MambaMimFixtureParams {
  config?: string;
  seed?: number;
  input_size?: number;
  in_channels?: number;
  encoder: {
    channels: number[];
    depths: number[];
    exp_r: number[];
    kernels?: number[];
    img_size?: number;
    depth: number;
    in_channel?: number;
  };
  mamba?: { d_state?: number; d_conv?: number; expand?: number };
  decoder: { width: number };
  mask_ratio?: number;
}

interface Parsed {
  metadata: Record<string, string>;
  params: MambaMimFixtureParams;
  tensors: Map<string, { shape: number[]; data: Float32Array | Int32Array | Uint8Array }>;
}

export function readModelFixture(bytes: Uint8Array, file = 'fixture'): Parsed {
  const parsed = parseSafetensors(bytes, file);
  const tensors = new Map<string, { shape: number[]; data: Float32Array | Int32Array | Uint8Array }>();
  for (const [name, entry] of parsed.tensors) {
    tensors.set(name, { shape: entry.shape, data: entryToTypedArray(entry) as Float32Array | Int32Array | Uint8Array });
  }
  if (parsed.metadata.op !== 'mambamim_model') {
    throw new Error(`${file}: op "${parsed.metadata.op}" is not mambamim_model`);
  }
  return { metadata: parsed.metadata, params: JSON.parse(parsed.metadata.params ?? '{}'), tensors };
}

/** The model configuration a fixture's `params` describe, with the official compatibility flags. */
export function configFromFixture(
  params: MambaMimFixtureParams,
  flags: Partial<MambaMimConfig> = OFFICIAL_FLAGS,
): MambaMimConfig {
  const encoder = params.encoder;
  const tail = (list: number[]) => list.slice(1) as [number, number, number, number];
  return resolveMambaMimConfig({
    base: 'tiny32',
    name: String(params.config ?? 'fixture'),
    inputSize: params.input_size ?? encoder.img_size,
    inChannels: params.in_channels ?? encoder.in_channel ?? 1,
    channels: encoder.channels as MambaMimConfig['channels'],
    depths: tail(encoder.depths),
    expansions: tail(encoder.exp_r),
    kernelSize: encoder.kernels?.[1] ?? 3,
    mambaDepth: encoder.depth,
    dState: params.mamba?.d_state ?? 16,
    dConv: params.mamba?.d_conv ?? 4,
    expand: params.mamba?.expand ?? 2,
    decoderWidth: params.decoder?.width,
    maskRatio: params.mask_ratio ?? 0.75,
    seed: params.seed ?? 0,
    ...flags,
  });
}

/** The fixture's `weight.<key>` tensors as a state dict (num_batches_tracked (1) I32 → rank 0, as in PyTorch). */
export function fixtureStateDict(fixture: Parsed): Map<string, StateEntry> {
  const out = new Map<string, StateEntry>();
  for (const [name, t] of fixture.tensors) {
    if (!name.startsWith('weight.')) continue;
    const key = name.slice('weight.'.length);
    const shape = key.endsWith('num_batches_tracked') ? [] : t.shape;
    out.set(key, { shape, data: t.data as Float32Array | Int32Array });
  }
  return out;
}

function maxAbs(values: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) m = Math.max(m, Math.abs(values[i]));
  return m;
}

/**
 * Runs one official pre-training step of a `mambamim_model` fixture and compares. `flags` defaults to the
 * official compatibility flags (README); pass other flags to see how far the intended model is.
 */
export async function runMambaMimFixture(
  bytes: Uint8Array,
  options: { file?: string; flags?: Partial<MambaMimConfig>; lossTolerance?: number; gradTolerance?: number } = {},
): Promise<ModelFixtureReport> {
  const file = options.file ?? 'fixture';
  const fixture = readModelFixture(bytes, file);
  const config = configFromFixture(fixture.params, options.flags ?? OFFICIAL_FLAGS);
  const model = new MambaMIM(config);
  model.train();
  model.loadStateDict(fixtureStateDict(fixture), { strict: true });
  const x = fixture.tensors.get('x')!;
  const volume = tensor(x.data as Float32Array, x.shape);
  const visible = fixture.tensors.get('active')!.data as Uint8Array;
  const tensors: ModelFixtureTensor[] = [];
  try {
    const { loss, reconstruction } = model.forward(volume, { visible });
    const got = (await loss.toArray())[0];
    const expected = (fixture.tensors.get('loss')!.data as Float32Array)[0];
    const lossTolerance = options.lossTolerance ?? 1e-4;
    const lossError = Math.abs(got - expected) / Math.abs(expected);
    tensors.push({
      name: 'loss',
      shape: [],
      kind: 'loss',
      error: lossError,
      tolerance: lossTolerance,
      passed: lossError <= lossTolerance,
    });
    loss.backward();
    reconstruction.dispose();
    loss.dispose();
    const gradNone = new Set<string>(JSON.parse(fixture.metadata.grad_none ?? '[]'));
    const structural = new Set<string>(JSON.parse(fixture.metadata.grad_structural_zero ?? '[]'));
    const params = new Map(model.namedParameters());
    const gradOf = async (key: string): Promise<Float32Array | null> => {
      const p = params.get(key);
      if (!p?.grad) return null;
      return (await p.grad.toArray()) as Float32Array;
    };
    const gradTolerance = options.gradTolerance ?? 1e-3;
    for (const [name, ref] of fixture.tensors) {
      if (!name.startsWith('grad.')) continue;
      const key = name.slice('grad.'.length);
      const mine = await gradOf(key);
      if (gradNone.has(key)) {
        const error = mine ? maxAbs(mine) : 0;
        tensors.push({ name, shape: ref.shape, kind: 'grad_none', error, tolerance: 0, passed: error === 0 });
        continue;
      }
      if (structural.has(key)) {
        const weightKey = key.replace(/bias$/, 'weight');
        const weightGrad = fixture.tensors.get(`grad.${weightKey}`)!.data;
        // The exact gradient is 0; both float32 results are cancellation noise. Bound: the README's
        // 1e-6 · max|conv weight grad|, or the official file's own distance from 0 where that is larger (the
        // official dec.3.conv.0.bias stores 1.28e-8 against a 4.98e-9 weight-relative bound).
        const tolerance = Math.max(1e-6 * maxAbs(weightGrad), maxAbs(ref.data as Float32Array));
        const error = mine ? maxAbs(mine) : 0;
        tensors.push({
          name,
          shape: ref.shape,
          kind: 'grad_structural_zero',
          error,
          tolerance,
          passed: error <= tolerance,
        });
        continue;
      }
      const data = ref.data as Float32Array;
      if (!mine) {
        tensors.push({
          name,
          shape: ref.shape,
          kind: 'grad',
          error: Number.POSITIVE_INFINITY,
          tolerance: gradTolerance,
          passed: false,
        });
        continue;
      }
      let maxDiff = 0;
      let diff2 = 0;
      let ref2 = 0;
      for (let i = 0; i < data.length; i++) {
        const d = Math.abs(mine[i] - data[i]);
        maxDiff = Number.isNaN(d) ? Number.POSITIVE_INFINITY : Math.max(maxDiff, d);
        diff2 += d * d;
        ref2 += data[i] * data[i];
      }
      const scale = maxAbs(data);
      const error = scale === 0 ? maxDiff : maxDiff / scale;
      const normError = ref2 === 0 ? Math.sqrt(diff2) : Math.sqrt(diff2 / ref2);
      tensors.push({
        name,
        shape: ref.shape,
        kind: 'grad',
        error,
        normError,
        tolerance: gradTolerance,
        passed: error <= gradTolerance,
      });
    }
    return {
      file,
      config: config.name,
      status: tensors.every((t) => t.passed) ? 'pass' : 'fail',
      loss: got,
      expectedLoss: expected,
      tensors,
    };
  } finally {
    volume.dispose();
    model.dispose();
  }
}
