/**
 * Dropout and DropPath (stochastic depth) from the seeded Philox generator: a Bernoulli keep-mask scaled by
 * 1/(1 − p), multiplied in (so the gradient is the same mask). In eval mode or with p = 0 they return x.
 */

import { bernoulli, type RandomOptions } from '../../random/random.js';
import { fmtShape, ShapeError } from '../../runtime/errors.js';
import type { Tensor } from '../../tensor.js';
import { mul } from '../elementwise/binary.js';
import { contiguous } from '../movement/copy.js';

function checkP(op: string, p: number): void {
  if (!(p >= 0 && p < 1)) throw new RangeError(`${op}: p must be in [0, 1), got ${p}`);
}

/** Zeroes each element with probability p and scales the rest by 1/(1 − p). */
export function dropout(x: Tensor, p: number, training = true, options: RandomOptions = {}): Tensor {
  checkP('dropout', p);
  if (!training || p === 0) return contiguous(x);
  const keepMask = bernoulli(1 - p, x.shape, options);
  const scaled = mul(keepMask, 1 / (1 - p));
  keepMask.dispose();
  const out = mul(x, scaled);
  scaled.dispose();
  return out;
}

/** Drops whole samples (axis 0) of a residual branch with probability p (timm's drop_path). */
export function dropPath(x: Tensor, p: number, training = true, options: RandomOptions = {}): Tensor {
  checkP('dropPath', p);
  if (x.rank === 0) throw new ShapeError(`dropPath: input ${fmtShape(x.shape)} needs a batch axis`);
  if (!training || p === 0) return contiguous(x);
  const maskShape = [x.shape[0], ...x.shape.slice(1).map(() => 1)];
  const keepMask = bernoulli(1 - p, maskShape, options);
  const scaled = mul(keepMask, 1 / (1 - p));
  keepMask.dispose();
  const out = mul(x, scaled);
  scaled.dispose();
  return out;
}
