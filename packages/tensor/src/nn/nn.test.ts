import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkpointBytes, loadCheckpoint, saveCheckpoint } from '../io/checkpoint.js';
import { tensor, zeros } from '../ops/creation.js';
import { dropout, dropPath } from '../ops/dropout/dropout.js';
import { mul } from '../ops/elementwise/binary.js';
import { sum } from '../ops/reduce/reduce.js';
import { AdamW } from '../optim/adamw.js';
import type { Tensor } from '../tensor.js';
import { expectAllClose, finiteDifferences, randomArray, TOLERANCE } from '../test/index.js';
import { fans, kaimingNormal, truncNormal, xavierUniform } from './init.js';
import { GELU, Linear, ModuleList, Sequential } from './layers.js';
import { Module } from './module.js';

class Block extends Module {
  readonly fc1: Linear;
  readonly act = new GELU();
  readonly fc2: Linear;
  readonly scale: Tensor;
  constructor() {
    super();
    this.fc1 = this.registerModule('fc1', new Linear(5, 7));
    this.fc2 = this.registerModule('fc2', new Linear(7, 3, { bias: false }));
    this.scale = this.registerParameter('scale', zeros([3]));
    this.registerBuffer('running', zeros([3]));
    this.registerBuffer('scratch', zeros([2]), false);
  }
}

class Net extends Module {
  readonly blocks = this.registerModule('blocks', new ModuleList([new Block(), new Block()]));
  readonly head = this.registerModule('head', new Sequential([new Linear(3, 2)]));
}

describe('Module', () => {
  it('names parameters and buffers like PyTorch', () => {
    const net = new Net();
    expect([...net.stateDict().keys()]).toEqual([
      'blocks.0.scale',
      'blocks.0.running',
      'blocks.0.fc1.weight',
      'blocks.0.fc1.bias',
      'blocks.0.fc2.weight',
      'blocks.1.scale',
      'blocks.1.running',
      'blocks.1.fc1.weight',
      'blocks.1.fc1.bias',
      'blocks.1.fc2.weight',
      'head.0.weight',
      'head.0.bias',
    ]);
    expect(net.numParameters()).toBe(2 * (3 + 35 + 7 + 21) + 8);
    net.eval();
    expect(net.blocks.at(1).fc1.training).toBe(false);
  });

  it('lists every missing, unexpected and mismatched key at once', () => {
    const net = new Net();
    const entries = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [k, t] of net.stateDict()) entries.set(k, { shape: [...t.shape], data: new Float32Array(t.size) });
    entries.delete('blocks.0.scale');
    entries.delete('head.0.bias');
    entries.set('extra.weight', { shape: [1], data: new Float32Array(1) });
    entries.set('blocks.1.fc1.weight', { shape: [7, 4], data: new Float32Array(28) });
    let message = '';
    try {
      net.loadStateDict(entries);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/blocks\.1\.fc1\.weight: checkpoint \[7, 4\] vs model \[7, 5\]/);
    expect(message).toMatch(/missing keys \(2\)/);
    expect(message).toMatch(/blocks\.0\.scale/);
    expect(message).toMatch(/head\.0\.bias/);
    expect(message).toMatch(/unexpected keys \(1\):\n {2}extra\.weight/);
  });

  it('Linear matches a float64 reference, with gradients', async () => {
    const layer = new Linear(4, 3);
    const x = randomArray(2 * 4, 3);
    const w = Float64Array.from(await layer.weight.toArray());
    const b = Float64Array.from(await layer.bias!.toArray());
    const ref = (xs: Float64Array[]) => {
      const [xx, ww, bb] = xs;
      const out = new Float64Array(6);
      for (let n = 0; n < 2; n++)
        for (let o = 0; o < 3; o++) {
          let s = bb[o];
          for (let i = 0; i < 4; i++) s += xx[n * 4 + i] * ww[o * 4 + i];
          out[n * 3 + o] = s;
        }
      return out;
    };
    const xt = tensor(x, [2, 4]);
    const y = layer.forward(xt);
    expectAllClose(await y.toArray(), ref([Float64Array.from(x), w, b]), TOLERANCE.matmul, 'linear');
    const g = randomArray(6, 9);
    sum(mul(y, tensor(g, [2, 3]))).backward();
    const fd = finiteDifferences(ref, [Float64Array.from(x), w, b], g, { which: [1, 2] });
    expectAllClose(await layer.weight.grad!.toArray(), fd[1], TOLERANCE.finiteDifference, 'dW');
    expectAllClose(await layer.bias!.grad!.toArray(), fd[2], TOLERANCE.finiteDifference, 'db');
  });
});

describe('initialisers', () => {
  it('follow the PyTorch/timm distributions and are seeded', async () => {
    const w = zeros([256, 64, 3]);
    const { fanIn, fanOut } = fans(w);
    expect([fanIn, fanOut]).toEqual([192, 768]);
    truncNormal(w, { std: 0.5, a: -0.6, b: 0.6, seed: 7 });
    const t = (await w.toArray()) as Float32Array;
    expect(Math.max(...t)).toBeLessThanOrEqual(0.6);
    expect(Math.min(...t)).toBeGreaterThanOrEqual(-0.6);
    // Truncated N(0, 0.5²) on [−1.2σ, 1.2σ] has std ≈ 0.5 · 0.6167.
    const mean = t.reduce((a, b) => a + b, 0) / t.length;
    const std = Math.sqrt(t.reduce((a, b) => a + (b - mean) ** 2, 0) / t.length);
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(std).toBeGreaterThan(0.29);
    expect(std).toBeLessThan(0.325);
    const again = zeros([256, 64, 3]);
    truncNormal(again, { std: 0.5, a: -0.6, b: 0.6, seed: 7 });
    expect(Array.from(await again.toArray())).toEqual(Array.from(t));
    xavierUniform(w, 1, { seed: 1 });
    const bound = Math.sqrt(6 / (fanIn + fanOut));
    const xu = await w.toArray();
    expect(Math.max(...xu)).toBeLessThanOrEqual(bound);
    expect(Math.max(...xu)).toBeGreaterThan(bound * 0.99);
    kaimingNormal(w, { mode: 'fan_out', nonlinearity: 'relu', seed: 2 });
    const kn = (await w.toArray()) as Float32Array;
    const kstd = Math.sqrt(kn.reduce((a, b) => a + b * b, 0) / kn.length);
    expect(kstd / Math.sqrt(2 / fanOut)).toBeGreaterThan(0.97);
    expect(kstd / Math.sqrt(2 / fanOut)).toBeLessThan(1.03);
  });
});

describe('dropout', () => {
  it('keeps 1 − p of the elements scaled by 1/(1 − p), deterministically per seed', async () => {
    const x = tensor(new Float32Array(20000).fill(2), [20000]);
    const y = await dropout(x, 0.25, true, { seed: 3 }).toArray();
    const kept = y.filter((v) => v !== 0);
    expect(kept.every((v) => Math.abs(v - 2 / 0.75) < 1e-6)).toBe(true);
    expect(Math.abs(kept.length / 20000 - 0.75)).toBeLessThan(0.02);
    expect(Array.from(await dropout(x, 0.25, true, { seed: 3 }).toArray())).toEqual(Array.from(y));
    expect(Array.from(await dropout(x, 0.25, false).toArray())).toEqual(Array.from(x.size ? await x.toArray() : []));
    const paths = await dropPath(tensor(new Float32Array(64 * 6).fill(1), [64, 2, 3]), 0.5, true, {
      seed: 4,
    }).toArray();
    for (let n = 0; n < 64; n++) {
      const row = paths.slice(n * 6, n * 6 + 6);
      expect(row.every((v) => v === row[0])).toBe(true);
    }
  });
});

describe('checkpoints', () => {
  it('round-trip the model and optimizer, atomically, with metadata', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mim-ckpt-'));
    const net = new Net();
    const opt = new AdamW(net, { lr: 0.01 });
    const x = tensor(randomArray(10, 5), [2, 5]);
    const block = net.blocks.at(0);
    const h = net.head.forward(block.fc2.forward(block.act.forward(block.fc1.forward(x))));
    sum(h).backward();
    opt.step();
    const path = join(dir, 'model.safetensors');
    await saveCheckpoint(path, net, { optimizer: opt, config: { depth: 2 }, extra: { step: 1 } });
    const other = new Net();
    const opt2 = new AdamW(other, { lr: 0.5 });
    const loaded = await loadCheckpoint(path, other, { optimizer: opt2 });
    expect(loaded.config).toEqual({ depth: 2 });
    expect(loaded.extra).toEqual({ step: 1 });
    expect(opt2.stepCount).toBe(1);
    for (const [k, t] of net.stateDict()) {
      expect(Array.from(await other.stateDict().get(k)!.toArray()), k).toEqual(Array.from(await t.toArray()));
    }
    // Without optimizer state the file holds exactly the model's keys (what PyTorch load_state_dict expects).
    const plain = await checkpointBytes(net);
    const header = JSON.parse(
      new TextDecoder().decode(plain.subarray(8, 8 + Number(new DataView(plain.buffer).getBigUint64(0, true)))),
    );
    expect(
      Object.keys(header)
        .filter((k) => k !== '__metadata__')
        .sort(),
    ).toEqual([...net.stateDict().keys()].sort());
  });

  it('names the file on corrupt or truncated input', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mim-ckpt-'));
    const path = join(dir, 'bad.safetensors');
    await saveCheckpoint(path, new Net());
    const bytes = readFileSync(path);
    writeFileSync(path, bytes.subarray(0, bytes.length - 17));
    await expect(loadCheckpoint(path, new Net())).rejects.toThrow(/bad\.safetensors.*truncated/);
    writeFileSync(path, Buffer.from('not a checkpoint at all'));
    await expect(loadCheckpoint(path, new Net())).rejects.toThrow(/bad\.safetensors/);
    await expect(loadCheckpoint(join(dir, 'missing.safetensors'), new Net())).rejects.toThrow(/missing\.safetensors/);
  });
});
