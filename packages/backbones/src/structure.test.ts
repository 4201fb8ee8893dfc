import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { entryToTypedArray, parseSafetensors } from '@mim/tensor';
import { fixturesDir } from '@mim/tensor/test';
import { describe, expect, it } from 'vitest';
import { MAMBAMIM_CONFIGS, resolveMambaMimConfig } from './config.js';
import { sinCosPositionEmbedding3d } from './hymamba/position.js';
import { MambaMIM } from './mambamim.js';

const fixtureFile = join(fixturesDir(), 'models', 'mambamim_model__tiny32.safetensors');

describe('MambaMIM structure (official state dict)', () => {
  it('tiny32 has exactly the fixture weight keys, shapes and dtypes, in the official order', () => {
    const { tensors } = parseSafetensors(new Uint8Array(readFileSync(fixtureFile)), fixtureFile);
    const official = new Map<string, { shape: number[]; dtype: string }>();
    for (const [name, entry] of tensors) {
      if (!name.startsWith('weight.')) continue;
      const key = name.slice('weight.'.length);
      // num_batches_tracked: 0-d int64 in PyTorch, stored as I32 (1) in the fixture (models README).
      const isCounter = key.endsWith('num_batches_tracked');
      official.set(key, { shape: isCounter ? [] : entry.shape, dtype: isCounter ? 'i32' : 'f32' });
    }
    const model = new MambaMIM('tiny32');
    const mine = model.stateDict();
    expect([...mine.keys()].sort()).toEqual([...official.keys()].sort());
    for (const [key, t] of mine) {
      expect({ key, shape: t.shape, dtype: t.dtype }).toEqual({ key, ...official.get(key)! });
    }
    // Registration order = PyTorch's state_dict order (own parameters first, then children).
    const officialOrder = [...official.keys()].filter((k) => !k.endsWith('num_batches_tracked'));
    const mineOrder = [...mine.keys()].filter((k) => !k.endsWith('num_batches_tracked'));
    expect(mineOrder).toEqual(officialOrder);
    expect(mine.size).toBe(262);
    model.dispose();
  });

  it.each([
    ['tiny32', 1_047_129],
    ['tiny48', 2_671_949],
  ] as const)('%s has the official parameter count %d', (name, count) => {
    const model = new MambaMIM(name);
    expect(model.numParameters()).toBe(count);
    model.dispose();
  });

  it('paper has the official parameter count 114,158,657 (counted from the module tree)', () => {
    const model = new MambaMIM('paper');
    expect(model.numParameters()).toBe(114_158_657);
    // What the official model carries but never trains (README): fuse.0 and the *_b tensors.
    let fuse0 = 0;
    let backward = 0;
    for (const [key, p] of model.namedParameters()) {
      if (key.startsWith('dense_decoder.fuse.0.')) fuse0 += p.size;
      if (/mamba\.(A_b_log|D_b|conv1d_b|x_proj_b|dt_proj_b)/.test(key)) backward += p.size;
    }
    expect(fuse0).toBeGreaterThan(47_700_000);
    expect(backward).toBeGreaterThan(300_000);
    model.dispose();
  });

  it('the position embedding equals the stored official table', () => {
    const { tensors } = parseSafetensors(new Uint8Array(readFileSync(fixtureFile)), fixtureFile);
    const entry = tensors.get('weight.sparse_encoder.mae.pos_embed')!;
    const stored = entryToTypedArray(entry) as Float32Array;
    const mine = sinCosPositionEmbedding3d(2, 48);
    expect(mine.length).toBe(stored.length);
    for (let i = 0; i < mine.length; i++) expect(Math.abs(mine[i] - stored[i])).toBeLessThan(1e-6);
  });

  it('configs resolve from names, partial objects and JSON, and reject bad keys', () => {
    expect(resolveMambaMimConfig('tiny48')).toEqual(MAMBAMIM_CONFIGS.tiny48);
    const json = JSON.stringify({ base: 'tiny48', maskRatio: 0.6, bimamba: 'v1' });
    const c = resolveMambaMimConfig(json);
    expect(c.maskRatio).toBe(0.6);
    expect(c.bimamba).toBe('v1');
    expect(c.channels).toEqual([8, 16, 32, 48, 96]);
    expect(() => resolveMambaMimConfig({ base: 'tiny32', bimamba: 'v3' as never })).toThrow(/bimamba must be one of/);
    expect(() => resolveMambaMimConfig('{"base":"tiny32","widht":3}')).toThrow(/unknown key "widht"/);
  });
});
