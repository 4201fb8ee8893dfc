import { describe, expect, it } from 'vitest';
import { ShapeError } from '../../runtime/errors.js';
import { randomArray } from '../../test/index.js';
import { tensor } from '../creation.js';
import { mul } from '../elementwise/binary.js';
import { mulRef, type RefArray, refArray } from '../elementwise/reference.js';
import { checkOp, type Layout, makeInput, readF64 } from '../elementwise/test-helpers.js';
import { exp } from '../elementwise/unary.js';
import { sum } from '../reduce/reduce.js';
import { contiguous, copy } from './copy.js';
import {
  expand,
  flatten,
  narrow,
  permute,
  reshape,
  type SliceRange,
  slice,
  squeeze,
  transpose,
  unsqueeze,
} from './views.js';
import {
  expandGradRef,
  expandRef,
  permuteGradRef,
  permuteRef,
  reshapeRef,
  sliceGradRef,
  sliceRef,
} from './views-reference.js';

const reshapeBack = (x: RefArray) => (g: RefArray) => ({ shape: [...x.shape], data: g.data });

describe('reshape', () => {
  it.each([
    [[3, 4, 5], 'permuted', [3, 20]],
    [[3, 4, 5], 'permuted', [3, 2, 2, 5]],
    [[3, 4, 5], 'permuted', [-1]],
    [[4, 6], 'sliced', [2, 2, 6]],
    [[4, 6], 'sliced', [24]],
    [[2, 3, 4], 'expanded', [6, 4]],
    [[2, 3, 4], 'expanded', [2, 12]],
    [[5, 8], 'offset4', [8, 5]],
    [[3, 3], 'offset3', [9, 1]],
    [[2, 0, 3], 'contiguous', [0, 6]],
    [[1, 1], 'contiguous', []],
    [[6, 1, 5], 'permuted', [30]],
  ] as [number[], Layout, number[]][])('%j %s → %j (view or copy) and its gradient', async (shape, layout, target) => {
    await checkOp({
      name: 'reshape',
      inputs: [makeInput(shape, layout, 3, { requiresGrad: true })],
      run: ([x]) => reshape(x, target),
      ref: ([x]) => reshapeRef(x, target),
      grad: ([x], g) => [reshapeBack(x)(g)],
    });
  });

  it('stays a view (no copy) when strides allow: splitting a permuted axis, merging a contiguous run', () => {
    const base = tensor(randomArray(60, 1), [5, 4, 3]);
    const p = permute(base, [2, 1, 0]); // [3, 4, 5], strides [1, 3, 12]
    const split = reshape(p, [3, 2, 2, 5]);
    expect(split.strides).toEqual([1, 6, 3, 12]);
    const sliced = slice(base, [null, null, { start: 1, end: 2 }]); // [5, 4, 1], strides [12, 3, 1], offset 1
    const merged = reshape(sliced, [20]);
    expect(merged.strides).toEqual([3]);
    expect(merged.offset).toBe(1);
    for (const t of [base, p, split, sliced, merged]) t.dispose();
  });

  it('flatten, squeeze, unsqueeze and transpose are reshapes / permutes with the right shapes and values', async () => {
    const values = randomArray(2 * 3 * 4, 5);
    const r = refArray(values, [2, 1, 3, 4]);
    const x = tensor(values, [2, 1, 3, 4]);
    const f = flatten(x, 2);
    const s = squeeze(x);
    const s1 = squeeze(x, 1);
    const u = unsqueeze(s, -1);
    const t = transpose(s);
    expect(f.shape).toEqual([2, 1, 12]);
    expect(s.shape).toEqual([2, 3, 4]);
    expect(s1.shape).toEqual([2, 3, 4]);
    expect(u.shape).toEqual([2, 3, 4, 1]);
    expect(t.shape).toEqual([2, 4, 3]);
    expect([...(await readF64(t))]).toEqual([...permuteRef(reshapeRef(r, [2, 3, 4]), [0, 2, 1]).data]);
    expect([...(await readF64(u))]).toEqual([...r.data]);
    for (const v of [x, f, s, s1, u, t]) v.dispose();
  });

  it('incompatible sizes throw a ShapeError naming reshape and both shapes', () => {
    const x = tensor(randomArray(12, 1), [3, 4]);
    expect(() => reshape(x, [5, 3])).toThrow(ShapeError);
    expect(() => reshape(x, [5, 3])).toThrow(/reshape.*\[3, 4\].*\[5, 3\]/);
    expect(() => reshape(x, [-1, 5])).toThrow(/reshape.*\[3, 4\]/);
    expect(() => reshape(x, [-1, -1])).toThrow(/reshape/);
    expect(() => squeeze(x, 0)).toThrow(/squeeze.*\[3, 4\]/);
    expect(() => permute(x, [0, 0])).toThrow(/permute/);
    expect(() => permute(x, [0, 2])).toThrow(/permute.*axis 2/);
    expect(() => transpose(x, 0, 3)).toThrow(/transpose/);
    expect(() => expand(x, [3, 5])).toThrow(/expand.*\[3, 4\].*\[3, 5\]/);
    expect(() => expand(x, [-1, 3, 4])).toThrow(/expand/);
    expect(() => narrow(x, 1, 2, 5)).toThrow(/narrow/);
    x.dispose();
  });
});

describe('permute', () => {
  it.each([
    [[2, 3, 4], 'contiguous', [2, 0, 1]],
    [[3, 5, 2, 2], 'sliced', [3, 1, 0, 2]],
    [[4, 6], 'offset4', [1, 0]],
    [[2, 1, 3], 'expanded', [1, 2, 0]],
    [[3, 4, 5], 'permuted', [-1, 0, 1]],
  ] as [number[], Layout, number[]][])('%j %s by %j and its gradient', async (shape, layout, axes) => {
    await checkOp({
      name: 'permute',
      inputs: [makeInput(shape, layout, 7, { requiresGrad: true })],
      run: ([x]) => permute(x, axes),
      ref: ([x]) => permuteRef(x, axes),
      grad: (_, g) => [permuteGradRef(g, axes)],
    });
  });
});

describe('slice', () => {
  it.each([
    [[10], 'contiguous', [{ start: 1, end: 9, step: 3 }]],
    [
      [7, 9],
      'contiguous',
      [
        { start: -5, step: 2 },
        { start: 2, end: 100, step: 4 },
      ],
    ],
    [[6, 5, 4], 'permuted', [null, { start: 4, end: 1 }, { step: 3 }]],
    [
      [5, 8],
      'offset4',
      [
        { start: 1, end: 4 },
        { start: 3, step: 2 },
      ],
    ],
    [[3, 4, 5], 'sliced', [{ step: 2 }, { start: -1 }, { start: 1, end: 4, step: 2 }]],
    [[2, 3, 4], 'expanded', [{ start: 1 }, { step: 2 }]],
    [[4, 0], 'contiguous', [{ start: 1, step: 2 }]],
  ] as [number[], Layout, SliceRange[]][])(
    '%j %s with %j, forward and gradient (scatter)',
    async (shape, layout, ranges) => {
      await checkOp({
        name: 'slice',
        inputs: [makeInput(shape, layout, 9, { requiresGrad: true })],
        run: ([x]) => slice(x, ranges),
        ref: ([x]) => sliceRef(x, ranges),
        grad: ([x], g) => [sliceGradRef(x.shape, ranges, g)],
      });
    },
  );

  it('narrow selects a window and rejects steps that are not positive integers', async () => {
    const values = randomArray(24, 3);
    const x = tensor(values, [4, 6]);
    const n = narrow(x, 1, 2, 3);
    expect([...(await readF64(n))]).toEqual([...sliceRef(refArray(values, [4, 6]), [null, { start: 2, end: 5 }]).data]);
    expect(() => slice(x, [{ step: 0 }])).toThrow(/slice.*step/);
    expect(() => slice(x, [{ step: -1 }])).toThrow(/slice.*step/);
    expect(() => slice(x, [null, null, null])).toThrow(/slice.*rank 2/);
    x.dispose();
    n.dispose();
  });
});

describe('expand', () => {
  it.each([
    [
      [3, 1],
      [2, 3, 4],
    ],
    [[1], [5]],
    [
      [4, 1, 1],
      [4, -1, 6],
    ],
    [[], [3, 2]],
    [
      [2, 1],
      [2, 0],
    ],
  ])('%j → %j and its gradient (sum over the broadcast axes)', async (shape, target) => {
    await checkOp({
      name: 'expand',
      inputs: [makeInput(shape, 'contiguous', 13, { requiresGrad: true })],
      run: ([x]) => exp(expand(x, target)),
      ref: ([x]) => {
        const e = expandRef(x, target);
        return { shape: e.shape, data: e.data.map(Math.exp) };
      },
      grad: ([x], g) => {
        const e = expandRef(x, target);
        return [expandGradRef(x.shape, { shape: g.shape, data: g.data.map((v, i) => v * Math.exp(e.data[i])) })];
      },
    });
  });
});

describe('copy and contiguous', () => {
  it.each([
    ['permuted', [3, 4, 5]],
    ['sliced', [3, 7]],
    ['expanded', [2, 3, 2]],
    ['offset3', [5, 5]],
  ] as [Layout, number[]][])(
    '%s %j: contiguous() copies row-major and passes the gradient through',
    async (layout, shape) => {
      await checkOp({
        name: 'contiguous',
        inputs: [makeInput(shape, layout, 19, { requiresGrad: true })],
        run: ([x]) => {
          const c = contiguous(x);
          expect(c.isContiguous).toBe(true);
          return mul(c, c);
        },
        ref: ([x]) => mulRef(x, x),
        grad: ([x], g) => [{ shape: x.shape, data: x.data.map((v, i) => 2 * v * g.data[i]) }],
      });
    },
  );

  it('contiguous() of a contiguous tensor shares storage; copy() does not', async () => {
    const x = tensor([1, 2, 3, 4], [2, 2]);
    const c = contiguous(x);
    const d = copy(x);
    expect(c.bufferFor('test')).toBe(x.bufferFor('test'));
    expect(d.bufferFor('test')).not.toBe(x.bufferFor('test'));
    expect([...(await d.toArray())]).toEqual([1, 2, 3, 4]);
    for (const t of [x, c, d]) t.dispose();
  });
});

describe('views inside a graph', () => {
  it('slice → permute → reshape → mul → sum back-propagates through every view', async () => {
    const values = randomArray(4 * 6 * 5, 23);
    const x = tensor(values, [4, 6, 5], { requiresGrad: true });
    const ranges = [{ start: 1, step: 2 }, null, { start: 1, end: 4 }];
    const s = slice(x, ranges); // [2, 6, 3]
    const p = permute(s, [2, 0, 1]); // [3, 2, 6]
    const r = reshape(p, [6, 6]);
    const y = mul(r, r);
    const loss = sum(y);
    loss.backward();
    const rx = refArray(values, [4, 6, 5]);
    const rs = sliceRef(rx, ranges);
    const rp = permuteRef(rs, [2, 0, 1]);
    const gr = { shape: [3, 2, 6], data: rp.data.map((v) => 2 * v) };
    const want = sliceGradRef([4, 6, 5], ranges, permuteGradRef(gr, [2, 0, 1]));
    expect([...(await readF64(x.grad!))]).toEqual([...want.data.map((v) => Math.fround(v))]);
    for (const t of [x, s, p, r, y, loss]) t.dispose();
  });
});
