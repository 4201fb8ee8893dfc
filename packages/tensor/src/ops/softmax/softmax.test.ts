import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  expectAllClose,
  expectZero,
  finiteDifferences,
  fixturesDir,
  loadFixture,
  randomArray,
  TOLERANCE,
} from '../../test/index.js';
import { tensor } from '../creation.js';
import { mul } from '../elementwise/binary.js';
import { contiguous } from '../movement/copy.js';
import { transpose } from '../movement/views.js';
import { sum } from '../reduce/reduce.js';
import { crossEntropy } from './cross-entropy.js';
import { crossEntropyRef, logSoftmaxRef, softmaxBackwardRef, softmaxRef } from './reference.js';
import { logSoftmax, softmax } from './softmax.js';

const files = readdirSync(fixturesDir()).filter((f) => f.startsWith('softmax__'));

describe.each(files)('softmax fixture %s', (file) => {
  it('matches PyTorch forward and gradient', async () => {
    const fx = loadFixture(join(fixturesDir(), file));
    const x = fx.tensors.get('x')!;
    const xt = tensor(x.data as Float32Array, x.shape).requireGrad();
    const y = softmax(xt, (fx.params.dim as number | undefined) ?? -1);
    expectAllClose(await y.toArray(), fx.tensors.get('out')!.data, TOLERANCE.fixtureForward, 'out');
    const dout = fx.tensors.get('dout')!;
    sum(mul(y, tensor(dout.data as Float32Array, dout.shape))).backward();
    const ref = fx.tensors.get('grad_x')!.data;
    const got = await xt.grad!.toArray();
    if (ref.every((v) => v === 0)) expectZero(got, 1e-6, 'grad_x');
    else expectAllClose(got, ref, TOLERANCE.fixtureGrad, 'grad_x');
  });
});

// Rows short enough for the one-invocation path, and long enough for the workgroup path.
describe.each([
  { shape: [3, 7], axis: -1 },
  { shape: [2, 5, 11], axis: 1 },
  { shape: [4, 300], axis: 1 },
  { shape: [2, 1, 3], axis: 1 },
  { shape: [5, 3, 2], axis: 0 },
])('softmax / logSoftmax on $shape along axis $axis', ({ shape, axis }) => {
  const n = shape.reduce((a, b) => a * b, 1);
  const a = (axis + shape.length) % shape.length;
  // Reference along the last axis: move `a` last on the CPU.
  const moveLast = (data: ArrayLike<number>): Float64Array => {
    const out = new Float64Array(n);
    const outer = shape.slice(0, a).reduce((p, d) => p * d, 1);
    const len = shape[a];
    const inner = shape.slice(a + 1).reduce((p, d) => p * d, 1);
    let k = 0;
    for (let o = 0; o < outer; o++)
      for (let i = 0; i < inner; i++) for (let j = 0; j < len; j++) out[k++] = data[(o * len + j) * inner + i];
    return out;
  };
  const moveBack = (data: Float64Array): Float64Array => {
    const out = new Float64Array(n);
    const outer = shape.slice(0, a).reduce((p, d) => p * d, 1);
    const len = shape[a];
    const inner = shape.slice(a + 1).reduce((p, d) => p * d, 1);
    let k = 0;
    for (let o = 0; o < outer; o++)
      for (let i = 0; i < inner; i++) for (let j = 0; j < len; j++) out[(o * len + j) * inner + i] = data[k++];
    return out;
  };
  const len = shape[a];

  it('forward and backward match the float64 reference and finite differences', async () => {
    const xData = randomArray(n, 11 + n, -4, 4);
    const gData = randomArray(n, 97 + n);
    const x = tensor(xData, shape).requireGrad();
    const y = softmax(x, axis);
    expectAllClose(await y.toArray(), moveBack(softmaxRef(moveLast(xData), len)), TOLERANCE.elementwise, 'softmax');
    sum(mul(y, tensor(gData, shape))).backward();
    const analytic = moveBack(softmaxBackwardRef(moveLast(xData), moveLast(gData), len));
    const got = await x.grad!.toArray();
    expectAllClose(got, analytic, TOLERANCE.elementwise * 10, 'softmax grad (analytic)');
    const [fd] = finiteDifferences(
      (xs) => moveBack(softmaxRef(moveLast(xs[0]), len)),
      [Float64Array.from(xData)],
      gData,
    );
    expectAllClose(got, fd, TOLERANCE.finiteDifference, 'softmax grad (finite differences)');

    const x2 = tensor(xData, shape).requireGrad();
    const ly = logSoftmax(x2, axis);
    expectAllClose(
      await ly.toArray(),
      moveBack(logSoftmaxRef(moveLast(xData), len)),
      TOLERANCE.elementwise,
      'logSoftmax',
    );
    sum(mul(ly, tensor(gData, shape))).backward();
    const [fdl] = finiteDifferences(
      (xs) => moveBack(logSoftmaxRef(moveLast(xs[0]), len)),
      [Float64Array.from(xData)],
      gData,
    );
    expectAllClose(await x2.grad!.toArray(), fdl, TOLERANCE.finiteDifference, 'logSoftmax grad');
  });
});

describe('softmax numerics', () => {
  it('is stable for logits of magnitude 1000 and works on non-contiguous input', async () => {
    const data = randomArray(6 * 5, 3, -1000, 1000);
    const x = tensor(data, [6, 5]);
    const t = transpose(x); // (5, 6), non-contiguous
    const y = await softmax(t, 0).toArray();
    const ref = softmaxRef(data, 5); // softmax of x rows == softmax of t along axis 0
    const back = await contiguous(transpose(tensor(y, [5, 6]))).toArray();
    expect(y.every(Number.isFinite)).toBe(true);
    expectAllClose(back, ref, TOLERANCE.elementwise, 'softmax transposed');
  });
});

describe('crossEntropy', () => {
  const cases = [
    { N: 5, C: 7, spatial: [] as number[], weighted: false },
    { N: 3, C: 4, spatial: [3, 5], weighted: true },
  ];
  it.each(cases)(
    'N=$N C=$C spatial=$spatial weighted=$weighted matches the reference',
    async ({ N, C, spatial, weighted }) => {
      const S = spatial.reduce((a, b) => a * b, 1);
      const logits = randomArray(N * C * S, 5 + C, -3, 3);
      const rand = randomArray(N * S, 9);
      const target = Int32Array.from(rand, (v, i) => (i % 4 === 3 ? -100 : Math.floor(((v + 1) / 2) * C) % C));
      const weight = weighted ? randomArray(C, 2, 0.5, 2) : undefined;
      const x = tensor(logits, [N, C, ...spatial]).requireGrad();
      const loss = crossEntropy(x, tensor(target, [N, ...spatial], { dtype: 'i32' }), {
        weight: weight ? tensor(weight, [C]) : undefined,
      });
      const ref = crossEntropyRef(logits, target, N, C, S, { weight });
      expectAllClose([await loss.item()], [ref], TOLERANCE.reduction, 'loss');
      loss.backward();
      const [fd] = finiteDifferences(
        (xs) => [crossEntropyRef(xs[0], target, N, C, S, { weight })],
        [Float64Array.from(logits)],
        [1],
      );
      expectAllClose(await x.grad!.toArray(), fd, TOLERANCE.finiteDifference, 'grad');
    },
  );

  it('rejects mismatched targets with the shapes in the message', () => {
    const x = tensor(randomArray(12, 1), [3, 4]);
    expect(() => crossEntropy(x, tensor(new Int32Array(4), [4], { dtype: 'i32' }))).toThrow(/\[4\].*\[3, 4\]/);
    expect(() => crossEntropy(x, tensor(randomArray(3, 1), [3]))).toThrow(/i32/);
  });
});
