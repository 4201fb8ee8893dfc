import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  expectAllClose,
  finiteDifferences,
  fixturesDir,
  loadFixture,
  randomArray,
  TOLERANCE,
} from '../../test/index.js';
import { tensor } from '../creation.js';
import { mul } from '../elementwise/binary.js';
import { permute } from '../movement/views.js';
import { sum } from '../reduce/reduce.js';
import { interpolate3d } from './interpolate.js';
import { interpolate3dRef } from './reference.js';

const files = readdirSync(fixturesDir()).filter((f) => f.startsWith('interpolate3d__'));

describe.each(files)('interpolate3d fixture %s', (file) => {
  it('matches PyTorch trilinear (align_corners=False)', async () => {
    const fx = loadFixture(join(fixturesDir(), file));
    const xs = fx.tensors.get('x')!;
    const x = tensor(xs.data as Float32Array, xs.shape).requireGrad();
    const size = fx.params.size as [number, number, number];
    const out = interpolate3d(x, { size });
    expectAllClose(await out.toArray(), fx.tensors.get('out')!.data, TOLERANCE.fixtureForward, 'out');
    const dout = fx.tensors.get('dout')!;
    sum(mul(out, tensor(dout.data as Float32Array, dout.shape))).backward();
    expectAllClose(await x.grad!.toArray(), fx.tensors.get('grad_x')!.data, TOLERANCE.fixtureGrad, 'grad_x');
  });
});

describe.each([
  { shape: [1, 2, 3, 5, 4], size: [7, 2, 4], mode: 'trilinear' },
  { shape: [2, 1, 5, 3, 6], size: [2, 8, 3], mode: 'nearest' },
  { shape: [1, 3, 4, 4, 4], size: [9, 9, 1], mode: 'trilinear' },
] as { shape: number[]; size: [number, number, number]; mode: 'trilinear' | 'nearest' }[])(
  'interpolate3d $shape → $size ($mode)',
  ({ shape, size, mode }) => {
    it('matches the float64 reference and finite differences', async () => {
      const n = shape.reduce((a, b) => a * b, 1);
      const data = randomArray(n, n, -2, 2);
      const x = tensor(data, shape).requireGrad();
      const out = interpolate3d(x, { size, mode });
      const NC = shape[0] * shape[1];
      const inSize = [shape[2], shape[3], shape[4]] as [number, number, number];
      const f = (xs: Float64Array[]) => interpolate3dRef(xs[0], NC, inSize, size, mode);
      expectAllClose(await out.toArray(), f([Float64Array.from(data)]), TOLERANCE.elementwise, 'out');
      const gd = randomArray(out.size, 3);
      sum(mul(out, tensor(gd, out.shape))).backward();
      const [fd] = finiteDifferences(f, [Float64Array.from(data)], gd);
      expectAllClose(await x.grad!.toArray(), fd, TOLERANCE.finiteDifference, 'grad');
    });
  },
);

describe('interpolate3d inputs', () => {
  it('reads non-contiguous input and rejects bad sizes', async () => {
    const data = randomArray(2 * 3 * 4 * 5, 8);
    const base = tensor(data, [1, 4, 3, 2, 5]);
    const x = permute(base, [0, 2, 1, 3, 4]); // (1, 3, 4, 2, 5), non-contiguous
    const out = await interpolate3d(x, { size: [5, 3, 5] }).toArray();
    const xc = await x.toArray();
    expectAllClose(out, interpolate3dRef(xc, 3, [4, 2, 5], [5, 3, 5]), TOLERANCE.elementwise, 'permuted');
    expect(() => interpolate3d(x, { size: [0, 2, 2] })).toThrow(/interpolate3d: size \[0, 2, 2\]/);
  });
});
