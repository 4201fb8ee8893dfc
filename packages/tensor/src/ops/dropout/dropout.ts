/**
 * Dropout and DropPath (stochastic depth) from the seeded Philox generator: a Bernoulli keep-mask scaled by
 * 1/(1 − p), multiplied in (so the gradient is the same mask). In eval mode or with p = 0 they return x.
 */

import { recordOp } from '../../autograd/record.js';
import { bernoulli, type RandomOptions } from '../../random/random.js';
import { fmtShape, ShapeError } from '../../runtime/errors.js';
import type { Tensor } from '../../tensor.js';
import { mapElementwise } from '../elementwise/launcher.js';
import { contiguous } from '../movement/copy.js';

function checkP(op: string, p: number): void {
  if (!(p >= 0 && p < 1)) throw new RangeError(`${op}: p must be in [0, 1), got ${p}`);
}

/** Zeroes each element with probability p and scales the rest by 1/(1 − p). */
export function dropout(x: Tensor, p: number, training = true, options: RandomOptions = {}): Tensor {
  checkP('dropout', p);
  if (!training || p === 0) return contiguous(x);
  return applyKeepMask(x, bernoulli(1 - p, x.shape, options), p);
}

/** x · mask / (1 − p) as one fused kernel (mask broadcasts); the backward is the same product on the gradient. */
function scaledMask(name: string, t: Tensor, keepMask: Tensor, scale: number): Tensor {
  return mapElementwise({
    name,
    inputs: [t, keepMask, scale],
    source: (ty) =>
      `fn op(x: ${ty.ty('f32')}, m: ${ty.ty('f32')}, s: ${ty.ty('f32')}) -> ${ty.ty('f32')} { return x * m * s; }`,
  });
}

function applyKeepMask(x: Tensor, keepMask: Tensor, p: number): Tensor {
  const scale = 1 / (1 - p);
  const out = scaledMask('dropout', x, keepMask, scale);
  recordOp('dropout', [x], [out], ([g], [mask]) => [scaledMask('dropout_backward', g!, mask, scale)], [keepMask]);
  keepMask.dispose();
  return out;
}

/** Drops whole samples (axis 0) of a residual branch with probability p (timm's drop_path). */
export function dropPath(x: Tensor, p: number, training = true, options: RandomOptions = {}): Tensor {
  checkP('dropPath', p);
  if (x.rank === 0) throw new ShapeError(`dropPath: input ${fmtShape(x.shape)} needs a batch axis`);
  if (!training || p === 0) return contiguous(x);
  const maskShape = [x.shape[0], ...x.shape.slice(1).map(() => 1)];
  return applyKeepMask(x, bernoulli(1 - p, maskShape, options), p);
}
