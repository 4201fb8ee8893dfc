import { fromTypedArray, mul, sum, type Tensor } from '@mim/tensor';
import { randomArray } from '@mim/tensor/test';
import { describe, expect, it } from 'vitest';
import { bottomUpMask, expandMask, stageGrids } from '../bottom-up.js';
import { patchify as patchifyArray, unpatchify as unpatchifyArray } from '../patchify.js';
import { randomPatchMask } from '../random-mask.js';
import {
  gatherTokens as gatherArray,
  scatterTokens as scatterArray,
  serializationOrder,
  visibleTokenIds,
} from '../serialization.js';
import {
  applyMask,
  expandMaskTensor,
  fromTokens,
  gatherTokens,
  gatherVisible,
  maskTensor,
  patchify,
  scatterVisible,
  toTokens,
  unpatchify,
} from './index.js';

const read = async (t: Tensor) => Float32Array.from(await t.toArray());

/** Gradient of Σ f(x) ⊙ w with respect to x (and optional extra leaves). */
async function gradients(leaves: Tensor[], out: Tensor, weights: Float32Array): Promise<Float32Array[]> {
  const w = fromTypedArray(weights, out.shape);
  const loss = sum(mul(out, w));
  loss.backward();
  return Promise.all(leaves.map((leaf) => read(leaf.grad!)));
}

describe('patchify / unpatchify (tensor)', () => {
  it.each([
    [[2, 1, 4, 6, 8], 2],
    [[1, 3, 6, 3, 9], 3],
  ] as const)(
    'matches the index-level layout on %j, p = %i, with the inverse permutation as gradient',
    async (shape, p) => {
      const n = (shape as readonly number[]).reduce((a, b) => a * b, 1);
      const data = randomArray(n, 3);
      const x = fromTypedArray(data, shape).requireGrad();
      const tokens = patchify(x, p);
      expect(tokens.shape).toEqual([shape[0], n / shape[0] / (p ** 3 * shape[1]), p ** 3 * shape[1]]);
      expect(await read(tokens)).toEqual(patchifyArray(data, shape, p));
      const upstream = randomArray(n, 4);
      const [grad] = await gradients([x], tokens, upstream);
      expect(grad).toEqual(unpatchifyArray(upstream, shape, p));
      const back = unpatchify(fromTypedArray(patchifyArray(data, shape, p), tokens.shape), shape, p);
      expect(await read(back)).toEqual(data);
    },
  );
});

describe('masks as tensors', () => {
  it('expands the deepest mask to every stage like the index-level bottom-up masks', async () => {
    const m = bottomUpMask(stageGrids(32, [1, 2, 4, 8]), 0.75, 5, { batch: 2 });
    const deep = maskTensor(m.deepest);
    expect(deep.shape).toEqual([2, 1, 4, 4, 4]);
    for (const stage of m.stages) {
      const expanded = expandMaskTensor(deep, stage.grid);
      expect(await read(expanded)).toEqual(Float32Array.from(stage.visible));
    }
    const masked = maskTensor(m.deepest, { dtype: 'u32', which: 'masked' });
    expect(masked.dtype).toBe('u32');
    expect([...(await masked.toArray())]).toEqual([...m.deepest.masked]);
  });

  it('applyMask zeroes masked voxels of an NCDHW tensor and passes the gradient only at visible ones', async () => {
    const mask = randomPatchMask([2, 3, 2], 0.5, 8, { batch: 2 });
    const shape = [2, 3, 4, 6, 2] as const;
    const n = 2 * 3 * 4 * 6 * 2;
    const data = randomArray(n, 9);
    const x = fromTypedArray(data, shape).requireGrad();
    const out = applyMask(x, mask);
    const visible = expandMask(Float32Array.from(mask.visible), [2, 3, 2], [4, 6, 2], 2);
    const expected = data.map((v, i) => {
      const b = Math.floor(i / (3 * 48));
      return v * visible[b * 48 + (i % 48)];
    });
    expect(await read(out)).toEqual(expected);
    const upstream = randomArray(n, 10);
    const [grad] = await gradients([x], out, upstream);
    expect(grad).toEqual(upstream.map((g, i) => g * visible[Math.floor(i / (3 * 48)) * 48 + (i % 48)]));
    expect(() => applyMask(x, randomPatchMask([2, 3, 2], 0.5, 8, { batch: 3 }))).toThrow(/B = 2/);
  });
});

describe('token sequences (tensor)', () => {
  it('toTokens / fromTokens are flatten(2).transpose(1, 2) and its inverse', async () => {
    const shape = [2, 3, 2, 3, 4] as const;
    const data = randomArray(144, 1);
    const seq = toTokens(fromTypedArray(data, shape));
    expect(seq.shape).toEqual([2, 24, 3]);
    const got = await read(seq);
    for (let b = 0; b < 2; b++)
      for (let t = 0; t < 24; t++)
        for (let c = 0; c < 3; c++) expect(got[(b * 24 + t) * 3 + c]).toBe(data[(b * 3 + c) * 24 + t]);
    expect(await read(fromTokens(seq, [2, 3, 4]))).toEqual(data);
  });

  it.each(['raster', 'zigzag', 'hilbert', 'shuffle'] as const)(
    'gathers and scatters visible tokens in %s order with gradients',
    async (kind) => {
      const mask = randomPatchMask([3, 2, 4], 0.75, 12, { batch: 2 });
      const order = serializationOrder(mask.grid, kind, 3);
      const L = mask.cells;
      const C = 5;
      const N = mask.numVisible;
      const ids = visibleTokenIds(mask, order);
      const data = randomArray(2 * L * C, 13);
      const seq = fromTypedArray(data, [2, L, C]).requireGrad();
      const tokens = gatherVisible(seq, mask, order);
      expect(tokens.shape).toEqual([2, N, C]);
      expect(await read(tokens)).toEqual(gatherArray(data, [2, L, C], ids));
      const upstream = randomArray(2 * N * C, 14);
      const [gradSeq] = await gradients([seq], tokens, upstream);
      expect(gradSeq).toEqual(scatterArray(upstream, [2, N, C], ids, L, 0));

      const tokenData = randomArray(2 * N * C, 15);
      const fillData = randomArray(C, 16);
      const leaf = fromTypedArray(tokenData, [2, N, C]).requireGrad();
      const fill = fromTypedArray(fillData, [1, 1, C]).requireGrad();
      const full = scatterVisible(leaf, mask, order, fill);
      expect(await read(full)).toEqual(scatterArray(tokenData, [2, N, C], ids, L, fillData));
      const upstreamFull = randomArray(2 * L * C, 17);
      const [gradTokens, gradFill] = await gradients([leaf, fill], full, upstreamFull);
      expect(gradTokens).toEqual(gatherArray(upstreamFull, [2, L, C], ids));
      const expectedFill = new Float64Array(C);
      for (let b = 0; b < 2; b++)
        for (let t = 0; t < L; t++)
          if (mask.masked[b * L + t]) for (let c = 0; c < C; c++) expectedFill[c] += upstreamFull[(b * L + t) * C + c];
      for (let c = 0; c < C; c++) expect(gradFill[c]).toBeCloseTo(expectedFill[c], 4);
    },
  );

  it('rejects duplicate ids', () => {
    const seq = fromTypedArray(randomArray(8, 1), [1, 4, 2]);
    expect(() => gatherTokens(seq, Int32Array.from([1, 1]))).toThrow(/distinct/);
  });
});
