/**
 * Test helper (not exported by the package): runs conv3d / convTranspose3d on seeded random data and checks the
 * output and all three gradients against the float64 reference.
 */

import type { Tensor } from '../../tensor.js';
import { expectAllClose, randomArray } from '../../test/index.js';
import { tensor } from '../creation.js';
import {
  type Conv3dKernel,
  type Conv3dOptions,
  type ConvTranspose3dKernel,
  type ConvTranspose3dOptions,
  conv3d,
  convTranspose3d,
} from './conv3d.js';
import { conv3dGradRef, conv3dRef, convTranspose3dGradRef, convTranspose3dRef } from './reference.js';

export interface ConvCase {
  transpose?: boolean;
  x: number[];
  weight: number[];
  bias?: boolean;
  options?: Omit<Conv3dOptions, 'kernel'> &
    Omit<ConvTranspose3dOptions, 'kernel'> & { kernel?: Conv3dKernel | ConvTranspose3dKernel };
  seed?: number;
}

const prod = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

/** Runs one case; returns the measured errors (forward, grad x, grad weight, grad bias). */
export async function checkConvCase(c: ConvCase): Promise<number[]> {
  const seed = c.seed ?? 7;
  const xData = randomArray(prod(c.x), seed);
  const wData = randomArray(prod(c.weight), seed + 1);
  const outChannels = c.transpose ? c.weight[1] * (c.options?.groups ?? 1) : c.weight[0];
  const bData = c.bias === false ? null : randomArray(outChannels, seed + 2);
  const x = tensor(xData, c.x).requireGrad();
  const w = tensor(wData, c.weight).requireGrad();
  const b = bData ? tensor(bData, [outChannels]).requireGrad() : null;
  const refX = { data: xData, shape: c.x };
  const refW = { data: wData, shape: c.weight };
  const refB = bData ? { data: bData, shape: [outChannels] } : null;
  const { kernel: _kernel, ...refOptions } = c.options ?? {};
  const ref = c.transpose ? convTranspose3dRef(refX, refW, refB, refOptions) : conv3dRef(refX, refW, refB, refOptions);
  const out: Tensor = c.transpose
    ? convTranspose3d(x, w, b, c.options as ConvTranspose3dOptions)
    : conv3d(x, w, b, c.options as Conv3dOptions);
  if (out.shape.join() !== ref.shape.join()) {
    throw new Error(`output shape [${out.shape}] differs from the reference [${ref.shape}]`);
  }
  const errors = [expectAllClose(await out.toArray(), ref.data, 1e-4, 'out')];
  const upstream = randomArray(ref.data.length, seed + 3);
  const grads = c.transpose
    ? convTranspose3dGradRef(refX, refW, upstream, refOptions)
    : conv3dGradRef(refX, refW, upstream, refOptions);
  out.backward(tensor(upstream, ref.shape));
  errors.push(expectAllClose(await x.grad!.toArray(), grads.x, 1e-3, 'grad_x'));
  errors.push(expectAllClose(await w.grad!.toArray(), grads.weight, 1e-3, 'grad_weight'));
  if (b) errors.push(expectAllClose(await b.grad!.toArray(), grads.bias, 1e-3, 'grad_bias'));
  for (const t of [x, w, b, out]) t?.dispose();
  return errors;
}
