/**
 * stack: joins same-shaped tensors along a new axis (unsqueeze views, then concat). Differentiable through
 * those two ops.
 */
import { DTypeError, fmtShape, ShapeError } from '../../runtime/errors.js';
import { normAxis, sameShape } from '../../shape.js';
import type { Tensor } from '../../tensor.js';
import { concat } from './concat.js';
import { unsqueeze } from './views.js';

/**
 * Stacks `tensors` (all of shape S) along a new axis `axis` in [−rank − 1, rank]. Shape: k × S → S with k inserted
 * at `axis`.
 */
export function stack(tensors: readonly Tensor[], axis = 0): Tensor {
  if (tensors.length === 0) throw new ShapeError('stack: needs at least one tensor; got an empty list');
  const first = tensors[0];
  const a = normAxis(axis < 0 ? axis + first.rank + 1 : axis, first.rank + 1, 'stack');
  for (const [k, t] of tensors.entries()) {
    if (!sameShape(t.shape, first.shape)) {
      throw new ShapeError(
        `stack: every tensor needs the same shape; tensor ${k} is ${fmtShape(t.shape)}, tensor 0 is ${fmtShape(first.shape)} (shapes ${tensors.map((x) => fmtShape(x.shape)).join(', ')})`,
      );
    }
    if (t.dtype !== first.dtype) {
      throw new DTypeError(
        `stack: tensor ${k} has dtype ${t.dtype} but tensor 0 has ${first.dtype}; cast() them first`,
      );
    }
  }
  const views = tensors.map((t) => unsqueeze(t, a));
  const out = concat(views, a);
  for (const v of views) v.dispose();
  return out;
}
