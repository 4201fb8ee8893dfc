import { mul, sum, tensor } from '@mim/tensor';
import { expectAllClose, finiteDifferences, randomArray } from '@mim/tensor/test';
import { describe, expect, it } from 'vitest';
import { Mamba, MambaLayer } from './mamba.js';
import { type MambaRefDims, mambaRef } from './reference.js';

const dims: MambaRefDims = { B: 2, L: 6, d: 4, E: 8, N: 3, R: 2, K: 3 };

function randomWeights(model: Mamba): Map<string, { shape: number[]; data: Float32Array }> {
  const entries = new Map<string, { shape: number[]; data: Float32Array }>();
  let seed = 1;
  for (const [name, t] of model.stateDict()) {
    const scale = name.includes('A_log') ? 1 : name.includes('proj') ? 0.5 : 0.4;
    entries.set(name, { shape: [...t.shape], data: randomArray(t.size, seed++, -scale, scale) });
  }
  return entries;
}

describe.each(['none', 'v1', 'v2'] as const)('Mamba (bimamba %s)', (mode) => {
  it('matches the float64 block and its finite differences', async () => {
    const model = new Mamba(dims.d, { dState: dims.N, dConv: dims.K, expand: 2, dtRank: dims.R, bimamba: mode });
    const weights = randomWeights(model);
    model.loadStateDict(weights);
    const w64: Record<string, Float64Array> = {};
    for (const [k, v] of weights) w64[k] = Float64Array.from(v.data);
    const hData = randomArray(dims.B * dims.L * dims.d, 77, -1, 1);
    const h = tensor(hData, [dims.B, dims.L, dims.d]).requireGrad();
    const out = model.forward(h);
    const ref = mambaRef(Float64Array.from(hData), w64, dims, mode);
    expectAllClose(await out.toArray(), ref, 1e-4, 'out');
    const g = randomArray(out.size, 78);
    sum(mul(out, tensor(g, out.shape))).backward();
    const checked = ['A_log', 'dt_proj.bias', 'conv1d.weight', mode === 'none' ? 'D' : 'A_b_log'];
    const params = checked.map((k) => w64[k]);
    const fd = finiteDifferences(
      (xs) => {
        const w = { ...w64 };
        checked.forEach((k, i) => {
          w[k] = xs[i + 1];
        });
        return mambaRef(xs[0], w, dims, mode);
      },
      [Float64Array.from(hData), ...params],
      g,
    );
    expectAllClose(await h.grad!.toArray(), fd[0], 2e-3, 'dh');
    const named = new Map(model.namedParameters());
    for (const [i, k] of checked.entries()) {
      expectAllClose(await named.get(k)!.grad!.toArray(), fd[i + 1], 2e-3, `d${k}`);
    }
  });
});

describe('Mamba parameters and initialisation', () => {
  it('uses mamba_ssm names and shapes, *_b included in every mode', () => {
    const m = new Mamba(384);
    const shapes = Object.fromEntries([...m.stateDict()].map(([k, t]) => [k, t.shape]));
    expect(shapes).toMatchObject({
      A_log: [768, 16],
      D: [768],
      A_b_log: [768, 16],
      D_b: [768],
      'in_proj.weight': [1536, 384],
      'conv1d.weight': [768, 1, 4],
      'conv1d.bias': [768],
      'x_proj.weight': [56, 768],
      'dt_proj.weight': [768, 24],
      'dt_proj.bias': [768],
      'conv1d_b.weight': [768, 1, 4],
      'x_proj_b.weight': [56, 768],
      'dt_proj_b.weight': [768, 24],
      'out_proj.weight': [384, 768],
    });
    const layer = new MambaLayer(384);
    // The official MambaLayer's state-dict order: norm1, mamba.*, mlp.*, norm2.
    const keys = [...layer.stateDict().keys()];
    expect(keys.findIndex((k) => k.startsWith('mamba.'))).toBe(2);
    expect(keys.filter((k) => !k.startsWith('mamba.'))).toEqual([
      'norm1.weight',
      'norm1.bias',
      'mlp.fc1.weight',
      'mlp.fc1.bias',
      'mlp.fc2.weight',
      'mlp.fc2.bias',
      'norm2.weight',
      'norm2.bias',
    ]);
  });

  it("'mambamim' zeroes dt_proj.bias; 'mamba' puts softplus(bias) in [dtMin, dtMax]", async () => {
    const mim = new Mamba(32, { initScheme: 'mambamim' });
    expect(Array.from(await mim.dt_proj.bias!.toArray()).every((v) => v === 0)).toBe(true);
    const ssm = new Mamba(32, { initScheme: 'mamba' });
    const bias = await ssm.dt_proj.bias!.toArray();
    for (const b of bias) {
      const dt = Math.log1p(Math.exp(b));
      expect(dt).toBeGreaterThanOrEqual(1e-3 * 0.999);
      expect(dt).toBeLessThanOrEqual(0.1 * 1.001);
    }
    const aLog = await ssm.A_log.toArray();
    expect(Math.exp(aLog[3])).toBeCloseTo(4, 5); // A = −(1 … N) per channel
  });
});
