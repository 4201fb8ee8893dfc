/**
 * Sums a broadcast result back to a smaller shape (the backward of broadcasting).
 */
import { fmtShape, ShapeError } from '../../runtime/errors.js';
import { type Shape, sameShape } from '../../shape.js';
import type { Tensor } from '../../tensor.js';
import { reshape } from '../movement/views.js';
import { sum } from './reduce.js';

export function sumToShape(g: Tensor, shape: Shape): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const lead = g.rank - shape.length;
  if (lead < 0) throw new ShapeError(`sumToShape: cannot reduce ${fmtShape(g.shape)} to ${fmtShape(shape)}`);
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) {
    if (i < lead) axes.push(i);
    else if (shape[i - lead] === 1 && g.shape[i] !== 1) axes.push(i);
    else if (shape[i - lead] !== g.shape[i]) {
      throw new ShapeError(`sumToShape: cannot reduce ${fmtShape(g.shape)} to ${fmtShape(shape)}`);
    }
  }
  const reduced = sum(g, axes, true);
  return reshape(reduced, shape);
}
