import { describe, expect, it } from 'vitest';
import { scope } from '../../scope.js';
import { seededRandom } from '../../test/index.js';
import { tensor } from '../creation.js';
import { oneHotRef } from './indexing-reference.js';
import { oneHot } from './one-hot.js';
import { permute } from './views.js';

describe('oneHot', () => {
  it.each([
    { shape: [7], classes: 5 },
    { shape: [3, 11], classes: 13 },
    { shape: [2, 1, 3], classes: 1 },
  ])('matches the reference: indices $shape, $classes classes', async ({ shape, classes }) => {
    using _ = scope();
    const rand = seededRandom(61);
    const data = Int32Array.from({ length: shape.reduce((p, d) => p * d, 1) }, () => Math.floor(rand() * classes));
    const out = oneHot(tensor(data, shape), classes);
    const ref = oneHotRef({ shape, data }, classes);
    expect(out.shape).toEqual(ref.shape);
    expect(out.dtype).toBe('f32');
    expect(Array.from(await out.toArray())).toEqual(Array.from(ref.data));
  });

  it('reads strided indices, gives zero rows out of range, other dtypes', async () => {
    using _ = scope();
    const idx = permute(tensor(new Int32Array([0, 4, 2, -1, 1, 3]), [2, 3]), [1, 0]); // [[0, -1], [4, 1], [2, 3]]
    const out = await oneHot(idx, 4, 'i32').toArray();
    const ref = oneHotRef({ shape: [3, 2], data: [0, -1, 4, 1, 2, 3] }, 4);
    expect(Array.from(out)).toEqual(Array.from(ref.data));
    expect(Array.from(out.slice(4, 12))).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('names the op on bad input', () => {
    using _ = scope();
    expect(() => oneHot(tensor(new Float32Array([1]), [1]), 3)).toThrow(/oneHot: indices must be i32/);
    expect(() => oneHot(tensor(new Int32Array([1]), [1]), -2)).toThrow(
      /oneHot: numClasses must be a non-negative integer/,
    );
  });
});
