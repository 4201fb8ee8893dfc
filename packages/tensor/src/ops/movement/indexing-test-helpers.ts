/**
 * Shared by the tests of concat, stack, pad, gather, scatterAdd and cumsum: checks an op's forward against its
 * float64 reference and its gradients against float64 finite differences of that reference.
 */
import { expect } from 'vitest';
import type { Tensor } from '../../tensor.js';
import { expectAllClose, finiteDifferences, randomArray, TOLERANCE } from '../../test/index.js';
import { tensor } from '../creation.js';

export interface RefData {
  shape: number[];
  data: Float64Array;
}

export const size = (shape: readonly number[]): number => shape.reduce((p, d) => p * d, 1);

/** Random float32-rounded data of `shape` as a float64 reference array. */
export function randomRef(shape: number[], seed: number): RefData {
  return { shape, data: Float64Array.from(randomArray(size(shape), seed, -2, 2)) };
}

/** A GPU f32 tensor holding `x`'s values. */
export function upload(x: RefData, requiresGrad = false): Tensor {
  return tensor(new Float32Array(x.data), x.shape, { requiresGrad });
}

/**
 * Runs `op` on GPU copies of `inputs` (all requiring grad), compares the output with `reference` (tolerance
 * `forwardTol`, 0 = exact) and every input gradient with finite differences of `reference` for a random
 * upstream gradient.
 */
export async function checkOp(
  name: string,
  inputs: RefData[],
  op: (xs: Tensor[]) => Tensor,
  reference: (xs: RefData[]) => RefData,
  options: { forwardTol?: number; seed?: number } = {},
): Promise<void> {
  const tensors = inputs.map((x) => upload(x, true));
  const out = op(tensors);
  const expected = reference(inputs);
  expect(out.shape).toEqual(expected.shape);
  const got = await out.toArray();
  if (options.forwardTol) expectAllClose(got, expected.data, options.forwardTol, `${name} forward`);
  else expect(Array.from(got)).toEqual(Array.from(expected.data));
  if (out.size === 0) return;
  const upstream = randomArray(out.size, options.seed ?? 99);
  out.backward(tensor(upstream, out.shape));
  const numeric = finiteDifferences(
    (xs) => reference(xs.map((data, k) => ({ shape: inputs[k].shape, data }))).data,
    inputs.map((x) => Float64Array.from(x.data)),
    upstream,
  );
  for (const [k, t] of tensors.entries()) {
    if (t.size === 0) continue;
    expect(t.grad, `${name}: input ${k} got no gradient`).not.toBeNull();
    expectAllClose(await t.grad!.toArray(), numeric[k], TOLERANCE.finiteDifference, `${name} grad of input ${k}`);
  }
}
