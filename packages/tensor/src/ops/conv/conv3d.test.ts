import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAllClose, finiteDifferences, randomArray, TOLERANCE } from '../../test/index.js';
import { tensor } from '../creation.js';
import { type ConvCase, checkConvCase } from './conv-test-helpers.js';
import { conv3d, convTranspose3d } from './conv3d.js';
import { rowTile, setConvSubgroupSize } from './direct.js';
import { conv3dGradRef, conv3dRef, convTranspose3dGradRef, convTranspose3dRef } from './reference.js';

// Each case names the kernels it exercises (forward / input gradient / weight gradient).
const conv3dCases: [string, ConvCase][] = [
  [
    'k3 s1 p1, 5→7 channels (direct T=4 with channel tail / gather stride 1)',
    { x: [2, 5, 6, 7, 5], weight: [7, 5, 3, 3, 3], options: { padding: 1 } },
  ],
  [
    'k3 s1 p1, 16→16 (direct T=16 with shared weights, else T=8 / gather T=8)',
    { x: [1, 16, 5, 6, 9], weight: [16, 16, 3, 3, 3], options: { padding: 1 } },
  ],
  [
    'k3 s1 p1, 12→12 (direct T=12 / gather T=12)',
    { x: [1, 12, 4, 5, 7], weight: [12, 12, 3, 3, 3], options: { padding: 1 } },
  ],
  [
    'k3 s2 p1 on odd sizes (direct / gather phase mode)',
    { x: [2, 9, 7, 9, 11], weight: [10, 9, 3, 3, 3], options: { stride: 2, padding: 1 } },
  ],
  ['dilation 2', { x: [1, 3, 9, 8, 7], weight: [4, 3, 3, 3, 3], options: { dilation: 2, padding: 2 } }],
  [
    'dilation 2 with stride 2 and padding 1',
    { x: [1, 3, 9, 10, 11], weight: [5, 3, 3, 3, 3], options: { dilation: 2, stride: 2, padding: 1 } },
  ],
  [
    'groups 2 (3 in, 4 out per group)',
    { x: [2, 6, 5, 4, 6], weight: [8, 3, 3, 3, 3], options: { groups: 2, padding: 1 } },
  ],
  [
    'groups 2 with one output channel per group (direct T=1)',
    { x: [1, 4, 5, 5, 5], weight: [2, 2, 3, 3, 3], options: { groups: 2, padding: 1 } },
  ],
  [
    'depthwise k7 p3 (depthwise kernels)',
    { x: [1, 5, 9, 8, 10], weight: [5, 1, 7, 7, 7], options: { groups: 5, padding: 3 } },
  ],
  [
    'depthwise k3 s2 p1 on odd sizes',
    { x: [2, 4, 7, 9, 11], weight: [4, 1, 3, 3, 3], options: { groups: 4, stride: 2, padding: 1 } },
  ],
  [
    'depthwise k3 forced through the general kernels',
    { x: [1, 4, 6, 5, 7], weight: [4, 1, 3, 3, 3], options: { groups: 4, padding: 1, kernel: 'direct' } },
  ],
  ['k1 pointwise 12→9', { x: [2, 12, 4, 5, 6], weight: [9, 12, 1, 1, 1] }],
  ['k1 on a volume not divisible by 4 (direct)', { x: [2, 5, 3, 3, 3], weight: [6, 5, 1, 1, 1] }],
  ['k1 forced direct', { x: [1, 8, 4, 4, 3], weight: [8, 8, 1, 1, 1], options: { kernel: 'direct' } }],
  [
    'non-cubic kernel, per-axis stride and padding',
    { x: [1, 3, 6, 7, 8], weight: [4, 3, 3, 2, 3], options: { stride: [1, 2, 1], padding: [1, 0, 2] } },
  ],
  ['k2 s2 (nonoverlap input gradient)', { x: [1, 4, 8, 6, 10], weight: [8, 4, 2, 2, 2], options: { stride: 2 } }],
  [
    'k2 s2 on odd sizes forced direct (gather input gradient)',
    { x: [1, 4, 7, 5, 9], weight: [8, 4, 2, 2, 2], options: { stride: 2, kernel: 'direct' } },
  ],
  ['no bias, tiny (single-chunk weight gradient)', { x: [1, 2, 3, 3, 4], weight: [3, 2, 2, 2, 2], bias: false }],
];

describe('conv3d against the float64 reference', () => {
  it.each(conv3dCases)('%s', async (_name, c) => {
    const errors = await checkConvCase(c);
    expect(errors.every((e) => e <= 1e-3)).toBe(true);
  });
});

const transposeCases: [string, ConvCase][] = [
  ['k2 s2 (nonoverlap)', { transpose: true, x: [2, 8, 3, 4, 5], weight: [8, 4, 2, 2, 2], options: { stride: 2 } }],
  [
    'k2 s2 outputPadding 1 (nonoverlap with tails)',
    { transpose: true, x: [1, 6, 3, 2, 3], weight: [6, 5, 2, 2, 2], options: { stride: 2, outputPadding: 1 } },
  ],
  [
    'k2 s2 forced gather',
    { transpose: true, x: [1, 6, 3, 4, 3], weight: [6, 3, 2, 2, 2], options: { stride: 2, kernel: 'gather' } },
  ],
  [
    'k3 s1 p1 (gather stride 1)',
    { transpose: true, x: [1, 4, 5, 6, 7], weight: [4, 6, 3, 3, 3], options: { padding: 1 } },
  ],
  [
    'k3 s2 p1 outputPadding 1 (gather phase mode)',
    {
      transpose: true,
      x: [2, 5, 4, 3, 5],
      weight: [5, 9, 3, 3, 3],
      options: { stride: 2, padding: 1, outputPadding: 1 },
    },
  ],
  [
    'groups 2, dilation 2',
    { transpose: true, x: [1, 4, 4, 5, 3], weight: [4, 3, 3, 3, 3], options: { groups: 2, dilation: 2, padding: 1 } },
  ],
  [
    'depthwise k3 s2',
    { transpose: true, x: [1, 3, 4, 5, 4], weight: [3, 1, 3, 3, 3], options: { groups: 3, stride: 2, padding: 1 } },
  ],
  ['k1 pointwise', { transpose: true, x: [2, 12, 2, 3, 2], weight: [12, 10, 1, 1, 1] }],
  [
    'per-axis stride/padding, non-cubic kernel',
    {
      transpose: true,
      x: [1, 3, 3, 4, 5],
      weight: [3, 2, 2, 3, 3],
      options: { stride: [2, 1, 3], padding: [0, 1, 1] },
    },
  ],
];

describe('convTranspose3d against the float64 reference', () => {
  it.each(transposeCases)('%s', async (_name, c) => {
    const errors = await checkConvCase(c);
    expect(errors.every((e) => e <= 1e-3)).toBe(true);
  });
});

describe('gradients against float64 finite differences', () => {
  const xShape = [1, 2, 4, 3, 5];
  const wShape = [3, 2, 2, 3, 2];
  const options = { stride: [1, 2, 1], padding: [1, 1, 0], dilation: [1, 1, 2] } as const;
  it('conv3d: the analytic reference and the kernels match finite differences', async () => {
    const xData = randomArray(120, 11);
    const wData = randomArray(72, 12);
    const ref = conv3dRef({ data: xData, shape: xShape }, { data: wData, shape: wShape }, null, options);
    const upstream = randomArray(ref.data.length, 13);
    const fd = finiteDifferences(
      ([xs, ws]) => conv3dRef({ data: xs, shape: xShape }, { data: ws, shape: wShape }, null, options).data,
      [Float64Array.from(xData), Float64Array.from(wData)],
      upstream,
    );
    const analytic = conv3dGradRef({ data: xData, shape: xShape }, { data: wData, shape: wShape }, upstream, options);
    expectAllClose(analytic.x, fd[0], 1e-6, 'reference grad_x');
    expectAllClose(analytic.weight, fd[1], 1e-6, 'reference grad_weight');
    const x = tensor(xData, xShape).requireGrad();
    const w = tensor(wData, wShape).requireGrad();
    conv3d(x, w, null, { stride: [1, 2, 1], padding: [1, 1, 0], dilation: [1, 1, 2] }).backward(
      tensor(upstream, ref.shape),
    );
    expectAllClose(await x.grad!.toArray(), fd[0], TOLERANCE.finiteDifference, 'grad_x');
    expectAllClose(await w.grad!.toArray(), fd[1], TOLERANCE.finiteDifference, 'grad_weight');
  });
  it('convTranspose3d: the analytic reference and the kernels match finite differences', async () => {
    const tx = [1, 3, 3, 2, 3];
    const tw = [3, 2, 3, 2, 3];
    const topts = { stride: [2, 1, 2], padding: [1, 0, 1], outputPadding: [1, 0, 0] } as const;
    const xData = randomArray(54, 21);
    const wData = randomArray(108, 22);
    const ref = convTranspose3dRef({ data: xData, shape: tx }, { data: wData, shape: tw }, null, topts);
    const upstream = randomArray(ref.data.length, 23);
    const fd = finiteDifferences(
      ([xs, ws]) => convTranspose3dRef({ data: xs, shape: tx }, { data: ws, shape: tw }, null, topts).data,
      [Float64Array.from(xData), Float64Array.from(wData)],
      upstream,
    );
    const analytic = convTranspose3dGradRef({ data: xData, shape: tx }, { data: wData, shape: tw }, upstream, topts);
    expectAllClose(analytic.x, fd[0], 1e-6, 'reference grad_x');
    expectAllClose(analytic.weight, fd[1], 1e-6, 'reference grad_weight');
    const x = tensor(xData, tx).requireGrad();
    const w = tensor(wData, tw).requireGrad();
    convTranspose3d(x, w, null, { stride: [2, 1, 2], padding: [1, 0, 1], outputPadding: [1, 0, 0] }).backward(
      tensor(upstream, ref.shape),
    );
    expectAllClose(await x.grad!.toArray(), fd[0], TOLERANCE.finiteDifference, 'grad_x');
    expectAllClose(await w.grad!.toArray(), fd[1], TOLERANCE.finiteDifference, 'grad_weight');
  });
});

// The cases above run with the device's subgroup sharing (lavapipe: 8 lanes). These force the flat layout every
// adapter without fixed-size subgroups runs (0), and sharing over 4 lanes (weights and gradients spread over
// several registers per lane).
const subgroupCases = [
  ...conv3dCases.filter(([name]) => /5→7|12→12|16→16|^dilation 2$|groups 2 \(3 in/.test(name)),
  ...transposeCases.filter(([name]) => /gather stride 1/.test(name)),
];
describe.each([0, 4])('conv kernels with the subgroup size forced to %i', (size) => {
  beforeAll(() => setConvSubgroupSize(size));
  afterAll(() => setConvSubgroupSize(null));
  it.each(subgroupCases)('%s', async (_name, c) => {
    const errors = await checkConvCase(c);
    expect(errors.every((e) => e <= 1e-3)).toBe(true);
  });
});

describe('row tiles', () => {
  it('cut a row into the fewest equal blocks of at most 16 outputs, never computing past the row end', () => {
    expect([48, 24, 12, 6, 5, 1].map((width) => rowTile(width))).toEqual([16, 12, 12, 6, 5, 1]);
    for (let width = 1; width <= 200; width++) {
      const tile = rowTile(width);
      const blocks = Math.ceil(width / tile);
      expect(tile).toBeLessThanOrEqual(16);
      expect(blocks).toBe(Math.ceil(width / 16)); // no more blocks than 16-wide tiles need
      expect(blocks * tile - width).toBeLessThan(blocks); // waste < one output per block
    }
  });
});
