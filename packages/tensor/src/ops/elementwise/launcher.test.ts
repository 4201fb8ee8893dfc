import { describe, expect, it } from 'vitest';
import { memory } from '../../memory.js';
import { randomArray } from '../../test/index.js';
import { tensor } from '../creation.js';
import { permute, reshape, slice } from '../movement/views.js';
import { add } from './binary.js';
import { mapElementwise, usesVec4 } from './launcher.js';
import { makeInput } from './test-helpers.js';

describe('elementwise launcher path selection', () => {
  it('contiguous inputs (also 4-aligned offset views and single elements) take the vec4 path', () => {
    const a = makeInput([5, 8], 'contiguous', 1);
    const aligned = makeInput([5, 8], 'offset4', 2);
    const unaligned = makeInput([5, 8], 'offset3', 3);
    const permuted = makeInput([5, 8], 'permuted', 4);
    const one = tensor([2], [1, 1]);
    const row = tensor(randomArray(8, 5), [8]);
    expect(usesVec4([a.view], [5, 8])).toBe(true);
    expect(usesVec4([a.view, aligned.view, one], [5, 8])).toBe(true);
    expect(usesVec4([a.view, unaligned.view], [5, 8])).toBe(false);
    expect(usesVec4([a.view, permuted.view], [5, 8])).toBe(false);
    expect(usesVec4([a.view, row], [5, 8])).toBe(false);
    for (const x of [a, aligned, unaligned, permuted]) {
      if (x.view !== x.leaf) x.view.dispose();
      x.leaf.dispose();
    }
    one.dispose();
    row.dispose();
  });

  it('vec4 path with an odd element count writes every element (poisoned buffers) and nothing past the view', async () => {
    const base = tensor(randomArray(23, 6), [23]);
    const view = slice(base, [{ start: 4, end: 17 }]); // 13 elements at offset 4
    const shaped = reshape(view, [13]);
    const y = add(shaped, 1);
    const got = await y.toArray();
    const bv = await base.toArray();
    expect(got.length).toBe(13);
    for (const [i, v] of got.entries()) expect(v).toBeCloseTo(bv[4 + i] + 1, 6);
    for (const t of [base, view, shaped, y]) t.dispose();
  });

  it('a single kernel dispatch per op, on both paths', () => {
    const a = tensor(randomArray(64, 7), [8, 8]);
    const t = permute(a, [1, 0]);
    const before = memory().dispatchCount;
    const y = add(a, a);
    const z = add(t, a);
    expect(memory().dispatchCount - before).toBe(2);
    for (const x of [a, t, y, z]) x.dispose();
  });

  it('custom ops through mapElementwise see both paths with the same result', async () => {
    const values = randomArray(36, 8);
    const a = tensor(values, [6, 6]);
    const t = permute(a, [1, 0]);
    const spec = (x: typeof a) =>
      mapElementwise({
        name: 'axpy',
        inputs: [x, 0.5],
        source: (n) => `fn op(x: ${n.ty('f32')}, s: ${n.ty('f32')}) -> ${n.ty('f32')} { return x * s + 1.0; }`,
      });
    const y = spec(a);
    const z = spec(t);
    const yv = await y.toArray();
    const zv = await z.toArray();
    for (let i = 0; i < 6; i++) {
      for (let j = 0; j < 6; j++) {
        expect(zv[i * 6 + j]).toBe(yv[j * 6 + i]);
        expect(yv[i * 6 + j]).toBeCloseTo(values[i * 6 + j] * 0.5 + 1, 6);
      }
    }
    for (const x of [a, t, y, z]) x.dispose();
  });
});
