import { describe, expect, it } from 'vitest';
import { scope } from '../../scope.js';
import { expectAllClose, TOLERANCE } from '../../test/index.js';
import { tensor } from '../creation.js';
import { cumsum } from './cumsum.js';
import { cumsumRef } from './indexing-reference.js';
import { checkOp, randomRef, upload } from './indexing-test-helpers.js';
import { permute } from './views.js';

describe('cumsum', () => {
  it.each([
    { shape: [13], axis: 0, reverse: false, chunk: undefined },
    { shape: [5, 7], axis: 1, reverse: false, chunk: undefined },
    { shape: [5, 7], axis: 0, reverse: true, chunk: undefined },
    { shape: [3, 11, 4], axis: 1, reverse: false, chunk: 3 },
    { shape: [3, 11, 4], axis: -1, reverse: true, chunk: 3 },
    { shape: [2, 37], axis: 1, reverse: true, chunk: 5 },
    { shape: [1, 1], axis: 0, reverse: false, chunk: undefined },
  ])('matches the reference and finite differences: $shape axis $axis reverse $reverse chunk $chunk', async (c) => {
    using _ = scope();
    await checkOp(
      'cumsum',
      [randomRef(c.shape, 51)],
      ([x]) => cumsum(x, c.axis, { reverse: c.reverse, chunk: c.chunk }),
      ([x]) => cumsumRef(x, c.axis, c.reverse),
      { forwardTol: TOLERANCE.reduction },
    );
  });

  it('chunks long rows by default and agrees with the single-pass plan', async () => {
    using _ = scope();
    const x = randomRef([3, 5001], 52);
    const ref = cumsumRef(x, 1);
    const chunked = await cumsum(upload(x), 1).toArray();
    const rows = await cumsum(upload(x), 1, { chunk: 0 }).toArray();
    expectAllClose(chunked, ref.data, TOLERANCE.reduction, 'cumsum chunked');
    expectAllClose(rows, ref.data, TOLERANCE.reduction, 'cumsum rows');
  });

  it('scans a transposed view and integer tensors', async () => {
    using _ = scope();
    const x = randomRef([4, 3], 53);
    const t = permute(upload(x), [1, 0]); // [3, 4]
    const transposed = {
      shape: [3, 4],
      data: Float64Array.from({ length: 12 }, (_, i) => x.data[(i % 4) * 3 + Math.floor(i / 4)]),
    };
    expectAllClose(
      await cumsum(t, 1).toArray(),
      cumsumRef(transposed, 1).data,
      TOLERANCE.reduction,
      'cumsum of a view',
    );
    const ints = cumsum(tensor(new Int32Array([3, -1, 4, 1, -5, 9]), [2, 3]), 1, { chunk: 2 });
    expect(ints.dtype).toBe('i32');
    expect(Array.from(await ints.toArray())).toEqual([3, 2, 6, 1, -4, 5]);
  });

  it('rejects a bad axis', () => {
    using _ = scope();
    expect(() => cumsum(upload(randomRef([2, 3], 1)), 2)).toThrow(
      /cumsum: axis 2 is out of range for a tensor of rank 2/,
    );
  });
});

describe('cumsum of zero-size dims', () => {
  it('returns an empty tensor of the same shape', () => {
    using _ = scope();
    expect(cumsum(upload({ shape: [0, 5], data: new Float64Array(0) }), 1).shape).toEqual([0, 5]);
    expect(cumsum(upload({ shape: [3, 0], data: new Float64Array(0) }), 1).shape).toEqual([3, 0]);
  });
});
