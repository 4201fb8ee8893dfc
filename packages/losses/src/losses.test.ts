import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  discoverFixtureAdapters,
  formatFixtureReport,
  getFixtureAdapter,
  registerFixtureAdapter,
  runFixture,
  tensor,
  unregisterFixtureAdapter,
} from '@mim/tensor';
import { expectAllClose, finiteDifferences, fixturesDir, randomArray, seededRandom, TOLERANCE } from '@mim/tensor/test';
import { describe, expect, it } from 'vitest';
import { fixtureAdapters } from './fixtures.js';
import { infoNce } from './info-nce.js';
import { maskedMseNormPix } from './masked-mse-normpix.js';
import { infoNceRef, maskedMseNormPixRef } from './reference.js';

function randomMask(n: number, seed: number, ratio: number): Uint32Array {
  const rand = seededRandom(seed);
  const mask = new Uint32Array(n);
  for (let i = 0; i < n; i++) mask[i] = rand() < ratio ? 1 : 0;
  return mask;
}

describe('maskedMseNormPix', () => {
  const cases: { shape: number[]; p: number; seed: number }[] = [
    { shape: [1, 1, 4, 6, 2], p: 2, seed: 1 },
    { shape: [2, 1, 6, 3, 9], p: 3, seed: 2 },
    { shape: [2, 3, 4, 4, 4], p: 2, seed: 3 }, // several channels per patch
    { shape: [1, 1, 5, 5, 5], p: 5, seed: 4 }, // one patch
  ];
  it.each(cases)('matches the float64 reference and its gradient: $shape p$p', async ({ shape, p, seed }) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const L = (shape[0] * (shape[2] * shape[3] * shape[4])) / p ** 3;
    const rec = randomArray(n, seed, -2, 2);
    const x = randomArray(n, seed + 100, 0, 1);
    const visible = randomMask(L, seed + 200, 0.4);
    if (visible.every((v) => v === 1)) visible[0] = 0;
    const ref = maskedMseNormPixRef(rec, x, visible, shape, p);
    const recT = tensor(rec, shape).requireGrad();
    const grid = [shape[0], shape[2] / p, shape[3] / p, shape[4] / p];
    const loss = maskedMseNormPix(recT, tensor(x, shape), tensor(visible, grid, { dtype: 'u32' }), p);
    expect(loss.shape).toEqual([]);
    expectAllClose(await loss.toArray(), [ref.loss], TOLERANCE.reduction, 'loss');
    loss.backward();
    expectAllClose(await recT.grad!.toArray(), ref.gradPrediction, TOLERANCE.reduction, 'grad');
    // The analytic reference gradient against finite differences of the reference loss.
    const [fd] = finiteDifferences(
      ([r]) => [maskedMseNormPixRef(r, x, visible, shape, p).loss],
      [Float64Array.from(rec)],
      [1],
    );
    expectAllClose(ref.gradPrediction, fd, TOLERANCE.finiteDifference, 'reference grad vs finite differences');
  });

  it('gives no gradient to visible patches, none to the target, and ignores them in the value', async () => {
    const shape = [1, 1, 4, 4, 4];
    const rec = randomArray(64, 7);
    const x = randomArray(64, 8);
    const visible = new Uint32Array([1, 0, 1, 1, 0, 1, 1, 1]);
    const recT = tensor(rec, shape).requireGrad();
    const xT = tensor(x, shape).requireGrad();
    const loss = maskedMseNormPix(recT, xT, tensor(visible, [1, 2, 2, 2], { dtype: 'u32' }), 2);
    loss.backward();
    expect(xT.grad).toBeNull();
    const grad = await recT.grad!.toArray();
    for (let i = 0; i < 64; i++) {
      const [a, b, c] = [Math.floor(i / 16), Math.floor(i / 4) % 4, i % 4];
      const patch = (Math.floor(a / 2) * 2 + Math.floor(b / 2)) * 2 + Math.floor(c / 2);
      if (visible[patch]) expect(Math.abs(grad[i])).toBe(0);
      else expect(grad[i]).not.toBe(0);
    }
    // Changing the prediction inside a visible patch does not change the loss.
    const changed = Float32Array.from(rec);
    changed[0] += 5;
    const again = maskedMseNormPix(
      tensor(changed, shape),
      tensor(x, shape),
      tensor(visible, [1, 2, 2, 2], { dtype: 'u32' }),
      2,
    );
    expect((await again.toArray())[0]).toBeCloseTo((await loss.toArray())[0], 6);
  });

  it('is 0 (not NaN) when every patch is visible, and accepts (B, 1, h, w, d) f32 masks', async () => {
    const shape = [1, 1, 2, 2, 2];
    const loss = maskedMseNormPix(
      tensor(randomArray(8, 1), shape),
      tensor(randomArray(8, 2), shape),
      tensor(new Float32Array([1]), [1, 1, 1, 1, 1]),
      2,
    );
    expect(await loss.toArray()).toEqual(new Float32Array([0]));
  });

  it('names the shapes when they do not fit', () => {
    const t = tensor(randomArray(27, 1), [1, 1, 3, 3, 3]);
    expect(() => maskedMseNormPix(t, t, tensor(new Uint32Array([1]), [1, 1, 1, 1], { dtype: 'u32' }), 2)).toThrow(
      /not divisible by patchSize 2/,
    );
    const u = tensor(randomArray(8, 1), [1, 1, 2, 2, 2]);
    expect(() => maskedMseNormPix(u, u, tensor(new Uint32Array([1, 0]), [2], { dtype: 'u32' }), 2)).toThrow(
      /one flag per patch/,
    );
  });
});

describe('infoNce', () => {
  const cases = [
    { M: 3, N: 5, D: 4, tau: 0.5, seed: 1 },
    { M: 7, N: 7, D: 9, tau: 0.07, seed: 2 },
    { M: 1, N: 2, D: 3, tau: 1, seed: 3 },
  ];
  it.each(cases)('matches the float64 reference: M$M N$N D$D tau$tau', async ({ M, N, D, tau, seed }) => {
    const c = randomArray(M * D, seed);
    const p = randomArray(N * D, seed + 10);
    const rand = seededRandom(seed + 20);
    const pos = Int32Array.from({ length: M }, () => Math.floor(rand() * N));
    const ref = infoNceRef(c, p, pos, M, N, D, tau);
    const cT = tensor(c, [M, D]).requireGrad();
    const pT = tensor(p, [N, D]).requireGrad();
    const loss = infoNce(cT, pT, tensor(pos, [M], { dtype: 'i32' }), tau);
    expectAllClose(await loss.toArray(), [ref.loss], TOLERANCE.reduction, 'loss');
    loss.backward();
    expectAllClose(await cT.grad!.toArray(), ref.gradC, 1e-4, 'grad c');
    expectAllClose(await pT.grad!.toArray(), ref.gradP, 1e-4, 'grad p');
    const fd = finiteDifferences(
      ([cc, pp]) => [infoNceRef(cc, pp, pos, M, N, D, tau).loss],
      [Float64Array.from(c), Float64Array.from(p)],
      [1],
    );
    expectAllClose(ref.gradC, fd[0], TOLERANCE.finiteDifference, 'reference grad c vs finite differences');
    expectAllClose(ref.gradP, fd[1], TOLERANCE.finiteDifference, 'reference grad p vs finite differences');
  });
});

describe('fixtures (fixtures/README.md)', () => {
  const files = readdirSync(fixturesDir()).filter(
    (f) => f.startsWith('masked_mse_normpix__') || f.startsWith('info_nce__'),
  );
  it('finds the fixture files', () => {
    expect(files.filter((f) => f.startsWith('masked_mse_normpix__')).length).toBeGreaterThanOrEqual(4);
    expect(files.filter((f) => f.startsWith('info_nce__')).length).toBeGreaterThanOrEqual(3);
  });
  it.each(files)('%s passes through the fixture runner', async (file) => {
    const adapter = fixtureAdapters.find((a) => file.startsWith(`${a.op}__`))!;
    if (getFixtureAdapter(adapter.op) !== adapter) {
      unregisterFixtureAdapter(adapter.op);
      registerFixtureAdapter(adapter);
    }
    const report = await runFixture(join(fixturesDir(), file));
    expect(report.status, formatFixtureReport(report).join('\n')).toBe('pass');
    expect(report.tensors.map((t) => t.name).sort()).toEqual(
      adapter.op === 'info_nce' ? ['grad_c', 'grad_p', 'out_loss'] : ['grad_rec', 'out_loss'],
    );
  });
  it('the runner discovers the adapters through @mim/losses/fixtures (needs a build)', async () => {
    for (const adapter of fixtureAdapters) unregisterFixtureAdapter(adapter.op);
    const result = await discoverFixtureAdapters(['@mim/losses']);
    expect(result.loaded).toEqual([{ package: '@mim/losses', ops: ['masked_mse_normpix', 'info_nce'] }]);
    const report = await runFixture(join(fixturesDir(), files.find((f) => f.startsWith('info_nce__'))!));
    expect(report.status, formatFixtureReport(report).join('\n')).toBe('pass');
  });
});
