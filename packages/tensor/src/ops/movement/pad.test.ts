import { describe, expect, it } from 'vitest';
import { scope } from '../../scope.js';
import { tensor } from '../creation.js';
import { padRef } from './indexing-reference.js';
import { checkOp, randomRef, upload } from './indexing-test-helpers.js';
import { pad } from './pad.js';
import { permute } from './views.js';

describe('pad', () => {
  it.each([
    { shape: [5], pads: [2, 3], value: 0 },
    { shape: [3, 7], pads: [1, 2], value: 0.5 },
    { shape: [3, 7], pads: [1, 0, 2, 3], value: -1.25 },
    { shape: [2, 3, 5, 4], pads: [0, 1, 1, 0, 2, 2], value: 0 },
    { shape: [4, 9], pads: [-2, 1, 1, -3], value: 3 },
    { shape: [3, 5], pads: [-1, -1, -1, -1], value: 0 },
    { shape: [1, 3], pads: [0, 0, 2, 1], value: 7 },
  ])('matches the reference and finite differences: $shape padded by $pads', async ({ shape, pads, value }) => {
    using _ = scope();
    await checkOp(
      'pad',
      [randomRef(shape, 5)],
      ([x]) => pad(x, pads, value),
      ([x]) => padRef(x, pads, value),
    );
  });

  it('pads a transposed view and integer tensors', async () => {
    using _ = scope();
    const x = randomRef([3, 4], 6);
    const t = permute(upload(x), [1, 0]);
    const transposed = {
      shape: [4, 3],
      data: Float64Array.from({ length: 12 }, (_, i) => x.data[(i % 3) * 4 + Math.floor(i / 3)]),
    };
    expect(Array.from(await pad(t, [1, 1, 0, 2], 9).toArray())).toEqual(
      Array.from(padRef(transposed, [1, 1, 0, 2], 9).data),
    );
    const ints = pad(tensor(new Int32Array([1, -2, 3]), [3]), [1, 2], -7);
    expect(ints.dtype).toBe('i32');
    expect(Array.from(await ints.toArray())).toEqual([-7, 1, -2, 3, -7, -7]);
  });

  it('names the op and the shapes on bad pads', () => {
    using _ = scope();
    const x = upload(randomRef([2, 3], 1));
    expect(() => pad(x, [1])).toThrow(
      /pad: pads \[1\] must be integer \(before, after\) pairs for at most 2 axes of \[2, 3\]/,
    );
    expect(() => pad(x, [1, 1, 1, 1, 1, 1])).toThrow(/pad: pads/);
    expect(() => pad(x, [-2, -2])).toThrow(/pad: pads \[-2, -2\] crop more than \[2, 3\] holds/);
  });
});

describe('pad of zero-size dims', () => {
  it('fills a tensor with an empty axis', async () => {
    using _ = scope();
    const out = pad(upload({ shape: [0, 3], data: new Float64Array(0) }), [1, 0, 1, 1], 2.5);
    expect(out.shape).toEqual([2, 4]);
    expect(Array.from(await out.toArray())).toEqual(new Array(8).fill(2.5));
  });
});
