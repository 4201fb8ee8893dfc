import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scope } from '../../scope.js';
import type { Tensor } from '../../tensor.js';
import { expectAllClose, fixturesDir, loadFixture, TOLERANCE } from '../../test/index.js';
import { tensor } from '../creation.js';
import { normFixtureAdapters } from './fixtures.js';

const OPS = ['layer_norm', 'group_norm', 'batch_norm3d', 'instance_norm3d'];
const files = readdirSync(fixturesDir())
  .filter((f) => f.endsWith('.safetensors') && OPS.includes(f.split('__')[0]))
  .sort();

describe('norm fixtures', () => {
  it('finds fixture files for every norm op', () => {
    for (const op of OPS) expect(files.some((f) => f.startsWith(`${op}__`))).toBe(true);
    expect(normFixtureAdapters.map((a) => a.op).sort()).toEqual([...OPS].sort());
  });

  it.each(files)('%s', async (file) => {
    const fixture = loadFixture(join(fixturesDir(), file));
    const adapter = normFixtureAdapters.find((a) => a.op === fixture.op);
    if (!adapter) throw new Error(`no adapter for op ${fixture.op}`);
    using s = scope();
    const uploaded = new Map<string, Tensor>();
    const upload = (name: string): Tensor => {
      const entry = fixture.tensors.get(name);
      if (!entry) throw new Error(`${file}: no tensor ${name}`);
      let t = uploaded.get(name);
      if (!t) {
        const data = entry.data instanceof Uint8Array ? Uint32Array.from(entry.data) : entry.data;
        t = tensor(data, entry.shape);
        if (t.dtype === 'f32' && fixture.tensors.has(`grad_${name}`)) t.requiresGrad = true;
        uploaded.set(name, t);
      }
      return t;
    };
    const inputNames: string[] = JSON.parse(fixture.metadata.inputs ?? '[]');
    for (const name of inputNames) upload(name);
    const outputs = adapter.forward({
      tensor: upload,
      has: (name) => inputNames.includes(name),
      params: fixture.params,
      metadata: fixture.metadata,
      shapeOf: (name) => fixture.tensors.get(name)?.shape,
    });
    const out = outputs.out;
    expectAllClose(await out.toArray(), fixture.tensors.get('out')!.data, TOLERANCE.fixtureForward, `${file} out`);
    const dout = fixture.tensors.get('dout')!;
    out.backward(tensor(dout.data, dout.shape));
    let checked = 0;
    for (const [name, entry] of fixture.tensors) {
      if (!name.startsWith('grad_')) continue;
      const input = uploaded.get(name.slice(5));
      expect(input?.grad, `${file}: no gradient for ${name}`).toBeTruthy();
      expectAllClose(await input!.grad!.toArray(), entry.data, TOLERANCE.fixtureGrad, `${file} ${name}`);
      checked++;
    }
    expect(checked).toBeGreaterThan(0);
    s.dispose();
  });
});
