import { describe, expect, it } from 'vitest';
import { MaskingError } from './errors.js';
import { randomInt, sampleWithoutReplacement, Xoshiro128 } from './random.js';
import { concatMasks, invertPermutation, maskFromBinary, type PatchMask, randomPatchMask } from './random-mask.js';

function checkConsistent(m: PatchMask): void {
  const { batch, cells, numVisible, numMasked } = m;
  expect(numVisible + numMasked).toBe(cells);
  for (let b = 0; b < batch; b++) {
    const row = m.idsShuffle.subarray(b * cells, (b + 1) * cells);
    const restore = m.idsRestore.subarray(b * cells, (b + 1) * cells);
    // ids_restore = argsort(ids_shuffle): a permutation that inverts ids_shuffle.
    expect(new Set(row).size).toBe(cells);
    for (let t = 0; t < cells; t++) expect(row[restore[t]]).toBe(t);
    for (let s = 0; s < cells; s++) expect(restore[row[s]]).toBe(s);
    let maskedHere = 0;
    for (let t = 0; t < cells; t++) {
      maskedHere += m.masked[b * cells + t];
      expect(m.masked[b * cells + t] + m.visible[b * cells + t]).toBe(1);
      // MAE: mask = gather([0]*N + [1]*M, ids_restore).
      expect(m.masked[b * cells + t]).toBe(restore[t] < numVisible ? 0 : 1);
    }
    expect(maskedHere).toBe(numMasked);
    for (let s = 0; s < numVisible; s++) expect(m.visible[b * cells + m.idsKeep[b * numVisible + s]]).toBe(1);
    for (let s = 0; s < numMasked; s++) expect(m.masked[b * cells + m.idsMasked[b * numMasked + s]]).toBe(1);
  }
}

describe('Xoshiro128', () => {
  it('matches an independent unsigned-integer implementation of splitmix32 + xoshiro128**', () => {
    const take = (seed: number, n: number) => {
      const r = new Xoshiro128(seed);
      return Array.from({ length: n }, () => r.nextUint32());
    };
    // Reference values computed with arbitrary-precision integers (Python) from the documented algorithm.
    expect(take(0, 4)).toEqual([3809008728, 1133695204, 53579671, 2891528803]);
    expect(take(42, 4)).toEqual([2837322924, 544945897, 479756282, 3500138142]);
    expect(take(2 ** 40 + 7, 2)).toEqual([1606920336, 1856359683]);
  });

  it('draws integers without bias in range and rejects bad seeds', () => {
    const r = new Xoshiro128(5);
    const counts = new Array<number>(7).fill(0);
    for (let i = 0; i < 70_000; i++) counts[randomInt(r, 7)]++;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(500);
    expect(() => new Xoshiro128(-1)).toThrow(MaskingError);
    expect(() => new Xoshiro128(1.5)).toThrow(/seed/);
  });

  it('samples distinct items without replacement', () => {
    const s = sampleWithoutReplacement([10, 20, 30, 40, 50], 3, new Xoshiro128(1));
    expect(new Set(s).size).toBe(3);
    for (const v of s) expect([10, 20, 30, 40, 50]).toContain(v);
    expect(() => sampleWithoutReplacement([1, 2], 3, new Xoshiro128(1))).toThrow(/3 distinct/);
  });
});

describe('randomPatchMask', () => {
  it.each([
    [6, 0.75, 162],
    [6, 0.6, 130],
    [[3, 4, 5], 0.5, 30],
    [[2, 2, 2], 0, 0],
    [[2, 3, 1], 1, 6],
    [4, 0.33, 21],
    [[7, 5, 3], 0.9, 95],
  ] as const)('grid %j ratio %d masks exactly round(ratio·L) = %d cells per sample', (grid, ratio, expected) => {
    const m = randomPatchMask(grid, ratio, 11, { batch: 3 });
    expect(m.numMasked).toBe(expected);
    checkConsistent(m);
  });

  it('is deterministic per seed and differs across seeds and across samples', () => {
    const a = randomPatchMask(6, 0.75, 123, { batch: 4 });
    const b = randomPatchMask(6, 0.75, 123, { batch: 4 });
    const c = randomPatchMask(6, 0.75, 124, { batch: 4 });
    expect(a.idsShuffle).toEqual(b.idsShuffle);
    expect(a.masked).toEqual(b.masked);
    expect(a.masked).not.toEqual(c.masked);
    expect(a.masked.subarray(0, 216)).not.toEqual(a.masked.subarray(216, 432));
  });

  it('advances a passed generator so consecutive calls differ', () => {
    const rng = new Xoshiro128(9);
    const first = randomPatchMask(4, 0.5, rng);
    const second = randomPatchMask(4, 0.5, rng);
    expect(first.masked).not.toEqual(second.masked);
  });

  it('masks every cell with probability ≈ ratio', () => {
    const m = randomPatchMask([3, 3, 3], 0.75, 77, { batch: 4000 });
    const hits = new Array<number>(27).fill(0);
    for (let i = 0; i < m.masked.length; i++) hits[i % 27] += m.masked[i];
    const expected = (4000 * m.numMasked) / 27;
    for (const h of hits) expect(Math.abs(h - expected) / expected).toBeLessThan(0.05);
  });

  it("order 'sorted' lists visible then masked cells in ascending raster order", () => {
    const m = randomPatchMask([4, 3, 2], 0.5, 3, { batch: 2, order: 'sorted' });
    checkConsistent(m);
    for (let b = 0; b < 2; b++) {
      const keep = [...m.idsKeep.subarray(b * 12, b * 12 + 12)];
      const drop = [...m.idsMasked.subarray(b * 12, b * 12 + 12)];
      expect(keep).toEqual([...keep].sort((x, y) => x - y));
      expect(drop).toEqual([...drop].sort((x, y) => x - y));
    }
    // Same cells as the random order with the same seed (sorting does not consume randomness).
    expect(m.masked).toEqual(randomPatchMask([4, 3, 2], 0.5, 3, { batch: 2 }).masked);
  });

  it('rejects bad arguments with the function name', () => {
    expect(() => randomPatchMask(6, 1.2, 1)).toThrow(/randomPatchMask: the mask ratio/);
    expect(() => randomPatchMask([6, 6], 0.5, 1)).toThrow(/randomPatchMask: grid/);
    expect(() => randomPatchMask(6, 0.5, 1, { batch: 0 })).toThrow(/batch/);
  });
});

describe('maskFromBinary / concatMasks / invertPermutation', () => {
  it('builds index lists from a given mask', () => {
    const masked = Uint8Array.from([1, 0, 0, 1, 1, 0, 0, 1]);
    const m = maskFromBinary(masked, [2, 2, 2]);
    checkConsistent(m);
    expect([...m.idsKeep]).toEqual([1, 2, 5, 6]);
    const visibleOnes = maskFromBinary(masked, [2, 2, 2], { ones: 'visible', order: 'random', rng: 1 });
    checkConsistent(visibleOnes);
    expect([...visibleOnes.masked]).toEqual([0, 1, 1, 0, 0, 1, 1, 0]);
  });

  it('refuses ragged visible counts', () => {
    expect(() => maskFromBinary([1, 0, 1, 1], [1, 1, 2], { batch: 2 })).toThrow(/same count/);
    const a = maskFromBinary([1, 0], [1, 1, 2]);
    const b = maskFromBinary([1, 1], [1, 1, 2]);
    expect(() => concatMasks([a, b])).toThrow(/ids_keep must be dense/);
    const c = concatMasks([a, maskFromBinary([0, 1], [1, 1, 2])]);
    expect(c.batch).toBe(2);
    checkConsistent(c);
  });

  it('inverts permutations row by row and rejects non-permutations', () => {
    expect([...invertPermutation(Int32Array.from([2, 0, 1, 1, 0, 2]), 3)]).toEqual([1, 2, 0, 1, 0, 2]);
    expect(() => invertPermutation(Int32Array.from([0, 0, 1]))).toThrow(/not a permutation/);
  });
});
