import { describe, expect, it } from 'vitest';
import { cellCoords, cellCount, type Grid3, toGrid } from './grid.js';
import { randomPatchMask } from './random-mask.js';
import {
  gatherTokens,
  hilbertOrder,
  orderRanks,
  rasterOrder,
  scatterTokens,
  serializationOrder,
  shuffleOrder,
  visibleTokenIds,
  zigzagOrder,
} from './serialization.js';

function expectPermutation(order: Int32Array, cells: number): void {
  expect(order.length).toBe(cells);
  expect(new Set(order).size).toBe(cells);
  for (const t of order) expect(t >= 0 && t < cells).toBe(true);
}

/** Number of consecutive pairs that are not face neighbours. */
function nonAdjacentSteps(grid: Grid3, order: Int32Array): number {
  let bad = 0;
  for (let s = 1; s < order.length; s++) {
    const a = cellCoords(grid, order[s - 1]);
    const b = cellCoords(grid, order[s]);
    if (Math.abs(a[0] - b[0]) + Math.abs(a[1] - b[1]) + Math.abs(a[2] - b[2]) !== 1) bad++;
  }
  return bad;
}

describe('hilbertOrder', () => {
  it.each([2, 4, 8, 16])(
    'is a true Hilbert curve on %i³: a face-adjacent permutation filling aligned sub-cubes one at a time',
    (n) => {
      const grid = toGrid(n, 'test');
      const order = hilbertOrder(grid);
      expectPermutation(order, n ** 3);
      expect(nonAdjacentSteps(grid, order)).toBe(0);
      expect(order[0]).toBe(0);
      // Hilbert locality: every aligned 2^k sub-cube is one contiguous run of 8^k cells.
      for (let size = 2; size < n; size *= 2) {
        const run = size ** 3;
        for (let s = 0; s < order.length; s += run) {
          const blocks = new Set<string>();
          for (let r = s; r < s + run; r++)
            blocks.add(
              cellCoords(grid, order[r])
                .map((c) => Math.floor(c / size))
                .join(),
            );
          expect(blocks.size).toBe(1);
        }
      }
    },
  );

  it('visits face-adjacent cells consecutively on every box up to 9 per axis (even boxes: gilbert3d; odd: shell + core)', () => {
    for (let x = 1; x <= 9; x++) {
      for (let y = 1; y <= 9; y++) {
        for (let z = 1; z <= 9; z++) {
          const grid: Grid3 = [x, y, z];
          const order = hilbertOrder(grid);
          expectPermutation(order, x * y * z);
          if (nonAdjacentSteps(grid, order) !== 0) throw new Error(`non-adjacent step on [${grid}]`);
        }
      }
    }
  });

  it.each([
    [6, 6, 6],
    [3, 3, 3],
    [12, 10, 6],
    [5, 6, 7],
    [13, 11, 3],
  ] as const)('is a face-adjacent permutation on the non-power-of-two grid %j', (...grid) => {
    const order = hilbertOrder(grid);
    expectPermutation(order, cellCount(grid));
    expect(nonAdjacentSteps(grid, order)).toBe(0);
  });

  it('keeps Hilbert-like locality on 6³: the first 27 cells stay inside a 4³ corner box', () => {
    const order = hilbertOrder(6);
    const spread = [0, 1, 2].map((a) => {
      const coords = [...order.subarray(0, 27)].map((t) => cellCoords([6, 6, 6], t)[a]);
      return Math.max(...coords) - Math.min(...coords);
    });
    for (const s of spread) expect(s).toBeLessThanOrEqual(3);
  });
});

describe('zigzagOrder', () => {
  it.each([
    [6, 6, 6],
    [1, 1, 5],
    [2, 3, 4],
    [5, 4, 3],
    [3, 3, 3],
    [4, 1, 7],
  ] as const)('is a face-adjacent permutation on %j', (...grid) => {
    const order = zigzagOrder(grid);
    expectPermutation(order, cellCount(grid));
    expect(nonAdjacentSteps(grid, order)).toBe(0);
  });

  it('follows the documented boustrophedon on 2×2×3', () => {
    // plane 0: row j=0 →, row j=1 ←; plane 1: rows j=1 then j=0 (reversed), k direction continues alternating.
    expect([...zigzagOrder([2, 2, 3])]).toEqual([0, 1, 2, 5, 4, 3, 9, 10, 11, 8, 7, 6]);
  });
});

describe('raster and shuffle orders', () => {
  it('raster is the identity and shuffle a seeded permutation', () => {
    expect([...rasterOrder([2, 1, 3])]).toEqual([0, 1, 2, 3, 4, 5]);
    const a = shuffleOrder(6, 4);
    expectPermutation(a, 216);
    expect(serializationOrder(6, 'shuffle', 4)).toEqual(a);
    expect(shuffleOrder(6, 5)).not.toEqual(a);
    expect(() => serializationOrder(6, 'shuffle')).toThrow(/seed/);
    expect(() => serializationOrder(6, 'spiral' as never)).toThrow(/unknown order/);
  });

  it('orderRanks inverts an order', () => {
    const order = hilbertOrder(4);
    const rank = orderRanks(order);
    for (let s = 0; s < order.length; s++) expect(rank[order[s]]).toBe(s);
  });
});

describe('visible-token gather / scatter', () => {
  it.each(['raster', 'zigzag', 'hilbert', 'shuffle'] as const)(
    'serializes visible tokens in %s order and scatters them back',
    (kind) => {
      const mask = randomPatchMask([3, 4, 2], 0.75, 31, { batch: 2 });
      const order = serializationOrder(mask.grid, kind, 99);
      const ids = visibleTokenIds(mask, order);
      expect(ids.length).toBe(2 * mask.numVisible);
      const rank = orderRanks(order);
      for (let b = 0; b < 2; b++) {
        const row = [...ids.subarray(b * mask.numVisible, (b + 1) * mask.numVisible)];
        expect(new Set(row)).toEqual(new Set(mask.idsKeep.subarray(b * mask.numVisible, (b + 1) * mask.numVisible)));
        for (let s = 1; s < row.length; s++) expect(rank[row[s]]).toBeGreaterThan(rank[row[s - 1]]);
      }
      const C = 3;
      const L = mask.cells;
      const seq = Float32Array.from({ length: 2 * L * C }, (_, i) => i * 0.5 - 7);
      const tokens = gatherTokens(seq, [2, L, C], ids);
      const n = mask.numVisible;
      for (let b = 0; b < 2; b++) {
        for (let s = 0; s < n; s++) {
          for (let c = 0; c < C; c++) expect(tokens[(b * n + s) * C + c]).toBe(seq[(b * L + ids[b * n + s]) * C + c]);
        }
      }
      const fill = Float32Array.from([100, 200, 300]);
      const back = scatterTokens(tokens, [2, n, C], ids, L, fill);
      for (let b = 0; b < 2; b++) {
        for (let t = 0; t < L; t++) {
          for (let c = 0; c < C; c++) {
            const got = back[(b * L + t) * C + c];
            expect(got).toBe(mask.visible[b * L + t] ? seq[(b * L + t) * C + c] : fill[c]);
          }
        }
      }
    },
  );

  it('rejects duplicate or out-of-range ids', () => {
    expect(() => gatherTokens(new Float32Array(4), [1, 4, 1], Int32Array.from([1, 1]))).toThrow(/distinct/);
    expect(() => scatterTokens(new Float32Array(2), [1, 2, 1], Int32Array.from([0, 4]), 4)).toThrow(/distinct/);
  });
});
