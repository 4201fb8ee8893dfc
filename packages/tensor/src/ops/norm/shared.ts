/** Validation and input preparation shared by the norms. */
import { noGrad } from '../../autograd/grad-mode.js';
import { recordOp } from '../../autograd/record.js';
import { DTypeError, fmtShape, ShapeError } from '../../runtime/errors.js';
import { empty } from '../../runtime/kernel.js';
import type { Tensor } from '../../tensor.js';
import { zerosLike } from '../creation.js';
import { contiguous, copy } from '../movement/copy.js';
import { expand, reshape } from '../movement/views.js';
import type { Plane } from './plane.js';

/** A visibility mask: u32 / i32 / f32 tensor, non-zero = visible. */
export type NormMask = Tensor;

export function disposeAll(...tensors: (Tensor | null | undefined)[]): void {
  for (const t of tensors) t?.dispose();
}

/** Throws unless x is f32 of rank ≥ minRank, and weight / bias (when given) are (C). */
export function checkAffine(
  op: string,
  x: Tensor,
  C: number,
  weight: Tensor | null,
  bias: Tensor | null,
  where: string,
  minRank: number,
): void {
  if (x.dtype !== 'f32') throw new DTypeError(`${op}: x must be f32, got ${x.dtype} (shape ${fmtShape(x.shape)})`);
  if (x.rank < minRank) {
    throw new ShapeError(
      `${op}: x has shape ${fmtShape(x.shape)}; expected at least ${minRank} dims${minRank >= 2 ? ' (N, C, …)' : ''}`,
    );
  }
  for (const [name, t] of [
    ['weight', weight],
    ['bias', bias],
  ] as const) {
    if (!t) continue;
    if (t.dtype !== 'f32') throw new DTypeError(`${op}: ${name} must be f32, got ${t.dtype}`);
    if (t.rank !== 1 || t.shape[0] !== C) {
      throw new ShapeError(
        `${op}: ${name} has shape ${fmtShape(t.shape)} but x ${fmtShape(x.shape)} has ${C} channels on ${where}; pass a (${C}) tensor`,
      );
    }
  }
}

/**
 * Validates that `mask` broadcasts to `target` and returns it materialised as a contiguous tensor of
 * `planeShape` ((N, S) elements), or null.
 */
export function prepareMask(
  op: string,
  x: Tensor,
  mask: Tensor | null,
  target: readonly number[],
  planeShape: readonly number[],
): Tensor | null {
  if (!mask) return null;
  if (mask.rank > target.length) {
    throw new ShapeError(
      `${op}: mask ${fmtShape(mask.shape)} has more dims than ${fmtShape(target)} (x is ${fmtShape(x.shape)}); pass a mask broadcastable to ${fmtShape(target)}`,
    );
  }
  const lead = target.length - mask.rank;
  mask.shape.forEach((d, i) => {
    const want = target[lead + i];
    if (d !== want && d !== 1) {
      throw new ShapeError(
        `${op}: mask ${fmtShape(mask.shape)} does not broadcast to ${fmtShape(target)} (x is ${fmtShape(x.shape)}, axis ${lead + i}: ${d} vs ${want}); the mask must have one value per position, size 1 on the channel axis`,
      );
    }
  });
  return noGrad(() => {
    const full = reshape(mask, [...new Array<number>(lead).fill(1), ...mask.shape]);
    const wide = expand(full, target);
    const flat = copy(wide);
    const out = reshape(flat, planeShape);
    for (const t of [full, wide, flat]) t.dispose();
    return out;
  });
}

/** The (N, C, S) plane of x: a contiguous tensor object of its own (dispose it), and the vec4 decision. */
export function makePlane(x: Tensor, N: number, C: number, S: number, mask: Tensor | null): Plane {
  const xc = noGrad(() => contiguous(x));
  const V = S % 4 === 0 && xc.offset % 4 === 0 && (!mask || mask.offset % 4 === 0) ? 4 : 1;
  return { N, C, S, V, x: xc, mask };
}

export interface NormGrads {
  dx: Tensor;
  dWeight: Tensor | null;
  dBias: Tensor | null;
}

/**
 * Records a norm's backward: saves the plane's x, the forward statistics, weight and mask; the rule rebuilds
 * the plane around the upstream gradient (vec4 only if it is aligned too) and calls `backward`.
 * `stats` null: the input was empty (gradients are empty / zero).
 */
export function recordNorm(
  op: string,
  inputs: { x: Tensor; weight: Tensor | null; bias: Tensor | null },
  result: Tensor,
  plane: Plane,
  stats: Tensor[] | null,
  backward: (p: Plane, g: Tensor, stats: Tensor[], weight: Tensor | null) => NormGrads,
): void {
  const { x, weight, bias } = inputs;
  const { N, C, S, V, mask } = plane;
  const shape = x.shape;
  const k = stats?.length ?? 0;
  const saved = stats ? [plane.x, ...stats, ...(weight ? [weight] : []), ...(mask ? [mask] : [])] : [];
  recordOp(
    op,
    [x, weight, bias],
    [result],
    ([g], kept) => {
      if (!g || kept.length === 0) {
        return [empty(shape, 'f32', op), weight && zerosLike(weight), bias && zerosLike(bias)];
      }
      const gc = makePlane(g, N, C, S, null).x;
      const p: Plane = {
        N,
        C,
        S,
        V: V === 4 && gc.offset % 4 === 0 ? 4 : 1,
        x: kept[0],
        mask: mask ? kept[kept.length - 1] : null,
      };
      const r = backward(p, gc, kept.slice(1, 1 + k), weight ? kept[1 + k] : null);
      const dx = reshape(r.dx, shape);
      disposeAll(r.dx, gc);
      if (!weight) r.dWeight?.dispose();
      if (!bias) r.dBias?.dispose();
      return [dx, weight ? r.dWeight : null, bias ? r.dBias : null];
    },
    saved,
  );
}
