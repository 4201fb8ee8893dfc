import { describe, expect, it } from 'vitest';
import { DTypeError, ShapeError } from '../../runtime/errors.js';
import type { Tensor } from '../../tensor.js';
import { randomArray } from '../../test/index.js';
import { tensor } from '../creation.js';
import { add, cast, clamp, div, eq, ge, gt, le, lt, maximum, minimum, mul, ne, pow, sub, where } from './binary.js';
import {
  type BinaryOpName,
  binaryGradRef,
  binaryRef,
  type CompareOpName,
  clampGradRef,
  clampRef,
  compareRef,
  refArray,
  whereGradRef,
  whereRef,
} from './reference.js';
import { checkOp, type Layout, makeInput, readF64 } from './test-helpers.js';

const BINARY = { add, sub, mul, div, pow, minimum, maximum } as const;
const COMPARE = { eq, ne, lt, le, gt, ge } as const;

type Case = [number[], Layout, number[], Layout];
const CASES: Case[] = [
  [[7], 'contiguous', [7], 'contiguous'],
  [[3, 1, 5], 'contiguous', [4, 1], 'contiguous'],
  [[2, 3, 4], 'permuted', [2, 3, 4], 'sliced'],
  [[5, 8], 'offset4', [8], 'contiguous'],
  [[5, 8], 'offset4', [5, 8], 'contiguous'],
  [[5, 8], 'offset4', [], 'contiguous'],
  [[1], 'contiguous', [3, 3], 'offset3'],
  [[4, 1, 6], 'expanded', [1, 5, 1], 'contiguous'],
  [[2, 0, 3], 'contiguous', [3], 'contiguous'],
  [[1, 1], 'contiguous', [1], 'contiguous'],
  [[61, 67], 'contiguous', [67], 'sliced'],
];

/** Input ranges that keep each op away from its singularities. */
function ranges(op: BinaryOpName): [{ low: number; high: number }, { low: number; high: number }] {
  if (op === 'div')
    return [
      { low: -2, high: 2 },
      { low: 0.5, high: 2.5 },
    ];
  if (op === 'pow')
    return [
      { low: 0.3, high: 2 },
      { low: -2, high: 2 },
    ];
  return [
    { low: -2, high: 2 },
    { low: -2, high: 2 },
  ];
}

describe.each(Object.keys(BINARY) as BinaryOpName[])('%s', (op) => {
  const [ra, rb] = ranges(op);
  it.each(CASES)('%j %s with %j %s: forward and gradients', async (shapeA, layoutA, shapeB, layoutB) => {
    await checkOp({
      name: op,
      inputs: [
        makeInput(shapeA, layoutA, 3, { ...ra, requiresGrad: true }),
        makeInput(shapeB, layoutB, 4, { ...rb, requiresGrad: true }),
      ],
      run: ([a, b]) => BINARY[op](a, b),
      ref: ([a, b]) => binaryRef(op, a, b),
      grad: ([a, b], g) => binaryGradRef(op, a, b, g),
    });
  });

  it('with a number operand on either side (uniform scalar) and only one input requiring grad', async () => {
    const scalar = op === 'div' ? 1.75 : op === 'pow' ? 1.5 : -0.75;
    const s = refArray([scalar], []);
    await checkOp({
      name: `${op}(x, ${scalar})`,
      inputs: [makeInput([3, 7], 'permuted', 9, { ...ra, requiresGrad: true })],
      run: ([x]) => BINARY[op](x, scalar),
      ref: ([x]) => binaryRef(op, x, s),
      grad: ([x], g) => [binaryGradRef(op, x, s, g)[0]],
    });
    const left = op === 'pow' ? 1.5 : scalar;
    const l = refArray([left], []);
    await checkOp({
      name: `${op}(${left}, x)`,
      inputs: [makeInput([9], 'contiguous', 10, { ...rb, requiresGrad: true })],
      run: ([x]) => BINARY[op](left, x),
      ref: ([x]) => binaryRef(op, l, x),
      grad: ([x], g) => [binaryGradRef(op, l, x, g)[1]],
    });
  });

  it('only the input that requires grad gets a gradient', async () => {
    const a = makeInput([4, 5], 'contiguous', 21, { ...ra, requiresGrad: true });
    const b = makeInput([5], 'contiguous', 22, rb);
    await checkOp({
      name: op,
      inputs: [a, b],
      run: ([x, y]) => BINARY[op](x, y),
      ref: ([x, y]) => binaryRef(op, x, y),
      grad: ([x, y], g) => [binaryGradRef(op, x, y, g)[0], null],
    });
    expect(b.leaf.grad).toBeNull();
  });
});

describe('binary: special values', () => {
  it('pow allows negative bases with integer exponents and gives NaN otherwise', async () => {
    const a = tensor([-2, -2, -3, 0, 4, -1.5]);
    const b = tensor([2, 3, 0.5, 0, 0.5, -2]);
    const y = pow(a, b);
    const got = await y.toArray();
    expect(got[0]).toBeCloseTo(4, 5);
    expect(got[1]).toBeCloseTo(-8, 5);
    expect(Number.isNaN(got[2])).toBe(true);
    expect(got[3]).toBe(1);
    expect(got[4]).toBeCloseTo(2, 5);
    expect(got[5]).toBeCloseTo(1 / 2.25, 5);
    for (const t of [a, b, y]) t.dispose();
  });

  it('minimum and maximum split the gradient evenly on ties and propagate NaN', async () => {
    const a = tensor([1, 2, 3, Number.NaN], [4], { requiresGrad: true });
    const b = tensor([1, 5, 3, 0], [4], { requiresGrad: true });
    const y = maximum(a, b);
    const got = await y.toArray();
    expect([...got.slice(0, 3)]).toEqual([1, 5, 3]);
    expect(Number.isNaN(got[3])).toBe(true);
    const m = minimum(b, a);
    expect(Number.isNaN((await m.toArray())[3])).toBe(true);
    const part = mul(y, tensor([1, 1, 1, 0]));
    const loss = add(part, 0);
    loss.backward(tensor([1, 1, 1, 1]));
    expect([...(await a.grad!.toArray())].slice(0, 3)).toEqual([0.5, 0, 0.5]);
    expect([...(await b.grad!.toArray())].slice(0, 3)).toEqual([0.5, 1, 0.5]);
    for (const t of [a, b, y, m, part, loss]) t.dispose();
  });
});

describe('comparisons', () => {
  const cases: [number[], Layout, number[], Layout][] = [
    [[13], 'contiguous', [13], 'contiguous'],
    [[3, 4, 5], 'permuted', [4, 1], 'contiguous'],
    [[6, 8], 'offset4', [], 'contiguous'],
  ];
  it.each(Object.keys(COMPARE) as CompareOpName[])('%s on f32 with ties, broadcasting and views', async (op) => {
    for (const [sa, la, sb, lb] of cases) {
      // Values in {-2 … 2} so ties are common.
      const a = makeInput(sa, la, 31, { low: -2.5, high: 2.5 });
      const b = makeInput(sb, lb, 32, { low: -2.5, high: 2.5 });
      const ra = { shape: a.ref.shape, data: a.ref.data.map(Math.round) };
      const rb = { shape: b.ref.shape, data: b.ref.data.map(Math.round) };
      const ta = tensor(Float32Array.from(ra.data), ra.shape);
      const tb = tensor(Float32Array.from(rb.data), rb.shape);
      const y = COMPARE[op](ta, tb);
      expect(y.dtype).toBe('u32');
      const want = compareRef(op, ra, rb);
      expect(y.shape).toEqual(want.shape);
      expect([...(await y.toArray())]).toEqual([...want.data]);
      for (const t of [a.leaf, a.view, b.leaf, b.view, ta, tb, y]) t.dispose();
    }
  });

  it.each(['i32', 'u32'] as const)('%s comparisons, also against a number', async (dtype) => {
    const values = [0, 3, 7, 3, 1, 9, 2];
    const Typed = dtype === 'i32' ? Int32Array : Uint32Array;
    const a = tensor(Typed.from(values), [7]);
    const b = tensor(Typed.from([3]), [1]);
    for (const op of Object.keys(COMPARE) as CompareOpName[]) {
      const y = COMPARE[op](a, b);
      const z = COMPARE[op](a, 3);
      const want = compareRef(op, refArray(values, [7]), refArray([3], [1]));
      expect([...(await y.toArray())]).toEqual([...want.data]);
      expect([...(await z.toArray())]).toEqual([...want.data]);
      y.dispose();
      z.dispose();
    }
    a.dispose();
    b.dispose();
  });
});

describe('integer arithmetic', () => {
  it('i32 add/sub/mul/minimum/maximum with broadcasting and negative values', async () => {
    const av = Int32Array.from(randomArray(12, 41, -1000, 1000), Math.trunc);
    const bv = Int32Array.from(randomArray(4, 42, -1000, 1000), Math.trunc);
    const a = tensor(av, [3, 4]);
    const b = tensor(bv, [4]);
    const ops = { add, sub, mul, minimum, maximum } as const;
    for (const op of Object.keys(ops) as (keyof typeof ops)[]) {
      const y = ops[op](a, b);
      expect(y.dtype).toBe('i32');
      const want = binaryRef(op, refArray(av, [3, 4]), refArray(bv, [4]));
      expect([...(await y.toArray())]).toEqual([...want.data]);
      y.dispose();
    }
    const plus = add(a, 5);
    expect([...(await plus.toArray())]).toEqual([...av].map((v) => v + 5));
    for (const t of [a, b, plus]) t.dispose();
  });

  it('u32 add and mul (vec4 path) and integer clamp with one bound', async () => {
    const av = Uint32Array.from({ length: 9 }, (_, i) => i * 7 + 1);
    const a = tensor(av, [9]);
    const y = add(a, a);
    const z = mul(a, 3);
    expect([...(await y.toArray())]).toEqual([...av].map((v) => 2 * v));
    expect([...(await z.toArray())]).toEqual([...av].map((v) => 3 * v));
    const c = clamp(a, undefined, 20);
    const d = clamp(a, 10);
    expect([...(await c.toArray())]).toEqual([...av].map((v) => Math.min(v, 20)));
    expect([...(await d.toArray())]).toEqual([...av].map((v) => Math.max(v, 10)));
    const i = tensor(Int32Array.from([-50, -3, 0, 4, 90]), [5]);
    const e = clamp(i, -5);
    expect([...(await e.toArray())]).toEqual([-5, -3, 0, 4, 90]);
    for (const t of [a, y, z, c, d, i, e]) t.dispose();
  });
});

describe('where and clamp', () => {
  it.each([
    [
      [3, 4, 5],
      [4, 5],
      [3, 1, 5],
    ],
    [[7], [7], []],
    [
      [2, 1],
      [2, 6],
      [1, 6],
    ],
  ])('where(cond %j, a %j, b %j) forward and gradients', async (sc, sa, sb) => {
    const condValues = randomArray(
      sc.reduce((p, d) => p * d, 1),
      51,
    ).map((v) => (v > 0 ? 1 : 0));
    const condRef = refArray(condValues, sc);
    const cond = tensor(Uint32Array.from(condValues), sc);
    await checkOp({
      name: 'where',
      inputs: [
        makeInput(sa, 'contiguous', 52, { requiresGrad: true }),
        makeInput(sb, 'contiguous', 53, { requiresGrad: true }),
      ],
      run: ([a, b]) => where(cond, a, b),
      ref: ([a, b]) => whereRef(condRef, a, b),
      grad: ([a, b], g) => whereGradRef(condRef, a, b, g),
    });
    cond.dispose();
  });

  it('where with number branches and an i32 condition', async () => {
    const cond = tensor(Int32Array.from([0, 5, -1, 0]), [4]);
    const y = where(cond, 1, -2);
    expect([...(await y.toArray())]).toEqual([-2, 1, 1, -2]);
    cond.dispose();
    y.dispose();
  });

  it.each([
    [[5, 7], 'permuted', -0.5, 0.75],
    [[33], 'offset4', -0.25, undefined],
    [[4, 6], 'sliced', undefined, 0.1],
  ] as [number[], Layout, number | undefined, number | undefined][])(
    'clamp %j %s to [%s, %s]',
    async (shape, layout, lo, hi) => {
      await checkOp({
        name: 'clamp',
        inputs: [makeInput(shape, layout, 61, { requiresGrad: true })],
        run: ([x]) => clamp(x, lo, hi),
        ref: ([x]) => clampRef(x, lo, hi),
        grad: ([x], g) => [clampGradRef(x, g, lo, hi)],
        // The gradient jumps at the bounds, where finite differences are meaningless.
        finiteDifferences: false,
      });
    },
  );

  it('cast f32 → i32 truncates, i32 → f32 is exact and the gradient passes through a cast to f32', async () => {
    const x = tensor([-2.7, -0.5, 0.5, 3.9]);
    const i = cast(x, 'i32');
    expect([...(await i.toArray())]).toEqual([-2, 0, 0, 3]);
    const back = cast(i, 'f32');
    expect([...(await back.toArray())]).toEqual([-2, 0, 0, 3]);
    const w = tensor([1, 2, 3], [3], { requiresGrad: true });
    const same = cast(w, 'f32');
    const y = mul(same, same);
    y.backward(tensor([1, 1, 1]));
    expect([...(await w.grad!.toArray())]).toEqual([2, 4, 6]);
    for (const t of [x, i, back, w, same, y]) t.dispose();
  });
});

describe('binary errors', () => {
  const live: Tensor[] = [];
  const make = (shape: number[], dtype: 'f32' | 'i32' = 'f32') => {
    const n = shape.reduce((p, d) => p * d, 1);
    const t = dtype === 'f32' ? tensor(randomArray(n, 1), shape) : tensor(new Int32Array(n).fill(1), shape);
    live.push(t);
    return t;
  };

  it('shapes that do not broadcast: ShapeError naming the op and both shapes', () => {
    expect(() => add(make([2, 3]), make([4]))).toThrow(ShapeError);
    expect(() => mul(make([2, 3]), make([3, 2]))).toThrow(/mul.*\[2, 3\].*\[3, 2\]/);
    expect(() => where(tensor(Uint32Array.from([1, 0]), [2]), make([3]), 0)).toThrow(/where/);
  });

  it('mixed dtypes: DTypeError naming the op, dtypes and shapes', () => {
    expect(() => add(make([2]), make([2], 'i32'))).toThrow(DTypeError);
    expect(() => add(make([2]), make([2], 'i32'))).toThrow(/add.*f32 \[2\].*i32 \[2\]/);
    expect(() => pow(make([2], 'i32'), 2)).toThrow(/pow.*i32/);
    expect(() => where(make([2]), 1, 0)).toThrow(/where.*mask/);
  });

  it('two numbers: a clear error instead of a crash', () => {
    expect(() => add(1, 2)).toThrow(/add.*tensor/);
    for (const t of live.splice(0)) t.dispose();
  });
});

it('readF64 of a broadcast result matches a CPU loop (sanity of the harness)', async () => {
  const a = tensor([1, 2, 3], [3, 1]);
  const b = tensor([10, 20], [2]);
  const y = add(a, b);
  expect([...(await readF64(y))]).toEqual([11, 21, 12, 22, 13, 23]);
  for (const t of [a, b, y]) t.dispose();
});
