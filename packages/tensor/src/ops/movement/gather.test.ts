import { describe, expect, it } from 'vitest';
import { scope } from '../../scope.js';
import type { Tensor } from '../../tensor.js';
import { expectAllClose, seededRandom } from '../../test/index.js';
import { tensor } from '../creation.js';
import { gather, indexSelect } from './gather.js';
import { gatherRef, indexSelectRef, scatterAddRef } from './indexing-reference.js';
import { checkOp, type RefData, randomRef, size, upload } from './indexing-test-helpers.js';
import { scatterAdd } from './scatter.js';
import { permute } from './views.js';

function randomIndex(shape: number[], high: number, seed: number): Int32Array {
  const rand = seededRandom(seed);
  return Int32Array.from({ length: size(shape) }, () => Math.floor(rand() * high));
}

const indexRef = (shape: number[], data: Int32Array): RefData => ({ shape, data: Float64Array.from(data) });
const indexTensor = (shape: number[], data: Int32Array): Tensor => tensor(data, shape);

describe('gather', () => {
  it.each([
    { x: [5, 7], index: [3, 7], axis: 0 },
    { x: [5, 7], index: [5, 11], axis: 1 },
    { x: [3, 4, 6], index: [2, 5, 3], axis: 1 },
    { x: [3, 4, 6], index: [3, 4, 9], axis: -1 },
    { x: [9], index: [20], axis: 0 },
  ])('matches the reference and finite differences (repeated indices): x $x, index $index, axis $axis', async (c) => {
    using _ = scope();
    const a = c.axis < 0 ? c.axis + c.x.length : c.axis;
    const data = randomIndex(c.index, c.x[a], 3);
    await checkOp(
      'gather',
      [randomRef(c.x, 4)],
      ([x]) => gather(x, c.axis, indexTensor(c.index, data)),
      ([x]) => gatherRef(x, a, indexRef(c.index, data)),
    );
  });

  it('reads strided x and index views; out-of-range indices give NaN', async () => {
    using _ = scope();
    const x = randomRef([4, 6], 8);
    const xt = permute(upload(x), [1, 0]); // [6, 4]
    const idx = permute(tensor(new Int32Array([0, 5, 2, 3, 1, 4, 5, 0]), [2, 4]), [1, 0]); // [4, 2]
    const out = await gather(xt, 0, idx).toArray();
    const idxT = [0, 1, 5, 4, 2, 5, 3, 0];
    const expected = idxT.map((k, i) => x.data[(i % 2) * 6 + k]); // out[i][j] = xt[idx[i][j]][j] = x[j][idx[i][j]]
    expect(Array.from(out)).toEqual(expected);
    const bad = await gather(upload(x), 1, tensor(new Int32Array([0, 6, -1, 5]), [4, 1])).toArray();
    expect(bad[0]).toBe(Math.fround(x.data[0]));
    expect(Number.isNaN(bad[1]) && Number.isNaN(bad[2])).toBe(true);
    expect(bad[3]).toBe(Math.fround(x.data[23]));
  });

  it('names the op and the shapes on bad input', () => {
    using _ = scope();
    const x = upload(randomRef([3, 4], 1));
    expect(() => gather(x, 0, tensor(new Int32Array(5), [5]))).toThrow(
      /gather: index \[5\] must have the rank of x \[3, 4\]/,
    );
    expect(() => gather(x, 0, tensor(new Int32Array(10), [2, 5]))).toThrow(/gather: index \[2, 5\]/);
    expect(() => gather(x, 2, tensor(new Int32Array(4), [2, 2]))).toThrow(/gather: axis 2 is out of range/);
    expect(() => gather(x, 0, x)).toThrow(/gather: indices must be i32/);
  });
});

describe('indexSelect', () => {
  it.each([
    { x: [6, 5], m: 9, axis: 0 },
    { x: [3, 7, 4], m: 5, axis: 1 },
    { x: [3, 7, 4], m: 2, axis: 2 },
  ])('matches the reference and finite differences: x $x, $m indices on axis $axis', async (c) => {
    using _ = scope();
    const data = randomIndex([c.m], c.x[c.axis], 12);
    await checkOp(
      'indexSelect',
      [randomRef(c.x, 13)],
      ([x]) => indexSelect(x, c.axis, indexTensor([c.m], data)),
      ([x]) => indexSelectRef(x, c.axis, data),
    );
  });

  it('rejects 2-D indices', () => {
    using _ = scope();
    expect(() => indexSelect(upload(randomRef([3, 4], 1)), 0, tensor(new Int32Array(4), [2, 2]))).toThrow(
      /indexSelect: indices must be 1-D, got \[2, 2\]/,
    );
  });
});

describe('scatterAdd', () => {
  const cases = [
    { target: [5, 7], index: [9, 7], src: [9, 7], axis: 0 },
    { target: [5, 7], index: [4, 12], src: [5, 13], axis: 1 },
    { target: [3, 4, 6], index: [2, 4, 5], src: [3, 4, 6], axis: 2 },
    { target: [3, 4, 6], index: [3, 11, 6], src: [3, 11, 6], axis: -2 },
  ];
  for (const method of ['loop', 'atomic'] as const) {
    it.each(cases)(
      `${method}: reference and finite differences, target $target, index $index, src $src, axis $axis`,
      async (c) => {
        using _ = scope();
        const a = c.axis < 0 ? c.axis + c.target.length : c.axis;
        const data = randomIndex(c.index, c.target[a], 21);
        await checkOp(
          'scatterAdd',
          [randomRef(c.target, 22), randomRef(c.src, 23)],
          ([target, src]) => scatterAdd(target, c.axis, indexTensor(c.index, data), src, { method }),
          ([target, src]) => scatterAddRef(target, a, indexRef(c.index, data), src),
          { forwardTol: 1e-6 },
        );
      },
    );
  }

  it('handles heavy collisions: 20000 sources into 3 slots, both kernels, f32 and i32', async () => {
    using _ = scope();
    const n = 20000;
    const data = randomIndex([n], 3, 31);
    const src = randomRef([n], 32);
    const target = randomRef([3], 33);
    const ref = scatterAddRef(target, 0, indexRef([n], data), src);
    for (const method of ['loop', 'atomic', 'auto'] as const) {
      const out = scatterAdd(upload(target), 0, indexTensor([n], data), upload(src), { method });
      expectAllClose(await out.toArray(), ref.data, 1e-5, `scatterAdd ${method}`);
    }
    const ints = Int32Array.from({ length: n }, (_, i) => (i % 7) - 3);
    const intRef = [0, 0, 0];
    data.forEach((k, i) => {
      intRef[k] += ints[i];
    });
    for (const method of ['loop', 'atomic'] as const) {
      const out = scatterAdd(tensor(new Int32Array(3), [3]), 0, indexTensor([n], data), tensor(ints, [n]), { method });
      expect(Array.from(await out.toArray())).toEqual(intRef);
    }
  });

  it('skips out-of-range indices and reads a strided target', async () => {
    using _ = scope();
    const target = randomRef([3, 2], 41);
    const tt = permute(upload(target), [1, 0]); // [2, 3]
    const src = tensor(new Float32Array([1, 2, 3, 4]), [2, 2]);
    for (const method of ['loop', 'atomic'] as const) {
      const out = await scatterAdd(tt, 1, tensor(new Int32Array([0, 5, -1, 2]), [2, 2]), src, { method }).toArray();
      const t = (r: number, c: number) => Math.fround(target.data[c * 2 + r]);
      expect(Array.from(out)).toEqual(
        [t(0, 0) + 1, t(0, 1), t(0, 2), t(1, 0), t(1, 1), Math.fround(t(1, 2) + 4)].map(Math.fround),
      );
    }
  });

  it('names the op and the shapes on bad input', () => {
    using _ = scope();
    const target = upload(randomRef([3, 4], 1));
    expect(() => scatterAdd(target, 0, tensor(new Int32Array(20), [4, 5]), upload(randomRef([4, 5], 2)))).toThrow(
      /scatterAdd: target \[3, 4\], index \[4, 5\], src \[4, 5\] along axis 0/,
    );
    expect(() => scatterAdd(target, 0, tensor(new Int32Array(4), [2, 2]), tensor(new Int32Array(4), [2, 2]))).toThrow(
      /scatterAdd: target is f32 but src is i32/,
    );
  });
});

describe('zero-size dims', () => {
  it('gather, indexSelect and scatterAdd accept empty indices', async () => {
    using _ = scope();
    const x = randomRef([3, 4], 71);
    const empty = gather(upload(x), 1, tensor(new Int32Array(0), [3, 0]));
    expect(empty.shape).toEqual([3, 0]);
    expect(indexSelect(upload(x), 0, tensor(new Int32Array(0), [0])).shape).toEqual([0, 4]);
    for (const method of ['loop', 'atomic'] as const) {
      const out = scatterAdd(upload(x), 0, tensor(new Int32Array(0), [0, 4]), upload(randomRef([2, 4], 72)), {
        method,
      });
      expect(Array.from(await out.toArray())).toEqual(Array.from(x.data));
    }
  });
});
