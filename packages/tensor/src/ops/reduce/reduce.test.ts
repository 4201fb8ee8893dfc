import { describe, expect, it } from 'vitest';
import { ShapeError } from '../../runtime/errors.js';
import { randomArray, TOLERANCE } from '../../test/index.js';
import { tensor } from '../creation.js';
import { type RefArray, refArray } from '../elementwise/reference.js';
import { checkOp, type Layout, makeInput, readF64 } from '../elementwise/test-helpers.js';
import { argmax, argmin, max, mean, min, sum, variance } from './reduce.js';
import {
  argmaxRef,
  argminRef,
  maxGradRef,
  maxRef,
  meanGradRef,
  meanRef,
  minGradRef,
  minRef,
  sumGradRef,
  sumRef,
  varianceGradRef,
  varianceRef,
} from './reference.js';

type Axes = number | number[] | undefined;
type Case = [number[], Layout, Axes, boolean];

const CASES: Case[] = [
  [[7], 'contiguous', undefined, false],
  [[3, 5, 7], 'permuted', [1], true],
  [[3, 5, 7], 'contiguous', [0, 2], false],
  [[4, 6, 5], 'sliced', -1, true],
  [[2, 3, 4], 'expanded', [0], false],
  [[5, 8], 'offset4', [1], false],
  [[3, 3], 'offset3', [0], true],
  [[1, 1, 1], 'contiguous', undefined, true],
  [[0, 3], 'contiguous', [1], false],
  [[37, 101], 'contiguous', [1], false],
  [[5, 67, 2], 'permuted', [0, 1], false],
];

const LONG: Case[] = [
  [[3, 20011], 'contiguous', [1], false],
  [[33001, 33], 'contiguous', [1], false],
];

interface ReduceOp {
  run: (x: ReturnType<typeof makeInput>['view'], axes: Axes, keepdim: boolean) => ReturnType<typeof sum>;
  ref: (x: RefArray, axes: Axes, keepdim: boolean) => RefArray;
  grad: (x: RefArray, axes: Axes, g: RefArray) => RefArray;
}

const OPS: Record<string, ReduceOp> = {
  sum: { run: sum, ref: sumRef, grad: sumGradRef },
  mean: { run: mean, ref: meanRef, grad: meanGradRef },
  max: { run: max, ref: maxRef, grad: maxGradRef },
  min: { run: min, ref: minRef, grad: minGradRef },
  variance: {
    run: (x, axes, keepdim) => variance(x, axes, { keepdim }),
    ref: (x, axes, keepdim) => varianceRef(x, axes, { keepdim }),
    grad: (x, axes, g) => varianceGradRef(x, axes, g),
  },
  'variance (biased)': {
    run: (x, axes, keepdim) => variance(x, axes, { keepdim, correction: 0 }),
    ref: (x, axes, keepdim) => varianceRef(x, axes, { keepdim, correction: 0 }),
    grad: (x, axes, g) => varianceGradRef(x, axes, g, 0),
  },
};

describe.each(Object.keys(OPS))('%s', (name) => {
  const op = OPS[name];
  // Only sum is defined over an empty reduced axis (mean/var give NaN, max/min throw).
  // Unbiased variance of one element is 0/0 (NaN, as in torch).
  const cases = CASES.filter(
    ([shape, , axes]) =>
      (name === 'sum' || !emptyReduction(shape, axes)) && !(name === 'variance' && reducedCount(shape, axes) === 1),
  );
  it.each(cases)('shape %j %s axes %j keepdim %s', async (shape, layout, axes, keepdim) => {
    await checkOp({
      name,
      inputs: [makeInput(shape, layout, 17, { requiresGrad: true })],
      run: ([x]) => op.run(x, axes, keepdim),
      ref: ([x]) => op.ref(x, axes, keepdim),
      grad: ([x], g) => [op.grad(x, axes, g)],
      tolerance: TOLERANCE.reduction,
    });
  });
});

describe.each(['sum', 'max', 'mean'])('%s of long rows (tree and two-pass kernels)', (name) => {
  const op = OPS[name];
  it.each(LONG)('shape %j', async (shape, layout, axes, keepdim) => {
    await checkOp({
      name,
      inputs: [makeInput(shape, layout, 23)],
      run: ([x]) => op.run(x, axes, keepdim),
      ref: ([x]) => op.ref(x, axes, keepdim),
      tolerance: TOLERANCE.reduction,
    });
  });
});

function reducedCount(shape: number[], axes: Axes): number {
  const list = axes === undefined ? shape.map((_, i) => i) : typeof axes === 'number' ? [axes] : axes;
  return list.reduce((p, a) => p * shape[a < 0 ? a + shape.length : a], 1);
}

function emptyReduction(shape: number[], axes: Axes): boolean {
  return reducedCount(shape, axes) === 0;
}

describe.each([
  ['argmax', argmax, argmaxRef],
  ['argmin', argmin, argminRef],
] as const)('%s', (name, run, ref) => {
  it.each([
    [[7], 'contiguous', undefined, false],
    [[3, 5, 7], 'permuted', 1, true],
    [[4, 6, 5], 'sliced', -1, false],
    [[5, 8], 'offset4', 0, false],
    [[6, 300], 'contiguous', 1, false],
    [[2, 3, 4], 'expanded', undefined, false],
  ] as [number[], Layout, number | undefined, boolean][])(
    'shape %j %s axis %s keepdim %s',
    async (shape, layout, axis, keepdim) => {
      const x = makeInput(shape, layout, 29);
      const y = run(x.view, axis, keepdim);
      const want = ref(x.ref, axis, keepdim);
      expect(y.dtype).toBe('i32');
      expect(y.shape).toEqual(want.shape);
      expect([...(await y.toArray())]).toEqual([...want.data]);
      for (const t of [x.leaf, x.view, y]) t.dispose();
    },
  );

  it('returns the first index on ties (short and long rows) and on all-infinite rows', async () => {
    for (const length of [9, 200]) {
      // Few distinct values: many ties of the extreme.
      const values = Float32Array.from(randomArray(3 * length, 31, 0, 3), Math.floor);
      values[length + 5] = name === 'argmax' ? -Infinity : Infinity;
      const extreme = name === 'argmax' ? -Infinity : Infinity;
      for (let j = 0; j < length; j++) values[2 * length + j] = extreme;
      const x = tensor(values, [3, length]);
      const y = run(x, 1);
      const want = ref(refArray(values, [3, length]), 1);
      expect([...(await y.toArray())]).toEqual([...want.data]);
      expect((await y.toArray())[2]).toBe(0);
      x.dispose();
      y.dispose();
    }
  });
});

describe('NaN propagation', () => {
  it.each([9, 150, 20000])(
    'max/min/sum of a row of length %i containing NaN are NaN; argmax points at the first NaN',
    async (length) => {
      const values = randomArray(2 * length, 37);
      values[length + Math.floor(length / 2)] = Number.NaN;
      values[length + length - 1] = Number.NaN;
      const x = tensor(values, [2, length]);
      const outs = [max(x, 1), min(x, 1), sum(x, 1), argmax(x, 1), argmin(x, 1)];
      const [mx, mn, sm, am, an] = await Promise.all(outs.map((t) => t.toArray()));
      for (const r of [mx, mn, sm]) {
        expect(Number.isNaN(r[0])).toBe(false);
        expect(Number.isNaN(r[1])).toBe(true);
      }
      expect(am[1]).toBe(Math.floor(length / 2));
      expect(an[1]).toBe(Math.floor(length / 2));
      for (const t of [x, ...outs]) t.dispose();
    },
  );
});

describe('integer reductions', () => {
  it.each(['i32', 'u32'] as const)('%s sum / max / min / argmax over axes', async (dtype) => {
    const low = dtype === 'i32' ? -1000 : 0;
    const raw = randomArray(4 * 5 * 70, 41, low, 1000);
    const data = dtype === 'i32' ? Int32Array.from(raw, Math.trunc) : Uint32Array.from(raw, Math.trunc);
    const r = refArray(data, [4, 5, 70]);
    const x = tensor(data, [4, 5, 70]);
    const checks: [ReturnType<typeof sum>, RefArray][] = [
      [sum(x, [0, 2]), sumRef(r, [0, 2])],
      [sum(x), sumRef(r)],
      [max(x, 2), maxRef(r, 2)],
      [min(x, [0, 1], true), minRef(r, [0, 1], true)],
      [argmax(x, 2), argmaxRef(r, 2)],
      [argmin(x, 0), argminRef(r, 0)],
    ];
    for (const [got, want] of checks) {
      expect(got.shape).toEqual(want.shape);
      expect([...(await got.toArray())]).toEqual([...want.data]);
      got.dispose();
    }
    x.dispose();
  });
});

describe('reduction gradients with ties', () => {
  it('max shares the gradient evenly between tied maxima', async () => {
    const x = tensor([1, 3, 3, 2, 5, 5, 5, 0], [2, 4], { requiresGrad: true });
    const y = max(x, 1);
    y.backward(tensor([1, 3]));
    const want = maxGradRef(refArray([1, 3, 3, 2, 5, 5, 5, 0], [2, 4]), 1, refArray([1, 3], [2]));
    expect([...(await readF64(x.grad!))]).toEqual([...want.data]);
    x.dispose();
    y.dispose();
  });
});

describe('reduction errors', () => {
  it('bad axes and empty max throw errors naming the op and the shape', () => {
    const x = tensor(randomArray(6, 1), [2, 3]);
    expect(() => sum(x, 2)).toThrow(ShapeError);
    expect(() => sum(x, 2)).toThrow(/sum.*axis 2.*rank 2/);
    expect(() => mean(x, [-3])).toThrow(/mean/);
    expect(() => argmax(x, 5)).toThrow(/argmax/);
    const empty = tensor(new Float32Array(0), [2, 0]);
    expect(() => max(empty, 1)).toThrow(/max.*\[2, 0\]/);
    x.dispose();
    empty.dispose();
  });

  it('mean and variance of integers name the op', () => {
    const x = tensor(Int32Array.from([1, 2]), [2]);
    expect(() => mean(x)).toThrow(/mean.*i32/);
    expect(() => variance(x)).toThrow(/var.*i32/);
    x.dispose();
  });
});
