import { describe, expect, it } from 'vitest';
import { cellCoords, cellCount, type Grid3 } from './grid.js';
import { type MimOptions, type MimSample, mimMultiLevel, mimMultiLevelBatch } from './mim.js';
import { cutBox, resizeTrilinear, type Volume } from './volume.js';

// Tiny-48 geometry (METHODS §5.2): 96³ crop of 2³ sub-volumes of 48³ → 48³ inputs, 6³ grid of 8³ tokens.
const tiny: MimOptions = { subVolumeSize: 48, inputSize: 48, tokenGrid: 6, gamma: 2 };

function inside(inner: { start: Grid3; size: Grid3 }, outer: { start: Grid3; size: Grid3 }): boolean {
  return inner.start.every((s, a) => s >= outer.start[a] && s + inner.size[a] <= outer.start[a] + outer.size[a]);
}

/** Checks the geometry of every level: boxes inside the crop and inside a MASKED cell of their parent. */
function checkGeometry(s: MimSample): void {
  const o = s.options;
  const crop = { start: [0, 0, 0] as Grid3, size: o.cropSize };
  const L = cellCount(o.tokenGrid);
  for (const level of s.levels) {
    expect(level.boxes.length).toBe(level.count);
    expect(level.mask.batch).toBe(level.count);
    for (const box of level.boxes) expect(inside(box, crop)).toBe(true);
  }
  const [l1, l2] = s.levels;
  // Level 1 masks whole sub-volumes.
  for (let t = 0; t < L; t++) expect(l1.mask.masked[t]).toBe(s.subVolumeMasked[s.tokenGroup[t]]);
  if (!l2) return;
  expect(new Set(l2.label).size).toBe(l2.count);
  for (let v = 0; v < l2.count; v++) {
    const g = l2.label[v];
    expect(s.subVolumeMasked[g]).toBe(1);
    const coords = cellCoords(o.subVolumeGrid, g);
    expect(l2.boxes[v]).toEqual({ start: coords.map((c, a) => c * o.subVolumeSize[a]), size: o.subVolumeSize });
    for (const t of l2.labelTokens[v]) expect(l1.mask.masked[t]).toBe(1);
  }
  for (const level of s.levels.slice(2)) {
    const up = s.levels[level.level - 2];
    for (let v = 0; v < level.count; v++) {
      const p = level.parent[v];
      const t = level.label[v];
      // The token is masked in the parent volume, and the box is exactly that token's native region.
      expect(up.mask.masked[p * L + t]).toBe(1);
      const coords = cellCoords(o.tokenGrid, t);
      const start = up.boxes[p].start.map((s0, a) => s0 + coords[a] * level.nativeSize[a]);
      expect(level.boxes[v].start).toEqual(start);
      expect(inside(level.boxes[v], up.boxes[p])).toBe(true);
      const sameParent = [...level.parent].map((q, i) => (q === p ? level.label[i] : -1)).filter((x) => x >= 0);
      expect(new Set(sameParent).size).toBe(sameParent.length);
    }
  }
}

/** Bitwise equality of two float arrays (one expect, fast on millions of values). */
function expectSame(got: Float32Array | undefined, expected: Float32Array): void {
  expect(got?.length).toBe(expected.length);
  let mismatches = 0;
  for (let i = 0; i < expected.length; i++) if (!Object.is(got![i], expected[i])) mismatches++;
  expect(mismatches).toBe(0);
}

function randomCrop(shape: readonly [number, number, number, number], seed: number): Volume {
  const n = shape.reduce((a, b) => a * b, 1);
  let state = seed;
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    data[i] = state / 2 ** 32 - 0.5;
  }
  return { data, shape };
}

describe('mimMultiLevel', () => {
  it('default geometry: 192³ crop, 2×2×2 octants of 96³, 1 + 4 + 16 volumes, 16³ level-3 tokens', () => {
    const s = mimMultiLevel(1);
    expect(s.options.cropSize).toEqual([192, 192, 192]);
    expect(s.aligned).toBe(true);
    expect(s.levels.map((l) => l.count)).toEqual([1, 4, 16]);
    expect(s.levels.map((l) => l.nativeSize[0])).toEqual([192, 96, 16]);
    // round(0.6 · 8) = 5 masked octants = 5 · 27 masked tokens; levels 2, 3 keep int(216·0.4) = 86 tokens.
    expect(s.subVolumeMasked.reduce((a, b) => a + b, 0)).toBe(5);
    expect(s.levels[0].mask.numMasked).toBe(135);
    expect(s.levels[1].mask.numVisible).toBe(86);
    expect(s.levels[2].mask.numVisible).toBe(86);
    for (const tokens of s.levels[1].labelTokens) expect(tokens.length).toBe(27);
    checkGeometry(s);
  });

  it('groups level-1 tokens by spatially correct octants', () => {
    const s = mimMultiLevel(2);
    for (let t = 0; t < 216; t++) {
      const [i, j, k] = cellCoords([6, 6, 6], t);
      expect(s.tokenGroup[t]).toBe((Math.floor(i / 3) * 2 + Math.floor(j / 3)) * 2 + Math.floor(k / 3));
    }
    const chunk = mimMultiLevel(2, { level1Grouping: 'rasterChunk' });
    for (let t = 0; t < 216; t++) expect(chunk.tokenGroup[t]).toBe(Math.floor(t / 27));
    expect(chunk.aligned).toBe(false);
  });

  it('is deterministic per seed and differs across seeds', () => {
    const a = mimMultiLevel(5, tiny);
    const b = mimMultiLevel(5, tiny);
    const c = mimMultiLevel(6, tiny);
    expect(a.levels[2].boxes).toEqual(b.levels[2].boxes);
    expect(a.levels[2].mask.masked).toEqual(b.levels[2].mask.masked);
    expect(a.levels[1].mask.masked).not.toEqual(c.levels[1].mask.masked);
  });

  it.each([1, 2, 3, 4, 5, 6, 7, 8])('next-level regions lie inside masked cells of their parent (seed %i)', (seed) => {
    checkGeometry(mimMultiLevel(seed, tiny));
    checkGeometry(mimMultiLevel(seed, { ...tiny, maskRatio: [0.5, 0.6, 0.5], order: 'sorted' }));
  });

  it('re-cutting the level-1 crop at the labels gives the level-2 and level-3 volumes exactly', () => {
    const crop = randomCrop([2, 96, 96, 96], 17);
    const s = mimMultiLevel(9, tiny, crop);
    const [l1, l2, l3] = s.levels;
    const input: Grid3 = [48, 48, 48];
    const per = 2 * 48 ** 3;
    expectSame(l1.volumes, resizeTrilinear(crop, input).data);
    for (let v = 0; v < l2.count; v++) {
      const coords = cellCoords(s.options.subVolumeGrid, l2.label[v]);
      const recut = cutBox(crop, { start: coords.map((c) => c * 48) as unknown as Grid3, size: [48, 48, 48] });
      expectSame(l2.volumes!.subarray(v * per, (v + 1) * per), recut.data);
    }
    for (let v = 0; v < l3.count; v++) {
      // The label token of x² (before resizing) resized to the input gives x³.
      const parent = {
        data: l2.volumes!.subarray(l3.parent[v] * per, (l3.parent[v] + 1) * per),
        shape: [2, 48, 48, 48] as const,
      };
      const [i, j, k] = cellCoords([6, 6, 6], l3.label[v]);
      const token = cutBox(parent, { start: [i * 8, j * 8, k * 8], size: [8, 8, 8] });
      expectSame(l3.volumes!.subarray(v * per, (v + 1) * per), resizeTrilinear(token, input).data);
    }
  });

  it("accepts Table II's 384×384×192 crop as the approximate mode (token centre decides)", () => {
    const s = mimMultiLevel(4, { subVolumeGrid: [4, 4, 2], gamma: 4 });
    expect(s.options.cropSize).toEqual([384, 384, 192]);
    expect(s.aligned).toBe(false);
    // Along the 4-sub-volume axes the 6 token centres (32, 96, 160, 224, 288, 352 voxels) fall in 0,1,1,2,3,3.
    const groupsAlongX = [0, 1, 2, 3, 4, 5].map((i) => Math.floor(s.tokenGroup[i * 36] / 8));
    expect(groupsAlongX).toEqual([0, 1, 1, 2, 3, 3]);
    checkGeometry(s);
  });

  it('supports L = 2 and L = 1 and refuses impossible settings', () => {
    expect(mimMultiLevel(1, { ...tiny, levels: 2 }).levels.length).toBe(2);
    expect(mimMultiLevel(1, { ...tiny, levels: 1 }).levels.length).toBe(1);
    expect(() => mimMultiLevel(1, { gamma: 6 })).toThrow(/gamma = 6/);
    expect(() => mimMultiLevel(1, { levels: 4 })).toThrow(/level 4 needs/);
    expect(() => mimMultiLevel(1, tiny, randomCrop([1, 90, 96, 96], 1))).toThrow(/level-1 crop has shape/);
  });

  it('batches samples with global parent indices', () => {
    const crops = randomCrop([2, 1 * 96, 96, 96], 3);
    const b = mimMultiLevelBatch(12, 2, tiny, { data: crops.data, shape: [2, 1, 96, 96, 96] });
    expect(b.levels.map((l) => l.count)).toEqual([2, 4, 8]);
    expect([...b.levels[1].parent]).toEqual([0, 0, 1, 1]);
    expect([...b.levels[2].sample]).toEqual([0, 0, 0, 0, 1, 1, 1, 1]);
    for (let v = 0; v < 8; v++) expect(b.levels[1].sample[b.levels[2].parent[v]]).toBe(b.levels[2].sample[v]);
    expect(b.levels[2].volumes!.length).toBe(8 * 48 ** 3);
    expect(b.subVolumeMasked.length).toBe(16);
  });
});
