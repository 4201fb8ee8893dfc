import { describe, expect, it } from 'vitest';
import { scope } from '../../scope.js';
import { tensor } from '../creation.js';
import { concat } from './concat.js';
import { concatRef, stackRef } from './indexing-reference.js';
import { checkOp, randomRef, upload } from './indexing-test-helpers.js';
import { stack } from './stack.js';
import { permute, slice } from './views.js';

describe('concat', () => {
  it.each([
    {
      shapes: [
        [3, 5],
        [4, 5],
        [1, 5],
      ],
      axis: 0,
    },
    {
      shapes: [
        [2, 3, 7],
        [2, 1, 7],
        [2, 5, 7],
      ],
      axis: 1,
    },
    {
      shapes: [
        [2, 3, 7],
        [2, 3, 2],
      ],
      axis: -1,
    },
    { shapes: [[5], [0], [3]], axis: 0 },
    { shapes: [[3, 1, 2]], axis: 1 },
  ])('matches the reference and finite differences: $shapes on axis $axis', async ({ shapes, axis }) => {
    using _ = scope();
    const inputs = shapes.map((s, k) => randomRef(s, 10 + k));
    await checkOp(
      'concat',
      inputs,
      (xs) => concat(xs, axis),
      (xs) => concatRef(xs, axis),
    );
  });

  it('reads non-contiguous views', async () => {
    using _ = scope();
    const a = randomRef([4, 6], 1);
    const b = randomRef([6, 3], 2);
    const ta = upload(a);
    const tb = upload(b);
    const at = permute(ta, [1, 0]); // [6, 4]
    const bs = slice(tb, [
      { start: 0, end: 6, step: 1 },
      { start: 1, end: 3 },
    ]); // [6, 2]
    const out = concat([at, bs], 1);
    const ref = concatRef(
      [
        { shape: [6, 4], data: Float64Array.from({ length: 24 }, (_, i) => a.data[(i % 4) * 6 + Math.floor(i / 4)]) },
        {
          shape: [6, 2],
          data: Float64Array.from({ length: 12 }, (_, i) => b.data[Math.floor(i / 2) * 3 + 1 + (i % 2)]),
        },
      ],
      1,
    );
    expect(Array.from(await out.toArray())).toEqual(Array.from(ref.data));
  });

  it('concatenates i32 tensors', async () => {
    using _ = scope();
    const out = concat([tensor(new Int32Array([1, 2, 3]), [3]), tensor(new Int32Array([-4, 5]), [2])], 0);
    expect(out.dtype).toBe('i32');
    expect(Array.from(await out.toArray())).toEqual([1, 2, 3, -4, 5]);
  });

  it('names the op and the shapes on bad input', () => {
    using _ = scope();
    const a = upload(randomRef([2, 3], 1));
    const b = upload(randomRef([3, 4], 2));
    expect(() => concat([a, b], 0)).toThrow(/concat: shapes \[2, 3\], \[3, 4\] must match on every axis except 0/);
    expect(() => concat([a, a], 2)).toThrow(/concat: axis 2 is out of range/);
    expect(() => concat([a, tensor(new Int32Array(6), [2, 3])], 0)).toThrow(/concat: tensor 1 has dtype i32/);
    expect(() => concat([], 0)).toThrow(/concat: needs at least one tensor/);
  });
});

describe('stack', () => {
  it.each([
    { shape: [3, 5], count: 3, axis: 0 },
    { shape: [3, 5], count: 2, axis: 1 },
    { shape: [2, 3, 7], count: 4, axis: -1 },
    { shape: [7], count: 1, axis: 0 },
  ])('matches the reference and finite differences: $count × $shape on axis $axis', async ({ shape, count, axis }) => {
    using _ = scope();
    const inputs = Array.from({ length: count }, (_, k) => randomRef(shape, 20 + k));
    await checkOp(
      'stack',
      inputs,
      (xs) => stack(xs, axis),
      (xs) => stackRef(xs, axis),
    );
  });

  it('rejects tensors of different shapes', () => {
    using _ = scope();
    expect(() => stack([upload(randomRef([2, 3], 1)), upload(randomRef([3, 2], 2))])).toThrow(
      /stack: every tensor needs the same shape; tensor 1 is \[3, 2\], tensor 0 is \[2, 3\]/,
    );
  });
});
