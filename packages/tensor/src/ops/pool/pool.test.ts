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
import { sum } from '../reduce/reduce.js';
import { avgPool3d, maxPool3d } from './pool.js';
import { avgPool3dRef, maxPool3dRef, type PoolRefGeometry } from './reference.js';

const files = readdirSync(fixturesDir()).filter((f) => f.startsWith('max_pool3d__'));

describe.each(files)('max_pool3d fixture %s', (file) => {
  it('matches PyTorch', async () => {
    const fx = loadFixture(join(fixturesDir(), file));
    const xs = fx.tensors.get('x')!;
    const x = tensor(xs.data as Float32Array, xs.shape).requireGrad();
    const out = maxPool3d(x, fx.params.kernel_size as number, {
      stride: fx.params.stride as number,
      padding: fx.params.padding as number,
    });
    expectAllClose(await out.toArray(), fx.tensors.get('out')!.data, TOLERANCE.fixtureForward, 'out');
    const dout = fx.tensors.get('dout')!;
    sum(mul(out, tensor(dout.data as Float32Array, dout.shape))).backward();
    expectAllClose(await x.grad!.toArray(), fx.tensors.get('grad_x')!.data, TOLERANCE.fixtureGrad, 'grad_x');
  });
});

describe.each([
  { shape: [2, 3, 5, 6, 7], k: [2, 2, 2], s: [2, 2, 2], p: [0, 0, 0] },
  { shape: [1, 2, 7, 5, 6], k: [3, 3, 3], s: [2, 1, 2], p: [1, 1, 1] },
  { shape: [1, 1, 4, 9, 3], k: [3, 2, 1], s: [1, 3, 1], p: [1, 0, 0] },
] as { shape: number[]; k: [number, number, number]; s: [number, number, number]; p: [number, number, number] }[])(
  'pooling $shape k$k s$s p$p',
  ({ shape, k, s, p }) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const g: PoolRefGeometry = { NC: shape[0] * shape[1], size: [shape[2], shape[3], shape[4]], k, s, p };
    it('max pooling matches the reference and finite differences', async () => {
      const data = randomArray(n, n + 1, -3, 3); // continuous values: no ties
      const x = tensor(data, shape).requireGrad();
      const out = maxPool3d(x, k, { stride: s, padding: p });
      expectAllClose(await out.toArray(), maxPool3dRef(data, g), 0, 'max');
      const gd = randomArray(out.size, 5);
      sum(mul(out, tensor(gd, out.shape))).backward();
      const [fd] = finiteDifferences((xs) => maxPool3dRef(xs[0], g), [Float64Array.from(data)], gd, { eps: 1e-7 });
      expectAllClose(await x.grad!.toArray(), fd, TOLERANCE.finiteDifference, 'max grad');
    });
    it.each([true, false])(
      'avg pooling (countIncludePad=%s) matches the reference and finite differences',
      async (include) => {
        const data = randomArray(n, n + 2, -3, 3);
        const x = tensor(data, shape).requireGrad();
        const out = avgPool3d(x, k, { stride: s, padding: p, countIncludePad: include });
        expectAllClose(await out.toArray(), avgPool3dRef(data, g, include), TOLERANCE.elementwise, 'avg');
        const gd = randomArray(out.size, 7);
        sum(mul(out, tensor(gd, out.shape))).backward();
        const [fd] = finiteDifferences((xs) => avgPool3dRef(xs[0], g, include), [Float64Array.from(data)], gd);
        expectAllClose(await x.grad!.toArray(), fd, TOLERANCE.finiteDifference, 'avg grad');
      },
    );
  },
);

describe('pooling errors', () => {
  it('names the op and shapes', () => {
    const x = tensor(randomArray(2 * 3 * 4 * 4, 1), [2, 3, 4, 4]);
    expect(() => maxPool3d(x, 2)).toThrow(/maxPool3d.*\[2, 3, 4, 4\].*expected 5/);
    const y = tensor(randomArray(8, 1), [1, 1, 2, 2, 2]);
    expect(() => avgPool3d(y, 3)).toThrow(/avgPool3d: kernel 3 is larger than the padded input/);
  });
});
