import { describe, expect, it } from 'vitest';
import { memory } from '../memory.js';
import { tensor } from '../ops/creation.js';
import { add, mul } from '../ops/elementwise/binary.js';
import { exp } from '../ops/elementwise/unary.js';
import { permute, reshape, transpose } from '../ops/movement/views.js';
import { argmax, max, sum } from '../ops/reduce/reduce.js';
import { randomArray } from '../test/index.js';
import { DisposedError, DTypeError, ShapeError } from './errors.js';

const f32 = (shape: number[]) =>
  tensor(
    randomArray(
      shape.reduce((p, d) => p * d, 1),
      3,
    ),
    shape,
  );

describe('errors name the op and the shapes', () => {
  it('broadcasting shape mismatch', () => {
    const a = f32([2, 3]);
    const b = f32([4, 3]);
    expect(() => add(a, b)).toThrow(ShapeError);
    expect(() => add(a, b)).toThrow(/^add: shapes \[2, 3\] and \[4, 3\] do not broadcast/);
    a.dispose();
    b.dispose();
  });

  it('wrong dtypes: f32 + i32, exp of i32', () => {
    const a = f32([3]);
    const i = tensor(Int32Array.from([1, 2, 3]), [3]);
    expect(() => add(a, i)).toThrow(DTypeError);
    expect(() => add(a, i)).toThrow(/^add: dtypes differ \(f32 \[3\] vs i32 \[3\]\)/);
    expect(() => exp(i)).toThrow(DTypeError);
    expect(() => exp(i)).toThrow(/^exp: expects an f32 tensor, got i32 \[3\]/);
    a.dispose();
    i.dispose();
  });

  it('reading or using a disposed tensor (without leaking the output)', async () => {
    const a = f32([2, 3]);
    const b = f32([2, 3]);
    a.dispose();
    await expect(a.toArray()).rejects.toThrow(DisposedError);
    await expect(a.toArray()).rejects.toThrow(/^toArray: a tensor of shape \[2, 3\] \(f32\) was used after dispose/);
    const before = memory().bytesInUse;
    expect(() => mul(b, a)).toThrow(/^mul: a tensor of shape \[2, 3\]/);
    expect(() => sum(a)).toThrow(/a tensor of shape \[2, 3\].*dispose/);
    expect(() => transpose(a)).toThrow(/^permute: a tensor of shape \[2, 3\]/);
    expect(() => reshape(a, [6])).toThrow(/^reshape: a tensor of shape \[2, 3\]/);
    expect(memory().bytesInUse).toBe(before);
    b.dispose();
  });

  it('reshape to an incompatible size', () => {
    const a = f32([2, 3]);
    expect(() => reshape(a, [4, 2])).toThrow(ShapeError);
    expect(() => reshape(a, [4, 2])).toThrow(/^reshape: cannot reshape \[2, 3\] \(6 elements\) to \[4, 2\]/);
    a.dispose();
  });

  it('bad axes', () => {
    const a = f32([2, 3]);
    expect(() => sum(a, 2)).toThrow(/^sum: axis 2 is out of range for a tensor of rank 2/);
    expect(() => max(a, -3)).toThrow(/^max: axis -3 is out of range/);
    expect(() => argmax(a, 1.5)).toThrow(/^argmax: axis 1.5/);
    expect(() => permute(a, [1, 2])).toThrow(/^permute: axis 2 is out of range/);
    a.dispose();
  });
});
