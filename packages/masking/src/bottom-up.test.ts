import { describe, expect, it } from 'vitest';
import { bottomUpMask, expandMask, stageGrids } from './bottom-up.js';
import { cellCount, type Grid3 } from './grid.js';

function deepCellOf(fine: Grid3, deep: Grid3, t: number): number {
  const k = t % fine[2];
  const j = Math.floor(t / fine[2]) % fine[1];
  const i = Math.floor(t / (fine[1] * fine[2]));
  const f = fine.map((n, a) => n / deep[a]);
  return (Math.floor(i / f[0]) * deep[1] + Math.floor(j / f[1])) * deep[2] + Math.floor(k / f[2]);
}

describe('bottomUpMask', () => {
  it('maps the 6³ mask of HyMamba to 96/48/24/12/6 consistently', () => {
    const grids = stageGrids(96, [1, 2, 4, 8, 16]);
    expect(grids.map((g) => g[0])).toEqual([96, 48, 24, 12, 6]);
    const m = bottomUpMask(grids, 0.75, 2024, { batch: 2 });
    expect(m.deepest.numVisible).toBe(54);
    const deep = grids[4];
    for (const stage of m.stages) {
      const cells = cellCount(stage.grid);
      const block = cells / 216;
      for (let b = 0; b < 2; b++) {
        let visibleCount = 0;
        let mismatches = 0;
        for (let t = 0; t < cells; t++) {
          // Every shallow cell carries the mask of the deep cell that covers it.
          const d = deepCellOf(stage.grid, deep, t);
          if (stage.visible[b * cells + t] !== m.deepest.visible[b * 216 + d]) mismatches++;
          if (stage.masked[b * cells + t] !== 1 - stage.visible[b * cells + t]) mismatches++;
          visibleCount += stage.visible[b * cells + t];
        }
        expect(mismatches).toBe(0);
        expect(visibleCount).toBe(54 * block);
      }
    }
  });

  it('works for anisotropic grids and arbitrary integer factors', () => {
    const m = bottomUpMask(
      [
        [12, 18, 8],
        [6, 6, 4],
        [2, 3, 2],
      ],
      0.5,
      5,
    );
    for (const stage of m.stages) {
      const cells = cellCount(stage.grid);
      for (let t = 0; t < cells; t++) {
        expect(stage.visible[t]).toBe(m.deepest.visible[deepCellOf(stage.grid, [2, 3, 2], t)]);
      }
    }
    expect(m.stages[2].visible).toEqual(m.deepest.visible);
  });

  it('is deterministic per seed', () => {
    const a = bottomUpMask(stageGrids(32, [1, 4, 16]), 0.75, 8, { batch: 3 });
    const b = bottomUpMask(stageGrids(32, [1, 4, 16]), 0.75, 8, { batch: 3 });
    const c = bottomUpMask(stageGrids(32, [1, 4, 16]), 0.75, 9, { batch: 3 });
    expect(a.stages[0].visible).toEqual(b.stages[0].visible);
    expect(a.deepest.masked).not.toEqual(c.deepest.masked);
  });

  it('rejects grids that are not integer multiples of the deeper one', () => {
    expect(() => bottomUpMask([10, 4], 0.5, 1)).toThrow(/not an integer multiple/);
    expect(() => stageGrids(96, [5])).toThrow(/does not divide/);
  });
});

describe('expandMask', () => {
  it('repeats each cell over its block for any element type', () => {
    const out = expandMask(Float32Array.from([1, 2]), [1, 1, 2], [2, 1, 4]);
    expect([...out]).toEqual([1, 1, 2, 2, 1, 1, 2, 2]);
    const batched = expandMask(Uint8Array.from([1, 0]), [1, 1, 1], [1, 2, 1], 2);
    expect([...batched]).toEqual([1, 1, 0, 0]);
    expect(() => expandMask(Uint8Array.from([1, 0, 1]), [1, 1, 2], [2, 2, 2])).toThrow(/expected 2/);
  });
});
