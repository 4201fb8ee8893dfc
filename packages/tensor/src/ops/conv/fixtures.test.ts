import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FixtureInputs } from '../../fixture/adapter.js';
import type { Tensor } from '../../tensor.js';
import { fixturesDir, loadFixture, maxRelError, TOLERANCE } from '../../test/index.js';
import { tensor } from '../creation.js';
import { convFixtureAdapters } from './fixtures.js';

// Every fixture file of the conv ops found in fixtures/ (new files are picked up automatically).
const files = readdirSync(fixturesDir())
  .filter((f) => /^(conv3d|conv_transpose3d)__.*\.safetensors$/.test(f))
  .sort();

describe('conv fixtures (PyTorch float64 golden values)', () => {
  it('finds the conv3d and conv_transpose3d fixture files', () => {
    expect(files.some((f) => f.startsWith('conv3d__'))).toBe(true);
    expect(files.some((f) => f.startsWith('conv_transpose3d__'))).toBe(true);
  });

  it.each(files)('%s', async (file) => {
    const fixture = loadFixture(join(fixturesDir(), file));
    const adapter = convFixtureAdapters.find((a) => a.op === fixture.op);
    expect(adapter, `no adapter for op ${fixture.op}`).toBeDefined();
    const uploaded = new Map<string, Tensor>();
    const inputs: FixtureInputs = {
      params: fixture.params,
      metadata: fixture.metadata,
      has: (name) => fixture.tensors.has(name),
      shapeOf: (name) => fixture.tensors.get(name)?.shape,
      tensor: (name) => {
        let t = uploaded.get(name);
        if (!t) {
          const entry = fixture.tensors.get(name);
          if (!entry) throw new Error(`${file}: no tensor ${name}`);
          t = tensor(entry.data as Float32Array, entry.shape);
          if (fixture.tensors.has(`grad_${name}`)) t.requireGrad();
          uploaded.set(name, t);
        }
        return t;
      },
    };
    const { out } = adapter!.forward(inputs);
    const expected = fixture.tensors.get('out')!;
    expect(out.shape).toEqual(expected.shape);
    const forward = maxRelError(await out.toArray(), expected.data);
    expect(forward.rel, `out (worst index ${forward.worst})`).toBeLessThanOrEqual(TOLERANCE.fixtureForward);
    const dout = fixture.tensors.get('dout')!;
    out.backward(tensor(dout.data as Float32Array, dout.shape));
    for (const [name, t] of uploaded) {
      const grad = fixture.tensors.get(`grad_${name}`);
      if (!grad) continue;
      const err = maxRelError(await t.grad!.toArray(), grad.data);
      expect(err.rel, `grad_${name} (worst index ${err.worst})`).toBeLessThanOrEqual(TOLERANCE.fixtureGrad);
    }
    for (const t of uploaded.values()) t.dispose();
    out.dispose();
  });
});
